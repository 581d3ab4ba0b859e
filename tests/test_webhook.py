"""Webhook mode: the real Application behind our webhook server, updates posted over HTTP, and /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import urllib.error
import urllib.request

import pytest

from bot.telegram_app import build_application
from bot.webhook import MAX_BODY_BYTES, SECRET_HEADER, start_webhook_server

from .telegram_stub import BotApiStub

TOKEN = "123456:SECRET-TEST-TOKEN"
SECRET = "s3cret_token-123"


def post(url: str, body: bytes, secret: str | None = SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (ConnectionError, urllib.error.URLError):  # the server may close a refused upload early
        return 413


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextlib.asynccontextmanager
async def webhook_bot(served_config, assistant):
    with BotApiStub(token=TOKEN) as stub:
        config = copy.deepcopy(served_config)
        config.telegram.base_url, config.telegram.base_file_url = stub.base_url, stub.base_file_url
        config.telegram.webhook_url, config.telegram.webhook_secret = "https://bot.example.org/tg/hook", SECRET
        config.telegram.webhook_listen = "127.0.0.1"
        application = build_application(config, assistant, TOKEN)
        async with application:
            await application.start()
            server, port = start_webhook_server(application, assistant, config.telegram, port=0)
            try:
                yield stub, f"http://127.0.0.1:{port}"
            finally:
                server.stop()
                await application.stop()


async def test_an_update_posted_to_the_webhook_is_answered(served_config, assistant):
    async with webhook_bot(served_config, assistant) as (stub, base):
        stub.send_text(7, "第十一条")
        [update] = stub.take_updates()
        status = await asyncio.to_thread(post, f"{base}/tg/hook", json.dumps(update).encode())
        assert status == 200
        [reply] = await stub.wait_for_replies(1, chat_id=7, since=0, timeout=30)
        assert "第十一条" in reply["plain_text"]


async def test_refusals_wrong_secret_not_json_and_too_large(served_config, assistant):
    async with webhook_bot(served_config, assistant) as (stub, base):
        stub.send_text(8, "第十一条")
        [update] = stub.take_updates()
        body = json.dumps(update).encode()
        url = f"{base}/tg/hook"
        assert await asyncio.to_thread(post, url, body, None) == 403
        assert await asyncio.to_thread(post, url, body, "wrong") == 403
        assert await asyncio.to_thread(post, url, b"") == 400
        assert await asyncio.to_thread(post, url, b"not json {") == 400
        assert await asyncio.to_thread(post, url, b"[1, 2]") == 400
        assert await asyncio.to_thread(post, url, b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}") == 413
        await asyncio.sleep(0.3)
        assert stub.sent_messages(8) == []  # nothing refused reached the bot
        assert await asyncio.to_thread(post, url, body) == 200  # and it still serves
        await stub.wait_for_replies(1, chat_id=8, since=0, timeout=30)


@pytest.mark.parametrize("path", ["/healthz"])
async def test_healthz_answers_the_canary(served_config, assistant, path):
    async with webhook_bot(served_config, assistant) as (_stub, base):
        status, health = await asyncio.to_thread(get, base + path)
    assert status == 200 and health["ok"] is True
    assert health["version"] == assistant.version and health["articles"] > 200
