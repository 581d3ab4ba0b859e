"""The question log: every question owners ask, what it was answered with, and their feedback.

One SQLite file, `questions.db`, in the data folder next to the corpus versions (not inside one:
it outlives them). Only Telegram user ids are stored, never names. Staff statistics read `stats()`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils

from .answer import Answer
from .sqlitefile import SqliteFile

QUESTIONS_FILE = "questions.db"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, SQLite's own format: compares as text and works with date()


@dataclass
class LoggedQuestion:
    """A logged question with the provisions it was answered with (dicts from `Citation.as_record`)."""

    id: int
    user_id: int | None
    question: str
    abstained: bool
    citations: list[dict]  # shown, best first
    more: list[dict]  # the next hits (for 更多相关条款)
    corpus_version: str | None

    @property
    def hits(self) -> list[dict]:
        """Shown and further hits in one list: the index a 全文 button refers to."""
        return self.citations + self.more


@dataclass
class DayCounts:
    """One UTC day of questions: how many were asked and answered, and the votes on them."""

    day: date
    questions: int = 0
    answered: int = 0
    up: int = 0
    down: int = 0


@dataclass
class Stats:
    """What owners asked over the last `days` days."""

    days: int
    questions: int = 0
    abstained: int = 0
    per_day: list[dict] = field(default_factory=list)  # {"day", "questions", "abstained"}
    feedback: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    unanswered: list[dict] = field(default_factory=list)  # {"question", "times"}, most frequent first
    daily: list[DayCounts] = field(default_factory=list)  # each of the last `days` UTC days, zeros included

    @property
    def answered(self) -> int:
        return self.questions - self.abstained

    @property
    def answered_share(self) -> float:
        return self.answered / self.questions if self.questions else 0.0


# What looks like a mainland ID card number or a mobile number is not kept as typed
ID_CARD = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


PURGE_EVERY_S = 3600


@dataclass
class Forgotten:
    """What /forget deleted (or would delete) of one user."""

    questions: int
    votes: int


def mask_numbers(text: str) -> str:
    """Mask ID card and mobile numbers before a question is stored: 1**********, 11010*************."""
    text = ID_CARD.sub(lambda m: m.group()[:6] + "*" * 12, text)
    return MOBILE.sub(lambda m: m.group()[:3] + "*" * 8, text)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class QuestionLog(SqliteFile):
    """questions.db (bot/sqlitefile.py: a connection per thread, WAL so readers never block the bot)."""

    def __init__(self, path: str | Path, retention_days: int | None = None) -> None:
        """`retention_days`: questions (and their feedback) older than this are deleted, at start and then about
        hourly as questions are logged; None keeps them."""
        super().__init__(path, foreign_keys=True)
        self.retention_days = retention_days
        self._last_purge = 0.0
        self._create_tables(self._db())
        self.purge()

    @staticmethod
    def _create_tables(db: sqlite_utils.Database) -> None:
        if "questions" not in db.table_names():
            db["questions"].create(
                {
                    "id": int,
                    "user_id": int,
                    "asked_at": str,
                    "question": str,
                    "abstained": int,
                    "citations": str,
                    "more": str,
                    "corpus_version": str,
                },
                pk="id",
            )
            db["questions"].create_index(["asked_at"])
        if "feedback" not in db.table_names():
            db["feedback"].create(
                {"question_id": int, "user_id": int, "value": int, "at": str},
                pk=("question_id", "user_id"),
                foreign_keys=[("question_id", "questions", "id")],
            )

    # ------------------------------------------------------------ writing

    def log_question(
        self, user_id: int | None, answer: Answer, corpus_version: str | None, at: datetime | None = None
    ) -> int:
        """Store a question and its answer; returns the question id the bot's buttons refer to."""
        if self.retention_days is not None and time.monotonic() - self._last_purge > PURGE_EVERY_S:
            self.purge()
        row = {
            "user_id": user_id,
            "asked_at": (at or utc_now()).astimezone(timezone.utc).strftime(TIME_FORMAT),
            "question": mask_numbers(answer.question),
            "abstained": int(answer.abstained),
            "citations": json.dumps([c.as_record() for c in answer.citations], ensure_ascii=False),
            "more": json.dumps([c.as_record() for c in answer.more], ensure_ascii=False),
            "corpus_version": corpus_version,
        }
        return self._db()["questions"].insert(row).last_pk

    def purge(self, now: datetime | None = None) -> int:
        """Delete what is older than the retention period; returns how many questions went."""
        if self.retention_days is None:
            return 0
        self._last_purge = time.monotonic()
        cutoff = ((now or utc_now()) - timedelta(days=self.retention_days)).astimezone(timezone.utc)
        stamp = cutoff.strftime(TIME_FORMAT)
        db = self._db()
        with db.conn:
            db.execute(
                "DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE asked_at < ?)", [stamp]
            )
            return db.execute("DELETE FROM questions WHERE asked_at < ?", [stamp]).rowcount

    def forget_user(self, user_id: int) -> Forgotten:
        """Delete everything logged about one user: their questions (with any feedback on them) and their votes."""
        db = self._db()
        with db.conn:
            votes = db.execute("DELETE FROM feedback WHERE user_id = ?", [user_id]).rowcount
            db.execute(
                "DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE user_id = ?)", [user_id]
            )
            questions = db.execute("DELETE FROM questions WHERE user_id = ?", [user_id]).rowcount
        return Forgotten(questions, votes)

    def held_about(self, user_id: int) -> Forgotten:
        """How many questions and votes of one user are kept."""
        db = self._db()
        questions = db.execute("SELECT count(*) FROM questions WHERE user_id = ?", [user_id]).fetchone()[0]
        votes = db.execute("SELECT count(*) FROM feedback WHERE user_id = ?", [user_id]).fetchone()[0]
        return Forgotten(questions, votes)

    def log_feedback(self, question_id: int, user_id: int, value: int, at: datetime | None = None) -> None:
        """Record 👍 (+1) or 👎 (-1); a later vote by the same person on the same answer replaces theirs."""
        if value not in (1, -1):
            raise ValueError(f"feedback is +1 or -1, got {value}")
        self._db()["feedback"].upsert(
            {
                "question_id": question_id,
                "user_id": user_id,
                "value": value,
                "at": (at or utc_now()).astimezone(timezone.utc).strftime(TIME_FORMAT),
            },
            pk=("question_id", "user_id"),
        )

    # ------------------------------------------------------------ reading

    def question(self, question_id: int) -> LoggedQuestion | None:
        rows = list(self._db()["questions"].rows_where("id = ?", [question_id]))
        if not rows:
            return None
        row = rows[0]
        return LoggedQuestion(
            row["id"],
            row["user_id"],
            row["question"],
            bool(row["abstained"]),
            json.loads(row["citations"]),
            json.loads(row["more"]),
            row["corpus_version"],
        )

    def feedback(self, question_id: int) -> dict[int, int]:
        """user id → vote for one question."""
        rows = self._db()["feedback"].rows_where("question_id = ?", [question_id])
        return {row["user_id"]: row["value"] for row in rows}

    def stats(self, days: int = 30, now: datetime | None = None, top: int = 10) -> Stats:
        """Questions per day, answered vs abstained, feedback counts, most frequent unanswered questions."""
        since = ((now or utc_now()) - timedelta(days=days)).astimezone(timezone.utc).strftime(TIME_FORMAT)
        db = self._db()
        stats = Stats(days)
        stats.per_day = [
            dict(row)
            for row in db.query(
                "SELECT date(asked_at) AS day, count(*) AS questions, sum(abstained) AS abstained "
                "FROM questions WHERE asked_at >= ? GROUP BY day ORDER BY day",
                [since],
            )
        ]
        stats.questions = sum(day["questions"] for day in stats.per_day)
        stats.abstained = sum(day["abstained"] for day in stats.per_day)
        for row in db.query(
            "SELECT f.value, count(*) AS n FROM feedback f JOIN questions q ON q.id = f.question_id "
            "WHERE q.asked_at >= ? GROUP BY f.value",
            [since],
        ):
            stats.feedback["up" if row["value"] > 0 else "down"] = row["n"]
        stats.unanswered = [
            dict(row)
            for row in db.query(
                "SELECT trim(question) AS question, count(*) AS times FROM questions "
                "WHERE abstained AND asked_at >= ? GROUP BY trim(question) "
                "ORDER BY times DESC, max(asked_at) DESC LIMIT ?",
                [since, top],
            )
        ]
        stats.daily = self.daily(days, now)
        return stats

    def daily(self, days: int = 30, now: datetime | None = None) -> list[DayCounts]:
        """Questions, answered ones, 👍 and 👎 for each of the last `days` UTC days up to today, days without
        questions as zeros. A vote counts on the day its question was asked, as in `stats`."""
        today = (now or utc_now()).astimezone(timezone.utc).date()
        first = today - timedelta(days=days - 1)
        series = {first + timedelta(days=n): DayCounts(first + timedelta(days=n)) for n in range(days)}
        window = [f"{first} 00:00:00", f"{today + timedelta(days=1)} 00:00:00"]
        db = self._db()
        for row in db.query(
            "SELECT date(asked_at) AS day, count(*) AS questions, sum(NOT abstained) AS answered FROM questions "
            "WHERE asked_at >= ? AND asked_at < ? GROUP BY day",
            window,
        ):
            counts = series[date.fromisoformat(row["day"])]
            counts.questions, counts.answered = row["questions"], row["answered"]
        for row in db.query(
            "SELECT date(q.asked_at) AS day, sum(f.value > 0) AS up, sum(f.value < 0) AS down "
            "FROM feedback f JOIN questions q ON q.id = f.question_id "
            "WHERE q.asked_at >= ? AND q.asked_at < ? GROUP BY day",
            window,
        ):
            counts = series[date.fromisoformat(row["day"])]
            counts.up, counts.down = row["up"], row["down"]
        return list(series.values())
