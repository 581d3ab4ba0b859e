"""Load: many owners at once through the stand-in Bot API server on 127.0.0.1, with the real bot.

Usage: python bench/bench_load.py [--data DIR] [--users 50] [--questions 10] [--no-burst]

The real Application (bot.telegram_app.build_application) long-polls the stand-in server
(tests/telegram_stub.py, loopback only). Every simulated owner sends its questions as fast as the
per-user rate limit allows: at most telegram.rate_limit_count in flight per rate_limit_seconds, the
next one only once the reply to the one `count` places back has arrived and the window has passed,
so no question is refused. Reports replies per second, reply latency (question sent → its answer
received) and checks that every question got exactly one answer and nothing was refused.

Then a burst run measures capacity: the same users and questions all at once, with the rate limit
raised in a bench-local copy of the settings (count = questions per user), since a refusal is
not an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import (
    corpus_config,
    data_folder,
    load_questions,
    machine,
    report,
    summarise,
)
from policy_corpus.config import Config
from tests.telegram_stub import BotApiStub, polling

TOKEN = "123456:BENCH-TOKEN"
FIRST_USER = 5000
MARGIN_S = 0.3  # beyond the window, so that clock steps never turn a paced question into a refusal
REPLY_TIMEOUT_S = 120.0


class TimedStub(BotApiStub):
    """The stand-in server, noting when each message from the bot arrived."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.fetched: dict[tuple[int, str], float] = {}  # (user, text) → when the bot first fetched it

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        updates = super()._get_updates(params)
        now = time.perf_counter()
        for update in updates:
            message = update.get("message") or {}
            self.fetched.setdefault((message.get("chat", {}).get("id"), message.get("text")), now)
        return updates

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._api_sendmessage(params)
        self.arrivals.append((time.perf_counter(), message))  # list.append is atomic under the GIL
        return message


def user_questions(pool: list[str], users: int, per_user: int) -> dict[int, list[str]]:
    """Each user's questions: distinct openings within a user, so each answer names its question."""
    asked: dict[int, list[str]] = {}
    for user in range(users):
        mine: list[str] = []
        step = 0
        while len(mine) < per_user:
            question = pool[(user * 7 + step * 13) % len(pool)]
            step += 1
            if all(question[:20] != other[:20] for other in mine):
                mine.append(question)
        asked[FIRST_USER + user] = mine
    return asked


async def run(config: Config, assistant: Any, asked: dict[int, list[str]], pace: tuple[int, float] | None) -> dict:
    """All users at once; `pace` = (count, seconds) to stay within, or None to send everything now."""
    from bot.telegram_app import build_application
    from bot.texts import SLOW_DOWN_TEXT

    slow_down = SLOW_DOWN_TEXT.split("{", 1)[0]
    with TimedStub(token=TOKEN) as stub:
        config = copy.deepcopy(config)
        config.telegram.base_url, config.telegram.base_file_url = stub.base_url, stub.base_file_url
        if pace is None:  # the bench-local limit: nobody is refused in the burst
            config.telegram.rate_limit_count = max(len(q) for q in asked.values())
            config.telegram.rate_limit_seconds = 1.0
        application = build_application(config, assistant, TOKEN)
        async with polling(application):
            return await drive(stub, asked, pace, slow_down)


async def drive(stub: TimedStub, asked: dict[int, list[str]], pace: tuple[int, float] | None, slow_down: str) -> dict:
    answered: dict[tuple[int, int], asyncio.Event] = {
        (u, j): asyncio.Event() for u, qs in asked.items() for j in range(len(qs))
    }
    sent_at: dict[tuple[int, int], float] = {}
    answer_at: dict[tuple[int, int], float] = {}
    answers: dict[tuple[int, int], int] = defaultdict(int)
    refusals = stray = 0
    done = asyncio.Event()

    async def watch() -> None:
        """Match each message from the bot to the question it answers (answers start with 问：…)."""
        nonlocal refusals, stray
        seen = 0
        while not done.is_set():
            arrivals = stub.arrivals
            while seen < len(arrivals):
                at, message = arrivals[seen]
                seen += 1
                user, text = message["chat"]["id"], message.get("text", "")
                if text.startswith(slow_down):
                    refusals += 1
                    continue
                match = next((j for j, q in enumerate(asked.get(user, [])) if text.startswith("问：" + q[:20])), None)
                if match is None:
                    stray += 1  # a later part of a long answer, or something unexpected
                    continue
                answers[(user, match)] += 1
                if (user, match) not in answer_at:
                    answer_at[(user, match)] = at
                    answered[(user, match)].set()
            await asyncio.sleep(0.002)

    async def owner(user: int, questions: list[str]) -> None:
        for j, question in enumerate(questions):
            if pace is not None and j >= pace[0]:
                earlier = (user, j - pace[0])
                await asyncio.wait_for(answered[earlier].wait(), REPLY_TIMEOUT_S)
                delay = answer_at[earlier] + pace[1] + MARGIN_S - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent_at[(user, j)] = time.perf_counter()
            stub.send_text(user, question)
        for j in range(len(questions)):
            await asyncio.wait_for(answered[(user, j)].wait(), REPLY_TIMEOUT_S)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    try:
        await asyncio.gather(*(owner(user, questions) for user, questions in asked.items()))
        finished = max(answer_at.values())
        await asyncio.sleep(0.5)  # anything extra (a second answer, a refusal) would arrive now
    finally:
        done.set()
        await watcher
    latencies = [(answer_at[key] - sent_at[key]) * 1000 for key in sent_at]
    summary = summarise(latencies)
    # where a reply's time goes: waiting to be fetched by long polling, then the bot's handling
    fetched = {key: stub.fetched.get((key[0], asked[key[0]][key[1]])) for key in sent_at}
    to_fetch = [(fetched[key] - sent_at[key]) * 1000 for key in sent_at if fetched[key]]
    handling = [(answer_at[key] - fetched[key]) * 1000 for key in sent_at if fetched[key]]
    return {
        "questions": len(sent_at),
        "answered_once": sum(1 for key in sent_at if answers[key] == 1),
        "answered_twice_or_more": sum(1 for key in sent_at if answers[key] > 1),
        "refused": refusals,
        "other_messages": stray,
        "seconds": round(finished - started, 2),
        "replies_per_s": round(len(answer_at) / (finished - started), 1),
        "latency_median_ms": summary["median_ms"],
        "latency_p95_ms": summary["p95_ms"],
        "latency_max_ms": summary["max_ms"],
        "until_fetched_median_ms": summarise(to_fetch)["median_ms"] if to_fetch else None,
        "fetched_to_reply_median_ms": summarise(handling)["median_ms"] if handling else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a data folder with a published corpus (default: build one)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=10, help="questions per user")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst run with the limit raised")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the token
    with data_folder(args.data) as data:
        measure(data, args)


def measure(data: str, args: argparse.Namespace) -> None:
    config = corpus_config(data, args.data)
    from bot.assistant import Assistant

    assistant = Assistant(config)
    assistant.ask("银行贷款到期能续贷吗")  # warm: the model's first call pays for lazy initialisation
    asked = user_questions(load_questions(250), args.users, args.questions)
    limit = (config.telegram.rate_limit_count, config.telegram.rate_limit_seconds)
    common = {
        "users": args.users,
        "questions_per_user": args.questions,
        "backend": config.embeddings.backend,
        "machine": machine(),
    }
    figures = asyncio.run(run(config, assistant, asked, limit))
    report("load_paced", {"rate_limit": f"{limit[0]} per {limit[1]:g} s"} | figures | common)
    if not args.no_burst:
        figures = asyncio.run(run(config, assistant, asked, None))
        report("load_burst", {"rate_limit": f"raised to {args.questions} per 1 s (bench-local)"} | figures | common)


if __name__ == "__main__":
    main()
