"""Alerts when staff publish: owners subscribe (/subscribe), an admin's publish queues one message for each
subscriber whose subscription a changed article matches, and the bot sends it off the question path. End to end:
the real Application against the stand-in Bot API, a real corpus and search index in a temp data folder per test
(see tests/test_admin.py), real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.subscriptions import SUBSCRIPTIONS_FILE
from bot.texts import (
    KEYWORD_BAD_TEXT,
    SUBSCRIBE_PRIVATE_TEXT,
    SUBSCRIPTIONS_EMPTY_TEXT,
    TOO_MANY_SUBSCRIPTIONS_TEXT,
    TOPICS,
)

from . import telegram_stub, test_admin
from .conftest import DOCUMENTS
from .telegram_stub import BotApiStub, iter_button_data, labels
from .test_admin import ADMIN, LOAN_QUESTION, Env, firefly_rules, press, running_bot, send, upload

# tests/test_admin.py's fixtures: a data folder of its own per test, version 0001 (the default documents) serving
admin_base, env = test_admin.admin_base, test_admin.env

OWNER, OTHER, STRANGER = 101, 102, 555
ALERT = "订阅提醒"
ALERT_HTML = f"<b>{ALERT}</b>"  # how an alert starts as sent (/privacy mentions alerts too)
GUARANTEE_SENTENCE = "鼓励各类担保机构为中小企业融资提供信用担保。"
NOTIFIED_ONE = "将通知 1 位订阅者。"


def sme_law_changed() -> bytes:
    """《中小企业促进法》 with 第二十一条 (政策性信用担保体系, about financing) reworded."""
    text = (DOCUMENTS / "sme_law.md").read_text(encoding="utf-8")
    assert text.count(GUARANTEE_SENTENCE) == 1
    return text.replace(GUARANTEE_SENTENCE, "鼓励各类担保机构为中小企业融资提供信用担保，降低担保费率。").encode()


def alerts_to(stub: BotApiStub, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in stub.sent_messages(chat_id) if m["plain_text"].startswith(ALERT)]


def outbox(served: Env) -> list[tuple[int, int]]:
    """(push id, chat id) of the alerts waiting in subscriptions.db."""
    with sqlite3.connect(served.config.data_path / SUBSCRIPTIONS_FILE) as db:
        return db.execute("SELECT id, chat_id FROM pushes ORDER BY id").fetchall()


def subscribed_chats(served: Env) -> list[int]:
    with sqlite3.connect(served.config.data_path / SUBSCRIPTIONS_FILE) as db:
        return [row[0] for row in db.execute("SELECT DISTINCT chat_id FROM subscriptions ORDER BY chat_id")]


async def publish_upload(stub: BotApiStub, file_name: str, content: bytes, caption: str) -> str:
    """An admin uploads a file and presses 确认; the confirmation's text."""
    preview = await upload(stub, ADMIN, file_name, content, caption=caption)
    assert labels(preview) == ["确认", "取消"], preview["plain_text"]
    return (await press(stub, ADMIN, preview, "确认"))["plain_text"]


async def wait_for_alert(stub: BotApiStub, chat_id: int, count: int = 1) -> list[dict[str, Any]]:
    return await stub.wait_for(lambda: alerts_to(stub, chat_id) if len(alerts_to(stub, chat_id)) >= count else None, 60)


def attempted_alerts(stub: BotApiStub, chat_id: int) -> list[dict[str, Any]]:
    """sendMessage calls carrying an alert to `chat_id`, failed ones too."""
    return [
        c
        for c in stub.calls("sendMessage")
        if c.get("chat_id") == chat_id and str(c.get("text")).startswith(ALERT_HTML)
    ]


# ---------------------------------------------------------------- one alert per subscriber per publish


async def test_a_subscriber_gets_one_alert_for_a_matching_publish_and_none_for_an_unrelated_one(env):
    async with running_bot(env) as (stub, _app):
        [choose] = await send(stub, OWNER, "/subscribe")
        assert labels(choose) == list(TOPICS)
        subscribed = await press(stub, OWNER, choose, "融资贷款")
        assert subscribed["plain_text"].startswith("已订阅“融资贷款”。")
        [keyword] = await send(stub, OTHER, "/subscribe 萤火虫")  # nothing in the corpus is about it yet
        assert keyword["plain_text"].startswith("已订阅“萤火虫”。")
        [answer] = await send(stub, STRANGER, LOAN_QUESTION)  # an owner who never subscribed
        assert answer["plain_text"].startswith("问：")

        # a publish that rewords an article about financing: the finance subscriber alone hears of it
        done = await publish_upload(stub, "sme_law.md", sme_law_changed(), "sme_law")
        assert done.startswith("已发布版本 0002（原版本 0001）") and done.endswith("\n" + NOTIFIED_ONE)
        [alert] = await wait_for_alert(stub, OWNER)
        assert alert["plain_text"] == (
            "订阅提醒\n与您订阅的“融资贷款”有关的条文有更新：\n\n《中小企业促进法》\n"
            "1. 修改：《中小企业促进法》第二十一条\n\n点下面的按钮看全文或修改前后的对比；/unsubscribe 取消订阅。"
        )
        assert labels(alert) == ["1. 全文", "1. 对比"]
        assert all(len(data.encode()) <= 64 for data in iter_button_data([alert]))

        diff = await press(stub, OWNER, alert, "对比")
        assert diff["plain_text"].startswith("《中小企业促进法》第二十一条（本次更新修改前后对比）")
        assert "，降低担保费率" in diff["plain_text"]
        assert {"bold", "underline"} <= {e["type"] for e in diff["entities"]}  # what was added is marked
        full = await press(stub, OWNER, alert, "全文")
        assert full["plain_text"].startswith("《中小企业促进法》第二十一条")
        assert "降低担保费率。" in full["plain_text"]

        # an unrelated publish (a new law on firefly farming): the keyword's subscriber only, one alert listing
        # the articles about it, not the one that only says when it takes effect
        done = await publish_upload(stub, "测试促进条例.md", firefly_rules().encode(), "test_rules")
        assert done.endswith("\n" + NOTIFIED_ONE)
        [firefly] = await wait_for_alert(stub, OTHER)
        lines = firefly["plain_text"].splitlines()
        assert lines[:4] == ["订阅提醒", "与您订阅的“萤火虫”有关的条文有更新：", "", "《测试促进条例》"]
        assert [line.split("：")[0] for line in lines[4:8]] == ["1. 新增", "2. 新增", "3. 新增", "4. 新增"]
        assert "《测试促进条例》第三条" in lines[6] and "第五条" not in firefly["plain_text"]
        assert labels(firefly) == ["1. 全文", "2. 全文", "3. 全文", "4. 全文"]

        # /rollback takes the law out again: its articles are matched on the version published over
        [rolled] = await send(stub, ADMIN, "/rollback")
        assert (
            rolled["plain_text"].startswith("已回退到版本 0002（原版本 0003）") and NOTIFIED_ONE in rolled["plain_text"]
        )
        [_, removed] = await wait_for_alert(stub, OTHER, 2)
        assert "1. 删除：《测试促进条例》第一条" in removed["plain_text"]
        old = await press(stub, OTHER, removed, "3. 全文")
        assert old["plain_text"].startswith("《测试促进条例》第三条\n（此条已删除，以下是删除前的条文）")
        assert "每户补贴三千元" in old["plain_text"]

        await stub.wait_for(lambda: outbox(env) == [], 30)
        assert len(alerts_to(stub, OWNER)) == 1 and len(alerts_to(stub, OTHER)) == 2
        assert [m["plain_text"] for m in stub.sent_messages(STRANGER)] == [answer["plain_text"]]
        assert stub.unanswered_callbacks() == []


# ---------------------------------------------------------------- managing subscriptions


async def test_subscriptions_are_listed_and_cancelled_and_bad_keywords_refused(env):
    async with running_bot(env) as (stub, _app):
        [none] = await send(stub, OWNER, "/subscriptions")
        assert none["plain_text"] == SUBSCRIPTIONS_EMPTY_TEXT
        for text in ("/subscribe ！！！", "/subscribe \u0007贷款"):
            [refused] = await send(stub, OWNER, text)
            assert refused["plain_text"] == KEYWORD_BAD_TEXT, text
        [long] = await send(stub, OWNER, "/subscribe " + "融资" * 30)
        assert long["plain_text"].startswith("关键词太长（60 个字），请写 20 个字以内")

        assert (await send(stub, OWNER, "/subscribe 融资"))[0]["plain_text"].startswith("已订阅“融资”")
        assert (await send(stub, OWNER, "/subscribe 用工"))[0]["plain_text"].startswith("已订阅“用工”")  # a topic
        [again] = await send(stub, OWNER, "/subscribe 融资")
        assert again["plain_text"].startswith("您已经订阅了“融资”。")
        [listed] = await send(stub, OWNER, "/subscriptions")
        assert listed["plain_text"] == "您订阅了：\n• 融资（关键词）\n• 用工（主题）\n发送 /unsubscribe 取消订阅。"

        [cancelled] = await send(stub, OWNER, "/unsubscribe 融资")
        assert cancelled["plain_text"] == "已取消订阅“融资”。"
        [missing] = await send(stub, OWNER, "/unsubscribe 融资")
        assert missing["plain_text"].startswith("您没有订阅“融资”。")
        [choose] = await send(stub, OWNER, "/unsubscribe")
        assert labels(choose) == ["取消 用工", "全部取消"]
        one = await press(stub, OWNER, choose, "取消 用工")
        assert one["plain_text"] == "已取消订阅“用工”。"
        assert labels(stub.message(OWNER, choose["message_id"])) == []
        assert (await send(stub, OWNER, "/subscriptions"))[0]["plain_text"] == SUBSCRIPTIONS_EMPTY_TEXT

        for n in range(20):
            await send(stub, OWNER, f"/subscribe 关键词{n}")
        [full] = await send(stub, OWNER, "/subscribe 再来一个")
        assert full["plain_text"] == TOO_MANY_SUBSCRIPTIONS_TEXT.format(limit=20)
        [choose] = await send(stub, OWNER, "/unsubscribe")
        everything = await press(stub, OWNER, choose, "全部取消")
        assert everything["plain_text"] == "已取消全部订阅（20 项），不会再收到提醒。"

        group = -1001234567
        stub.send_text(OWNER, "/subscribe 融资", chat_id=group)
        [refused] = await stub.wait_for_replies(1, chat_id=group)
        assert refused["plain_text"] == SUBSCRIBE_PRIVATE_TEXT
        assert stub.unanswered_callbacks() == []
    assert subscribed_chats(env) == []


# ---------------------------------------------------------------- delivery


async def test_a_subscriber_who_blocked_the_bot_is_unsubscribed(env):
    async with running_bot(env) as (stub, _app):
        await send(stub, OWNER, "/subscribe 融资贷款")
        await send(stub, OTHER, "/subscribe 担保")
        stub.fail_chat(OWNER)  # 403: the user blocked the bot
        done = await publish_upload(stub, "sme_law.md", sme_law_changed(), "sme_law")
        assert done.endswith("\n将通知 2 位订阅者。")
        await wait_for_alert(stub, OTHER)
        await stub.wait_for(lambda: subscribed_chats(env) == [OTHER] and outbox(env) == [], 30)
        assert len(attempted_alerts(stub, OWNER)) == 1 and alerts_to(stub, OWNER) == []

        stub.unfail_chat(OWNER)
        [none] = await send(stub, OWNER, "/subscriptions")
        assert none["plain_text"] == SUBSCRIPTIONS_EMPTY_TEXT


async def test_flood_control_delays_an_alert_and_it_is_sent_once(env):
    async with running_bot(env) as (stub, _app):
        await send(stub, OWNER, "/subscribe 融资贷款")
        # 429 twice: the application's rate limiter waits and retries once, then the alert sender waits its turn
        stub.fail_chat(OWNER, "Too Many Requests: retry after 1", 429, containing=ALERT_HTML, retry_after=1, times=2)
        done = await publish_upload(stub, "sme_law.md", sme_law_changed(), "sme_law")
        assert done.endswith("\n" + NOTIFIED_ONE)
        [alert] = await wait_for_alert(stub, OWNER)
        assert "1. 修改：《中小企业促进法》第二十一条" in alert["plain_text"]
        await stub.wait_for(lambda: outbox(env) == [], 30)
        assert len(attempted_alerts(stub, OWNER)) == 3 and len(alerts_to(stub, OWNER)) == 1
        assert subscribed_chats(env) == [OWNER]


async def test_alerts_queued_before_a_restart_are_sent_after_it(env):
    async with running_bot(env) as (stub, _app):
        await send(stub, OWNER, "/subscribe 融资贷款")
        stub.fail_chat(OWNER, "Internal Server Error", 500, containing=ALERT_HTML)  # Telegram is failing
        done = await publish_upload(stub, "sme_law.md", sme_law_changed(), "sme_law")
        assert done.endswith("\n" + NOTIFIED_ONE)
        await stub.wait_for(lambda: attempted_alerts(stub, OWNER), 30)
    assert [chat for _, chat in outbox(env)] == [OWNER]  # stopped with the alert still queued

    async with running_bot(env) as (stub, _app):  # a new Application on the same data folder
        [alert] = await wait_for_alert(stub, OWNER)
        assert "1. 修改：《中小企业促进法》第二十一条" in alert["plain_text"]
        await stub.wait_for(lambda: outbox(env) == [], 30)
        assert len(alerts_to(stub, OWNER)) == 1


# ---------------------------------------------------------------- privacy


def rows_with(data: Path, value: int) -> list[tuple[str, str]]:
    """(file, table) of every row in any SQLite file in the data folder (not following links) holding `value`."""
    found = []
    for path in sorted(p for p in data.rglob("*") if p.is_file() and not p.is_symlink()):
        with path.open("rb") as file:
            if file.read(16) != b"SQLite format 3\x00":
                continue
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    if any(cell == value or cell == str(value) for cell in row):
                        found.append((path.name, table))
        finally:
            db.close()
    return found


async def test_forget_deletes_subscriptions_and_queued_alerts(env):
    owner = 900_001  # unlike any row id or count in the data folder
    async with running_bot(env) as (stub, _app):
        await send(stub, owner, "/subscribe 融资贷款")
        await send(stub, owner, "/subscribe 担保")
        [answer] = await send(stub, owner, LOAN_QUESTION)
        await telegram_stub.press(stub, owner, answer, "👍", replies=0)
        stub.fail_chat(owner, "Internal Server Error", 500, containing=ALERT_HTML)  # the alert stays queued
        done = await publish_upload(stub, "sme_law.md", sme_law_changed(), "sme_law")
        assert done.endswith("\n" + NOTIFIED_ONE)
        await stub.wait_for(lambda: attempted_alerts(stub, owner), 30)
        assert rows_with(env.config.data_path, owner)  # the test can see the user's rows

        [privacy] = await send(stub, owner, "/privacy")
        assert "• 订阅提醒：您订阅了 2 项。" in privacy["plain_text"]
        [ask] = await send(stub, owner, "/forget")
        assert "您的订阅提醒也会一并删除。" in ask["plain_text"]
        forgotten = await press(stub, owner, ask, "确认删除")
        assert forgotten["plain_text"] == (
            "已删除：提问 1 条，反馈 1 条，以及当前对话的上下文。订阅 2 项、待发送的提醒 1 条也已删除。"
        )
        [privacy] = await send(stub, owner, "/privacy")
        assert "您订阅了 0 项" in privacy["plain_text"] and "提问 0 条" in privacy["plain_text"]
    assert rows_with(env.config.data_path, owner) == []
    assert outbox(env) == []
