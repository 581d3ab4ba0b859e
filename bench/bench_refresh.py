"""Refresh: publish a one-document change to the default corpus, as staff do while the bot runs.

Usage: python bench/bench_refresh.py [--data DIR] [--rounds N] [--backend onnx] [--no-cli]

Each round changes one article of payment.md (a copy of the default documents), then runs what an
admin refresh runs in the serving process, where the model is loaded and the embedding cache warm:
parse the documents, `Library.publish` with `make_index_builder` (store copy, re-embed only the
changed text, FAISS, BM25, BM25 on the background's scale), then the Assistant switching to the new
version. Reports the median round, its stages (from the index's own timings), and how many units were
embedded. Then times `policybot ingest` as a fresh process for the same kind of change (model load
included). With --data, new versions are published into DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import PROJECT, data_folder, machine, report
from bot.assistant import Assistant
from embeddings.build import INDEX_META, get_encoder, make_index_builder
from policy_corpus.config import load_config
from policy_corpus.library import Library
from policy_corpus.sources import load_sources

CHANGED = "payment.md"
ANCHOR = "制定本条例。"  # the end of payment.md's 第一条


def change_document(folder: Path, mark: str) -> None:
    """Reword one article of one document (a different wording each round)."""
    path = folder / CHANGED
    text = path.read_text(encoding="utf-8")
    start = text.index(ANCHOR) + len(ANCHOR)
    end = text.index("\n", start)
    path.write_text(text[:start] + f"（修订{mark}）" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a data folder with the default corpus published (default: build one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", help="embedding backend (default: config.yaml's)")
    parser.add_argument("--no-cli", action="store_true", help="skip timing `policybot ingest` as a fresh process")
    args = parser.parse_args()
    with data_folder(args.data) as data, tempfile.TemporaryDirectory(prefix="policybot-docs-") as scratch:
        measure(data, Path(scratch), args)


def measure(data: str, scratch: Path, args: argparse.Namespace) -> None:
    documents = scratch / "documents"
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": data})
    if args.backend:
        config.embeddings.backend = args.backend
    shutil.copytree(config.corpus_path, documents)
    library = Library(config.data_path, config.corpus.keep_versions)
    build = make_index_builder(config)
    # the state of a running bot: corpus published, model loaded and used, cache warm
    library.publish(load_sources([documents]).documents, build)
    assistant = Assistant(config, library)
    assistant.ask("银行贷款到期能续贷吗")
    get_encoder(config).encode(["预热"])

    rounds = []
    for number in range(args.rounds):
        change_document(documents, f"{time.time_ns()}-{number}")
        started = time.perf_counter()
        docs = load_sources([documents]).documents
        parsed = time.perf_counter()
        result = library.publish(docs, build, published_by="bench")
        published = time.perf_counter()
        assistant.refresh()
        switched = time.perf_counter()
        meta = json.loads((library.versions_dir / result.version / INDEX_META).read_text(encoding="utf-8"))
        rounds.append(
            {
                "seconds": switched - started,
                "parse_s": parsed - started,
                "publish_s": published - parsed,
                "index_s": meta["seconds"],
                "switch_s": switched - published,
                "embedded": meta["embedded"],
                "units": meta["units"],
                "stages_s": meta["stages"],
            }
        )
    median = sorted(rounds, key=lambda r: r["seconds"])[len(rounds) // 2]
    figures = {
        "rounds": len(rounds),
        "median_s": round(statistics.median(r["seconds"] for r in rounds), 3),
        "max_s": round(max(r["seconds"] for r in rounds), 3),
        "parse_s": round(median["parse_s"], 3),
        "store_s": round(median["publish_s"] - median["index_s"], 3),
        "index_s": median["index_s"],
        "switch_s": round(median["switch_s"], 3),
        "index_stages_s": median["stages_s"],
        "embedded_units": median["embedded"],
        "total_units": median["units"],
    }
    if not args.no_cli:
        change_document(documents, f"{time.time_ns()}-cli")
        policybot = Path(sys.executable).with_name("policybot")
        command = [str(policybot)] if policybot.exists() else [sys.executable, "-m", "bot.cli"]
        environment = os.environ | {"POLICYBOT_DATA_DIR": str(data), "POLICYBOT_CORPUS_DIR": str(documents)}
        if args.backend:  # the CLI reads config.yaml: a copy with the backend set
            environment["POLICYBOT_CONFIG"] = str(config_copy(args.backend, scratch))
        started = time.perf_counter()
        done = subprocess.run(
            command + ["ingest"], check=True, env=environment, capture_output=True, text=True, timeout=300
        )
        figures["cli_ingest_process_s"] = round(time.perf_counter() - started, 2)
        figures["cli_published"] = "published version" in done.stdout + done.stderr
    report("refresh", figures | {"backend": config.embeddings.backend, "machine": machine()})


def config_copy(backend: str, folder: Path) -> Path:
    """config.yaml with another embedding backend, in `folder` (its relative paths made absolute)."""
    import yaml

    raw = yaml.safe_load((PROJECT / "config.yaml").read_text(encoding="utf-8"))
    raw["embeddings"]["backend"] = backend
    if raw["search"].get("background"):
        raw["search"]["background"] = str((PROJECT / raw["search"]["background"]).resolve())
    copy = folder / "config.yaml"
    copy.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return copy


if __name__ == "__main__":
    main()
