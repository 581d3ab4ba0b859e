"""End-to-end checks of tests/telegram_stub.py against the real python-telegram-bot Application."""

from __future__ import annotations

import contextlib
import html
import json
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from telegram_stub import BotApiStub, parse_html

USER = 4242
TOKEN = "123:ABC"


def keyboard(data: str = "press:1") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Press me", callback_data=data)]])


def build_app(stub: BotApiStub, errors: list[str]) -> Application:
    """A tiny echo bot exercising commands, HTML, buttons, documents and limits."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        name = html.escape(update.effective_user.first_name)
        await update.message.reply_html(f"<b>Hello</b>, {name}!", reply_markup=keyboard())

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.message.text
        try:
            if text == "bad html":
                await update.message.reply_html("<p>unsupported tag</p>")
            elif text == "long":
                await update.message.reply_text("x" * 5000)
            elif text == "big button":
                await update.message.reply_text("b", reply_markup=keyboard("d" * 65))
            else:
                await context.bot.send_chat_action(update.effective_chat.id, "typing")
                await update.message.reply_html(f"echo: <i>{html.escape(text)}</i>")
        except BadRequest as exc:
            errors.append(exc.message)
            await update.message.reply_text(f"error: {exc.message}")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("got it")
        await query.edit_message_text(f"pressed <code>{html.escape(query.data)}</code>", parse_mode="HTML")
        try:  # same text, no markup: Telegram refuses
            await query.edit_message_text(f"pressed <code>{html.escape(query.data)}</code>", parse_mode="HTML")
        except BadRequest as exc:
            errors.append(exc.message)

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = update.message.document
        data = bytes(await (await doc.get_file()).download_as_bytearray())
        await update.message.reply_text(f"{doc.file_name}: {len(data)} bytes: {data.decode()}")
        await update.message.reply_document(
            data, filename=f"copy of {doc.file_name}", caption="<b>copy</b>", parse_mode="HTML"
        )

    app = stub.configure(ApplicationBuilder()).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(button))
    return app


@contextlib.asynccontextmanager
async def running_bot() -> AsyncIterator[tuple[BotApiStub, Application, list[str]]]:
    errors: list[str] = []
    with BotApiStub(token=TOKEN) as stub:
        app = build_app(stub, errors)
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                yield stub, app, errors
            finally:
                await app.updater.stop()
                await app.stop()


@pytest.mark.asyncio
async def test_command_echo_and_chat_action() -> None:
    async with running_bot() as (stub, app, errors):
        assert app.bot.username == "policy_test_bot"
        stub.send_text(USER, "/start")
        [hello] = await stub.wait_for_replies(1, chat_id=USER, timeout=5)
        assert hello["plain_text"] == "Hello, User4242!"
        assert hello["parse_mode"] == "HTML"
        assert stub.buttons(hello) == [("Press me", "press:1")]

        stub.send_text(USER, "a < b & c")
        replies = await stub.wait_for_replies(1, chat_id=USER, since=1, timeout=5)
        assert replies[0]["text"] == "echo: <i>a &lt; b &amp; c</i>"
        assert replies[0]["plain_text"] == "echo: a < b & c"
        assert replies[0]["entities"] == [{"type": "italic", "offset": 6, "length": 9}]
        assert stub.chat_actions == [{"chat_id": USER, "action": "typing"}]
        assert errors == []
        assert {m for m, _ in stub.requests} >= {"getMe", "deleteWebhook", "getUpdates"}


@pytest.mark.asyncio
async def test_rejections_surface_as_bad_request() -> None:
    async with running_bot() as (stub, _app, errors):
        stub.send_text(USER, "bad html")
        stub.send_text(USER, "long")
        stub.send_text(USER, "big button")
        replies = await stub.wait_for_replies(3, chat_id=USER, timeout=5)
        assert len(errors) == 3
        assert errors[0].startswith('Can\'t parse entities: unsupported start tag "p"')
        assert errors[1] == "Message is too long"
        assert errors[2] == "Button_data_invalid"
        assert [r["text"] for r in replies] == [f"error: {e}" for e in errors]
        assert len(stub.calls("sendMessage")) == 6  # 3 refused + 3 error replies


@pytest.mark.asyncio
async def test_button_press_answers_and_edits() -> None:
    async with running_bot() as (stub, _app, errors):
        stub.send_text(USER, "/start")
        [hello] = await stub.wait_for_replies(1, chat_id=USER, timeout=5)
        stub.press_button(USER, hello, stub.button_data(hello, "Press"))
        await stub.wait_for(lambda: errors, timeout=5)
        assert stub.callback_answers[0]["text"] == "got it"
        assert stub.callback_answers[0]["data"] == "press:1"
        assert stub.unanswered_callbacks() == []
        [edit] = stub.edits
        assert edit["message_id"] == hello["message_id"]
        assert edit["plain_text"] == "pressed press:1"
        current = stub.message(USER, hello["message_id"])
        assert current["text"] == "pressed press:1"
        assert "reply_markup" not in current  # editing without markup drops the keyboard
        assert errors[0].startswith("Message is not modified")
        with pytest.raises(ValueError):
            stub.press_button(USER, hello, "not-a-button")


@pytest.mark.asyncio
async def test_document_download_roundtrip() -> None:
    async with running_bot() as (stub, _app, _errors):
        stub.send_document(USER, "rules.md", "第一条 hello".encode(), mime_type="text/markdown")
        [reply] = await stub.wait_for_replies(1, chat_id=USER, timeout=5)
        size = len("第一条 hello".encode())
        assert reply["text"] == f"rules.md: {size} bytes: 第一条 hello"
        [get_file] = stub.calls("getFile")
        assert get_file["file_id"].startswith("BQAC")
        [sent] = await stub.wait_for(lambda: stub.sent_documents, timeout=5)  # multipart upload
        assert sent["file_name"] == "copy of rules.md"
        assert sent["content"] == "第一条 hello".encode()
        assert sent["message"]["caption"] == "copy"
        assert sent["message"]["caption_entities"] == [{"type": "bold", "offset": 0, "length": 4}]


def test_http_level_behaviour() -> None:
    with BotApiStub(token=TOKEN) as stub:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{stub.url}/botWRONG:TOKEN/getMe", timeout=5)
        assert info.value.code == 401
        assert json.loads(info.value.read())["description"] == "Unauthorized"

        def post(method: str, body: dict[str, Any], as_json: bool = False) -> dict[str, Any]:
            if as_json:
                data, ctype = json.dumps(body).encode(), "application/json"
            else:
                data = urllib.parse.urlencode(body).encode()
                ctype = "application/x-www-form-urlencoded"
            req = urllib.request.Request(f"{stub.base_url}{TOKEN}/{method}", data=data, headers={"Content-Type": ctype})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as err:
                return json.loads(err.read())

        cmds = [{"command": "start", "description": "Start"}]
        assert post("setMyCommands", {"commands": json.dumps(cmds)})["result"] is True
        assert stub.commands == cmds
        assert post("getMyCommands", {}, as_json=True)["result"] == cmds
        assert post("someFutureMethod", {"x": "1"}) == {"ok": True, "result": True}
        ok = post("sendMessage", {"chat_id": "7", "text": "<b>x</b>", "parse_mode": "HTML"})
        assert ok["result"]["message_id"] == 1 and ok["result"]["chat"]["id"] == 7
        bad = post("sendMessage", {"chat_id": 7, "text": "x &nbsp; y", "parse_mode": "HTML"}, as_json=True)
        assert bad["error_code"] == 400 and "can't parse entities" in bad["description"]
        # 4096 is measured after entity parsing: tags and entities don't count.
        assert (
            post(
                "sendMessage",
                {"chat_id": "7", "text": "<b>" + "&amp;" * 4096 + "</b>", "parse_mode": "HTML"},
            )["ok"]
            is True
        )
        stub.fail_next("sendMessage", "Too Many Requests: retry after 3", 429, retry_after=3)
        limited = post("sendMessage", {"chat_id": "7", "text": "hi"})
        assert limited["parameters"] == {"retry_after": 3}
        assert stub.sent_messages(7)[-1]["message_id"] == 2


def test_parse_html_edge_cases() -> None:
    assert parse_html('<a href="https://e.x/?a=1&amp;b=2">l</a> &#x1F600;') == (
        "l 😀",
        [{"type": "text_link", "offset": 0, "length": 1, "url": "https://e.x/?a=1&b=2"}],
    )
    text, ents = parse_html('<pre><code class="language-py">x</code></pre><b>😀</b>')
    assert text == "x😀" and ents[1] == {"type": "bold", "offset": 1, "length": 2}
    assert ents[0]["language"] == "py"
    for bad in ("<br>", "a < b", "<b>x", "<b><i>x</b></i>", "</i>", "&nbsp;", "<span>s</span>"):
        with pytest.raises(ValueError):
            parse_html(bad)
    assert parse_html("a & b > c", strict=False)[0] == "a & b > c"
