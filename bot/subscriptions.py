"""Owners' subscriptions to alerts, the outbox of alerts waiting to be sent, and the article changes they list.

One SQLite file, `subscriptions.db`, in the data folder beside questions.db. Subscriptions are made in a private
chat, whose id is the owner's Telegram user id; nothing else about the owner is kept. A subscription stays until
the owner cancels it (/unsubscribe, /forget) or blocks the bot. An alert waits in the outbox until it is sent, so a
restart resumes sending. The article changes an alert lists (law text before and after, no one's data) are kept
for `retention_days`, for the alert's buttons.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path

import sqlite_utils

from policy_corpus.model import ChangeAction

from .questionlog import TIME_FORMAT, utc_now
from .sqlitefile import SqliteFile

SUBSCRIPTIONS_FILE = "subscriptions.db"


class SubscriptionKind(str, enum.Enum):
    TOPIC = "topic"  # one of the named topics (融资贷款), searched with a few words
    KEYWORD = "keyword"  # the owner's own word or phrase, searched as it is


@dataclass
class Subscription:
    id: int
    chat_id: int
    kind: SubscriptionKind
    label: str  # the topic's name or the keyword
    created: str


@dataclass
class ArticleChange:
    """One article a publish added, changed or removed (the current wording only)."""

    doc_id: str
    doc_title: str  # the document's title for citations
    number: int
    sub: int
    label: str  # 第十一条
    action: ChangeAction
    citation: str  # 《湖南省实施〈中小企业促进法〉办法》第十一条【金融机构支持】
    before: str = ""  # the text before the publish ("" when added)
    after: str = ""  # the text after it ("" when removed)
    id: int = 0  # once stored

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.doc_id, self.number, self.sub)


@dataclass
class Push:
    """One alert waiting to be sent to one chat."""

    id: int
    chat_id: int
    subscriptions: list[str]  # the labels of the chat's subscriptions the changes matched
    change_ids: list[int] = field(default_factory=list)
    attempts: int = 0


@dataclass
class Dropped:
    """What was deleted of one chat: its subscriptions and its alerts not yet sent."""

    subscriptions: int
    pushes: int


class Subscriptions(SqliteFile):
    """subscriptions.db (bot/sqlitefile.py: a connection per thread, WAL so the sender never blocks a handler)."""

    def __init__(self, path: str | Path, retention_days: int | None = None) -> None:
        """`retention_days`: article changes older than this are deleted (at start and as alerts are queued)."""
        super().__init__(path)
        self.retention_days = retention_days
        self._create_tables(self._db())
        self.purge()

    @staticmethod
    def _create_tables(db: sqlite_utils.Database) -> None:
        if "subscriptions" not in db.table_names():
            db["subscriptions"].create({"id": int, "chat_id": int, "kind": str, "label": str, "created": str}, pk="id")
            db["subscriptions"].create_index(["chat_id", "label"], unique=True)
        if "pushes" not in db.table_names():
            db["pushes"].create(
                {"id": int, "chat_id": int, "subscriptions": str, "change_ids": str, "created": str, "attempts": int},
                pk="id",
            )
            db["pushes"].create_index(["chat_id"])
        if "changes" not in db.table_names():
            db["changes"].create(
                {
                    "id": int,
                    "doc_id": str,
                    "doc_title": str,
                    "number": int,
                    "sub": int,
                    "label": str,
                    "action": str,
                    "citation": str,
                    "before": str,
                    "after": str,
                    "published_at": str,
                },
                pk="id",
            )
            db["changes"].create_index(["published_at"])

    # ------------------------------------------------------------ subscriptions

    def add(self, chat_id: int, kind: SubscriptionKind, label: str) -> bool:
        """Subscribe a chat; False when it has this subscription already."""
        row = {"chat_id": chat_id, "kind": kind.value, "label": label, "created": _now()}
        db = self._db()
        with db.conn:
            cursor = db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, kind, label, created) VALUES (?, ?, ?, ?)",
                [row["chat_id"], row["kind"], row["label"], row["created"]],
            )
        return cursor.rowcount == 1

    def of_chat(self, chat_id: int) -> list[Subscription]:
        return [_subscription(row) for row in self._db()["subscriptions"].rows_where("chat_id = ?", [chat_id], "id")]

    def count(self, chat_id: int) -> int:
        return self._db().execute("SELECT count(*) FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()[0]

    def all(self) -> list[Subscription]:
        return [_subscription(row) for row in self._db()["subscriptions"].rows_where(order_by="id")]

    def remove(self, chat_id: int, subscription_id: int) -> Subscription | None:
        """Cancel one subscription of a chat by its id; None if the chat has no such subscription."""
        found = [s for s in self.of_chat(chat_id) if s.id == subscription_id]
        if not found:
            return None
        db = self._db()
        with db.conn:
            db.execute("DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", [subscription_id, chat_id])
        self._drop_orphan_pushes(chat_id)
        return found[0]

    def remove_label(self, chat_id: int, label: str) -> bool:
        db = self._db()
        with db.conn:
            gone = db.execute("DELETE FROM subscriptions WHERE chat_id = ? AND label = ?", [chat_id, label]).rowcount
        self._drop_orphan_pushes(chat_id)
        return gone > 0

    def remove_chat(self, chat_id: int) -> Dropped:
        """Every subscription of a chat and its alerts not yet sent (全部取消, /forget, a chat that blocked us)."""
        db = self._db()
        with db.conn:
            subscriptions = db.execute("DELETE FROM subscriptions WHERE chat_id = ?", [chat_id]).rowcount
            pushes = db.execute("DELETE FROM pushes WHERE chat_id = ?", [chat_id]).rowcount
        return Dropped(subscriptions, pushes)

    def held_about(self, chat_id: int) -> Dropped:
        """How many subscriptions and alerts not yet sent are kept for a chat."""
        db = self._db()
        subscriptions = db.execute("SELECT count(*) FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()[0]
        pushes = db.execute("SELECT count(*) FROM pushes WHERE chat_id = ?", [chat_id]).fetchone()[0]
        return Dropped(subscriptions, pushes)

    def _drop_orphan_pushes(self, chat_id: int) -> None:
        """A chat left without subscriptions is sent nothing more, not even alerts already queued."""
        db = self._db()
        with db.conn:
            db.execute(
                "DELETE FROM pushes WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = ?)",
                [chat_id, chat_id],
            )

    # ------------------------------------------------------------ the outbox

    def save_changes(self, changes: list[ArticleChange]) -> list[int]:
        """Store article changes that alerts list; returns their ids, in order."""
        self.purge()
        now = _now()
        db = self._db()
        ids = []
        with db.conn:
            for change in changes:
                row = {
                    "doc_id": change.doc_id,
                    "doc_title": change.doc_title,
                    "number": change.number,
                    "sub": change.sub,
                    "label": change.label,
                    "action": change.action.value,
                    "citation": change.citation,
                    "before": change.before,
                    "after": change.after,
                    "published_at": now,
                }
                ids.append(db["changes"].insert(row).last_pk)
        return ids

    def change(self, change_id: int) -> ArticleChange | None:
        rows = list(self._db()["changes"].rows_where("id = ?", [change_id]))
        return _change(rows[0]) if rows else None

    def changes(self, change_ids: list[int]) -> list[ArticleChange]:
        """The stored changes among `change_ids`, in that order (purged ones left out)."""
        found = [self.change(change_id) for change_id in change_ids]
        return [change for change in found if change is not None]

    def queue(self, pushes: list[tuple[int, list[str], list[int]]]) -> None:
        """Put (chat id, subscription labels, change ids) alerts in the outbox, in one transaction."""
        now = _now()
        db = self._db()
        with db.conn:
            for chat_id, labels, change_ids in pushes:
                db["pushes"].insert(
                    {
                        "chat_id": chat_id,
                        "subscriptions": json.dumps(labels, ensure_ascii=False),
                        "change_ids": json.dumps(change_ids),
                        "created": now,
                        "attempts": 0,
                    }
                )

    def pending(self, limit: int = 50) -> list[Push]:
        """The oldest alerts waiting to be sent."""
        rows = self._db()["pushes"].rows_where(order_by="id", limit=limit)
        return [_push(row) for row in rows]

    def push(self, push_id: int) -> Push | None:
        """An alert still waiting (None once sent, dropped or forgotten)."""
        rows = list(self._db()["pushes"].rows_where("id = ?", [push_id]))
        return _push(rows[0]) if rows else None

    def pending_count(self) -> int:
        return self._db().execute("SELECT count(*) FROM pushes").fetchone()[0]

    def done(self, push_id: int) -> None:
        """Sent, or given up on: out of the outbox."""
        db = self._db()
        with db.conn:
            db.execute("DELETE FROM pushes WHERE id = ?", [push_id])

    def failed(self, push_id: int) -> int:
        """Count a failed attempt; returns the attempts so far."""
        db = self._db()
        with db.conn:
            db.execute("UPDATE pushes SET attempts = attempts + 1 WHERE id = ?", [push_id])
        row = db.execute("SELECT attempts FROM pushes WHERE id = ?", [push_id]).fetchone()
        return row[0] if row else 0

    def purge(self) -> int:
        """Delete article changes older than the retention period; returns how many went."""
        if self.retention_days is None:
            return 0
        cutoff = (utc_now() - timedelta(days=self.retention_days)).astimezone(timezone.utc).strftime(TIME_FORMAT)
        db = self._db()
        with db.conn:
            return db.execute("DELETE FROM changes WHERE published_at < ?", [cutoff]).rowcount


def _now() -> str:
    return utc_now().strftime(TIME_FORMAT)


def _subscription(row: dict) -> Subscription:
    return Subscription(row["id"], row["chat_id"], SubscriptionKind(row["kind"]), row["label"], row["created"])


def _push(row: dict) -> Push:
    return Push(
        row["id"], row["chat_id"], json.loads(row["subscriptions"]), json.loads(row["change_ids"]), row["attempts"]
    )


def _change(row: dict) -> ArticleChange:
    return ArticleChange(
        row["doc_id"],
        row["doc_title"],
        row["number"],
        row["sub"],
        row["label"],
        ChangeAction(row["action"]),
        row["citation"],
        row["before"],
        row["after"],
        row["id"],
    )
