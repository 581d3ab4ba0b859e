"""Sending queued alerts, off the owners' question path: one asyncio task drains the outbox.

No Telegram imports: the front end passes `send`, which delivers one alert and says how it went (`Outcome`).
Telegram allows about 30 messages a second overall and one a second to one chat: alerts go out at most OVERALL_RATE
a second and at least CHAT_SECONDS apart to one chat (answers to owners pass the application's own rate limiter
beside them). A sent alert leaves the outbox; one that could not be sent stays there for a later try or the next
start. A chat that blocked the bot is unsubscribed and its alerts dropped; when told to wait (Telegram's 429), the
sender sends nothing until then.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .subscriptions import ArticleChange, Push, Subscriptions

logger = logging.getLogger(__name__)


class Delivery(str, enum.Enum):
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot: unsubscribe them
    REFUSED = "refused"  # the message or chat was refused: another try would be too
    WAIT = "wait"  # flood control: send nothing for `retry_after` seconds, then try again
    FAILED = "failed"  # the network or the service: try again later


@dataclass
class Outcome:
    delivery: Delivery
    retry_after: float = 0.0
    reason: str = ""


# (chat id, the labels of the subscriptions matched, the changes) → how it went
Send = Callable[[int, list[str], list[ArticleChange]], Awaitable[Outcome]]


class AlertSender:
    """Drains the outbox while the application runs; `wake()` after queueing, `stop()` before closing the store."""

    OVERALL_RATE = 25  # messages a second, under Telegram's ~30
    CHAT_SECONDS = 1.0  # between two messages to one chat
    IDLE_SECONDS = 30.0  # how often an idle sender looks at the outbox (a publish wakes it at once)
    BATCH = 50
    MAX_ATTEMPTS = 8  # network failures before an alert is given up
    MAX_BACKOFF_SECONDS = 300.0

    def __init__(self, store: Subscriptions, send: Send, running: Callable[[], bool]) -> None:
        self.store = store
        self.send = send
        self.running = running  # the application's: nothing is sent before it starts or after it stops
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._next_send = 0.0  # monotonic: the overall pace, or the end of a wait the service asked for
        self._last_to_chat: dict[int, float] = {}
        self._retry_at: dict[int, float] = {}  # push id → monotonic time of its next try, after a failure

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="policybot:alerts")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Let an alert being sent finish, then end."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        while not self._stop.is_set():
            if not self.running():
                await self._idle(0.5)
                continue
            try:
                pushes = await asyncio.to_thread(self.store.pending, self.BATCH)
            except Exception:
                logger.exception("could not read the alerts outbox")
                await self._idle(self.IDLE_SECONDS)
                continue
            now = time.monotonic()
            due = [push for push in pushes if self._retry_at.get(push.id, 0.0) <= now]
            if not due:
                waits = [self._retry_at[push.id] - now for push in pushes if push.id in self._retry_at]
                await self._idle(min(waits + [self.IDLE_SECONDS]))
                continue
            for push in due:
                if self._stop.is_set() or not self.running():
                    break
                await self._send_paced(push)

    async def _send_paced(self, push: Push) -> None:
        ready = max(self._next_send, self._last_to_chat.get(push.chat_id, 0.0) + self.CHAT_SECONDS)
        if not await self._sleep(ready - time.monotonic()):
            return
        try:
            await self._send(push)
        except Exception:  # the sender keeps running; the alert stays for a later try
            logger.exception("alert %s could not be sent", push.id)
            self._retry_at[push.id] = time.monotonic() + self.CHAT_SECONDS
        now = time.monotonic()
        self._next_send = max(self._next_send, now + 1.0 / self.OVERALL_RATE)
        self._last_to_chat[push.chat_id] = now
        if len(self._last_to_chat) > 1000:
            self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if t > now - self.CHAT_SECONDS}

    async def _send(self, push: Push) -> None:
        current = await asyncio.to_thread(self.store.push, push.id)
        if current is None:  # unsubscribed or forgotten meanwhile
            return
        changes = await asyncio.to_thread(self.store.changes, current.change_ids)
        if not changes:
            await self._done(push)
            return
        outcome = await self.send(push.chat_id, current.subscriptions, changes)
        if outcome.delivery == Delivery.SENT:
            await self._done(push)
        elif outcome.delivery == Delivery.BLOCKED:
            dropped = await asyncio.to_thread(self.store.remove_chat, push.chat_id)
            self._retry_at.pop(push.id, None)
            logger.info(
                "chat %s blocked the bot: %d subscriptions cancelled, %d alerts dropped",
                push.chat_id,
                dropped.subscriptions,
                dropped.pushes,
            )
        elif outcome.delivery == Delivery.WAIT:
            self._next_send = time.monotonic() + outcome.retry_after
        elif outcome.delivery == Delivery.REFUSED:
            logger.warning("alert %s to chat %s refused: %s", push.id, push.chat_id, outcome.reason)
            await self._done(push)
        else:
            await self._failed(push, outcome.reason)

    async def _failed(self, push: Push, reason: str) -> None:
        attempts = await asyncio.to_thread(self.store.failed, push.id)
        if attempts >= self.MAX_ATTEMPTS:
            logger.warning("alert %s to chat %s given up after %d tries: %s", push.id, push.chat_id, attempts, reason)
            await self._done(push)
            return
        delay = min(2.0**attempts, self.MAX_BACKOFF_SECONDS)
        logger.warning("alert %s to chat %s not sent (%s): next try in %.0f s", push.id, push.chat_id, reason, delay)
        self._retry_at[push.id] = time.monotonic() + delay

    async def _done(self, push: Push) -> None:
        await asyncio.to_thread(self.store.done, push.id)
        self._retry_at.pop(push.id, None)

    async def _idle(self, seconds: float) -> None:
        """Wait for `seconds`, or until woken (a publish queued alerts) or stopped."""
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([wake, stop], timeout=max(0.0, seconds), return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            stop.cancel()
        self._wake.clear()

    async def _sleep(self, seconds: float) -> bool:
        """Wait for `seconds` unless stopped; False when stopped."""
        if seconds > 0:
            try:
                await asyncio.wait_for(self._stop.wait(), seconds)
            except asyncio.TimeoutError:
                pass
        return not self._stop.is_set()
