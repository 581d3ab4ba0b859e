"""Scale: the default install (the policy documents and the national collection): first full ingest time, index
size, memory, answer latency.

Usage: python bench/bench_scale.py [--articles N] [--backend onnx-int8] [--questions N] [--profile FILE]
                                   [--archive PATH] [--data DIR] [--keep]

Ingests in this process the way `policybot ingest` does (parse, store, embed with a progress bar,
FAISS, BM25, the background-scale BM25), into a temp data folder. Then a fresh child process, as a
server after a restart, loads the index and answers the benchmark questions warm, and measures
recall on the held-out public STARD questions whose gold articles are in the corpus.

--articles N ingests a random subset of whole laws (seeded) with about N articles: use it with
--profile to see where the time goes without the full run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import (
    PROJECT,
    answer_latency,
    folder_mb,
    load_questions,
    machine,
    peak_rss_mb,
    report,
)
from embeddings.encoder import BACKENDS
from policy_corpus.config import Config, load_config

ARCHIVE = PROJECT / "policy_corpus" / "national" / "lawrefbook-national.tar.gz"
# the public questions the query adapter was not fitted on (embeddings/train.py writes the split)
STARD = PROJECT / "embeddings" / "adapters" / "splits" / "stard_train.heldout.jsonl"


def scale_config(data: Path, archive: Path, backend: str | None) -> Config:
    """config.yaml (the default documents with national law beside them: `archive`), in `data`."""
    config = load_config(
        PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(data), "POLICYBOT_CORPUS__SOURCES": str(archive)}
    )
    if backend:
        config.embeddings.backend = backend
    return config


def ingest(config: Config, archive: Path, articles: int | None) -> dict:
    from embeddings.build import INDEX_META, make_index_builder
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    started, cpu_started = time.perf_counter(), time.process_time()
    documents = load_sources(config.source_paths).documents
    if articles:  # whole laws, in a seeded random order, until about `articles` articles
        random.Random(0).shuffle(documents)
        chosen, total = [], 0
        for doc in documents:
            if total >= articles:
                break
            chosen.append(doc)
            total += len(doc.articles)
        documents = chosen
    parsed = time.perf_counter()
    library = Library(config.data_path)
    library.publish(documents, make_index_builder(config, progress=True))
    finished, cpu = time.perf_counter(), time.process_time() - cpu_started
    folder = library.current_dir()
    meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
    ingest_s = finished - started
    stages = {"parse": round(parsed - started, 2), "store": round(finished - parsed - meta["seconds"], 2)} | meta[
        "stages"
    ]
    return {
        "laws": len(documents),
        "articles": meta["articles"],
        "units": meta["units"],
        "embedded": meta["embedded"],
        "backend": meta.get("backend"),
        "index_type": meta["index_type"],
        "ingest_s": round(ingest_s, 1),
        "articles_per_s": round(meta["articles"] / ingest_s, 1),
        # CPU seconds of all this process' threads: what the work costs, however busy the machine is
        "ingest_cpu_s": round(cpu, 1),
        "cpu_share": round(cpu / ingest_s / max(1, config.embeddings.threads), 2),
        "units_embedded_per_s": round(meta["embedded"] / max(stages["embed"], 1e-9), 1),
        "stages_s": stages,
        "version_folder_mb": folder_mb(folder),
        "faiss_mb": round((folder / "index.faiss").stat().st_size / 2**20, 1),
        "embedding_cache_mb": round((config.data_path / "embedding_cache.db").stat().st_size / 2**20, 1),
        "background_mb": folder_mb(config.data_path / "background")
        if (config.data_path / "background").exists()
        else 0.0,
    }


def serve(config: Config, questions: int) -> dict:
    """In a fresh process: load, answer warm, and measure recall on STARD questions the corpus holds."""
    from bot.assistant import Assistant
    from embeddings.evaluate import evaluate, read_questions

    started = time.perf_counter()
    assistant = Assistant(config)
    figures = {"load_s": round(time.perf_counter() - started, 2)}
    figures |= {f"answer_{k}": v for k, v in answer_latency(assistant, load_questions(questions)).items()}
    if STARD.exists():
        searcher = assistant.searcher
        held = set(searcher.article_index)
        stard = [q for q in read_questions(STARD) if any((doc, num, 0) in held for doc, num in q.gold)]
        if stard:
            result = evaluate(searcher, stard)
            figures |= {
                "stard_questions": len(stard),
                "stard_r1": round(result.recall_at_1, 3),
                "stard_r3": round(result.recall_at_3, 3),
                "stard_r10": round(result.recall_at_10, 3),
                "stard_r100": round(result.recall_at_100, 3),
                "stard_mrr": round(result.mrr_at_10, 3),
            }
    return figures | {"serve_peak_rss_mb": peak_rss_mb()["peak_rss_self_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=ARCHIVE, help="the collection (.tar.gz or folder)")
    parser.add_argument("--articles", type=int, help="ingest a seeded random subset of about N articles")
    parser.add_argument("--backend", choices=BACKENDS, help="embedding backend (default: config.yaml's)")
    parser.add_argument("--questions", type=int, default=250, help="questions for the answer latency (≥ 200)")
    parser.add_argument("--data", type=Path, help="data folder to ingest into (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data folder")
    parser.add_argument("--profile", type=Path, help="cProfile the ingest into this file and print its top")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(scale_config(args.data, args.archive, args.backend), args.questions)))
        return
    data = args.data or Path(tempfile.mkdtemp(prefix="policybot-scale-"))
    config = scale_config(data, args.archive, args.backend)
    profiler = cProfile.Profile() if args.profile else None
    try:
        if profiler:
            profiler.enable()
        figures = ingest(config, args.archive, args.articles)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
            print_profile(profiler)
        figures["ingest_peak_rss_mb"] = peak_rss_mb()["peak_rss_self_mb"]
        child = [
            sys.executable,
            __file__,
            "--serve",
            "--data",
            str(data),
            "--archive",
            str(args.archive),
            "--questions",
            str(args.questions),
            "--backend",
            config.embeddings.backend,
        ]
        served = subprocess.run(child, check=True, capture_output=True, text=True, timeout=3600)
        figures |= json.loads(served.stdout.strip().splitlines()[-1])
        figures |= {
            "peak_rss_mb": max(figures["ingest_peak_rss_mb"], figures["serve_peak_rss_mb"]),
            "machine": machine(),
        }
        report("scale", figures)
    finally:
        if not args.data and not args.keep:
            shutil.rmtree(data, ignore_errors=True)


def print_profile(profiler: cProfile.Profile, top: int = 25) -> None:
    """The profile's top functions by cumulative and by own time, on stderr."""
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        print(f"-- profile by {order}\n{text.getvalue()}", file=sys.stderr)


if __name__ == "__main__":
    main()
