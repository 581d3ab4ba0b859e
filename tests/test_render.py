"""bot.render: escaping of law and user text, and splitting long HTML into Telegram messages."""

from __future__ import annotations

import pytest

from bot.answer import Answer, Citation
from bot.assistant import ArticleView, DiffView
from bot.render import (
    answer_html,
    article_html,
    article_plain,
    diff_html,
    diff_plain,
    docs_html,
    format_welcome,
    plain_answer,
)
from bot.telegram_split import split_message, text_size
from bot.texts import ABSTAIN_TEXT
from policy_corpus.citation import diff_text
from policy_corpus.model import Article, Item, Paragraph, Version
from policy_corpus.store import DocumentInfo

from .telegram_stub import parse_html

DOC = DocumentInfo(
    id="demo",
    title="中华人民共和国示范<法>",
    cite_title="中华人民共和国示范<法>",
    source="demo.md",
    kind="markdown",
    content_hash="x",
    dates=["2020年1月1日 施行"],
    current_count=3,
    draft_count=2,
)


def article(*paragraphs: str, number: int = 3, title: str = "", version: Version = Version.CURRENT) -> Article:
    return Article(number, [Paragraph(i, text) for i, text in enumerate(paragraphs, 1)], version=version, title=title)


def assert_messages(chunks: list[str], limit: int) -> str:
    """Every chunk is valid Telegram HTML within the limit; returns the chunks' plain text joined."""
    plains = []
    for chunk in chunks:
        assert text_size(chunk) <= limit
        plain, _ = parse_html(chunk)
        plains.append(plain)
    return "\n".join(plains)


def test_short_text_is_one_message():
    assert split_message("<b>第一条</b>\n正文。") == ["<b>第一条</b>\n正文。"]


def test_splits_at_blank_lines_and_keeps_every_paragraph():
    paragraphs = [f"第{i}段：" + "这是一句话。" * 40 for i in range(30)]
    text = "\n\n".join(paragraphs)
    chunks = split_message(text, limit=1000)
    assert len(chunks) > 1
    joined = assert_messages(chunks, 1000)
    assert joined.replace("\n", "") == text.replace("\n", "")
    for chunk in chunks:  # whole paragraphs only
        assert chunk.startswith("第") and chunk.endswith("。")


def test_blockquote_is_closed_and_reopened_at_a_split():
    body = "\n".join(f"（{i}）" + "条文内容，&lt;含尖括号&gt; &amp; 符号。" * 10 for i in range(40))
    text = f"<b>《示范法》第三条</b>\n<blockquote>{body}</blockquote>\n<i>注：无</i>"
    chunks = split_message(text, limit=800)
    assert len(chunks) > 3
    assert_messages(chunks, 800)
    assert chunks[0].startswith("<b>《示范法》第三条</b>")
    assert all(chunk.startswith("<blockquote>") for chunk in chunks[1:])
    assert all(chunk.endswith("</blockquote>") for chunk in chunks[:-1])
    assert chunks[-1].endswith("<i>注：无</i>")


def test_one_long_paragraph_is_split_at_sentence_ends():
    sentence = "县级以上人民政府应当采取措施支持中小企业发展；"
    text = "<blockquote>" + sentence * 300 + "完。</blockquote>"
    chunks = split_message(text, limit=500)
    assert_messages(chunks, 500)
    for chunk in chunks[:-1]:
        assert chunk.removesuffix("</blockquote>").endswith("；")


def test_never_cuts_inside_an_entity_or_tag():
    text = "<b>" + "&amp;" * 300 + "</b>" + "<i>x</i>" * 100
    chunks = split_message(text, limit=97)
    joined = assert_messages(chunks, 97)
    assert joined.replace("\n", "") == "&" * 300 + "x" * 100


def test_limit_too_small_is_refused():
    with pytest.raises(ValueError):
        split_message("<blockquote>" + "字" * 50 + "</blockquote>", limit=10)


def test_article_text_is_escaped():
    view = ArticleView(DOC, article("禁止 <script> & “附加条件”", "第二款 a > b", title="定义"))
    html = article_html(view)
    plain, entities = parse_html(html)
    assert plain.splitlines()[0] == "《示范<法>》第三条【定义】"
    assert "禁止 <script> & “附加条件”" in plain and "a > b" in plain
    assert {e["type"] for e in entities} == {"bold", "blockquote"}
    assert article_plain(view) == "《示范<法>》第三条【定义】\n禁止 <script> & “附加条件”\n第二款 a > b"


def test_answer_quotes_best_provision_and_escapes_the_question():
    best = Article(
        11,
        [Paragraph(1, "鼓励金融机构：", [Item(i, f"（{i}）措施{i}；" * 30) for i in range(1, 8)])],
        title="金融<支持>",
    )
    other = article("拖欠 & 逾期利息。", number=17)
    answer = Answer(
        "<b>贷款</b> & 续贷",
        False,
        [Citation("demo", DOC.cite_title, best, 1, 7, 3.0), Citation("demo", DOC.cite_title, other)],
    )
    plain, entities = parse_html(answer_html(answer))
    lines = plain.splitlines()
    assert lines[0] == "问：<b>贷款</b> & 续贷"
    assert lines[1] == "《示范<法>》第十一条第（七）项【金融<支持>】"
    assert lines[2] == "鼓励金融机构："
    assert "（节选" in plain and "• 《示范<法>》第十七条 拖欠 & 逾期利息。" in plain
    assert "不构成法律意见" in lines[-1]
    assert [e["type"] for e in entities].count("blockquote") == 1


def test_a_short_article_quoted_whole_marks_the_cited_paragraph():
    """第三条第二款 of a short article: the whole article is quoted, the second paragraph in bold (a marker in plain
    text), so the owner sees which lines the citation means."""
    short = article("第一款的话。", "第二款才是答案。", "第三款的话。")
    answer = Answer("问", False, [Citation("demo", DOC.cite_title, short, 2, None, 1.0)])
    plain, entities = parse_html(answer_html(answer))
    assert "第一款的话。\n第二款才是答案。\n第三款的话。" in plain
    bold = [plain[e["offset"] : e["offset"] + e["length"]] for e in entities if e["type"] == "bold"]
    assert "第二款才是答案。" in bold and "第一款的话。" not in bold
    lines = plain_answer(answer).splitlines()
    assert lines[1:4] == ["第一款的话。", "▶ 第二款才是答案。", "第三款的话。"]
    whole = Answer("问", False, [Citation("demo", DOC.cite_title, short)])
    assert "▶" not in plain_answer(whole)
    listed = Article(5, [Paragraph(1, "下列情形：", [Item(1, "（一）甲；"), Item(2, "（二）乙。")])])
    one = Answer("问", False, [Citation("demo", DOC.cite_title, listed, 1, None, 1.0)])
    assert "▶" not in plain_answer(one)  # the paragraph is the whole article
    two = Answer("问", False, [Citation("demo", DOC.cite_title, listed, 1, 2, 1.0)])
    assert plain_answer(two).splitlines()[1:4] == ["下列情形：", "（一）甲；", "▶ （二）乙。"]


def test_abstention_shows_no_provision():
    plain, _ = parse_html(answer_html(Answer("今天天气怎么样？<>", True, [], [])))
    assert plain == "问：今天天气怎么样？<>\n" + ABSTAIN_TEXT


def test_diff_marks_removed_and_added_text():
    draft = article("银行应当支持小企业。", version=Version.DRAFT)
    current = article("金融机构应当支持中小企业 & 个体户。")
    view = DiffView(DOC, current, draft, diff_text(draft.text, current.text))
    html = diff_html(view)
    assert "<s>银行</s><b><u>金融机构</u></b>" in html
    assert "&amp; 个体户" in html
    parse_html(html)
    assert "[-银行-]{+金融机构+}" in diff_plain(view)
    new = diff_html(DiffView(DOC, current, None, []))
    assert "新增" in parse_html(new)[0]


def test_docs_lists_titles_counts_and_dates():
    plain, _ = parse_html(docs_html([DOC]))
    assert "《示范<法>》  编号 demo" in plain
    assert "3 条（修订草案 2 条）；2020年1月1日 施行" in plain


def law(doc_id: str, in_force: bool = True) -> DocumentInfo:
    return DocumentInfo(
        id=doc_id,
        title=doc_id.split("/")[-1],
        cite_title=doc_id,
        source=doc_id + ".md",
        kind="markdown",
        content_hash="x",
        dates=[],
        current_count=10,
        draft_count=0,
        in_force=in_force,
        primary=False,
    )


NATIONAL = [
    law("社会法/劳动合同法(2012-12-28)"),
    law("民法商法/公司法(2023-12-29)"),
    law("民法商法/公司法(2018-10-26)", in_force=False),
    law("民法商法/商标法(2019-04-23)"),
]


def test_welcome_and_docs_sum_up_national_law_instead_of_listing_it():
    """With ~1,400 laws served, /start and /docs list the policy documents and count national law by category."""
    welcome = format_welcome([DOC] + NATIONAL)
    assert "《示范<法>》" in welcome
    assert "国家法律、行政法规和司法解释 3 部" in welcome
    assert "劳动合同法" not in welcome
    plain, _ = parse_html(docs_html([DOC] + NATIONAL))
    assert "收录的文件（1 件）" in plain and "编号 demo" in plain
    assert "国家法律法规 3 部（现行有效）：民法商法 2、社会法 1；另有历史版本 1 部" in plain
    assert "公司法(2018-10-26)" not in plain


def test_national_law_alone_is_summed_up_too():
    plain, _ = parse_html(docs_html(NATIONAL))
    assert "收录的文件" not in plain
    assert plain.startswith("国家法律法规 3 部")
    assert "/article 劳动合同法 39" in plain
