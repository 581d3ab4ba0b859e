"""First start: from an empty data folder to a national-law answer, the way `make run` starts.

Usage: python bench/bench_quickstart.py [--data DIR] [--keep] [--complete]

Runs `policybot ingest --if-missing --quick` (what `make run` runs first) in a fresh data folder, then pipes a
labour question into `policybot chat` and times each step; the chat starts the background build, and
`policybot status --json` is read while it runs. --complete then runs `policybot ingest` (blocking), which
finishes the build, and times it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT, machine, report

QUESTION = "招了个员工签一年合同，试用期最长能约定多久？"
POLICYBOT = [sys.executable, "-m", "bot.cli"]


def run(args: list[str], data: Path, stdin: str | None = None, timeout: float = 3600) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        POLICYBOT + args,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT,
        env=os.environ | {"POLICYBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"},
        check=True,
    )
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="data folder (default: a temp folder); must be empty")
    parser.add_argument("--keep", action="store_true", help="keep the temp data folder")
    parser.add_argument("--complete", action="store_true", help="then complete the index with `policybot ingest`")
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="policybot-quick-"))
    try:
        quick_s, _ = run(["ingest", "--if-missing", "--quick"], data)
        chat_s, reply = run(["chat"], data, stdin=QUESTION + "\n")
        _, status = run(["status", "--json"], data)
        figures = {
            "quick_ingest_s": round(quick_s, 1),
            "chat_answer_s": round(chat_s, 1),
            "to_first_answer_s": round(quick_s + chat_s, 1),
            "cites_labour_law": "劳动合同法" in reply,
            "status": json.loads(status),
        }
        if args.complete:
            complete_s, _ = run(["ingest"], data)
            _, status = run(["status", "--json"], data)
            figures |= {"complete_ingest_s": round(complete_s, 1), "status_after": json.loads(status)}
        figures["machine"] = machine()
        report("quickstart", figures)
        print(reply, file=sys.stderr)
    finally:
        if not args.data and not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
