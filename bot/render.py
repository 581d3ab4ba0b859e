"""The formatter: answers, articles, diffs and listings as Telegram HTML or terminal text.

No Telegram imports. Every piece of law and user text goes through `html.escape` in HTML output
(Telegram refuses a whole message for one stray `<` or `&`); the words themselves are in
bot/texts.py, and cutting long HTML into Telegram-sized messages in bot/telegram_split.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from html import escape

from embeddings.abstention import SUPPORT, Declined, speaks_of_support
from policy_corpus.citation import Segment, cite, diff_text, short_title
from policy_corpus.model import Article, ChangeAction, DraftStatus
from policy_corpus.size import Metric
from policy_corpus.size_question import Figure
from policy_corpus.store import DocumentInfo

from .admin import CorpusOverview, Refreshed, RemovalPreview, StaffAction, UploadPreview
from .answer import Answer, Citation
from .assistant import ArticleView, DiffView
from .questionlog import Stats
from .size_chat import SizeAsk, SizeReply
from .subscriptions import ArticleChange, Subscription
from .texts import (
    ABSTAIN_TEXT,
    ACTION_NAMES,
    ADMIN_COMMANDS,
    ADVICE_TEXT,
    ALERT_FOOTER,
    ALERT_HEADING,
    ALERT_INTRO,
    ALERT_MORE,
    BEYOND_THE_LAW_TEXT,
    CHANGE_DIFF_NOTE,
    CHITCHAT_TEXT,
    CITED_MARK,
    COMMANDS,
    CONTEXT_NOTE,
    DISCLAIMER,
    EXAMPLE_QUESTIONS,
    FIGURE_MISSING_TEXT,
    HELLO_TEXT,
    NOT_CHINESE_TEXT,
    NOT_YET_TEXT,
    NOTIFIED_TEXT,
    REMOVED_ARTICLE_NOTE,
    REPEALED_TEXT,
    SIZE_ASK_FIGURES,
    SIZE_ASK_INDUSTRY,
    SIZE_ASK_SOLE_TRADER,
    SIZE_FIGURES,
    SIZE_INDUSTRY_BUTTONS,
    SIZE_INDUSTRY_TYPED,
    SIZE_KNOWN,
    SIZE_MEANS,
    SIZE_METRIC_ASKED,
    SIZE_METRIC_EXAMPLE,
    SIZE_NAMES,
    SIZE_READING,
    SIZE_ROUGH_NOTE,
    SIZE_UNKNOWN_INDUSTRY,
    SIZE_VERDICT,
    STATEMENT_TEXT,
    SUBSCRIPTION_KINDS,
    SUBSCRIPTIONS_EMPTY_TEXT,
    SUBSCRIPTIONS_FOOTER,
    SUBSCRIPTIONS_HEADING,
    SUPERSEDED_TEXT,
    THANKS_TEXT,
    UPLOAD_TIP,
    VERSION_NAMES,
    building_line,
)

RELATED_SHOWN = 2  # provisions listed one line each under the best one
FIGURE_NEAREST_SHOWN = 2  # provisions named when the documents touch a topic but state no figure
QUESTION_SHOWN = 60  # characters of the question repeated above its answer

LABELS_SHOWN = 15


# ---------------------------------------------------------------- markup


class Plain:
    """Terminal text: no markup; diffs marked [-removed-]{+added+}."""

    @staticmethod
    def text(s: str) -> str:
        return s

    bold = italic = code = quote = text

    @staticmethod
    def removed(s: str) -> str:
        return f"[-{s}-]"

    @staticmethod
    def added(s: str) -> str:
        return f"{{+{s}+}}"


class Html:
    """Telegram HTML: every piece of text escaped, only tags Telegram supports."""

    @staticmethod
    def text(s: str) -> str:
        return escape(s)

    @staticmethod
    def bold(s: str) -> str:
        return f"<b>{escape(s)}</b>"

    @staticmethod
    def italic(s: str) -> str:
        return f"<i>{escape(s)}</i>"

    @staticmethod
    def code(s: str) -> str:
        return f"<code>{escape(s)}</code>"

    @staticmethod
    def quote(s: str) -> str:
        return f"<blockquote>{escape(s)}</blockquote>"

    @staticmethod
    def quote_marked(lines: list[tuple[str, bool]]) -> str:
        """A quote whose marked lines are bold (the cited 款/项 of an article quoted whole)."""
        body = "\n".join(f"<b>{escape(line)}</b>" if marked else escape(line) for line, marked in lines)
        return f"<blockquote>{body}</blockquote>"

    @staticmethod
    def removed(s: str) -> str:
        return f"<s>{escape(s)}</s>"

    @staticmethod
    def added(s: str) -> str:
        return f"<b><u>{escape(s)}</u></b>"


Markup = type[Plain] | type[Html]


# ---------------------------------------------------------------- answers


def answer_html(answer: Answer) -> str:
    """The answer for Telegram: the question it answers, the best provision quoted, up to two more
    one line each, and the disclaimer (answers can arrive out of order, so each says what it answers)."""
    asked = Html.italic(f"问：{first_line(answer.question, QUESTION_SHOWN)}")
    if answer.abstained or answer.best is None:
        return f"{asked}\n{escape(abstain_text(answer))}"
    best = answer.best
    parts = [asked]
    if answer.context_topic:
        parts.append(Html.italic(CONTEXT_NOTE.format(topic=answer.context_topic)))
    parts += [Html.bold(best.reference), Html.quote_marked(best.quote_lines())]
    if best.is_excerpt:
        parts.append(Html.italic(f"（节选。点“全文”查看{best.article_reference}）"))
    related = answer.citations[1 : 1 + RELATED_SHOWN]
    if related:
        parts.append("\n相关条款：")
        parts += [f"• {Html.bold(c.reference)} {escape(first_line(c.quote()))}" for c in related]
    parts.append("\n" + Html.italic(DISCLAIMER))
    return "\n".join(parts)


# What is said, by why a message is not answered with provisions (otherwise ABSTAIN_TEXT)
DECLINED_TEXTS = {
    Declined.ADVICE: ADVICE_TEXT,
    Declined.BEYOND_THE_LAW: BEYOND_THE_LAW_TEXT,
    Declined.NOT_CHINESE: NOT_CHINESE_TEXT,
    Declined.HELLO: HELLO_TEXT,
    Declined.CHITCHAT: CHITCHAT_TEXT,
    Declined.STATEMENT: STATEMENT_TEXT,
    Declined.THANKS: THANKS_TEXT,
}


def abstain_text(answer: Answer) -> str:
    """The decline: when the documents touch the topic but state no figure, which provisions come nearest; a request
    for advice, a greeting, thanks, chit-chat, an account of the situation or a message without Chinese each get
    their own line."""
    if answer.figure_missing and answer.more:
        nearest = "、".join(dict.fromkeys(c.article_reference for c in nearest_on_topic(answer)[:FIGURE_NEAREST_SHOWN]))
        return FIGURE_MISSING_TEXT.format(nearest=nearest)
    return DECLINED_TEXTS.get(answer.declined, ABSTAIN_TEXT)


def nearest_on_topic(answer: Answer) -> list[Citation]:
    """The provisions to name when no figure is stated: for an amount of support, those that speak of support (the
    abstention made sure there is one), not 劳动合同法第四十七条 for its 一个月工资."""
    if SUPPORT.search(answer.question):
        return [c for c in answer.more if speaks_of_support(c.article.text)] or answer.more
    return answer.more


def more_html(citations: list[Citation]) -> str:
    """The next hits (更多相关条款), each with its citation and the matching text."""
    if not citations:
        return escape("没有更多相关条款了。可以换个说法再问，或发送 /docs 查看收录的文件。")
    parts = [Html.bold("更多相关条款：")]
    for number, citation in enumerate(citations, 1):
        parts.append(f"\n{number}. {Html.bold(citation.reference)}")
        parts.append(Html.quote(citation.quote()))
    return "\n".join(parts)


def plain_answer(answer: Answer) -> str:
    """The answer as plain text (terminal and `policybot ask`)."""
    if answer.abstained or answer.best is None:
        return abstain_text(answer)
    best = answer.best
    lines = [CONTEXT_NOTE.format(topic=answer.context_topic)] if answer.context_topic else []
    lines += [best.reference, *(CITED_MARK + line if marked else line for line, marked in best.quote_lines())]
    if best.is_excerpt:
        lines.append(f"（节选，全文：{best.article_reference}）")
    others = answer.citations[1:]
    if others:
        lines.append("")
        lines.append("相关条款：")
        lines += [f"· {c.reference} {first_line(c.quote())}" for c in others]
    lines += ["", DISCLAIMER]
    return "\n".join(lines)


def first_line(text: str, limit: int = 60) -> str:
    line = text.split("\n", 1)[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ---------------------------------------------------------------- enterprise size (我们算小微企业吗)


def format_size(reply: SizeReply, fmt: Markup = Plain, buttons: bool = False) -> str:
    """A size answer (the size, the figures used, the item of 第四条 quoted, 第六条 when it applies) or the question
    for a missing fact; `buttons`: the industries are offered as buttons, not listed."""
    lines = []
    if fmt is Html and reply.question:  # as answers show it in Telegram; the terminal shows what was typed
        lines.append(fmt.italic(f"问：{first_line(reply.question, QUESTION_SHOWN)}"))
    if isinstance(reply, SizeAsk):
        return "\n".join(lines + [fmt.text(line) for line in size_ask_lines(reply, buttons)])
    how = "参照" if reply.by_reference else "按"
    verdict = SIZE_VERDICT.format(how=how, title=reply.title, size=SIZE_NAMES[reply.size], industry=reply.industry)
    lines += [fmt.bold(verdict), fmt.text(SIZE_MEANS[reply.size])]
    if reply.figures:
        lines.append(fmt.text(SIZE_FIGURES.format(figures=figures_text(reply.figures)) + "。"))
    lines += [fmt.text(SIZE_ROUGH_NOTE.format(said=said)) for said in reply.borderline]
    lines += ["", fmt.bold(reply.citation), fmt.quote(reply.text)]
    if reply.reference is not None:
        note, citation, text = reply.reference
        lines += [fmt.text(note), fmt.bold(citation), fmt.quote(text)]
    lines.append("\n" + fmt.italic(DISCLAIMER))
    return "\n".join(lines)


def size_ask_lines(reply: SizeAsk, buttons: bool) -> list[str]:
    lines = [SIZE_KNOWN.format(figures=figures_text(reply.known))] if reply.known else []
    if reply.industry is None:
        if reply.unknown:
            lines.append(SIZE_UNKNOWN_INDUSTRY.format(words=first_line(reply.unknown, 20)))
        lines.append(SIZE_ASK_SOLE_TRADER if reply.sole_trader else SIZE_ASK_INDUSTRY)
        names = " / ".join(name for _, name in reply.industries)
        lines.append(SIZE_INDUSTRY_BUTTONS if buttons else SIZE_INDUSTRY_TYPED.format(names=names))
        return lines
    lines.append(
        SIZE_ASK_FIGURES.format(
            industry=reply.industry,
            metrics="、".join(metric.value for metric in reply.metrics),
            missing="、".join(SIZE_METRIC_ASKED[metric] for metric in reply.missing),
            example="，".join(SIZE_METRIC_EXAMPLE[metric] for metric in reply.missing),
        )
    )
    return lines


def figures_text(figures: list[tuple[Metric, Figure]]) -> str:
    """从业人员15人、营业收入300万元（“三百来万”按300万元算）."""
    text = "、".join(f"{metric.value}{figure.shown}" for metric, figure in figures)
    readings = [SIZE_READING.format(said=f.said, shown=f.shown) for _, f in figures if f.said and f.said != f.shown]
    return text + (f"（{'，'.join(readings)}）" if readings else "")


def size_html(reply: SizeReply) -> str:
    return format_size(reply, Html, buttons=True)


def size_plain(reply: SizeReply) -> str:
    return format_size(reply, Plain)


# ---------------------------------------------------------------- articles, diffs, documents


def format_article(doc_title: str, article: Article, fmt: Markup = Plain) -> str:
    """One whole article: citation, chapter, text, editorial notes and what became of a draft."""
    lines = [fmt.bold(cite(doc_title, article))]
    if article.chapter:
        lines.append(fmt.italic(article.chapter))
    lines.append(fmt.quote(article.text))
    if article.notes:
        lines.append(fmt.italic("注：" + "；".join(article.notes)))
    if article.status is not None and article.paired_number is None:
        fate = "已移动" if article.status == DraftStatus.MOVED else "已删去"
        lines.append(fmt.italic(f"（此条在二次审议稿中{fate}）"))
    return "\n".join(lines)


def article_html(view: ArticleView) -> str:
    return status_line(view, Html) + format_article(view.doc.cite_title, view.article, Html)


def article_plain(view: ArticleView) -> str:
    return status_line(view, Plain) + format_article(view.doc.cite_title, view.article, Plain)


def status_line(view: ArticleView, fmt: Markup) -> str:
    """Above an article of a law not in force: 已废止 (by which article), 尚未施行, or 已被新版本取代."""
    doc = view.doc
    if doc.in_force:
        return ""
    if doc.repealed_by:
        return fmt.bold(REPEALED_TEXT.format(by=doc.repealed_by)) + "\n"
    if doc.takes_effect:
        return fmt.bold(NOT_YET_TEXT.format(date=doc.takes_effect)) + "\n"
    return fmt.bold(SUPERSEDED_TEXT) + "\n"


def format_diff(view: DiffView, fmt: Markup = Plain) -> str:
    """Draft → current wording: removed text struck through, added text bold and underlined."""
    heading = cite(view.doc.cite_title, view.current)
    if view.draft is None:
        return f"{fmt.bold(heading)} 是二次审议稿新增的条文：\n{fmt.quote(view.current.text)}"
    legend = f"{fmt.removed('…')} 删去  {fmt.added('…')} 增加"
    return "\n".join([f"{fmt.bold(heading)}（修订草案{view.draft.label}）", diff_body(view.segments, fmt), legend])


def diff_body(segments: list[Segment], fmt: Markup) -> str:
    marks = {"=": fmt.text, "-": fmt.removed, "+": fmt.added}
    return "".join(marks[segment.op](segment.text) for segment in segments)


def diff_html(view: DiffView) -> str:
    return format_diff(view, Html)


def diff_plain(view: DiffView) -> str:
    return format_diff(view, Plain)


def document_counts(info: DocumentInfo) -> str:
    """35 条（修订草案 38 条）."""
    return f"{info.current_count} 条" + (f"（修订草案 {info.draft_count} 条）" if info.draft_count else "")


def split_holdings(infos: list[DocumentInfo]) -> tuple[list[DocumentInfo], dict[str, int], int]:
    """What to list one by one (the policy documents, uploads); the laws in force of law collections counted
    by category (社会法: 27), too many to list; and how many older versions of those laws are kept."""
    listed = [info for info in infos if not info.national]
    laws = [info for info in infos if info.national]
    categories = Counter(info.id.split("/")[0] if "/" in info.id else "其他" for info in laws if info.in_force)
    return listed, dict(categories.most_common()), sum(1 for info in laws if not info.in_force)


def national_summary(categories: dict[str, int], older: int) -> str:
    """国家法律法规 1,434 部（现行有效）：民法商法 120、社会法 27…；另有历史版本 130 部."""
    parts = "、".join(f"{category} {count}" for category, count in categories.items())
    line = f"国家法律法规 {sum(categories.values()):,} 部（现行有效）：{parts}"
    return line + (f"；另有历史版本 {older:,} 部，可按编号查看。" if older else "。")


def format_docs(infos: list[DocumentInfo], fmt: Markup = Plain) -> str:
    """The documents served: title, id for /article, article count and dates; national law summed up."""
    if not infos:
        return fmt.text("还没有收录任何文件。")
    listed, categories, older = split_holdings(infos)
    lines = [fmt.bold(f"收录的文件（{len(listed)} 件）：")] if listed else []
    for info in listed:
        lines.append(f"\n{fmt.bold('《' + short_title(info.title) + '》')}  编号 {fmt.code(info.id)}")
        details = "；".join([document_counts(info)] + info.dates)
        lines.append(fmt.text(details))
    if categories:
        lines.append(("\n" if lines else "") + fmt.text(national_summary(categories, older)))
    example = "/article sme_law 19" if any(info.id == "sme_law" for info in listed) else "/article 劳动合同法 39"
    lines.append("\n" + fmt.italic(f"查看条文：/article 编号或法名 条号，如 {example}"))
    return "\n".join(lines)


def docs_html(infos: list[DocumentInfo]) -> str:
    return format_docs(infos, Html)


def docs_plain(infos: list[DocumentInfo]) -> str:
    return format_docs(infos, Plain)


# ---------------------------------------------------------------- welcome and help


def format_welcome(infos: list[DocumentInfo], fmt: Markup = Plain, examples_as_buttons: bool = False) -> str:
    """/start: what the bot covers, how to ask, and that it quotes the law without advising."""
    lines = [fmt.bold("您好！我是中小企业政策助手。"), "我从下列文件中找出与您的问题相关的条文，原文引用并注明出处："]
    listed, categories, _ = split_holdings(infos)
    lines += [fmt.text(f"• 《{short_title(info.title)}》") for info in listed]
    if categories:
        lines.append(fmt.text(f"• 国家法律、行政法规和司法解释 {sum(categories.values()):,} 部"))
    if examples_as_buttons:
        lines.append("\n直接用文字提问即可，也可以点下面的示例问题试试。")
    else:
        lines.append("\n直接用文字提问即可，例如：")
        lines += [fmt.text(f"• {question}") for question in EXAMPLE_QUESTIONS]
    lines.append("发送“第十一条”“促进法第十九条”可直接查看条文；/help 查看全部命令。")
    lines.append("\n" + fmt.italic("本助手只摘录法规原文，仅供参考，不构成法律意见。"))
    return "\n".join(lines)


def format_help(fmt: Markup = Plain, extra: list[tuple[str, str]] | None = None) -> str:
    """/help: the commands and how to ask a good question."""
    lines = [fmt.bold("命令：")]
    lines += [fmt.text(f"/{name} — {description}") for name, description in COMMANDS + (extra or [])]
    lines += [
        "",
        fmt.bold("提问技巧："),
        "• 写清具体事项，如“贷款到期续贷”“大企业拖欠货款”“政府采购预留份额”。",
        "• 一次问一件事；回答引用的是法规原文，点“全文”看整条，点“更多相关条款”看其他条文。",
        "• 直接发送“第十一条”“促进法第十九条”“支付条例第九条”可查看条文。",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- staff (admin commands)


def admin_help_html() -> str:
    """/help for an admin: every command, the staff ones too, and how to upload."""
    return format_help(Html, ADMIN_COMMANDS) + "\n\n" + Html.bold("管理员：") + "\n" + escape(UPLOAD_TIP)


def preview_html(preview: UploadPreview) -> str:
    """An upload before 确认: title, articles per version, what changes against the serving version, and how the
    text was read."""
    lines = [
        Html.bold(f"预览：《{short_title(preview.title)}》"),
        f"编号 {Html.code(preview.doc_id)}；"
        + (escape(f"将替换正在服务的《{short_title(preview.replaces)}》") if preview.replaces else "新文件"),
    ]
    lines += [escape(f"{VERSION_NAMES[v.version]}：{v.count} 条") for v in preview.versions if v.count]
    against = (
        f"与正在服务的版本 {preview.serving_version} 相比：" if preview.serving_version else "与正在服务的语料相比："
    )
    lines.append("\n" + escape(against))
    for changes in preview.versions:
        prefix = f"{VERSION_NAMES[changes.version]}" if len(preview.versions) > 1 else ""
        if preview.replaces is None:
            lines.append(escape(f"• {prefix}新增 {len(changes.added)} 条"))
            continue
        parts = [("新增", changes.added), ("删去", changes.removed), ("修改", changes.changed)]
        for name, labels in parts:
            if labels:
                lines.append(escape(f"• {prefix}{name} {len(labels)} 条：{_labels(labels)}"))
        if not any(labels for _, labels in parts):
            lines.append(escape(f"• {prefix}条文没有变化（只改了标题或格式）"))
    if preview.warnings:  # before 确认: e.g. an item of the size standard that cannot be read
        lines.append("")
        lines += [escape(warning) for warning in preview.warnings]
    lines.append("\n" + Html.italic("点“确认”发布为新版本，点“取消”不作任何改动。"))
    if preview.source:  # how the text was read (PDF pages, OCR, web page, conversion)
        lines.append(escape(preview.source))
    return "\n".join(lines)


def removal_html(preview: RemovalPreview) -> str:
    info = preview.info
    lines = [
        Html.bold(f"确认删除《{short_title(info.title)}》？"),
        f"编号 {Html.code(info.id)}；{escape(document_counts(info))}",
    ]
    if preview.from_disk:
        lines.append(
            Html.italic("此文件来自语料文件夹：之后 /reload 会重新收录它，如需永久删除，请同时从文件夹中删去。")
        )
    lines.append(Html.italic("点“确认”发布不含此文件的新版本，点“取消”不作任何改动。"))
    return "\n".join(lines)


def refreshed_html(result: Refreshed) -> str:
    """What an upload, removal, reload or rollback did."""
    if result.action == StaffAction.ROLLBACK:
        lines = [Html.bold(f"已回退到版本 {result.version}") + escape(f"（原版本 {result.previous}）。")]
        if result.undone:
            lines.append("撤销了：")
            lines += [escape(_change_line(c)) for c in result.undone]
    elif not result.published:
        lines = [escape(f"没有变化，仍在使用版本 {result.version}。")]
    else:
        since = f"（原版本 {result.previous}）" if result.previous else ""
        lines = [Html.bold(f"已发布版本 {result.version}") + escape(f"{since}，现在按新版本回答：")]
        lines += [escape(_change_line(vars(c))) for c in result.changes]
        if not result.changes:
            lines.append(escape("• 文件没有变化；示例问题或检索设置有更新，检索索引已重建"))
    if result.skipped:
        lines.append("\n" + escape("以下文件有问题，未收录（已收录的旧版继续使用）："))
        lines += [escape(f"• {name}：{reason}") for name, reason in result.skipped]
    if result.uploads_kept:
        lines.append(
            "\n"
            + escape("以下编号以 Telegram 上传的版本为准，文件夹中的同名文件未采用：" + "、".join(result.uploads_kept))
        )
    if result.warnings:
        lines.append("")
        lines += [escape(warning) for warning in result.warnings]
    return "\n".join(lines)


def corpus_html(overview: CorpusOverview) -> str:
    """/corpus: the serving version, who published it and when, its documents, the versions kept."""
    version = overview.version
    if version is None:
        return escape("还没有发布任何语料版本。")
    lines = [
        Html.bold(f"正在服务：版本 {version.name}"),
        escape(f"发布于 {_time(version.published_at)}，发布者：{publisher(version.published_by)}"),
    ]
    if overview.dense is not None and not overview.dense.ready:
        lines.append(escape(building_line(overview.dense.progress)))
    listed, categories, older = split_holdings(overview.documents)
    lines.append("\n" + Html.bold(f"文件（{len(listed)} 件）："))
    lines += [
        f"• 《{escape(short_title(info.title))}》 编号 {Html.code(info.id)}：{escape(document_counts(info))}"
        for info in listed
    ]
    if categories:
        lines.append(escape(national_summary(categories, older)))
    lines.append(
        "\n" + Html.bold("保留的旧版本：") + (escape("（/rollback 回到上一个版本）") if overview.older else "")
    )
    lines += [escape(f"• {v.name}：{_time(v.published_at)}，{publisher(v.published_by)}") for v in overview.older]
    if not overview.older:
        lines.append(escape("无"))
    if overview.history:
        lines.append("\n" + Html.bold("最近的记录："))
        lines += [escape(f"• {_history_line(entry)}") for entry in overview.history]
    return "\n".join(lines)


def stats_html(stats: Stats) -> str:
    """/stats: questions per day, answered vs abstained, feedback, the most frequent unanswered questions."""
    heading = Html.bold(f"最近 {stats.days} 天的提问")
    if not stats.questions:
        return f"{heading}\n" + escape("这段时间没有人提问。")
    share = round(stats.answered_share * 100)
    lines = [
        heading,
        escape(
            f"共 {stats.questions} 个问题：已回答 {stats.answered} 个（{share}%），"
            f"未覆盖 {stats.abstained} 个（{100 - share}%）"
        ),
        escape(f"反馈：👍 {stats.feedback['up']}  👎 {stats.feedback['down']}"),
        "\n" + Html.bold("每天："),
    ]
    lines += [escape(f"• {day['day']}：{day['questions']} 个（未覆盖 {day['abstained']}）") for day in stats.per_day]
    if stats.unanswered:
        lines.append("\n" + Html.bold("未能回答、最常被问的问题（可考虑补充到语料）："))
        lines += [
            escape(f"{n}. {first_line(row['question'])}（{row['times']} 次）")
            for n, row in enumerate(stats.unanswered, 1)
        ]
    return "\n".join(lines)


def publisher(by: str) -> str:
    """Who published: an admin's Telegram user id, the command line, or policybot itself."""
    if by.isdigit():
        return f"管理员 {by}"
    return {"cli": "命令行", "policybot": "policybot 自动恢复", "background": "后台建索引"}.get(by, by)


def _change_line(change: dict) -> str:
    action = ACTION_NAMES.get(change["action"], change["action"])
    if change["action"] == ChangeAction.REMOVED:
        return f"• {action} 编号 {change['doc_id']}"
    counts = f"{change['current_count']} 条" + (
        f"（修订草案 {change['draft_count']} 条）" if change["draft_count"] else ""
    )
    return f"• {action}《{short_title(change['title'] or change['doc_id'])}》 编号 {change['doc_id']}：{counts}"


def _history_line(entry: dict) -> str:
    when = entry.get("at", "")[:16].replace("T", " ") + " UTC"
    who = publisher(str(entry.get("by", "")))
    if entry.get("action") == "publish":
        what = "，".join(
            f"{ACTION_NAMES.get(c['action'], c['action'])} {c['doc_id']}" for c in entry.get("changes", [])
        )
        return f"{when} {who} 发布版本 {entry['version']}" + (f"：{what}" if what else "")
    if entry.get("action") == "rollback":
        return f"{when} {who} 从版本 {entry.get('from')} 回退到 {entry['version']}"
    return f"{when} {who} 恢复到版本 {entry.get('version')}"


def _labels(labels: list[str]) -> str:
    shown = "、".join(labels[:LABELS_SHOWN])
    return shown + (f" 等 {len(labels)} 条" if len(labels) > LABELS_SHOWN else "")


def _time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- alerts (subscriptions)

ALERT_LISTED = 10  # articles one alert lists; the rest are counted


def alert_html(subscriptions: list[str], changes: list[ArticleChange]) -> str:
    """An alert: which subscriptions, then per document the articles added, changed or removed, numbered as the
    buttons under it are."""
    labels = "、".join(f"“{label}”" for label in subscriptions)
    lines = [Html.bold(ALERT_HEADING), escape(ALERT_INTRO.format(labels=labels))]
    document = None
    for number, change in enumerate(changes[:ALERT_LISTED], 1):
        if change.doc_id != document:
            document = change.doc_id
            lines.append("\n" + Html.bold(f"《{short_title(change.doc_title)}》"))
        action = ACTION_NAMES.get(change.action, change.action.value)
        lines.append(escape(f"{number}. {action}：{first_line(change.citation, 80)}"))
    if len(changes) > ALERT_LISTED:
        lines.append(escape(ALERT_MORE.format(count=len(changes) - ALERT_LISTED)))
    lines.append("\n" + Html.italic(ALERT_FOOTER))
    return "\n".join(lines)


def stored_article_html(change: ArticleChange) -> str:
    """An alert's article as the publish left it (removed: as it was before)."""
    removed = change.action == ChangeAction.REMOVED
    lines = [Html.bold(change.citation)]
    if removed:
        lines.append(Html.italic(REMOVED_ARTICLE_NOTE))
    lines.append(Html.quote(change.before if removed else change.after))
    return "\n".join(lines)


def change_diff_html(change: ArticleChange) -> str:
    """An alert's changed article: the wording before the publish → after it."""
    if change.action != ChangeAction.CHANGED:
        return stored_article_html(change)
    legend = f"{Html.removed('…')} 删去  {Html.added('…')} 增加"
    body = diff_body(diff_text(change.before, change.after), Html)
    return "\n".join([Html.bold(change.citation) + Html.italic(CHANGE_DIFF_NOTE), body, legend])


def subscriptions_html(subscriptions: list[Subscription]) -> str:
    """/subscriptions: what a chat is subscribed to."""
    if not subscriptions:
        return escape(SUBSCRIPTIONS_EMPTY_TEXT)
    lines = [Html.bold(SUBSCRIPTIONS_HEADING)]
    lines += [escape(f"• {s.label}（{SUBSCRIPTION_KINDS[s.kind.value]}）") for s in subscriptions]
    lines.append(escape(SUBSCRIPTIONS_FOOTER))
    return "\n".join(lines)


def notified_html(chats: int) -> str:
    """Under a publish confirmation: how many subscribers an alert was queued for (nothing when none)."""
    return "\n" + escape(NOTIFIED_TEXT.format(count=chats)) if chats else ""
