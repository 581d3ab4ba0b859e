"""Progress of long work (embedding a collection): a bar on a terminal, log lines elsewhere.

A service's log (systemd, Docker) is not a terminal: there a bar would be one endless line, so
progress is logged instead, a line every ~5% with the count, the rate and the time left.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from tqdm import tqdm

logger = logging.getLogger(__name__)


class Progress:
    """Counts `total` units of work as `update(n)` reports them."""

    def __init__(
        self,
        total: int,
        what: str,
        unit: str = "unit",
        *,
        show: bool = True,
        stream: TextIO | None = None,
        step: float = 0.05,
        log: logging.Logger = logger,
    ) -> None:
        self.total = total
        self.what = what
        self.unit = unit
        self.done = 0
        self.step = step
        self.log = log
        self._start = time.monotonic()
        self._next_share = step
        stream = stream or sys.stderr
        self._bar = None
        self._log_lines = False
        if show and total > 0:
            if stream.isatty():
                self._bar = tqdm(total=total, desc=what, unit=unit, file=stream)
            else:
                self._log_lines = True

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._log_lines and self.total and (self.done / self.total >= self._next_share or self.done >= self.total):
            self.log.info("%s", self.line())
            while self._next_share <= self.done / self.total:
                self._next_share += self.step

    def line(self) -> str:
        """e.g. 'embedding: 7,700/154,211 units (5%), 61.2 units/s, about 40 min left'."""
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        share = self.done / self.total if self.total else 1.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{self.what}: {self.done:,}/{self.total:,} {self.unit}s ({share:.0%}), {rate:.1f} {self.unit}s/s, "
            f"{_duration(left)} left"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:  # noqa: PYI034 -- typing.Self needs Python 3.11; we support 3.10
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown time"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"
