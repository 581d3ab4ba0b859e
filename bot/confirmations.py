"""Staff changes waiting for 确认: kept in memory under short unguessable tokens that the buttons carry
(callback_data is limited to 64 bytes), forgotten after an hour or when too many wait."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import ExpiredError
from .texts import EXPIRED_TEXT

PENDING_SECONDS = 3600  # an unconfirmed upload or removal is forgotten after an hour
MAX_PENDING = 20

T = TypeVar("T")


@dataclass
class _Waiting(Generic[T]):
    value: T
    created: float = field(default_factory=time.monotonic)


class Confirmations(Generic[T]):
    """Token → what waits for 确认; thread-safe."""

    def __init__(self, seconds: float = PENDING_SECONDS, most: int = MAX_PENDING) -> None:
        self.seconds = seconds
        self.most = most
        self._waiting: dict[str, _Waiting[T]] = {}
        self._lock = threading.Lock()

    def remember(self, value: T) -> str:
        """Keep `value` until it is taken; returns its token."""
        token = secrets.token_urlsafe(8)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, w in self._waiting.items() if now - w.created > self.seconds]:
                del self._waiting[key]
            while len(self._waiting) >= self.most:
                del self._waiting[next(iter(self._waiting))]  # the oldest
            self._waiting[token] = _Waiting(value)
        return token

    def peek(self, token: str) -> T:
        """What waits under `token`, left waiting; ExpiredError if nothing (any more)."""
        with self._lock:
            waiting = self._waiting.get(token)
        return self._alive(waiting)

    def take(self, token: str) -> T:
        """What waits under `token`, no longer waiting; ExpiredError if nothing (any more)."""
        with self._lock:
            waiting = self._waiting.pop(token, None)
        return self._alive(waiting)

    def _alive(self, waiting: _Waiting[T] | None) -> T:
        if waiting is None or time.monotonic() - waiting.created > self.seconds:
            raise ExpiredError(EXPIRED_TEXT)
        return waiting.value
