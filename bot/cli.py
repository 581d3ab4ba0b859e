"""The `policybot` command line: a thin layer over the corpus, search and bot packages.

Examples:
    policybot ingest                      parse policy_corpus/documents and publish it
    policybot docs                        list the documents being served
    policybot article hunan 11 --json     print one article
    policybot diff hunan 11               what changed from the draft to the current wording
    policybot ask "银行非要我买理财才肯放款"  answer a question as the bot would
    policybot ask "银行贷款到期能续贷吗" --json  the same, with citations as JSON
    policybot chat                        talk to the assistant in the terminal
    policybot serve                       run the Telegram bot (needs TELEGRAM_BOT_TOKEN)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from embeddings.build import make_index_builder, served_index_is_stale
from embeddings.deferred import Completion, building, complete, dense_state, embed_missing, is_partial
from embeddings.encoder import ModelNotFoundError
from embeddings.search import MODES, IndexMismatchError
from policy_corpus.citation import cite
from policy_corpus.config import Config, ConfigError, load_config
from policy_corpus.errors import CorpusError
from policy_corpus.library import Library, NothingPublishedError, PublishBusyError
from policy_corpus.model import ChangeAction, Version
from policy_corpus.numerals import parse_article_ref
from policy_corpus.reload import reload_from_disk
from policy_corpus.size import (
    REFERENCE_ARTICLE,
    RULES_ARTICLE,
    SIZE_DOCUMENT,
    Metric,
    MissingFactError,
    classify,
    industry_of,
    parse_rules,
    sole_trader,
)

from . import texts
from .answer import Answer
from .assistant import ArticleView, Assistant
from .conversation import Conversation
from .errors import UsageError
from .render import article_plain, diff_plain, document_counts, plain_answer, size_plain
from .size_chat import SizeAnswer, SizeReply
from .texts import SIZE_NAMES, SOLE_TRADER_NOTE

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in replies
    os.umask(0o077)  # the data folder (owners' questions among it) is for the service user only
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level or os.environ.get("POLICYBOT_LOG_LEVEL", "").strip().upper()
    if level and level not in LOG_LEVELS:
        print(f"policybot: POLICYBOT_LOG_LEVEL={level!r}: expected one of {', '.join(LOG_LEVELS)}", file=sys.stderr)
        return 2
    setup_logging(level or "INFO")
    args.quiet = not level  # ask and chat keep INFO lines out of the conversation unless a level was asked for
    try:
        config = load_config(args.config)
        return args.func(args, config) or 0
    except (
        UsageError,
        CorpusError,
        ConfigError,
        NothingPublishedError,
        PublishBusyError,
        IndexMismatchError,
        ModelNotFoundError,
        ValueError,
    ) as error:
        print(f"policybot: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `policybot … | head`: the reader has what it wanted
        sys.stderr.close()
        return 0


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token
    # at DEBUG python-telegram-bot logs Bot API URLs and message texts (HAZARDS.md)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))
    for noisy in ("sentence_transformers", "transformers"):  # model-loading chatter, not for staff
        logging.getLogger(noisy).setLevel(logging.WARNING)


def package_version() -> str:
    try:
        return metadata.version("policybot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: run make setup)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policybot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="config file (default: config.yaml, or $POLICYBOT_CONFIG)")
    parser.add_argument("--version", action="version", version=f"policybot {package_version()}")
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="DEBUG, INFO, WARNING or ERROR (default: $POLICYBOT_LOG_LEVEL, or INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="parse the corpus and publish it with its search index")
    ingest.add_argument(
        "--corpus",
        action="append",
        type=Path,
        help="a folder or .tar.gz of documents; repeat for several (default: config)",
    )
    ingest.add_argument("--if-missing", action="store_true", help="do nothing if a corpus is already published")
    ingest.add_argument(
        "--quick",
        action="store_true",
        help="publish as soon as the words and the policy documents' vectors are ready; national law is embedded "
        "for embeddings.quick_start_seconds, and `chat` or `serve` complete the rest in the background",
    )
    # the background build (embeddings/deferred.py): completes the serving version's index, if another is not
    ingest.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    ingest.add_argument(
        "--json", action="store_true", help='print {"version", "published", "documents", "skipped", "uploads_kept"}'
    )
    ingest.set_defaults(func=cmd_ingest)

    docs = commands.add_parser("docs", help="list the documents being served")
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(func=cmd_docs)

    article = commands.add_parser("article", help="print one article, e.g. `policybot article hunan 11`")
    article.add_argument("doc", help="document id, e.g. hunan, sme_law")
    article.add_argument("number", help="article number: 11, 十一 or 第十一条")
    article.add_argument("--version", choices=[v.value for v in Version], default=Version.CURRENT.value)
    article.add_argument("--json", action="store_true")
    article.set_defaults(func=cmd_article)

    diff = commands.add_parser("diff", help="what changed from the draft to the current wording of an article")
    diff.add_argument("doc")
    diff.add_argument("number", help="the current article number")
    diff.add_argument(
        "--json",
        action="store_true",
        help='print {"doc", "article", "draft_article", "draft", "current", "segments": [{"op", "text"}]}',
    )
    diff.set_defaults(func=cmd_diff)

    ask = commands.add_parser(
        "ask", help='answer a question as the bot would, e.g. `policybot ask "银行贷款到期能续贷吗"`'
    )
    ask.add_argument("question")
    ask.add_argument(
        "--json",
        action="store_true",
        help='print {"question", "abstained", "citations", "answer"}, citations best first',
    )
    ask.add_argument("--top", type=int, metavar="K", help="provisions to cite (default: search.top_k)")
    ask.set_defaults(func=cmd_ask)

    chat = commands.add_parser("chat", help="talk to the assistant in the terminal; /quit or Ctrl-D leaves")
    chat.set_defaults(func=cmd_chat)

    serve = commands.add_parser(
        "serve",
        help="run the Telegram bot; the token comes from $TELEGRAM_BOT_TOKEN "
        "(long polling, or a webhook when telegram.mode is webhook)",
    )
    serve.set_defaults(func=cmd_serve)

    evaluate = commands.add_parser(
        "eval", help="measure search on a JSONL question set, e.g. `policybot eval ../shared/eval/dev_questions.jsonl`"
    )
    evaluate.add_argument(
        "file",
        type=Path,
        help='JSONL lines {"question": "...", "gold": [["hunan", 11], ...]}; {"turns": [...], "gold": ...} replays a '
        'conversation and scores its last turn; "pinpoint": [[doc, article, 款, 项 or null], ...] adds pinpoint_at_1',
    )
    evaluate.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    evaluate.add_argument("--mode", choices=MODES, default="hybrid")
    evaluate.set_defaults(func=cmd_eval)

    size = commands.add_parser(
        "size",
        help="enterprise size by the 中小企业划型标准规定, e.g. `policybot size --industry 餐饮业 --staff 15 --revenue 300`",
    )
    size.add_argument("--industry", required=True, help="the standard's industry (餐饮业) or owners' words (开饭馆)")
    size.add_argument("--staff", type=float, help="从业人员, people")
    size.add_argument("--revenue", type=float, help="营业收入, 万元 a year")
    size.add_argument("--assets", type=float, help="资产总额, 万元")
    size.add_argument("--json", action="store_true", help='print {"industry", "size", "citation", "text"}')
    size.set_defaults(func=cmd_size)

    status = commands.add_parser("status", help="the serving version and how far its search index is built")
    status.add_argument(
        "--json",
        action="store_true",
        help='print {"version", "documents", "articles", "dense_ready", "dense_progress", "dense_building"}',
    )
    status.set_defaults(func=cmd_status)

    health = commands.add_parser("health", help="check that the served version loads and answers; exit 0 if so")
    health.add_argument(
        "--json",
        action="store_true",
        help='print {"ok", "version", "documents", "articles", "canary", "seconds", "reason"}',
    )
    health.set_defaults(func=cmd_health)
    return parser


# ---------------------------------------------------------------- commands


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    library = corpus_library(config)
    if args.background:
        return complete_index(library, config)
    # an index from an older policybot, or built with another model or examples, is rebuilt even if no text changed
    stale = served_index_is_stale(library, config)
    partial = is_partial(library)  # a quick build: rebuilt whole, unless a quick one is asked for again
    if args.if_missing and library.current_name() is not None and not stale and (args.quick or not partial):
        return 0
    if partial and not args.quick:
        with building(library, wait=True):  # after a background build at work, if any
            embed_missing(library, config)
    paths = args.corpus or config.source_paths
    budget = config.embeddings.quick_start_seconds if args.quick else None
    # the same as the bot's /reload: documents uploaded through the bot stay, and a file that no
    # longer parses keeps its served version
    reloaded = reload_from_disk(
        library, paths, make_index_builder(config, budget_s=budget), force=stale or (partial and not args.quick)
    )
    for name, reason in reloaded.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    for doc_id in reloaded.uploads_kept:
        print(f"kept {doc_id} as uploaded through the bot (the file of that id is not used)", file=sys.stderr)
    result = reloaded.result
    if args.json:
        print(json.dumps(ingest_json(reloaded), ensure_ascii=False, indent=1))
        return 0
    for change in result.changes:
        if change.action == ChangeAction.REMOVED:
            print(f"{change.doc_id}\t(removed)")
            continue
        counts = f"current {change.current_count}"
        if change.draft_count:
            counts += f", draft {change.draft_count}"
        print(f"{change.doc_id}\t{change.title}\t{counts}\t{change.action.value}")
    state = (
        f"published version {result.version}" if result.published else f"unchanged, serving version {result.version}"
    )
    print(
        f"{len(result.changes) - sum(c.action == ChangeAction.REMOVED for c in result.changes)} documents; {state}",
        file=sys.stderr,
    )
    return 0


def complete_index(library: Library, config: Config) -> int:
    """`ingest --background`: complete the serving version's quick index (embeddings/deferred.py)."""
    result = complete(library, config)
    if result is None:
        print("nothing to complete, or another process is completing the index", file=sys.stderr)
    else:
        print(f"published version {result.version} with the whole search index", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    library = corpus_library(config)
    state = dense_state(library)
    figures = {"version": state.version, "documents": 0, "articles": 0}
    if state.version is not None:
        with library.open_store() as store:
            infos = store.documents(in_force_only=True)
        figures |= {"documents": len(infos), "articles": sum(info.current_count for info in infos)}
    figures |= {"dense_ready": state.ready, "dense_progress": state.progress, "dense_building": state.building}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    if state.version is None:
        print("nothing published yet: run `policybot ingest`")
        return 0
    dense = (
        "search index complete"
        if state.ready
        else f"search index {state.progress:.0%} complete ({'building' if state.building else 'not building now'})"
    )
    print(f"version {state.version}: {figures['documents']} documents, {figures['articles']} articles; {dense}")
    return 0


def cmd_docs(args: argparse.Namespace, config: Config) -> int:
    infos = lookup_assistant(config).documents()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], ensure_ascii=False, indent=1))
        return 0
    for info in infos:
        print(f"{info.id}\t{info.title}\t{document_counts(info)}\t{'；'.join(info.dates)}")
    return 0


def cmd_article(args: argparse.Namespace, config: Config) -> int:
    number, sub = parse_article_ref(args.number)
    assistant = lookup_assistant(config)
    doc = assistant.resolve_document(args.doc, number, unknown_as_id=True)  # an id, or a name: 劳动合同法 19
    view = assistant.article(doc, number, Version(args.version), sub)
    if args.json:
        print(json.dumps(article_json(view), ensure_ascii=False, indent=1))
    else:
        print(article_plain(view))
    return 0


def cmd_diff(args: argparse.Namespace, config: Config) -> int:
    number, sub = parse_article_ref(args.number)
    assistant = lookup_assistant(config)
    view = assistant.diff(assistant.resolve_document(args.doc, number, unknown_as_id=True), number, sub)
    if args.json:
        draft = view.draft
        data = {
            "doc": view.doc.id,
            "doc_title": view.doc.cite_title,
            "article": view.current.number,
            "sub": view.current.sub,
            "draft_article": draft.number if draft is not None else None,
            "draft": draft.text if draft is not None else None,
            "current": view.current.text,
            "segments": [{"op": DIFF_OPS[s.op], "text": s.text} for s in view.segments],
        }
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(diff_plain(view))
    return 0


ONE_QUESTION_CHAT = 0  # `policybot ask` is a conversation of one question


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    quiet_logs(args)
    if args.top is not None and args.top < 1:
        raise UsageError("--top must be at least 1")
    conversation = Conversation(load_assistant(config))
    size = conversation.sizes.reply(args.question, ONE_QUESTION_CHAT)  # 我们算小微企业吗: as the chat answers it
    if size is not None:
        print(json.dumps(size_answer_json(size), ensure_ascii=False, indent=1) if args.json else size_plain(size))
        return 0
    answer = conversation.assistant.ask(args.question, args.top)
    print(json.dumps(answer_json(answer), ensure_ascii=False, indent=1) if args.json else plain_answer(answer))
    return 0


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    from .chat import run_chat

    quiet_logs(args)
    assistant = load_assistant(config)
    with completing(config, assistant) as started:
        if started:
            print(texts.BUILDING_NOTE, file=sys.stderr)
        run_chat(Conversation(assistant))
    return 0


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from .telegram_app import run_bot

    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token "
            "(it is read from the environment only); `policybot chat` works without one"
        )
    assistant = load_assistant(config)
    with completing(config, assistant):
        run_bot(config, assistant, token)
    return 0


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from embeddings.evaluate import evaluate, read_questions
    from embeddings.search import Searcher

    if not args.file.exists():
        raise UsageError(f"question file {args.file} does not exist")
    questions = read_questions(args.file)
    library = corpus_library(config)
    with library.open_store() as store:
        report = evaluate(Searcher.load(library.current_dir(), config, store), questions, args.mode)
    figures = report.as_dict()
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{args.file.name}: {report.n} questions, {report.answerable} answerable, mode {args.mode}")
    for key in (
        "recall_at_1",
        "recall_at_3",
        "recall_at_5",
        "recall_at_10",
        "recall_at_100",
        "mrr_at_10",
        "abstain_unanswerable",
        "abstain_answerable",
        "pinpoint_at_1",
    ):
        value = figures[key]
        print(f"  {key:<22}{'n/a' if value is None else f'{value:.3f}'}")
    return 0


def cmd_size(args: argparse.Namespace, config: Config) -> int:
    assistant = lookup_assistant(config)
    view = assistant.article(SIZE_DOCUMENT, RULES_ARTICLE)
    rules = parse_rules(view.article)
    industry, by_reference = sole_trader(args.industry)
    if by_reference and not industry:
        raise UsageError("个体工商户按所经营的行业参照划型：请写明行业，如 --industry 个体户开饭馆")
    rule = industry_of(industry, rules)
    if rule is None:
        names = "、".join(r.name for r in rules)
        raise UsageError(f"不认识行业“{args.industry}”：请用标准里的行业名（{names}）或常用说法（开饭馆、开超市）")
    try:
        size = classify(rule, args.staff, args.revenue, args.assets)
    except MissingFactError as error:
        flags = {Metric.STAFF: "--staff", Metric.REVENUE: "--revenue", Metric.ASSETS: "--assets"}
        raise UsageError(f"{error}：请加上 {' '.join(flags[m] for m in error.missing)}") from None
    citation = cite(view.doc.cite_title, view.article, 1, rule.item.number)
    reference = assistant.article(SIZE_DOCUMENT, REFERENCE_ARTICLE).article if by_reference else None
    if args.json:
        data = {"industry": rule.name, "size": size.value, "citation": citation, "text": rule.item.text}
        if reference is not None:  # a sole trader: sized by reference to the standard (第六条)
            data["reference"] = {"citation": cite(view.doc.cite_title, reference), "text": reference.text}
        print(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        print(f"{SIZE_NAMES[size]}（{rule.name}）\n{citation}\n{rule.item.text}")
        if reference is not None:
            print(f"{SOLE_TRADER_NOTE}\n{cite(view.doc.cite_title, reference)}\n{reference.text}")
    return 0


def cmd_health(args: argparse.Namespace, config: Config) -> int:
    from .health import Health, check_health

    quiet_logs(args)
    start = time.perf_counter()
    try:
        health = check_health(load_assistant(config))
    except Exception as error:  # noqa: BLE001 -- loading failed: that is the answer, not a traceback
        health = Health(ok=False, reason=f"{type(error).__name__}: {error}")
    health.seconds = round(time.perf_counter() - start, 3)
    if args.json:
        print(json.dumps(health.as_dict(), ensure_ascii=False))
    elif health.ok:
        print(
            f"ok: version {health.version}, {health.documents} documents, {health.articles} articles; "
            f"the canary was answered with {health.cited} in {health.seconds:.1f} s"
        )
    else:
        print(f"policybot health: {health.reason}", file=sys.stderr)
    return 0 if health.ok else 1


# ---------------------------------------------------------------- helpers


def corpus_library(config: Config) -> Library:
    """The data folder's published versions, as every command sees them."""
    return Library(config.data_path, config.corpus.keep_versions)


def lookup_assistant(config: Config) -> Assistant:
    """The assistant for lookups (article, diff): the store only; the model loads if a question comes."""
    library = corpus_library(config)
    library.current_dir()  # says to run `policybot ingest` if nothing is published
    return Assistant(config, library, search_at_start=False)


def load_assistant(config: Config) -> Assistant:
    """The assistant on the serving corpus version (loads the embedding model: seconds)."""
    library = corpus_library(config)
    library.current_dir()  # says to run `policybot ingest` if nothing is published
    return Assistant(config, library)


@contextmanager
def completing(config: Config, assistant: Assistant) -> Iterator[bool]:
    """While serving: complete a quick build's index in the background, and switch to it when done (yields
    whether that was started)."""
    completion = Completion(config, on_done=assistant.refresh)
    started = completion.start()
    try:
        yield started
    finally:
        completion.stop()


def quiet_logs(args: argparse.Namespace) -> None:
    """Keep INFO lines out of a conversation in the terminal, unless a log level was asked for."""
    if getattr(args, "quiet", True):
        logging.getLogger().setLevel(logging.WARNING)


def size_answer_json(reply: SizeReply) -> dict:
    """`policybot ask --json` for a size question: the keys of an answer, and "size": {"size", "industry",
    "citation", "text"} (null while a fact is missing, which "answer" asks for)."""
    answered = isinstance(reply, SizeAnswer)
    return {
        "question": reply.question,
        "abstained": False,
        "citations": [],
        "answer": size_plain(reply),
        "size": (
            {"size": reply.size.value, "industry": reply.industry, "citation": reply.citation, "text": reply.text}
            if answered
            else None
        ),
    }


def answer_json(answer: Answer) -> dict:
    """`policybot ask --json`: citations best first; paragraph and item are null for a whole article."""
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "citations": [
            {
                "doc": c.doc_id,
                "article": c.article.number,
                "title": c.article.title,
                "paragraph": c.paragraph,
                "item": c.item,
                "score": c.score,
            }
            for c in answer.citations
        ],
        "answer": plain_answer(answer),
    }


DIFF_OPS = {"=": "equal", "+": "insert", "-": "delete"}


def ingest_json(reloaded) -> dict:
    """`policybot ingest --json`: what was published, document by document."""
    result = reloaded.result
    return {
        "version": result.version,
        "published": result.published,
        "documents": [
            {
                "doc": c.doc_id,
                "title": c.title,
                "action": c.action.value,
                "current": c.current_count,
                "draft": c.draft_count,
            }
            for c in result.changes
        ],
        "skipped": [{"file": name, "reason": reason} for name, reason in reloaded.skipped],
        "uploads_kept": list(reloaded.uploads_kept),
    }


def article_json(view: ArticleView) -> dict:
    """`policybot article --json`: the document, then the article as the store keeps it."""
    return {
        "doc": view.doc.id,
        "doc_title": view.doc.cite_title,
        "in_force": view.doc.in_force,
        "repealed_by": view.doc.repealed_by or None,
        **view.article.as_dict(),
    }


if __name__ == "__main__":
    sys.exit(main())
