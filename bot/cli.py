"""The `policybot` command line: a thin layer over the corpus, search and bot packages.

Examples:
    policybot ingest                      parse policy_corpus/documents and publish it
    policybot docs                        list the documents being served
    policybot article hunan 11 --json     print one article
    policybot diff hunan 11               what changed from the draft to the current wording
    policybot ask "银行非要我买理财才肯放款"  answer a question as the bot would
    policybot chat                        talk to the assistant in the terminal
    policybot serve                       run the Telegram bot (needs TELEGRAM_BOT_TOKEN)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from policy_corpus.citation import cite, diff_text, plain_diff
from policy_corpus.config import Config, ConfigError, load_config
from policy_corpus.errors import CorpusError
from policy_corpus.library import Library, NothingPublishedError
from policy_corpus.model import Article, Version
from policy_corpus.numerals import parse_article_ref
from policy_corpus.sources import load_sources
from policy_corpus.store import Store


class UsageError(Exception):
    """Bad input on the command line: one line on stderr, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token
    try:
        config = load_config(args.config)
        return args.func(args, config) or 0
    except (UsageError, CorpusError, ConfigError, NothingPublishedError, ValueError) as error:
        print(f"policybot: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policybot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="config file (default: config.yaml, or $POLICYBOT_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="parse the corpus and publish it with its search index")
    ingest.add_argument("--corpus", action="append", type=Path,
                        help="a folder or .tar.gz of documents; repeat for several (default: config)")
    ingest.add_argument("--if-missing", action="store_true", help="do nothing if a corpus is already published")
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
    diff.set_defaults(func=cmd_diff)
    return parser


# ---------------------------------------------------------------- commands


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    library = Library(config.data_path, config.corpus.keep_versions)
    if args.if_missing and library.current_name() is not None:
        return 0
    paths = args.corpus or config.source_paths
    loaded = load_sources(paths)
    for name, reason in loaded.skipped:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    if not loaded.documents:
        raise UsageError(f"no documents with articles found in {', '.join(map(str, paths))}")
    result = library.publish(loaded.documents, index_builder(config))
    for change in result.changes:
        if change.action == "removed":
            print(f"{change.doc_id}\t(removed)")
            continue
        counts = f"current {change.current_count}"
        if change.draft_count:
            counts += f", draft {change.draft_count}"
        print(f"{change.doc_id}\t{change.title}\t{counts}\t{change.action}")
    state = f"published version {result.version}" if result.published else f"unchanged, serving version {result.version}"
    print(f"{len(loaded.documents)} documents; {state}", file=sys.stderr)
    return 0


def index_builder(config: Config):
    """The search index builder for a publish (None while no search layer is installed)."""
    try:
        from embeddings.build import make_index_builder
    except ImportError:
        return None
    return make_index_builder(config)


def cmd_docs(args: argparse.Namespace, config: Config) -> int:
    with open_store(config) as store:
        infos = store.documents()
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], ensure_ascii=False, indent=1))
        return 0
    for info in infos:
        counts = f"{info.current_count} 条" + (f"（修订草案 {info.draft_count} 条）" if info.draft_count else "")
        print(f"{info.id}\t{info.title}\t{counts}\t{'；'.join(info.dates)}")
    return 0


def cmd_article(args: argparse.Namespace, config: Config) -> int:
    number, sub = parse_article_ref(args.number)
    with open_store(config) as store:
        info = store.document(args.doc)
        article = store.article(args.doc, number, Version(args.version), sub)
    if args.json:
        print(json.dumps(article_json(args.doc, info.cite_title, article), ensure_ascii=False, indent=1))
    else:
        print(format_article(info.cite_title, article))
    return 0


def cmd_diff(args: argparse.Namespace, config: Config) -> int:
    number, sub = parse_article_ref(args.number)
    with open_store(config) as store:
        info = store.document(args.doc)
        current = store.article(args.doc, number, Version.CURRENT, sub)
        if not info.draft_count:
            raise UsageError(f"《{info.title}》只有一个版本，没有修订草案可比较。")
        if current.paired_number is None:
            print(f"{cite(info.cite_title, current)} 是二次审议稿新增的条文：\n{current.text}")
            return 0
        draft = store.article(args.doc, current.paired_number, Version.DRAFT)
    print(f"{cite(info.cite_title, current)}（修订草案{draft.label}）")
    print(plain_diff(diff_text(draft.text, current.text)))
    print("[-…-] 删去  {+…+} 增加")
    return 0


# ---------------------------------------------------------------- helpers


def open_store(config: Config) -> Store:
    return Library(config.data_path).open_store()


def article_json(doc_id: str, doc_title: str, article: Article) -> dict:
    return {
        "doc": doc_id,
        "doc_title": doc_title,
        "version": article.version.value,
        "number": article.number,
        "sub": article.sub,
        "label": article.label,
        "title": article.title,
        "chapter": article.chapter,
        "paragraphs": [
            {"number": p.number, "text": p.text,
             "items": [{"number": i.number, "text": i.text} for i in p.items]}
            for p in article.paragraphs
        ],
        "notes": article.notes,
        "paired_number": article.paired_number,
        "status": article.status.value if article.status else None,
    }


def format_article(doc_title: str, article: Article) -> str:
    lines = [cite(doc_title, article)]
    if article.chapter:
        lines.append(article.chapter)
    lines.append(article.text)
    if article.notes:
        lines.append("注：" + "；".join(article.notes))
    if article.status is not None and article.paired_number is None:
        lines.append(f"（此条在二次审议稿中{'已移动' if article.status.value == 'moved' else '已删去'}）")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
