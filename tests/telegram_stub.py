"""A stand-in Telegram Bot API server for end-to-end tests.

Runs a real HTTP server on 127.0.0.1 (stdlib only, background thread) that speaks enough of
the Bot API for python-telegram-bot v22 to poll, reply, edit, answer buttons and download
files, and that refuses what real Telegram refuses (bad HTML, over-long text, oversized
callback_data, "message is not modified").

    with BotApiStub() as stub:
        app = (ApplicationBuilder().token(stub.token)
               .base_url(stub.base_url).base_file_url(stub.base_file_url).build())
        ...
        stub.send_text(42, "/start")
        replies = await stub.wait_for_replies(1, chat_id=42)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

T = TypeVar("T")

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

# Parameters that PTB sends JSON-encoded inside form / multipart bodies.
_JSON_KEYS = frozenset(
    [
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "media",
        "results",
        "menu_button",
        "permissions",
        "options",
        "explanation_entities",
        "question_entities",
        "message_ids",
        "reaction",
        "prices",
        "shipping_options",
        "input_message_content",
        "rights",
        "button",
        "text_entities",
    ]
)
_INT_KEYS = frozenset(
    [
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "duration",
        "width",
        "height",
        "until_date",
    ]
)
_BOOL_PREFIXES = ("disable_", "protect_", "show_", "drop_", "is_", "allow_", "has_", "can_")
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """A Bot API error answer (``{"ok": false, ...}``)."""

    def __init__(self, description: str, error_code: int = 400, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.parameters = parameters


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's wording (minus the API prefix)."""


# --------------------------------------------------------------------------- text helpers


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7})|([A-Za-z][A-Za-z0-9]*));")
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, entities), or raise HtmlParseError.

    ``strict`` also refuses a bare ``>`` and a ``&`` that starts no supported entity (real
    Telegram tolerates those two; escaping with ``html.escape`` is always right).
    """
    out: list[str] = []
    pos16 = 0  # UTF-16 length of ``out`` so far
    nchars = 0  # code points in ``out`` so far
    stack: list[dict[str, Any]] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def boff(k: int) -> int:
        return len(text[:k].encode("utf-8"))

    def emit(s: str) -> None:
        nonlocal pos16, nchars
        out.append(s)
        pos16 += utf16_len(s)
        nchars += len(s)

    while i < n:
        c = text[i]
        if c == "&":
            m = _ENTITY_RE.match(text, i)
            decoded: str | None = None
            if m:
                if m.group(3) is not None:
                    decoded = _NAMED_ENTITIES.get(m.group(3))
                else:
                    cp = int(m.group(1), 10) if m.group(1) is not None else int(m.group(2), 16)
                    if 0 < cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                        decoded = chr(cp)
            if decoded is not None and m is not None:
                emit(decoded)
                i = m.end()
                continue
            if strict:
                what = f'unsupported HTML entity "{m.group(0)}"' if m else 'unescaped "&"'
                raise HtmlParseError(f"{what} at byte offset {boff(i)}; escape it as &amp;")
            emit("&")
            i += 1
        elif c == ">":
            if strict:
                raise HtmlParseError(f'unescaped ">" at byte offset {boff(i)}; escape it as &gt;')
            emit(">")
            i += 1
        elif c != "<":
            j = i
            while j < n and text[j] not in "<>&":
                j += 1
            emit(text[i:j])
            i = j
        elif i + 1 < n and text[i + 1] == "/":
            begin = i
            end = text.find(">", i + 2)
            if end < 0:
                raise HtmlParseError(f"Unclosed end tag at byte offset {boff(begin)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {boff(begin)}")
            if name != stack[-1]["tag"]:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {boff(begin)}, expected "
                    f'"</{stack[-1]["tag"]}>", found "</{name}>"'
                )
            open_tag = stack.pop()
            i = end + 1
            _close_tag(open_tag, pos16, "".join(out), stack, entities)
        else:
            begin = i
            i += 1
            j = i
            while j < n and not text[j].isspace() and text[j] not in ">/":
                j += 1
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {boff(begin)}")
            name = text[i:j].lower()
            if name not in _HTML_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {boff(begin)}')
            attrs: dict[str, str] = {}
            i = j
            while True:
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise HtmlParseError(f'Unclosed start tag "{name}" at byte offset {boff(begin)}')
                if text[i] == ">":
                    i += 1
                    break
                am = _ATTR_NAME_RE.match(text, i)
                if not am:
                    raise HtmlParseError(f'Empty attribute name in the tag "{name}" at byte offset {boff(begin)}')
                attr = am.group(0).lower()
                i = am.end()
                value = ""
                if i < n and text[i] == "=":
                    i += 1
                    if i < n and text[i] in "'\"":
                        q = text[i]
                        close = text.find(q, i + 1)
                        if close < 0:
                            raise HtmlParseError(f'Unclosed start tag "{name}" at byte offset {boff(begin)}')
                        value = _decode_attr(text[i + 1 : close])
                        i = close + 1
                    else:
                        k = i
                        while k < n and not text[k].isspace() and text[k] != ">":
                            k += 1
                        value = text[i:k]
                        i = k
                attrs[attr] = value
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {boff(begin)}')
            if name == "tg-emoji" and not attrs.get("emoji-id"):
                raise HtmlParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {boff(begin)}')
            stack.append({"tag": name, "attrs": attrs, "start": pos16, "start_char": nchars})
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _decode_attr(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            return _NAMED_ENTITIES.get(m.group(3), m.group(0))
        cp = int(m.group(1), 10) if m.group(1) is not None else int(m.group(2), 16)
        return chr(cp) if 0 < cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else m.group(0)

    return _ENTITY_RE.sub(repl, value)


def _close_tag(
    tag: dict[str, Any],
    pos16: int,
    plain: str,
    stack: list[dict[str, Any]],
    entities: list[dict[str, Any]],
) -> None:
    name, attrs = tag["tag"], tag["attrs"]
    length = pos16 - tag["start"]
    if name == "code" and stack and stack[-1]["tag"] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1]["attrs"]["language"] = lang[len("language-") :]
        return  # merged into the enclosing pre entity
    if length <= 0:
        return
    ent: dict[str, Any] = {"type": _HTML_TAGS[name], "offset": tag["start"], "length": length}
    if name == "a":
        ent["url"] = attrs.get("href") or plain[tag["start_char"] :]
    elif name == "pre" and attrs.get("language"):
        ent["language"] = attrs["language"]
    elif name == "blockquote" and "expandable" in attrs:
        ent["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        ent["custom_emoji_id"] = attrs["emoji-id"]
    entities.append(ent)


def _strip_text(plain: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, shifting entity offsets."""
    stripped = plain.strip()
    lead = utf16_len(plain) - utf16_len(plain.lstrip())
    total = utf16_len(stripped)
    result = []
    for ent in entities:
        start = max(ent["offset"] - lead, 0)
        end = min(ent["offset"] + ent["length"] - lead, total)
        if end > start:
            result.append({**ent, "offset": start, "length": end - start})
    return stripped, result


# --------------------------------------------------------------------------- request parsing


def _coerce(key: str, value: str) -> Any:
    if key in _JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _INT_KEYS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value in ("true", "false") and key.startswith(_BOOL_PREFIXES):
        return value == "true"
    if key in ("timeout",) and re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    return value


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ApiError("Bad Request: malformed multipart body")
    delim = b"--" + m.group(1).encode("latin-1")
    params: dict[str, Any] = {}
    files: dict[str, dict[str, Any]] = {}
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, _, content = chunk.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = head.decode("utf-8", "replace")
        name_m = re.search(r'\bname="([^"]*)"', headers)
        if not name_m:
            continue
        file_m = re.search(r'\bfilename="([^"]*)"', headers)
        ctype_m = re.search(r"(?im)^content-type:\s*([^\r\n]+)", headers)
        if file_m:
            files[name_m.group(1)] = {
                "filename": urllib.parse.unquote(file_m.group(1)),
                "content": content,
                "content_type": ctype_m.group(1).strip() if ctype_m else None,
            }
        else:
            params[name_m.group(1)] = _coerce(name_m.group(1), content.decode("utf-8"))
    for key, val in list(params.items()):  # resolve attach://name references
        if isinstance(val, str) and val.startswith("attach://") and val[9:] in files:
            params[key] = files.pop(val[9:])
    params.update(files)
    return params


def parse_request_body(body: bytes, content_type: str, query: str = "") -> dict[str, Any]:
    """Decode a Bot API request (query string, form, JSON or multipart) into a dict."""
    params: dict[str, Any] = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params[k] = _coerce(k, v)
    ctype = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if ctype == "application/json":
        params.update(json.loads(body.decode("utf-8")))
    elif ctype == "multipart/form-data":
        params.update(_parse_multipart(body, content_type))
    else:
        for k, v in urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[k] = _coerce(k, v)
    return params


MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10_000  # width + height
MAX_PHOTO_RATIO = 20
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def photo_size(content: bytes) -> tuple[int, int]:
    """(width, height) of an uploaded photo, refused as Telegram refuses it: not an image, over 10 MB, sides
    adding up to more than 10,000 pixels or a ratio over 20. Only a PNG's size is read; other images give (0, 0)."""
    if len(content) > MAX_PHOTO_BYTES:
        raise ApiError("Bad Request: PHOTO_SAVE_FILE_INVALID")
    if not content.startswith(_IMAGE_MAGIC):
        raise ApiError("Bad Request: IMAGE_PROCESS_FAILED")
    if not content.startswith(_IMAGE_MAGIC[0]):
        return 0, 0
    if content[12:16] != b"IHDR":
        raise ApiError("Bad Request: IMAGE_PROCESS_FAILED")
    width, height = int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if (
        not width
        or not height
        or width + height > MAX_PHOTO_SIDES
        or max(width, height) > MAX_PHOTO_RATIO * min(width, height)
    ):
        raise ApiError("Bad Request: PHOTO_INVALID_DIMENSIONS")
    return width, height


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, ctype, payload = stub._handle_http(self.command, self.path, body, self.headers.get("Content-Type", ""))
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # client went away (e.g. a cancelled long poll)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, stub: BotApiStub) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class BotApiStub:
    """Fake Telegram Bot API server; thread-safe, usable from sync or async tests."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "policy_test_bot",
        bot_first_name: str = "Policy Test Bot",
        max_long_poll: float = 1.0,
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.max_long_poll = max_long_poll
        self.strict_html = strict_html
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)  # callback query / file ids
        self._updates: list[dict[str, Any]] = []
        self._msg_counters: dict[int | str, int] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}  # file_id -> {content, file_path, ...}
        self._files_by_path: dict[str, bytes] = {}
        self._pending_callbacks: dict[str, dict[str, Any]] = {}
        self._failures: list[dict[str, Any]] = []
        self._chat_failures: dict[int | str, dict[str, Any]] = {}
        self._requests: list[tuple[str, dict[str, Any]]] = []
        self._sent: list[dict[str, Any]] = []
        self._sent_documents: list[dict[str, Any]] = []
        self._sent_photos: list[dict[str, Any]] = []
        self._edits: list[dict[str, Any]] = []
        self._deleted: list[tuple[int | str, int]] = []
        self._callback_answers: list[dict[str, Any]] = []
        self._chat_actions: list[dict[str, Any]] = []
        self._commands: dict[str, list[dict[str, Any]]] = {}

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Start serving in a background thread (idempotent)."""
        if self._server is None:
            self._closed = False
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="BotApiStub",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes any pending long poll."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("BotApiStub is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    def configure(self, builder: Any) -> Any:
        """Point a PTB ``ApplicationBuilder`` at this stub (token, base_url, base_file_url)."""
        return builder.token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)

    # ----------------------------------------------------------------- recorded calls

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API call as (method, params), in arrival order."""
        with self._cond:
            return copy.deepcopy(self._requests)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every call of ``method`` (case-insensitive)."""
        low = method.lower()
        with self._cond:
            return [copy.deepcopy(p) for m, p in self._requests if m.lower() == low]

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """sendMessage calls that succeeded: chat_id, message_id, text (as sent), plain_text,
        entities, parse_mode, reply_markup (parsed), params, message (Telegram JSON)."""
        with self._cond:
            return [copy.deepcopy(m) for m in self._sent if chat_id is None or m["chat_id"] == chat_id]

    def last_message(self, chat_id: int | str | None = None) -> dict[str, Any]:
        """The latest successful sendMessage record (AssertionError if none)."""
        msgs = self.sent_messages(chat_id)
        assert msgs, f"the bot sent no message to chat {chat_id!r}"
        return msgs[-1]

    @property
    def sent_documents(self) -> list[dict[str, Any]]:
        """sendDocument calls: chat_id, message_id, file_name, content (bytes|None), caption."""
        with self._cond:
            return copy.deepcopy(self._sent_documents)

    @property
    def sent_photos(self) -> list[dict[str, Any]]:
        """sendPhoto calls that succeeded: chat_id, message_id, content (bytes|None), width, height, caption."""
        with self._cond:
            return copy.deepcopy(self._sent_photos)

    @property
    def edits(self) -> list[dict[str, Any]]:
        """Successful editMessageText / editMessageReplyMarkup calls."""
        with self._cond:
            return copy.deepcopy(self._edits)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._callback_answers)

    @property
    def chat_actions(self) -> list[dict[str, Any]]:
        with self._cond:
            return copy.deepcopy(self._chat_actions)

    @property
    def deleted(self) -> list[tuple[int | str, int]]:
        with self._cond:
            return list(self._deleted)

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands from the last setMyCommands for the default scope and language."""
        with self._cond:
            return copy.deepcopy(self._commands.get(self._commands_key(None, ""), []))

    def unanswered_callbacks(self) -> list[dict[str, Any]]:
        """Callback queries the bot has not answered yet."""
        with self._cond:
            return copy.deepcopy(list(self._pending_callbacks.values()))

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any]:
        """Current state (after edits) of a message, as Telegram JSON."""
        with self._cond:
            return copy.deepcopy(self._messages[(chat_id, message_id)])

    def fail_next(
        self,
        method: str,
        description: str = "Internal Server Error",
        error_code: int = 500,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (e.g. 429 with retry_after)."""
        params = {"retry_after": retry_after} if retry_after is not None else None
        with self._cond:
            self._failures.append(
                {
                    "method": method.lower(),
                    "description": description,
                    "error_code": error_code,
                    "parameters": params,
                    "times": times,
                }
            )

    def fail_chat(
        self,
        chat_id: int | str,
        description: str = "Forbidden: bot was blocked by the user",
        error_code: int = 403,
        *,
        containing: str | None = None,
        retry_after: int | None = None,
        times: int | None = None,
    ) -> None:
        """Make sends to ``chat_id`` fail until :meth:`unfail_chat` (403 by default: the user blocked the bot), or
        the next ``times`` of them; with ``containing``, only messages whose text contains it."""
        with self._cond:
            self._chat_failures[chat_id] = {
                "description": description,
                "error_code": error_code,
                "containing": containing,
                "parameters": {"retry_after": retry_after} if retry_after is not None else None,
                "times": times,
            }

    def unfail_chat(self, chat_id: int | str) -> None:
        with self._cond:
            self._chat_failures.pop(chat_id, None)

    def clear(self) -> None:
        """Forget recorded calls (not messages, files or queued updates)."""
        with self._cond:
            for lst in (
                self._requests,
                self._sent,
                self._sent_documents,
                self._sent_photos,
                self._edits,
                self._callback_answers,
                self._chat_actions,
                self._deleted,
            ):
                lst.clear()

    # ----------------------------------------------------------------- injecting updates

    def set_user(self, user_id: int, **fields: Any) -> dict[str, Any]:
        """Create or amend the fake user (first_name, username, language_code, ...)."""
        with self._cond:
            user = self._user(user_id)
            user.update(fields)
            return copy.deepcopy(user)

    def send_text(self, user_id: int, text: str, chat_id: int | None = None) -> int:
        """Queue a text message from a user; a leading /command gets a bot_command entity."""
        message: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._queue_user_message(user_id, chat_id, message)

    def send_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Queue a document message; its bytes become downloadable via getFile."""
        with self._cond:
            file_id = self._register_file(content, file_name)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "file_size": len(content),
        }
        if mime_type is not None:
            document["mime_type"] = mime_type
        message: dict[str, Any] = {"document": document}
        if caption is not None:
            message["caption"] = caption
        return self._queue_user_message(user_id, chat_id, message)

    def add_file(self, content: bytes, file_name: str = "file.bin") -> str:
        """Register bytes for getFile / download and return their file_id."""
        with self._cond:
            return self._register_file(content, file_name)

    def press_button(
        self,
        user_id: int,
        message: dict[str, Any] | int,
        data: str,
        chat_id: int | str | None = None,
        *,
        check: bool = True,
    ) -> int:
        """Queue a callback_query for a button on a message the bot sent.

        ``message`` is a record from :meth:`sent_messages` / :meth:`message`, or a message_id
        (then ``chat_id`` defaults to ``user_id``). With ``check`` the data must belong to one
        of the message's current inline buttons.
        """
        if isinstance(message, dict):
            cid = message.get("chat_id", message.get("chat", {}).get("id"))
            mid = message["message_id"]
        else:
            cid, mid = (user_id if chat_id is None else chat_id), message
        with self._cond:
            current = self._messages.get((cid, mid))
            if current is None:
                raise KeyError(f"no message {mid} in chat {cid}")
            if check:
                datas = [d for _, d in self.buttons(current)]
                if data not in datas:
                    raise ValueError(f"message {mid} has no button with data {data!r}: {datas}")
            query_id = str(next(self._ids) * 1000 + 7)
            query = {
                "id": query_id,
                "from": copy.deepcopy(self._user(user_id)),
                "message": copy.deepcopy(current),
                "chat_instance": f"ci{cid}",
                "data": data,
            }
            self._pending_callbacks[query_id] = query
            return self._queue({"callback_query": query})

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[tuple[str, str | None]]:
        """(text, callback_data) of every inline button on a message or sent record."""
        markup = message.get("reply_markup") or {}
        return [(b.get("text", ""), b.get("callback_data")) for row in markup.get("inline_keyboard", []) for b in row]

    def button_data(self, message: dict[str, Any], text_contains: str) -> str:
        """callback_data of the first inline button whose text contains ``text_contains``."""
        for text, data in self.buttons(message):
            if text_contains in text and data is not None:
                return data
        raise ValueError(f"no button containing {text_contains!r}: {self.buttons(message)}")

    def queue_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned); returns the update_id."""
        with self._cond:
            return self._queue(copy.deepcopy(update))

    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by getUpdates offset."""
        with self._cond:
            return len(self._updates)

    # ----------------------------------------------------------------- waiting

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01) -> T:
        """Await until ``predicate()`` is truthy and return its value (TimeoutError if not)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if loop.time() >= deadline:
                raise TimeoutError(self._timeout_message(timeout))
            await asyncio.sleep(interval)

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01) -> T:
        """Blocking twin of :meth:`wait_for` (for tests whose bot runs in another thread)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout))
                self._cond.wait(min(remaining, interval * 10))

    async def wait_for_replies(
        self, n: int = 1, chat_id: int | str | None = None, timeout: float = 10.0, since: int = 0
    ) -> list[dict[str, Any]]:
        """Wait until at least ``n`` sendMessage records exist for the chat beyond the first
        ``since``; return those (``since`` = ``len(stub.sent_messages(chat))`` taken earlier)."""

        def ready() -> list[dict[str, Any]] | None:
            msgs = self.sent_messages(chat_id)[since:]
            return msgs if len(msgs) >= n else None

        return await self.wait_for(ready, timeout)

    def wait_for_replies_sync(
        self, n: int = 1, chat_id: int | str | None = None, timeout: float = 10.0, since: int = 0
    ) -> list[dict[str, Any]]:
        """Blocking twin of :meth:`wait_for_replies`."""

        def ready() -> list[dict[str, Any]] | None:
            msgs = self.sent_messages(chat_id)[since:]
            return msgs if len(msgs) >= n else None

        return self.wait_for_sync(ready, timeout)

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``method`` has been called at least ``n`` times; return all its params."""

        def ready() -> list[dict[str, Any]] | None:
            calls = self.calls(method)
            return calls if len(calls) >= n else None

        return await self.wait_for(ready, timeout)

    async def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        await self.wait_for(lambda: self.pending_updates() == 0 or None, timeout)

    def _timeout_message(self, timeout: float) -> str:
        with self._cond:
            tail = [
                (m, {k: v for k, v in p.items() if not isinstance(v, (bytes, dict))})
                for m, p in self._requests[-8:]
                if m.lower() != "getupdates"
            ]
            pending = len(self._updates)
        return f"timed out after {timeout}s; {pending} updates pending; recent calls: {tail}"

    # ----------------------------------------------------------------- internals (locked)

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id not in self._users:
            self._users[user_id] = {
                "id": user_id,
                "is_bot": False,
                "first_name": f"User{user_id}",
                "username": f"user{user_id}",
                "language_code": "zh-hans",
            }
        return self._users[user_id]

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if chat_id not in self._chats:
            if isinstance(chat_id, int) and chat_id > 0:
                user = self._user(chat_id)
                chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
                if user.get("username"):
                    chat["username"] = user["username"]
            elif isinstance(chat_id, int):
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                chat = {"id": chat_id, "type": kind, "title": f"Test {kind} {chat_id}"}
            else:
                chat = {
                    "id": -1009999999999,
                    "type": "channel",
                    "title": str(chat_id),
                    "username": str(chat_id).lstrip("@"),
                }
            self._chats[chat_id] = chat
        return self._chats[chat_id]

    def _next_message_id(self, chat_id: int | str) -> int:
        self._msg_counters[chat_id] = self._msg_counters.get(chat_id, 0) + 1
        return self._msg_counters[chat_id]

    def _queue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._cond.notify_all()
        return update_id

    def _queue_user_message(self, user_id: int, chat_id: int | None, fields: dict[str, Any]) -> int:
        with self._cond:
            cid = user_id if chat_id is None else chat_id
            message = {
                "message_id": self._next_message_id(cid),
                "from": copy.deepcopy(self._user(user_id)),
                "chat": copy.deepcopy(self._chat(cid)),
                "date": int(time.time()),
                **copy.deepcopy(fields),
            }
            self._messages[(cid, message["message_id"])] = message
            return self._queue({"message": copy.deepcopy(message)})

    def _register_file(self, content: bytes, file_name: str) -> str:
        n = next(self._ids)
        file_id = f"BQACAgIAAx{n:06d}"
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10] or "bin"
        file_path = f"documents/stubfile_{n}.{ext}"
        self._files[file_id] = {"content": bytes(content), "file_path": file_path}
        self._files_by_path[file_path] = bytes(content)
        return file_id

    @staticmethod
    def _commands_key(scope: Any, language_code: str) -> str:
        if not scope or scope == {"type": "default"}:
            scope = None
        return json.dumps([scope, language_code or ""], sort_keys=True)

    # ----------------------------------------------------------------- HTTP entry

    def _handle_http(self, verb: str, raw_path: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        file_prefix = "/file/bot"
        if path.startswith(file_prefix):
            token, _, file_path = path[len(file_prefix) :].partition("/")
            if token != self.token:
                return self._json_error(ApiError("Unauthorized", 401))
            with self._cond:
                content = self._files_by_path.get(file_path)
            if content is None:
                return self._json_error(ApiError("Not Found: file not found", 404))
            return 200, "application/octet-stream", content
        if not path.startswith("/bot") or "/" not in path[4:]:
            return self._json_error(ApiError("Not Found", 404))
        token, _, method = path[4:].partition("/")
        if token != self.token:
            return self._json_error(ApiError("Unauthorized", 401))
        try:
            params = parse_request_body(body, content_type, parsed.query)
        except (ValueError, UnicodeDecodeError, ApiError) as exc:
            return self._json_error(exc if isinstance(exc, ApiError) else ApiError(f"Bad Request: {exc}"))
        with self._cond:
            self._requests.append((method, copy.deepcopy(params)))
            self._cond.notify_all()
        try:
            result = self._call(method, params)
        except ApiError as exc:
            return self._json_error(exc)
        payload = json.dumps({"ok": True, "result": result}).encode("utf-8")
        return 200, "application/json", payload

    @staticmethod
    def _json_error(exc: ApiError) -> tuple[int, str, bytes]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": exc.error_code,
            "description": exc.description,
        }
        if exc.parameters:
            body["parameters"] = exc.parameters
        return exc.error_code, "application/json", json.dumps(body).encode("utf-8")

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        low = method.lower()
        with self._cond:
            for failure in self._failures:
                if failure["method"] == low and failure["times"] > 0:
                    failure["times"] -= 1
                    raise ApiError(failure["description"], failure["error_code"], failure["parameters"])
            chat_failure = self._chat_failures.get(params.get("chat_id")) if low.startswith("send") else None
            if chat_failure is not None and (chat_failure["containing"] or "") in str(params.get("text", "")):
                if chat_failure["times"] is not None:
                    chat_failure["times"] -= 1
                    if chat_failure["times"] <= 0:
                        del self._chat_failures[params["chat_id"]]
                raise ApiError(chat_failure["description"], chat_failure["error_code"], chat_failure["parameters"])
        if low == "getupdates":
            return self._get_updates(params)
        handler = getattr(self, f"_api_{low}", None)
        with self._cond:
            try:
                if handler is not None:
                    return handler(params)
                if low.startswith("send") and "chat_id" in params:
                    return self._generic_send(params)
                return True
            finally:
                self._cond.notify_all()

    # ----------------------------------------------------------------- API methods

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        wait = min(float(params.get("timeout") or 0), self.max_long_poll)
        deadline = time.monotonic() + wait
        with self._cond:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._cond.notify_all()
            while not self._updates and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return copy.deepcopy(self._updates[:limit])

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(self.bot_user)

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {key: params.get(key) for key in ("url", "secret_token", "allowed_updates")}
        return True

    def take_updates(self) -> list[dict[str, Any]]:
        """The queued updates, removed from the queue: for posting them to a webhook instead."""
        with self._cond:
            updates, self._updates = self._updates, []
        return updates

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError("Bad Request: commands must be a JSON array of BotCommand")
        for cmd in commands:
            if not _COMMAND_RE.match(str(cmd.get("command", ""))):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise ApiError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code", ""))
        self._commands[key] = copy.deepcopy(commands)
        return True

    def _api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code", ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _api_deletemycommands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code", "")), None)
        return True

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        plain, entities = self._formatted(params, "text", MAX_MESSAGE_LENGTH)
        markup = self._reply_markup(params)
        message = self._new_bot_message(chat_id, {"text": plain}, entities, "entities", markup)
        self._sent.append(
            {
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "text": params.get("text"),
                "plain_text": plain,
                "entities": entities,
                "parse_mode": params.get("parse_mode"),
                "reply_markup": markup,
                "params": copy.deepcopy(params),
                "message": copy.deepcopy(message),
            }
        )
        return message

    def _api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        doc = params.get("document")
        content: bytes | None = None
        if isinstance(doc, dict):
            content = doc["content"]
            file_name = doc.get("filename") or "document"
            file_id = self._register_file(content, file_name)
            document = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": file_name,
                "file_size": len(content),
            }
            if doc.get("content_type"):
                document["mime_type"] = doc["content_type"]
        elif isinstance(doc, str) and doc:
            known = self._files.get(doc)
            file_name = doc.rsplit("/", 1)[-1]
            document = {"file_id": doc, "file_unique_id": f"u{doc}"[:32], "file_name": file_name}
            if known:
                content = known["content"]
                document["file_size"] = len(content)
        else:
            raise ApiError("Bad Request: there is no document in the request")
        message = self._captioned(chat_id, params, {"document": document})
        self._sent_documents.append(
            {
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "file_name": document["file_name"],
                "content": content,
                "caption": params.get("caption"),
                "params": copy.deepcopy(params),
                "message": copy.deepcopy(message),
            }
        )
        return message

    def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        photo = params.get("photo")
        content: bytes | None = None
        width = height = 0
        if isinstance(photo, dict):
            content = photo["content"]
            width, height = photo_size(content)
            file_id = self._register_file(content, photo.get("filename") or "photo.png")
        elif isinstance(photo, str) and photo:  # a file_id sent before
            file_id = photo
            content = self._files.get(photo, {}).get("content")
        else:
            raise ApiError("Bad Request: there is no photo in the request")
        sizes = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}"[:32],
                "width": width,
                "height": height,
                "file_size": len(content or b""),
            }
        ]
        message = self._captioned(chat_id, params, {"photo": sizes})
        self._sent_photos.append(
            {
                "chat_id": chat_id,
                "message_id": message["message_id"],
                "content": content,
                "width": width,
                "height": height,
                "caption": params.get("caption"),
                "params": copy.deepcopy(params),
                "message": copy.deepcopy(message),
            }
        )
        return message

    def _generic_send(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._captioned(self._chat_id(params), params, {})

    def _captioned(self, chat_id: int, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """A bot message with `fields` (a document, a photo) and the request's caption, if any."""
        entities: list[dict[str, Any]] = []
        if params.get("caption"):
            fields["caption"], entities = self._formatted(params, "caption", MAX_CAPTION_LENGTH)
        return self._new_bot_message(chat_id, fields, entities, "caption_entities", self._reply_markup(params))

    def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        plain, entities = self._formatted(params, "text", MAX_MESSAGE_LENGTH)
        markup = self._reply_markup(params)
        if params.get("inline_message_id"):
            self._edits.append(
                {
                    "method": "editMessageText",
                    "inline_message_id": params["inline_message_id"],
                    "text": params.get("text"),
                    "plain_text": plain,
                    "reply_markup": markup,
                }
            )
            return True
        chat_id, current = self._editable(params)
        if (
            current.get("text") == plain
            and current.get("entities", []) == entities
            and current.get("reply_markup") == markup
        ):
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message"
            )
        if "text" not in current:
            raise ApiError("Bad Request: there is no text in the message to edit")
        current["text"] = plain
        self._set_optional(current, "entities", entities)
        self._set_optional(current, "reply_markup", markup)
        current["edit_date"] = int(time.time())
        self._edits.append(
            {
                "method": "editMessageText",
                "chat_id": chat_id,
                "message_id": current["message_id"],
                "text": params.get("text"),
                "plain_text": plain,
                "parse_mode": params.get("parse_mode"),
                "reply_markup": markup,
                "params": copy.deepcopy(params),
            }
        )
        return copy.deepcopy(current)

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._reply_markup(params)
        if params.get("inline_message_id"):
            self._edits.append(
                {
                    "method": "editMessageReplyMarkup",
                    "inline_message_id": params["inline_message_id"],
                    "reply_markup": markup,
                }
            )
            return True
        chat_id, current = self._editable(params)
        if current.get("reply_markup") == markup:
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message"
            )
        self._set_optional(current, "reply_markup", markup)
        current["edit_date"] = int(time.time())
        self._edits.append(
            {
                "method": "editMessageReplyMarkup",
                "chat_id": chat_id,
                "message_id": current["message_id"],
                "text": None,
                "plain_text": None,
                "parse_mode": None,
                "reply_markup": markup,
                "params": copy.deepcopy(params),
            }
        )
        return copy.deepcopy(current)

    def _api_deletemessage(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        key = (chat_id, int(params.get("message_id") or 0))
        if key not in self._messages:
            raise ApiError("Bad Request: message to delete not found")
        del self._messages[key]
        self._deleted.append(key)
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._pending_callbacks:
            raise ApiError("Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        query = self._pending_callbacks.pop(query_id)
        self._callback_answers.append(
            {
                "callback_query_id": query_id,
                "text": params.get("text"),
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
                "data": query.get("data"),
                "params": copy.deepcopy(params),
            }
        )
        return True

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        self._chat_actions.append({"chat_id": chat_id, "action": action})
        return True

    def _api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        info = self._files.get(file_id)
        if info is None:
            raise ApiError("Bad Request: wrong file_id or the file is temporarily unavailable")
        if len(info["content"]) > MAX_DOWNLOAD_BYTES:
            raise ApiError("Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(info["content"]),
            "file_path": info["file_path"],
        }

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logout(self, params: dict[str, Any]) -> bool:
        return True

    # ----------------------------------------------------------------- API helpers

    def _chat_id(self, params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError("Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        return chat_id

    def _formatted(self, params: dict[str, Any], field: str, limit: int) -> tuple[str, list[dict[str, Any]]]:
        """Validate and parse text/caption as Telegram would; returns (plain, entities)."""
        raw = params.get(field)
        if raw is None or raw == "":
            raise ApiError(f"Bad Request: message {field} is empty")
        raw = str(raw)
        parse_mode = (params.get("parse_mode") or "").lower()
        entities_key = "entities" if field == "text" else "caption_entities"
        if parse_mode == "html":
            try:
                plain, entities = parse_html(raw, strict=self.strict_html)
            except HtmlParseError as exc:
                raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
        else:
            plain = raw
            given = params.get(entities_key)
            entities = copy.deepcopy(given) if isinstance(given, list) else []
        plain, entities = _strip_text(plain, entities)
        if not plain:
            raise ApiError(f"Bad Request: message {field} is empty")
        if len(plain) > limit:
            raise ApiError(
                "Bad Request: message is too long" if field == "text" else "Bad Request: message caption is too long"
            )
        return plain, entities

    def _reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise ApiError("Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError("Bad Request: BUTTON_TEXT_INVALID")
                if "callback_data" in button:
                    size = len(str(button["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise ApiError("Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"(?i)(https?|tg)://\S+$", str(button["url"])):
                    raise ApiError("Bad Request: BUTTON_URL_INVALID")
        return copy.deepcopy(markup)

    def _new_bot_message(
        self,
        chat_id: int | str,
        fields: dict[str, Any],
        entities: list[dict[str, Any]],
        entities_key: str,
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        chat = self._chat(chat_id)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": copy.deepcopy(self.bot_user),
            "chat": copy.deepcopy(chat),
            "date": int(time.time()),
            **fields,
        }
        if entities:
            message[entities_key] = entities
        if markup and "inline_keyboard" in markup:  # only inline keyboards show in Message
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return copy.deepcopy(message)

    def _editable(self, params: dict[str, Any]) -> tuple[int | str, dict[str, Any]]:
        chat_id = self._chat_id(params)
        message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError("Bad Request: message to edit not found")
        if not message.get("from", {}).get("is_bot"):
            raise ApiError("Bad Request: message can't be edited")
        return chat_id, message

    @staticmethod
    def _set_optional(target: dict[str, Any], key: str, value: Any) -> None:
        if value:
            target[key] = value
        else:
            target.pop(key, None)


def iter_button_data(messages: Iterable[dict[str, Any]]) -> list[str]:
    """All callback_data values across messages (records or Telegram JSON)."""
    return [d for m in messages for _, d in BotApiStub.buttons(m) if d is not None]


@contextlib.asynccontextmanager
async def polling(application: Any) -> AsyncIterator[Any]:
    """Run a real python-telegram-bot Application, long-polling the stub, for the length of a block."""
    async with application:
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
    await application.post_shutdown(application)


async def ask(stub: BotApiStub, user: int, text: str, replies: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """Send `text` as `user` and wait for the bot's next `replies` messages."""
    since = len(stub.sent_messages(user))
    stub.send_text(user, text)
    return await stub.wait_for_replies(replies, chat_id=user, since=since, timeout=timeout)


async def press(
    stub: BotApiStub, user: int, message: dict[str, Any], label: str, replies: int = 1, timeout: float = 30
) -> list[dict[str, Any]]:
    """Tap the button whose text contains `label` and wait for `replies` new messages (0: until answered)."""
    since = len(stub.sent_messages(user))
    stub.press_button(user, message, stub.button_data(message, label))
    if not replies:
        await stub.wait_until_idle()
        await stub.wait_for(lambda: not stub.unanswered_callbacks(), timeout=10)
        return []
    return await stub.wait_for_replies(replies, chat_id=user, since=since, timeout=timeout)


def labels(message: dict[str, Any]) -> list[str]:
    """The texts of a message's inline buttons."""
    return [text for text, _ in BotApiStub.buttons(message)]
