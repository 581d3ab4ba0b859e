"""Shared helpers for the benchmarks: question sets, timing summaries, one JSON line per result."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
SHARED = PROJECT.parent / "shared"


def load_questions(limit: int = 200) -> list[str]:
    """Varied questions: the SME development and validation sets, topped up with real public questions."""
    questions: list[str] = []
    for path in (
        SHARED / "eval" / "dev_questions.jsonl",
        BENCH / "validation_questions.jsonl",
        SHARED / "eval" / "stard_train.jsonl",
    ):
        if path.exists():
            questions += [
                json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
    return questions[:limit]


def summarise(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


def report(name: str, figures: dict) -> None:
    """Print a small table, then the same figures as one JSON line."""
    width = max(len(key) for key in figures)
    print(f"== {name}")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    print(json.dumps({"bench": name} | figures, ensure_ascii=False))


def machine() -> str:
    """What the figures ran on: cores, CPU model, and how busy the machine was (1-minute load average)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} cores, {model}{load}"


def peak_rss_mb() -> dict:
    """Peak resident memory of this process and of its finished children, in MB.

    This process' own peak is read from /proc (VmHWM) where there is one: ru_maxrss carries the
    parent's peak across fork and exec, so a child started by a big parent would report the parent's.
    """
    import resource

    scale = 1 / 1024 if platform.system() == "Linux" else 1 / (1024 * 1024)  # KB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
    except OSError:
        pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {
        "peak_rss_mb": round(max(own, children)),
        "peak_rss_self_mb": round(own),
        "peak_rss_children_mb": round(children),
    }


def folder_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20, 1)


def answer_latency(assistant, questions: list[str], warmup: int = 10) -> dict:
    """Warm, in-process latency of the bot's path: question text → answer → reply text."""
    import time

    from bot.render import plain_answer

    for question in questions[:warmup]:  # first calls pay for lazy initialisation
        plain_answer(assistant.ask(question))
    samples, abstained = [], 0
    for question in questions:
        started = time.perf_counter()
        answer = assistant.ask(question)
        plain_answer(answer)
        samples.append((time.perf_counter() - started) * 1000)
        abstained += answer.abstained
    return summarise(samples) | {"abstained": abstained}


@contextlib.contextmanager
def data_folder(given: str | None) -> Iterator[str]:
    """The data folder named on the command line, or a temp one that is removed afterwards."""
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="policybot-bench-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_config(data: str | Path, backend: str | None = None):
    """The project's config.yaml with the data folder (and, if given, the embedding backend) replaced."""
    from policy_corpus.config import load_config

    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(data)})
    if backend:
        config.embeddings.backend = backend
    return config


def corpus_config(data: str | Path, given: str | None, backend: str | None = None):
    """`bench_config` for `data`; the default corpus is published there first unless `given` (--data) names an
    already published folder."""
    config = bench_config(data, backend)
    if not given:
        publish_corpus(config)
    return config


def publish_corpus(config) -> None:
    """Publish the configured corpus, with its search index, into the config's data folder."""
    from embeddings.build import make_index_builder
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    Library(config.data_path).publish(load_sources(config.source_paths).documents, make_index_builder(config))
