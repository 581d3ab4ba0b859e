"""Shared helpers for the benchmarks: question sets, timing summaries, one JSON line per result."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
SHARED = PROJECT.parent / "shared"


def load_questions(limit: int = 200) -> list[str]:
    """Varied questions: the SME development and validation sets, topped up with real public questions."""
    questions: list[str] = []
    for path in (SHARED / "eval" / "dev_questions.jsonl", BENCH / "validation_questions.jsonl",
                 SHARED / "eval" / "stard_train.jsonl"):
        if path.exists():
            questions += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()
                          if line.strip()]
    return questions[:limit]


def summarise(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2),
            "max_ms": round(ordered[-1], 2)}


def report(name: str, figures: dict) -> None:
    """Print a small table, then the same figures as one JSON line."""
    width = max(len(key) for key in figures)
    print(f"== {name}")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    print(json.dumps({"bench": name} | figures, ensure_ascii=False))
