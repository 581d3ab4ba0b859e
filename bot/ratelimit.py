"""A per-user sliding-window rate limit on incoming questions (pure Python, injectable clock)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

PRUNE_ABOVE = 10_000  # users tracked before idle ones are dropped


@dataclass(frozen=True)
class Verdict:
    """Whether one request may go ahead; if not, when the next one may, and whether to say so."""

    allowed: bool
    retry_after: float = 0.0  # seconds until the oldest request in the window expires
    first_refusal: bool = False  # the first refusal since the last allowed request: warn only once

    @property
    def retry_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))


class RateLimiter:
    """At most `count` requests per key within any `seconds`-long window; refusals don't count."""

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if count < 1 or seconds <= 0:
            raise ValueError(f"rate limit needs count >= 1 and seconds > 0, got {count} per {seconds}s")
        self.count = count
        self.seconds = seconds
        self.clock = clock
        self._times: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._lock = threading.Lock()

    def check(self, key: int) -> Verdict:
        """Record a request by `key` if the window allows it."""
        now = self.clock()
        with self._lock:
            if len(self._times) > PRUNE_ABOVE:
                self._forget_idle(now)
            times = self._times.setdefault(key, deque())
            while times and times[0] <= now - self.seconds:
                times.popleft()
            if len(times) < self.count:
                times.append(now)
                self._warned.discard(key)
                return Verdict(True)
            first = key not in self._warned
            self._warned.add(key)
            return Verdict(False, times[0] + self.seconds - now, first)

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose windows are empty, so the table does not grow with every user ever seen."""
        for key in [k for k, t in self._times.items() if not t or t[-1] <= now - self.seconds]:
            del self._times[key]
            self._warned.discard(key)
