"""Answer latency, warm and in-process: question text → reply text, the path the bot runs.

Usage: python bench/bench_answer.py [--data DIR] [--questions N]
Builds the default corpus into a temp data folder unless --data names a published one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import PROJECT, load_questions, report, summarise  # noqa: E402
from bot.answer import plain_answer  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from policy_corpus.config import load_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="a data folder with a published corpus (default: build one)")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    data = args.data or tempfile.mkdtemp(prefix="policybot-bench-")
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": data})
    if not args.data:
        from embeddings.build import make_index_builder
        from policy_corpus.library import Library
        from policy_corpus.sources import load_sources

        Library(config.data_path).publish(load_sources(config.source_paths).documents, make_index_builder(config))
    assistant = Assistant(config)
    questions = load_questions(args.questions)
    for question in questions[:10]:  # warm up: first calls pay for lazy initialisation
        plain_answer(assistant.ask(question))
    samples, abstained = [], 0
    for question in questions:
        started = time.perf_counter()
        answer = assistant.ask(question)
        plain_answer(answer)
        samples.append((time.perf_counter() - started) * 1000)
        abstained += answer.abstained
    figures = summarise(samples) | {"abstained": abstained, "corpus_version": assistant.version,
                                    "machine": f"{platform.machine()} {os.cpu_count()} cores"}
    report("answer_latency", figures)


if __name__ == "__main__":
    main()
