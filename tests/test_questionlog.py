"""bot.questionlog and bot.ratelimit: the pure parts of the bot, without Telegram."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.answer import Answer, Citation
from bot.questionlog import QUESTIONS_FILE, QuestionLog
from bot.ratelimit import RateLimiter
from policy_corpus.model import Article, Paragraph

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
ARTICLE = Article(11, [Paragraph(1, "鼓励金融机构支持中小企业。")], title="金融机构支持")


def answer(question: str, abstained: bool = False) -> Answer:
    hits = [Citation("hunan", "湖南办法", ARTICLE, 1, None, 2.5)]
    return Answer(question, abstained, [] if abstained else hits, hits if abstained else [])


def test_questions_and_feedback_round_trip(tmp_path):
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        qid = log.log_question(42, answer("能续贷吗？"), "0001", at=NOW)
        logged = log.question(qid)
        assert (logged.user_id, logged.question, logged.abstained, logged.corpus_version) == (
            42,
            "能续贷吗？",
            False,
            "0001",
        )
        assert logged.citations == [
            {
                "doc": "hunan",
                "article": 11,
                "sub": 0,
                "paragraph": 1,
                "item": None,
                "score": 2.5,
                "reference": "《湖南办法》第十一条【金融机构支持】",
            }
        ]
        log.log_feedback(qid, 42, 1)
        log.log_feedback(qid, 42, -1)
        log.log_feedback(qid, 7, 1)
        assert log.feedback(qid) == {42: -1, 7: 1}
        with pytest.raises(ValueError):
            log.log_feedback(qid, 42, 0)
        assert log.question(qid + 100) is None
    assert log.path.parent == tmp_path


def test_stats_counts_days_abstentions_feedback_and_unanswered(tmp_path):
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        first = log.log_question(1, answer("能续贷吗？"), "0001", at=NOW - timedelta(days=1))
        log.log_question(2, answer("天气怎么样", abstained=True), "0001", at=NOW - timedelta(days=1))
        log.log_question(3, answer(" 天气怎么样 ", abstained=True), "0001", at=NOW)
        log.log_question(3, answer("股票怎么买", abstained=True), "0001", at=NOW)
        log.log_question(4, answer("很久以前", abstained=True), "0001", at=NOW - timedelta(days=40))
        log.log_feedback(first, 1, 1)
        stats = log.stats(days=7, now=NOW)
    assert stats.questions == 4 and stats.abstained == 3 and stats.answered == 1
    assert stats.answered_share == 0.25
    assert stats.per_day == [
        {"day": "2025-03-09", "questions": 2, "abstained": 1},
        {"day": "2025-03-10", "questions": 2, "abstained": 2},
    ]
    assert stats.feedback == {"up": 1, "down": 0}
    assert stats.unanswered[0] == {"question": "天气怎么样", "times": 2}
    assert len(stats.unanswered) == 2


def test_log_is_usable_from_several_threads(tmp_path):
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        threads = [
            threading.Thread(target=lambda n=n: [log.log_question(n, answer(f"问题{n}"), None) for _ in range(20)])
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert log.stats(days=1).questions == 80
        assert log._db().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rate_limiter_sliding_window():
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.check(1).allowed
    now[0] = 1.0
    assert limiter.check(1).allowed
    now[0] = 2.0
    refused = limiter.check(1)
    assert not refused.allowed and refused.first_refusal and refused.retry_seconds == 8
    assert limiter.check(2).allowed  # per user
    now[0] = 4.0
    again = limiter.check(1)
    assert not again.allowed and not again.first_refusal and again.retry_seconds == 6
    now[0] = 10.0  # the request at t=0 left the window; refusals never entered it
    assert limiter.check(1).allowed
    assert not limiter.check(1).allowed
    now[0] = 11.0
    assert limiter.check(1).allowed
    with pytest.raises(ValueError):
        RateLimiter(0, 10)


def test_id_card_and_mobile_numbers_are_masked_before_they_are_stored(tmp_path):
    question = "我叫张三，身份证110101199003071234，手机13812345678，工号 1234567890123 能续贷吗"
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        qid = log.log_question(42, answer(question), "0001", at=NOW)
        stored = log.question(qid).question
    assert "110101199003071234" not in stored and "13812345678" not in stored
    assert "110101************" in stored and "138********" in stored
    assert "1234567890123" in stored  # other numbers stay as typed
    raw = (tmp_path / QUESTIONS_FILE).read_bytes()
    assert b"13812345678" not in raw


def test_the_data_folder_is_for_the_service_user_only(tmp_path, monkeypatch):
    import os
    import stat

    from bot.cli import main
    from policy_corpus.library import Library
    from policy_corpus.sources import load_sources

    from .conftest import DOCUMENTS

    previous = os.umask(0o022)
    try:
        monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
        assert main(["docs"]) == 2  # nothing published yet; the command sets the process's file mode mask
        Library(tmp_path / "data").publish(load_sources([DOCUMENTS]).documents[:1])
        with QuestionLog(tmp_path / "data" / QUESTIONS_FILE) as log:
            log.log_question(42, answer("能续贷吗？"), "0001", at=NOW)
        paths = [tmp_path / "data", *(tmp_path / "data").rglob("*")]
        for path in paths:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    finally:
        os.umask(previous)


def test_questions_older_than_the_retention_period_are_deleted(tmp_path):
    with QuestionLog(tmp_path / QUESTIONS_FILE, retention_days=180) as log:
        old = log.log_question(42, answer("旧问题"), "0001", at=NOW - timedelta(days=200))
        log.log_feedback(old, 42, 1, at=NOW - timedelta(days=200))
        new = log.log_question(42, answer("新问题"), "0001", at=NOW - timedelta(days=10))
        assert log.purge(now=NOW) == 1
        assert log.question(old) is None and log.question(new) is not None
        assert log.held_about(42).questions == 1
    with QuestionLog(tmp_path / QUESTIONS_FILE) as kept:  # no retention: nothing more is deleted
        assert kept.purge(now=NOW + timedelta(days=1000)) == 0
