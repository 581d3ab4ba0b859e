"""Every message an owner can send gets a clear answer: bad numbers, punctuation, foreign or forged buttons, and a
fuzz of generated messages; no traceback in the log, and the corpus keeps answering."""

from __future__ import annotations

import logging
import random

from bot.chat import respond
from bot.conversation import Conversation
from bot.texts import ABSTAIN_TEXT, ANSWER_EXPIRED_TEXT, BUTTON_EXPIRED_TEXT, ERROR_TEXT

from .telegram_stub import ask
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
