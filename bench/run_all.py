"""Every benchmark on the default corpus: answer latency, start-up, refresh and load (`make bench`).

Usage: python bench/run_all.py [--keep]

Publishes the default corpus once into a temp data folder (reusing the project data folder's cached
background index when there is one), then runs bench_answer, bench_startup, bench_load and
bench_refresh on it, each in its own process, printing each one's table and JSON line. The national
collection is a separate, longer run: `make bench-scale` (bench/bench_scale.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import BENCH, PROJECT, machine
from policy_corpus.config import load_config

BENCHMARKS = [("bench_answer.py", []), ("bench_startup.py", []), ("bench_load.py", []), ("bench_refresh.py", [])]
BUDGET_S = 300


def publish_default_corpus(data: Path) -> float:
    from embeddings.build import make_index_builder
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(data)})
    seed = load_config(PROJECT / "config.yaml", environ={}).data_path / "background"
    if seed.is_dir():  # the background index depends only on the archive: copying beats rebuilding
        shutil.copytree(seed, data / "background", ignore=shutil.ignore_patterns(".build-*"))
    started = time.perf_counter()
    Library(config.data_path).publish(load_sources(config.source_paths).documents, make_index_builder(config))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the temp data folder")
    args = parser.parse_args()
    started = time.perf_counter()
    data = Path(tempfile.mkdtemp(prefix="policybot-bench-"))
    failed = []
    try:
        print(f"machine: {machine()}; default corpus published in {publish_default_corpus(data):.1f} s", flush=True)
        for script, extra in BENCHMARKS:
            print(flush=True)
            result = subprocess.run(
                [sys.executable, str(BENCH / script), "--data", str(data), *extra], timeout=BUDGET_S, check=False
            )
            if result.returncode != 0:
                failed.append(script)
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    total = time.perf_counter() - started
    print(f"\nall benchmarks: {total:.0f} s (budget {BUDGET_S} s){'; FAILED: ' + ', '.join(failed) if failed else ''}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
