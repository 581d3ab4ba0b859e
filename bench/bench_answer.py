"""Answer latency, warm and in-process: question text → reply text, the path the bot runs.

Usage: python bench/bench_answer.py [--data DIR] [--questions N] [--backend onnx]
Builds the default corpus into a temp data folder unless --data names a published one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import (
    answer_latency,
    corpus_config,
    data_folder,
    load_questions,
    machine,
    report,
)
from bot.assistant import Assistant
from embeddings.encoder import BACKENDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a data folder with a published corpus (default: build one)")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--backend", choices=BACKENDS, help="embedding backend (default: config.yaml's)")
    args = parser.parse_args()
    with data_folder(args.data) as data:
        run(data, args)


def run(data: str, args: argparse.Namespace) -> None:
    config = corpus_config(data, args.data, args.backend)
    assistant = Assistant(config)
    figures = answer_latency(assistant, load_questions(args.questions))
    report(
        "answer_latency",
        figures | {"backend": config.embeddings.backend, "corpus_version": assistant.version, "machine": machine()},
    )


if __name__ == "__main__":
    main()
