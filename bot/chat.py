"""`policybot chat`: the bot's conversation in the terminal, for trying the assistant without Telegram."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from policy_corpus.errors import CorpusError

from .conversation import Conversation
from .errors import UsageError
from .render import (
    article_plain,
    diff_plain,
    docs_plain,
    format_help,
    format_welcome,
    plain_answer,
    size_plain,
)
from .texts import NEW_TOPIC_TEXT, NEW_TOPIC_WORDS, UNKNOWN_COMMAND_TEXT, error_text

QUIT = ("/quit", "/exit")
CHAT_COMMANDS = [("quit", "退出")]
PROMPT = "问> "
TERMINAL_CHAT = 0  # the terminal is one chat


def respond(conversation: Conversation, line: str) -> str:
    """The plain-text reply to one line: a command, a typed lookup or a question."""
    text = line.strip()
    if not text:
        return ""
    command, *args = text.split()
    handlers: dict[str, Callable[[list[str]], str]] = {
        "/start": lambda _: format_welcome(conversation.documents()),
        "/help": lambda _: format_help(extra=CHAT_COMMANDS),
        "/docs": lambda _: docs_plain(conversation.documents()),
        "/article": lambda a: article_plain(conversation.article(a)),
        "/diff": lambda a: diff_plain(conversation.diff(a)),
        "/new": lambda _: new_topic(conversation),
        "/size": lambda a: size_plain(conversation.sizes.start(" ".join(a), TERMINAL_CHAT)),
    }
    try:
        if command in handlers:
            return handlers[command](args)
        if command.startswith("/"):
            return UNKNOWN_COMMAND_TEXT
        if text.rstrip("。！!") in NEW_TOPIC_WORDS:
            return handlers["/new"](args)
        view = conversation.lookup(text)
        if view is not None:
            return article_plain(view)
        size = conversation.sizes.reply(text, TERMINAL_CHAT)
        if size is not None:
            return size_plain(size)
        return plain_answer(conversation.ask(text, chat_id=TERMINAL_CHAT).answer)
    except (UsageError, CorpusError) as error:
        return error_text(error)


def new_topic(conversation: Conversation) -> str:
    conversation.new_topic(TERMINAL_CHAT)
    return NEW_TOPIC_TEXT


def run_chat(conversation: Conversation, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """Read lines until EOF or /quit, printing each reply; prompts only on a terminal."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty()
    print(format_welcome(conversation.documents()), end="\n\n", file=stdout)
    try:
        while (line := read_line(stdin, interactive)) is not None and line.strip() not in QUIT:
            reply = respond(conversation, line)
            if reply:
                print(reply, end="\n\n", file=stdout, flush=True)
    except KeyboardInterrupt:
        print(file=stdout)


def read_line(stdin: TextIO, interactive: bool) -> str | None:
    """The next line, or None at end of input; with line editing on a terminal."""
    if interactive and stdin is sys.stdin:
        try:
            return input(PROMPT)
        except EOFError:
            return None
    return stdin.readline() or None
