"""The webhook server (telegram.mode: webhook): Telegram's updates, and GET /healthz for the proxy.

Our own small tornado app rather than python-telegram-bot's built-in one, so that it can answer
/healthz, compare the secret in constant time, refuse bodies over 1 MB before reading them (413)
and answer a body that is not an update with 400 instead of 500.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
import socket
from urllib.parse import urlparse

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update
from telegram.ext import Application

from policy_corpus.config import TelegramSettings

from .assistant import Assistant
from .health import check_health

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20  # Telegram's updates are a few KB; 1 MB is generous
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST <path>: one update from Telegram, put on the application's queue."""

    def initialize(self, bot_application: Application, secret: str) -> None:
        self.bot_application = bot_application
        self.secret = secret
        self.body = bytearray()
        self.too_large = False

    def prepare(self) -> None:
        if self.request.method != "POST":
            return
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            logger.warning("webhook: a request without the right secret token was refused")
            self.send_error(403)
            return
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self.too_large = True
            self.send_error(413)

    def data_received(self, chunk: bytes) -> None:
        if self._finished or self.too_large:
            return
        self.body += chunk
        if len(self.body) > MAX_BODY_BYTES:
            self.too_large = True
            self.body.clear()

    async def post(self) -> None:
        if self._finished:
            return
        if self.too_large:
            self.send_error(413)
            return
        try:
            data = json.loads(bytes(self.body))
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise TypeError("not an update")
            update = Update.de_json(data, self.bot_application.bot)
        except (ValueError, TypeError, KeyError) as error:
            logger.warning("webhook: a body that is not a Telegram update was refused (%s)", type(error).__name__)
            self.send_error(400)
            return
        await self.bot_application.update_queue.put(update)
        self.set_status(200)
        self.finish()

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish({"ok": False, "status": status_code})

    def log_exception(self, *args: object) -> None:  # refusals are logged above, one line each
        pass


class HealthHandler(tornado.web.RequestHandler):
    """GET /healthz: 200 when the served version answers the canary question, else 503."""

    def initialize(self, assistant: Assistant) -> None:
        self.assistant = assistant

    async def get(self) -> None:
        health = await asyncio.to_thread(check_health, self.assistant)
        self.set_status(200 if health.ok else 503)
        self.finish(health.as_dict())


def webhook_path(settings: TelegramSettings) -> str:
    """The path Telegram posts to: that of telegram.webhook_url (behind a proxy, the same path)."""
    return "/" + urlparse(settings.webhook_url).path.lstrip("/")


def start_webhook_server(
    application: Application, assistant: Assistant, settings: TelegramSettings, port: int | None = None
) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Listen on telegram.webhook_listen:webhook_port (or `port`; 0 = any free one); returns (server, port)."""
    routes = [
        (r"/healthz", HealthHandler, {"assistant": assistant}),
        (webhook_path(settings), UpdateHandler, {"bot_application": application, "secret": settings.webhook_secret}),
    ]
    app = tornado.web.Application(routes)
    # tornado's own cap, above ours, only guards against bodies that never end
    server = tornado.httpserver.HTTPServer(app, max_body_size=4 * MAX_BODY_BYTES)
    sockets = tornado.netutil.bind_sockets(
        settings.webhook_port if port is None else port, settings.webhook_listen, family=socket.AF_INET
    )
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


async def serve_webhook(application: Application, assistant: Assistant, settings: TelegramSettings) -> None:
    """Set the webhook, serve updates until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        if application.post_init is not None:
            await application.post_init(application)
        await application.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret, allowed_updates=Update.ALL_TYPES
        )
        await application.start()
        server, port = start_webhook_server(application, assistant, settings)
        logger.info(
            "webhook server listening on %s:%d (%s, /healthz)", settings.webhook_listen, port, webhook_path(settings)
        )
        try:
            await stop.wait()
        finally:
            server.stop()
            await application.stop()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
