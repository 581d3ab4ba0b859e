"""End to end: the real Application from bot.telegram_app against the stand-in Bot API server,
on a real corpus and search index (built once per session, see conftest.served_config)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.ext import Application

from bot.answer import Answer
from bot.questionlog import QUESTIONS_FILE, QuestionLog
from bot.render import article_html
from bot.telegram_app import build_application
from bot.telegram_split import MESSAGE_LIMIT, split_message
from bot.texts import ABSTAIN_TEXT, BEYOND_THE_LAW_TEXT, COMMANDS, ERROR_TEXT, EXAMPLE_QUESTIONS

from .conftest import LONG_DOCUMENT_ID
from .telegram_stub import BotApiStub, ask, iter_button_data, labels, polling, press

TOKEN = "123456:SECRET-TEST-TOKEN"
LOAN_QUESTION = "银行贷款到期了，能不能不还本金直接续贷？"


@contextlib.asynccontextmanager
async def running_bot(
    config,
    assistant,
    rate_limit: tuple[int, float] = (100, 1.0),
) -> AsyncIterator[tuple[BotApiStub, Application]]:
    """The bot polling the stub, started and stopped in the order `run_polling` uses."""
    with BotApiStub(token=TOKEN) as stub:
        config = copy.deepcopy(config)
        config.telegram.base_url, config.telegram.base_file_url = stub.base_url, stub.base_file_url
        config.telegram.rate_limit_count, config.telegram.rate_limit_seconds = rate_limit
        application = build_application(config, assistant, TOKEN)
        async with polling(application):
            yield stub, application


async def test_question_gets_a_cited_answer_with_buttons(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 101, LOAN_QUESTION)
        text = reply["plain_text"]
        assert reply["parse_mode"] == "HTML"
        assert text.startswith(f"问：{LOAN_QUESTION}\n《湖南省实施〈中小企业促进法〉办法》第十一条")
        assert "【金融机构支持】" in text and "扩大无还本续贷业务规模" in text
        assert "不构成法律意见" in text
        assert {"blockquote", "bold", "italic"} <= {e["type"] for e in reply["entities"]}
        assert labels(reply) == ["全文", "更多相关条款", "👍", "👎"]
        assert all(len(data.encode()) <= 64 for data in iter_button_data([reply]))
        assert {"chat_id": 101, "action": "typing"} in stub.chat_actions

        [full] = await press(stub, 101, reply, "全文")
        assert full["plain_text"].startswith("《湖南省实施〈中小企业促进法〉办法》第十一条【金融机构支持】")
        assert "（一）增加小型微型企业融资规模和比例" in full["plain_text"]
        assert "金融机构发放贷款时不得附加不合理条件" in full["plain_text"]

        [more] = await press(stub, 101, reply, "更多")
        assert more["plain_text"].startswith("更多相关条款：\n\n1. 《")
        assert labels(more)[0] == "1. 全文"
        [other] = await press(stub, 101, more, "1. 全文")
        assert "第十一条" not in other["plain_text"].splitlines()[0]
        assert stub.unanswered_callbacks() == []


async def test_feedback_is_stored_and_acknowledged_once(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 102, "大企业拖欠我们的货款怎么办？")
        question_id = int(stub.button_data(reply, "👍").split(":")[1])
        await press(stub, 102, reply, "👍", replies=0)
        await stub.wait_for(lambda: len(stub.edits) == 1, timeout=10)
        current = stub.message(102, reply["message_id"])
        assert labels(current) == ["全文", "更多相关条款", "👍 已反馈", "👎"]
        await press(stub, 102, current, "👍", replies=0)  # same vote again: nothing to edit
        await press(stub, 102, current, "👎", replies=0)  # changed mind: replaces the vote
        await stub.wait_for(lambda: len(stub.edits) == 2, timeout=10)
        await asyncio.sleep(0.2)
        assert len(stub.edits) == 2
        assert labels(stub.message(102, reply["message_id"]))[2:] == ["👍", "👎 已反馈"]
        assert [a["text"] for a in stub.callback_answers] == ["感谢反馈！"] * 3
        assert stub.unanswered_callbacks() == []
    with QuestionLog(served_config.data_path / QUESTIONS_FILE) as log:
        logged = log.question(question_id)
        assert logged.user_id == 102 and logged.question == "大企业拖欠我们的货款怎么办？"
        assert logged.citations and not logged.abstained and logged.corpus_version
        assert log.feedback(question_id) == {102: -1}


async def test_start_help_and_commands_menu(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        assert stub.commands == [{"command": name, "description": text} for name, text in COMMANDS]
        [welcome] = await ask(stub, 103, "/start")
        for title in (
            "湖南省实施〈中小企业促进法〉办法",
            "中小企业促进法",
            "保障中小企业款项支付条例",
            "优化营商环境条例",
        ):
            assert f"《{title}》" in welcome["plain_text"]
        assert "不构成法律意见" in welcome["plain_text"]
        assert labels(welcome) == EXAMPLE_QUESTIONS
        [answer] = await press(stub, 103, welcome, EXAMPLE_QUESTIONS[0])
        assert "第十一条" in answer["plain_text"].splitlines()[1]
        [help_text] = await ask(stub, 103, "/help")
        assert all(f"/{name}" in help_text["plain_text"] for name, _ in COMMANDS)
        [unknown] = await ask(stub, 103, "/nosuchcommand")
        assert "/help" in unknown["plain_text"]


async def test_article_diff_docs_and_typed_lookups(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [article] = await ask(stub, 104, "/article 11")
        assert article["plain_text"].startswith("《湖南省实施〈中小企业促进法〉办法》第十一条【金融机构支持】")
        assert "（七）扩大无还本续贷业务规模" in article["plain_text"]
        [sme] = await ask(stub, 104, "/article sme_law 19")
        assert sme["plain_text"].startswith("《中小企业促进法》第十九条")
        [typed] = await ask(stub, 104, "促进法第十九条")
        assert typed["plain_text"] == sme["plain_text"]
        [typed] = await ask(stub, 104, "第十一条")
        assert typed["plain_text"] == article["plain_text"]

        [usage] = await ask(stub, 104, "/article")
        assert usage["plain_text"].startswith("用法：/article 条号")
        [missing] = await ask(stub, 104, "/article 99")
        assert "没有第九十九条" in missing["plain_text"]
        [unknown] = await ask(stub, 104, "/article <b>nosuch</b> 5")
        assert "<b>nosuch</b>" in unknown["plain_text"]  # user text comes back escaped

        [diff] = await ask(stub, 104, "/diff 11")
        assert "<s>银行</s><b><u>金融</u></b>" in diff["text"]
        assert {"strikethrough", "underline"} <= {e["type"] for e in diff["entities"]}
        [new] = await ask(stub, 104, "/diff 10")
        assert "新增" in new["plain_text"]
        [single] = await ask(stub, 104, "/diff sme_law 1")
        assert "只有一个版本" in single["plain_text"]

        [docs] = await ask(stub, 104, "/docs")
        assert "《湖南省实施〈中小企业促进法〉办法》  编号 hunan" in docs["plain_text"]
        assert "35 条（修订草案 38 条）" in docs["plain_text"]
        assert "2017年9月1日" in docs["plain_text"] and "编号 sme_law" in docs["plain_text"]


async def test_off_topic_question_abstains(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 105, "今天天气怎么样，推荐一部电影")
        assert reply["plain_text"] == f"问：今天天气怎么样，推荐一部电影\n{BEYOND_THE_LAW_TEXT}"
        assert "《" not in reply["plain_text"]
        assert labels(reply) == ["👍", "👎"]


async def test_abstention_shows_no_provision(served_config, assistant, monkeypatch):
    """Whatever the search found, an abstained answer shows none of it (independent of tuning)."""
    real_ask = assistant.ask

    def abstaining(
        question: str, top_k: int | None = None, previous: str | None = None, document: str | None = None
    ) -> Answer:
        answer = real_ask(question, top_k, previous, document)
        return Answer(question, True, [], answer.citations + answer.more)

    monkeypatch.setattr(assistant, "ask", abstaining)
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 111, LOAN_QUESTION)
        assert reply["plain_text"] == f"问：{LOAN_QUESTION}\n{ABSTAIN_TEXT}"
        assert labels(reply) == ["👍", "👎"]


async def test_html_in_a_question_comes_back_escaped(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 106, "<b>贷款</b> & 续贷")
        assert reply["text"].startswith("<i>问：&lt;b&gt;贷款&lt;/b&gt; &amp; 续贷</i>")
        assert reply["plain_text"].startswith("问：<b>贷款</b> & 续贷\n")


async def test_long_article_is_split_into_messages(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        view = assistant.article(LONG_DOCUMENT_ID, 2)
        assert len(view.article.text) > 6000
        expected = len(split_message(article_html(view)))
        parts = await ask(stub, 107, f"/article {LONG_DOCUMENT_ID} 2", replies=expected)
        assert expected >= 2 and len(parts) == expected
        assert all(len(p["text"]) <= MESSAGE_LIMIT and len(p["plain_text"]) <= MESSAGE_LIMIT for p in parts)
        assert parts[0]["plain_text"].startswith("《长条文示范规定》第二条")
        assert all(p["entities"][0]["type"] == "blockquote" for p in parts[1:])
        text = "".join(p["plain_text"] for p in parts)
        assert all(f"示范文字第{n}段" in text for n in range(1, 14))
        assert parts[-1]["plain_text"].endswith("本段到此结束。")


async def test_rate_limit_says_slow_down_once(served_config, assistant):
    async with running_bot(served_config, assistant, rate_limit=(2, 60)) as (stub, _app):
        for _ in range(5):
            stub.send_text(108, "/help")
        await stub.wait_until_idle()
        await stub.wait_for_replies(3, chat_id=108, timeout=10)
        await asyncio.sleep(0.3)
        texts = [m["plain_text"] for m in stub.sent_messages(108)]
        slow = [t for t in texts if "请等" in t]
        assert len(texts) == 3 and len(slow) == 1 and "60 秒" in slow[0]
        [other_user] = await ask(stub, 109, "/help")  # the limit is per user
        assert "命令" in other_user["plain_text"]


async def test_error_handler_replies_and_the_bot_keeps_running(served_config, assistant, monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("search index exploded")

    async with running_bot(served_config, assistant) as (stub, _app):
        with monkeypatch.context() as patch:
            patch.setattr(assistant, "ask", broken)
            with caplog.at_level(logging.ERROR, logger="bot.telegram_app"):
                [reply] = await ask(stub, 110, "银行能不能抽贷？")
        assert reply["plain_text"] == ERROR_TEXT
        [record] = [r for r in caplog.records if r.name == "bot.telegram_app"]
        assert record.getMessage().startswith("error while handling update ")
        assert record.exc_info[0] is RuntimeError
        assert TOKEN not in caplog.text
        [docs] = await ask(stub, 110, "/docs")
        assert "收录的文件" in docs["plain_text"]


def test_callback_data_fits_for_large_question_ids():
    from bot.conversation import Asked
    from bot.telegram_app import answer_keyboard

    keyboard = answer_keyboard(Asked(Answer("q", False, [], [object()]), 10**15))
    assert all(len(b.callback_data.encode()) <= 64 for row in keyboard.inline_keyboard for b in row)


@pytest.mark.parametrize("text", ["第十一条", "/article 11"])
def test_redact_filter_hides_the_token(text):
    from bot.telegram_app import RedactFilter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET /bot%s/getMe %s", (TOKEN, text), None)
    RedactFilter(TOKEN).filter(record)
    assert TOKEN not in record.getMessage() and "<TOKEN>" in record.getMessage()


async def test_follow_up_uses_the_chat_context_and_new_clears_it(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        await ask(stub, 303, LOAN_QUESTION)
        [follow_up] = await ask(stub, 303, "那担保呢？")
        text = follow_up["plain_text"]
        assert "接着上一个问题（金融机构支持）回答" in text
        assert re.search(r"第十四条(第.款)?【融资担保】", text)  # whichever 款 is closest
        [other_chat] = await ask(stub, 304, "那担保呢？")  # another chat has no context
        assert "接着上一个问题" not in other_chat["plain_text"]
        [cleared] = await ask(stub, 303, "/new")
        assert cleared["plain_text"] == "好的，请说您的新问题。"
        [alone] = await ask(stub, 303, "那担保呢？")
        assert "接着上一个问题" not in alone["plain_text"]
        [typed] = await ask(stub, 303, "新问题")
        assert typed["plain_text"] == "好的，请说您的新问题。"


async def test_privacy_says_what_is_kept_and_forget_deletes_it(served_config, assistant):
    import sqlite3

    async with running_bot(served_config, assistant) as (stub, app):
        await ask(stub, 401, LOAN_QUESTION)
        await ask(stub, 402, LOAN_QUESTION)  # someone else's record stays
        [privacy] = await ask(stub, 401, "/privacy")
        assert "保存多久：180 天" in privacy["plain_text"] and "提问 1 条" in privacy["plain_text"]
        assert "/forget" in privacy["plain_text"]
        [question] = await ask(stub, 401, "/forget")
        assert labels(question) == ["确认删除", "取消"]
        [done] = await press(stub, 401, question, "确认删除")
        assert done["plain_text"].startswith("已删除：提问 1 条")
        path = app.bot_data["conversation"].log.path
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM questions WHERE user_id = 401").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM feedback WHERE user_id = 401").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM questions WHERE user_id = 402").fetchone()[0] >= 1
