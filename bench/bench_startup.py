"""Start-up: from process start to ready to answer (corpus loaded, first question answered).

Usage: python bench/bench_startup.py [--data DIR] [--runs N] [--backend onnx]

Starts a fresh Python process N times on an already built index (the default corpus, built into a
temp data folder unless --data names a published one) and times, from the parent, the moment the
process is started until it reports the first answer. The child also reports its own split:
imports, loading the Assistant (model, FAISS, BM25, store) and the first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIRST_QUESTION = "银行贷款到期了，能不能不还本金直接续贷？"


def child(data: str, backend: str | None) -> None:
    """What a server does at start: import, load the serving version, answer."""
    started = time.perf_counter()
    from bot.assistant import Assistant
    from bot.render import plain_answer
    from policy_corpus.config import load_config

    imported = time.perf_counter()
    config = load_config(Path(__file__).resolve().parent.parent / "config.yaml", environ={"POLICYBOT_DATA_DIR": data})
    if backend:
        config.embeddings.backend = backend
    assistant = Assistant(config)
    loaded = time.perf_counter()
    reply = plain_answer(assistant.ask(FIRST_QUESTION))
    answered = time.perf_counter()
    print(
        "READY "
        + json.dumps(
            {
                "imports_s": imported - started,
                "assistant_s": loaded - imported,
                "first_answer_s": answered - loaded,
                "reply_chars": len(reply),
            }
        ),
        flush=True,
    )
    os._exit(0)  # the figure is taken; interpreter teardown (torch's takes ~1 s) is not start-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a data folder with a published corpus (default: build one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", help="embedding backend (default: config.yaml's)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data, args.backend)
        return

    from bench.common import data_folder

    with data_folder(args.data) as data:
        measure(data, args)


def measure(data: str, args: argparse.Namespace) -> None:
    from bench.common import corpus_config, machine, report

    config = corpus_config(data, args.data, args.backend)
    command = [sys.executable, __file__, "--child", "--data", str(data), "--backend", config.embeddings.backend]
    totals, splits = [], []
    for run in range(args.runs):
        started = time.perf_counter()
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
            for line in process.stdout:
                if line.startswith("READY "):
                    totals.append(time.perf_counter() - started)
                    splits.append(json.loads(line[len("READY ") :]))
                    break
            process.wait(timeout=60)
        if len(totals) <= run:
            raise SystemExit(f"run {run + 1}: the child process ended without answering")
    figures = {
        "runs": len(totals),
        "median_s": round(statistics.median(totals), 2),
        "min_s": round(min(totals), 2),
        "max_s": round(max(totals), 2),
    }
    for key in ("imports_s", "assistant_s", "first_answer_s"):
        figures[f"median_{key}"] = round(statistics.median(split[key] for split in splits), 3)
    report("startup", figures | {"backend": config.embeddings.backend, "machine": machine()})


if __name__ == "__main__":
    main()
