"""/stats as a picture: the per-day series from a real questions.db, the PNG it is drawn into, and the photo an
admin gets through the real Application from the stand-in Bot API (issue 18, part 4)."""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image

from bot import telegram_app
from bot.admin import CorpusAdmin
from bot.questionlog import QUESTIONS_FILE, DayCounts, QuestionLog, utc_now
from bot.stats_chart import render_chart
from bot.telegram_app import build_application
from bot.texts import ERROR_TEXT, NOT_ADMIN_TEXT, STATS_CHART_FAILED_TEXT

from .telegram_stub import BotApiStub, ask, polling
from .test_questionlog import answer

TOKEN = "123456:SECRET-STATS-CHART-TOKEN"
ADMIN, OWNER = 7, 101
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)


def seed(log: QuestionLog, now: datetime) -> None:
    """Four questions over the last 11 days, three answered, with a 👍 and a 👎."""
    today = log.log_question(OWNER, answer("能续贷吗？"), "0001", at=now)
    log.log_question(OWNER + 1, answer("天气怎么样", abstained=True), "0001", at=now)
    earlier = log.log_question(OWNER + 2, answer("拖欠货款怎么办？"), "0001", at=now - timedelta(days=2))
    log.log_question(OWNER + 3, answer("政府采购预留份额？"), "0001", at=now - timedelta(days=10))
    log.log_feedback(today, OWNER, 1)
    log.log_feedback(earlier, OWNER + 2, -1)


@contextlib.asynccontextmanager
async def running_bot(served_config, assistant, log: QuestionLog) -> AsyncIterator[BotApiStub]:
    """The real Application with ADMIN as staff and `log` as its questions.db, polling the stub. Leaving the block
    waits for every handler to finish, so what was not sent by then is never sent."""
    with BotApiStub(token=TOKEN) as stub:
        config = copy.deepcopy(served_config)
        config.telegram.base_url, config.telegram.base_file_url = stub.base_url, stub.base_file_url
        config.telegram.rate_limit_count, config.telegram.rate_limit_seconds = 100, 1.0
        config.admin.user_ids = [ADMIN]
        admin = CorpusAdmin(config, assistant, log)
        application = build_application(config, assistant, TOKEN, question_log=log, admin=admin)
        async with polling(application):
            yield stub


def decoded(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every pixel: a truncated or corrupt file raises here
    return image


# ---------------------------------------------------------------- through the bot


async def test_admin_stats_sends_the_text_then_a_png_chart(served_config, assistant, tmp_path):
    log = QuestionLog(tmp_path / QUESTIONS_FILE)
    seed(log, utc_now())
    async with running_bot(served_config, assistant, log) as stub:
        [text] = await ask(stub, ADMIN, "/stats 30")
        [photo] = await stub.wait_for(lambda: stub.sent_photos or None, timeout=30)
    assert text["plain_text"].startswith("最近 30 天的提问\n共 4 个问题：已回答 3 个（75%），未覆盖 1 个（25%）")
    assert photo["chat_id"] == ADMIN and photo["message_id"] > text["message_id"]  # the picture comes under the text
    assert photo["caption"].startswith("最近 30 天每天的提问")
    image = decoded(photo["content"])
    assert image.format == "PNG" and image.mode in ("RGB", "RGBA")
    assert 800 <= image.width <= 1280 and 600 <= image.height <= 1280  # shown unscaled by Telegram, phone-readable
    assert (photo["width"], photo["height"]) == image.size
    assert {"chat_id": ADMIN, "action": "upload_photo"} in stub.chat_actions


async def test_non_admin_stats_gets_no_photo(served_config, assistant, tmp_path):
    log = QuestionLog(tmp_path / QUESTIONS_FILE)
    seed(log, utc_now())
    async with running_bot(served_config, assistant, log) as stub:
        [refused] = await ask(stub, OWNER, "/stats 30")
    assert refused["plain_text"] == NOT_ADMIN_TEXT
    assert stub.sent_photos == [] and not stub.calls("sendPhoto")


async def test_no_questions_no_chart(served_config, assistant, tmp_path):
    async with running_bot(served_config, assistant, QuestionLog(tmp_path / QUESTIONS_FILE)) as stub:
        [empty] = await ask(stub, ADMIN, "/stats")
    assert empty["plain_text"] == "最近 7 天的提问\n这段时间没有人提问。"
    assert stub.sent_photos == []


async def test_a_chart_that_cannot_be_drawn_keeps_the_text(served_config, assistant, tmp_path, monkeypatch):
    def broken(series):
        raise RuntimeError("no backend")

    monkeypatch.setattr(telegram_app, "render_chart", broken)  # a renderer failure cannot be provoked otherwise
    log = QuestionLog(tmp_path / QUESTIONS_FILE)
    seed(log, utc_now())
    async with running_bot(served_config, assistant, log) as stub:
        [text, failed] = await ask(stub, ADMIN, "/stats 30", replies=2)
    assert text["plain_text"].startswith("最近 30 天的提问\n共 4 个问题")
    assert failed["plain_text"] == STATS_CHART_FAILED_TEXT
    assert stub.sent_photos == [] and ERROR_TEXT not in [m["plain_text"] for m in stub.sent_messages(ADMIN)]


# ---------------------------------------------------------------- the series


def test_daily_series_counts_each_utc_day_with_zeros_and_votes(tmp_path):
    beijing = timezone(timedelta(hours=8))
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        seed(log, NOW)  # 03-10: 2 (1 answered, 👍); 03-08: 1 answered (👎); 02-28: outside 7 days
        # 07:30 in Beijing is still the day before in UTC
        late = log.log_question(
            OWNER + 4, answer("社保怎么交？"), "0001", at=datetime(2025, 3, 10, 7, 30, tzinfo=beijing)
        )
        log.log_question(
            OWNER + 5,
            answer("股票怎么买", abstained=True),
            "0001",
            at=datetime(2025, 3, 4, 0, 0, 0, tzinfo=timezone.utc),
        )
        log.log_question(OWNER + 6, answer("太早了"), "0001", at=datetime(2025, 3, 3, 23, 59, 59, tzinfo=timezone.utc))
        log.log_question(
            OWNER + 7, answer("明天的问题"), "0001", at=datetime(2025, 3, 11, 0, 0, 0, tzinfo=timezone.utc)
        )
        log.log_feedback(late, OWNER + 4, 1)
        log.log_feedback(late, OWNER + 4, -1)  # changed their mind: one 👎, no 👍
        log.log_feedback(late, ADMIN, -1)
        series = log.daily(7, now=NOW)
        assert log.stats(days=7, now=NOW).daily == series
    assert series == [
        DayCounts(date(2025, 3, 4), questions=1, answered=0),
        DayCounts(date(2025, 3, 5)),
        DayCounts(date(2025, 3, 6)),
        DayCounts(date(2025, 3, 7)),
        DayCounts(date(2025, 3, 8), questions=1, answered=1, down=1),
        DayCounts(date(2025, 3, 9), questions=1, answered=1, down=2),
        DayCounts(date(2025, 3, 10), questions=2, answered=1, up=1),
    ]


def test_daily_series_of_an_empty_log_is_all_zero_days(tmp_path):
    with QuestionLog(tmp_path / QUESTIONS_FILE) as log:
        series = log.daily(30, now=NOW)
    assert [day.day for day in series] == [date(2025, 2, 9) + timedelta(days=n) for n in range(30)]
    assert all(day == DayCounts(day.day) for day in series)


# ---------------------------------------------------------------- the picture


@pytest.mark.parametrize("days", [1, 30, 365])
def test_chart_is_a_png_without_missing_glyphs(days):
    series = [
        DayCounts(NOW.date() - timedelta(days=days - 1 - n), questions=n % 5, answered=n % 3 if n % 5 else 0, up=n % 2)
        for n in range(days)
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_chart(series)
    assert not [w for w in caught if "missing from font" in str(w.message)]  # no tofu boxes
    image = decoded(png)
    assert 800 <= image.width <= 1280 and 600 <= image.height <= 1280
    assert len(png) < 1024 * 1024


def test_chart_of_days_without_questions_still_draws():
    image = decoded(render_chart([DayCounts(NOW.date() - timedelta(days=n)) for n in range(6, -1, -1)]))
    assert 800 <= image.width <= 1280 and 600 <= image.height <= 1280
