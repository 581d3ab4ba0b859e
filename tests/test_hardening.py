"""Every message an owner can send gets a clear answer: bad numbers, punctuation, foreign or forged buttons, and a
fuzz of generated messages; no traceback in the log, and the corpus keeps answering."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
import re
import time

from bot.chat import respond
from bot.conversation import Conversation
from bot.telegram_app import BUTTON_RATE
from bot.texts import ABSTAIN_TEXT, ANSWER_EXPIRED_TEXT, BUTTON_EXPIRED_TEXT, ERROR_TEXT, SLOW_DOWN_TEXT

from .telegram_stub import ask, labels
from .test_admin import ADMIN, OWNER, firefly_rules
from .test_bot import LOAN_QUESTION, running_bot

BAD_NUMBERS = [
    "第0条",
    "第零条",
    "第〇条",
    "促进法第0条",
    "第99999999999999999999条",
    "第1条之99999999999999999999",
    "/article 9223372036854775808",
    "/article 11之99999999999999999999",
    "/diff 99999999999999999999",
    "/article " + "9" * 4000,
]


async def test_bad_article_numbers_get_one_line_and_no_traceback(served_config, assistant, caplog):
    async with running_bot(served_config, assistant) as (stub, _app):
        with caplog.at_level(logging.WARNING):
            for text in BAD_NUMBERS:
                [reply] = await ask(stub, 501, text)
                assert reply["plain_text"] != ERROR_TEXT, text
                assert reply["plain_text"].startswith(("没有这一条", "用法：")), (text, reply["plain_text"])
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        [answer] = await ask(stub, 501, LOAN_QUESTION)  # and the corpus still answers
        assert "第十一条" in answer["plain_text"]


async def test_punctuation_alone_is_not_answered_with_a_provision(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        for text in ("。。。", "<>", "？？", "!!!", "🙂🙂"):
            [reply] = await ask(stub, 502, text)
            assert ABSTAIN_TEXT in reply["plain_text"], text


async def test_buttons_belong_to_the_asker_and_forged_ones_expire(served_config, assistant, caplog):
    async with running_bot(served_config, assistant) as (stub, _app):
        [answer] = await ask(stub, 503, LOAN_QUESTION)
        data = stub.button_data(answer, "全文")
        question_id = data.split(":")[1]
        with caplog.at_level(logging.WARNING):
            for forged in (data, f"m:{question_id}", f"fb:{question_id}:-1"):  # another user presses them
                stub.press_button(504, answer["message_id"], forged, chat_id=503, check=False)
            for forged in ("f:99999999999999999999:0", "m:99999999999999999999", "fb:99999999999999999999:+1", ""):
                stub.press_button(503, answer["message_id"], forged, check=False)
            await stub.wait_until_idle()
            await stub.wait_for(lambda: len(stub.callback_answers) >= 7, timeout=10)
        texts = [a.get("text") for a in stub.callback_answers]
        assert texts.count(ANSWER_EXPIRED_TEXT) == 3
        assert all(t in (ANSWER_EXPIRED_TEXT, BUTTON_EXPIRED_TEXT) for t in texts), texts
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        assert len(stub.sent_messages(504)) == 0 and len(stub.sent_messages(503)) == 1  # nothing was sent


def generated_messages(count: int, seed: int = 7) -> list[str]:
    """Owner messages of every awkward kind: markup, control characters, very long, punctuation, numerals."""
    rng = random.Random(seed)
    pieces = [
        "贷款",
        "续贷",
        "拖欠货款",
        "政府采购",
        "第",
        "条",
        "之",
        "款",
        "项",
        "<b>",
        "</i>",
        "&amp;",
        "\x00",
        "\u200b",
        "\u202e",
        "\n",
        "。",
        "？",
        "!",
        "🙂",
        "零",
        "〇",
        "一万",
        "99999999999999999999",
        "-1",
        "0",
        " ",
        "促进法",
    ]
    messages = []
    for _ in range(count):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.05:
            text = text * rng.randint(200, 800)
        messages.append(text)
    return messages


def test_fuzzed_messages_all_get_an_answer(assistant):
    conversation = Conversation(assistant)
    for text in generated_messages(200):
        reply = respond(conversation, text)
        assert reply != ERROR_TEXT and (reply or not text.strip()), repr(text[:40])


def test_undecodable_bytes_typed_in_the_terminal_get_an_answer(assistant):
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape), and JSON can carry them too: the
    tokenizer rejects those, so the encoder reads them as replacement characters."""
    conversation = Conversation(assistant)
    for text in ("\udcff乱码", "\x00\x01\udcff\udcfe", "贷款续贷\udc80可以吗"):
        reply = respond(conversation, text)
        assert reply and reply != ERROR_TEXT, repr(text)


# ---------------------------------------------------------------- rate limits in the real Application

DEFAULT_RATE_LIMIT = (4, 10.0)  # config.yaml: telegram.rate_limit_count per rate_limit_seconds
SLOW_DOWN_RE = re.compile(re.escape(SLOW_DOWN_TEXT).replace(re.escape("{seconds}"), r"(\d+)"))


def is_slow_down(text: str | None) -> bool:
    return bool(text and SLOW_DOWN_RE.fullmatch(text))


async def test_button_presses_are_rate_limited(served_config, assistant, caplog):
    count, seconds = DEFAULT_RATE_LIMIT
    assert (served_config.telegram.rate_limit_count, served_config.telegram.rate_limit_seconds) == DEFAULT_RATE_LIMIT
    presses, button_limit = 50, BUTTON_RATE * count
    async with running_bot(served_config, assistant, rate_limit=DEFAULT_RATE_LIMIT) as (stub, _app):
        [answer] = await ask(stub, 505, LOAN_QUESTION)
        data = stub.button_data(answer, "全文")
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            for _ in range(presses):
                stub.press_button(505, answer, data)
            await stub.wait_until_idle()
            await stub.wait_for(lambda: len(stub.callback_answers) >= presses, timeout=20)
            elapsed = time.monotonic() - started
            with contextlib.suppress(TimeoutError):  # too few articles: the assertions below say so
                await stub.wait_for_replies(1 + button_limit, chat_id=505, timeout=5)
            await asyncio.sleep(2)  # presses let through beyond the limit would have sent their articles by now
        assert elapsed < seconds, f"the presses took {elapsed:.1f}s, longer than the {seconds}s window"
        articles = stub.sent_messages(505)[1:]
        texts = [a["text"] for a in stub.callback_answers]
        slow = [t for t in texts if is_slow_down(t)]
        assert len(articles) == button_limit < presses, f"{len(articles)} articles sent for {presses} presses"
        assert all(a["plain_text"].startswith("《湖南省实施〈中小企业促进法〉办法》第十一条") for a in articles)
        assert len(slow) == presses - button_limit, texts
        assert all(1 <= int(SLOW_DOWN_RE.fullmatch(t)[1]) <= seconds for t in slow), slow
        assert texts.count(None) == button_limit  # the presses let through: answered without a text
        assert stub.unanswered_callbacks() == []
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        assert not any(is_slow_down(m["plain_text"]) for m in stub.sent_messages(505))  # said in the button's answer


async def test_staff_uploads_are_not_held_to_the_owners_limit(served_config, assistant, caplog):
    count, seconds = DEFAULT_RATE_LIMIT
    burst = count + 2
    config = copy.deepcopy(served_config)
    config.admin.user_ids = [ADMIN]
    async with running_bot(config, assistant, rate_limit=DEFAULT_RATE_LIMIT) as (stub, _app):
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            doc_ids = [f"burst_rules_{n}" for n in range(burst)]
            for doc_id in doc_ids:
                stub.send_document(ADMIN, "测试促进条例.md", firefly_rules().encode(), caption=doc_id)
            for n in range(burst):
                stub.send_text(OWNER, f"{LOAN_QUESTION}（第{n + 1}次）")
            await stub.wait_until_idle()
            elapsed = time.monotonic() - started
            with contextlib.suppress(TimeoutError):  # a missing reply: the assertions below say which
                await stub.wait_for_replies(burst, chat_id=ADMIN, timeout=20)
                await stub.wait_for_replies(count + 1, chat_id=OWNER, timeout=20)
            await asyncio.sleep(0.5)  # no further reply: one slow-down, the other refused question dropped
        assert elapsed < seconds, f"the messages took {elapsed:.1f}s to be taken in, longer than the {seconds}s window"
        previews = stub.sent_messages(ADMIN)
        assert not [p["plain_text"] for p in previews if is_slow_down(p["plain_text"])], "an admin was told to wait"
        assert len(previews) == burst, [p["plain_text"][:40] for p in previews]
        assert {p["plain_text"].split("\n")[1] for p in previews} == {f"编号 {d}；新文件" for d in doc_ids}
        assert all(
            p["plain_text"].startswith("预览：《测试促进条例》") and labels(p) == ["确认", "取消"] for p in previews
        )

        replies = [m["plain_text"] for m in stub.sent_messages(OWNER)]
        slow = [t for t in replies if is_slow_down(t)]
        assert len(slow) == 1 and len(replies) == count + 1, replies
        assert sum("第十一条" in t for t in replies) == count
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
