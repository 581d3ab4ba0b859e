"""Retrieval quality per embedding backend (and unit policy) on the default corpus.

Usage: python bench/eval_backends.py [--backends torch,onnx,onnx-int8] [--background-cache DATA_DIR]

For each backend, publishes the default corpus into a temp data folder and evaluates the hybrid
search on the development questions (shared/eval/dev_questions.jsonl), the validation questions
(bench/validation_questions.jsonl) and the blind ones (bench/blind_questions.jsonl): recall@1/3, MRR@10, and
how often it abstains.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import BENCH, PROJECT, SHARED, machine, report
from embeddings.build import make_index_builder
from embeddings.evaluate import evaluate, read_questions
from embeddings.search import Searcher
from policy_corpus.config import load_config
from policy_corpus.library import Library
from policy_corpus.sources import load_sources

QUESTION_SETS = {
    "dev": SHARED / "eval" / "dev_questions.jsonl",
    "validation": BENCH / "validation_questions.jsonl",
    "blind": BENCH / "blind_questions.jsonl",
}


def evaluate_backend(backend: str, data: Path) -> dict:
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(data)})
    config = copy.deepcopy(config)
    config.embeddings.backend = backend
    library = Library(config.data_path)
    started = time.perf_counter()
    library.publish(load_sources(config.source_paths).documents, make_index_builder(config))
    figures: dict = {"backend": backend, "publish_s": round(time.perf_counter() - started, 2)}
    with library.open_store() as store:
        searcher = Searcher.load(library.current_dir(), config, store)
        for name, path in QUESTION_SETS.items():
            result = evaluate(searcher, read_questions(path))
            figures |= {
                f"{name}_r1": round(result.recall_at_1, 3),
                f"{name}_r3": round(result.recall_at_3, 3),
                f"{name}_mrr": round(result.mrr_at_10, 3),
                f"{name}_abstain_answerable": round(result.abstain_answerable, 3),
            }
            if result.abstain_unanswerable is not None:
                figures[f"{name}_abstain_unanswerable"] = round(result.abstain_unanswerable, 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="torch,onnx,onnx-int8")
    parser.add_argument("--background-cache", help="a data folder whose background/ index to reuse (saves ~20 s)")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        data = Path(tempfile.mkdtemp(prefix="policybot-eval-"))
        try:
            if args.background_cache and (Path(args.background_cache) / "background").exists():
                shutil.copytree(Path(args.background_cache) / "background", data / "background")
            report("retrieval_quality", evaluate_backend(backend, data) | {"machine": machine()})
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
