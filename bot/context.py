"""What each chat asked last, so that a follow-up ("那担保呢？") is answered in its context.

Kept in memory only, a few minutes and a few turns per chat, for a bounded number of chats; never
logged. /new (or typing 新问题) forgets a chat's context.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CONTEXT_SECONDS = 600  # a follow-up more than ten minutes later starts afresh
CONTEXT_TURNS = 3  # follow-ups in a row before the context is let go
MAX_CHATS = 10_000  # chats remembered; the least recently active are forgotten first


@dataclass
class ChatContext:
    """The last question of a chat, as it was searched, and what it was about."""

    query: str  # the text searched (a follow-up's includes the question it leaned on)
    topic: str  # a few words for 「接着上一个问题（…）回答」
    follow_ups: int  # how many follow-ups in a row led here
    at: float
    document: str | None = None  # the document its answer cited first


class Contexts:
    """Chat id → ChatContext; thread-safe."""

    def __init__(
        self,
        seconds: float = CONTEXT_SECONDS,
        turns: int = CONTEXT_TURNS,
        most: int = MAX_CHATS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.turns = turns
        self.most = most
        self.clock = clock
        self._chats: OrderedDict[int, ChatContext] = OrderedDict()
        self._held: OrderedDict[int, tuple[Any, float]] = OrderedDict()  # exchanges waiting for the next message
        self._lock = threading.Lock()

    def get(self, chat_id: int) -> ChatContext | None:
        """The chat's context, unless it expired (by time or by turns)."""
        with self._lock:
            context = self._chats.get(chat_id)
            if context is None:
                return None
            if self.clock() - context.at > self.seconds or context.follow_ups >= self.turns:
                del self._chats[chat_id]
                return None
            return context

    def remember(self, chat_id: int, query: str, topic: str, follow_up: bool, document: str | None = None) -> None:
        with self._lock:
            previous = self._chats.pop(chat_id, None)
            follow_ups = previous.follow_ups + 1 if follow_up and previous is not None else 0
            self._chats[chat_id] = ChatContext(query, topic, follow_ups, self.clock(), document)
            while len(self._chats) > self.most:
                self._chats.popitem(last=False)

    def forget(self, chat_id: int) -> bool:
        """Drop the chat's context (and an exchange it holds); True if there was one."""
        with self._lock:
            held = self._held.pop(chat_id, None) is not None
            return self._chats.pop(chat_id, None) is not None or held

    def hold(self, chat_id: int, exchange: Any) -> None:
        """Keep an exchange the chat's next message may continue (a size question waiting for a figure); it
        expires like the context and /new forgets it."""
        with self._lock:
            self._held.pop(chat_id, None)
            self._held[chat_id] = (exchange, self.clock())
            while len(self._held) > self.most:
                self._held.popitem(last=False)

    def held(self, chat_id: int) -> Any:
        """The exchange the chat holds, unless it expired; None if none."""
        with self._lock:
            found = self._held.get(chat_id)
            if found is None:
                return None
            if self.clock() - found[1] > self.seconds:
                del self._held[chat_id]
                return None
            return found[0]

    def release(self, chat_id: int) -> None:
        with self._lock:
            self._held.pop(chat_id, None)

    def __len__(self) -> int:
        return len(self._chats)
