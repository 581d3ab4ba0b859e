"""Telegram's message limit: long HTML cut into messages of at most 4,096 characters, at a blank
line, a line break or a sentence end where possible, without breaking tags or entities."""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096  # Telegram's limit per message, counted in UTF-16 code units after entity parsing


# A tag, an entity, or one character: the units a message may be cut between.
TOKEN = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|[\s\S]")
TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)[^>]*>")
SENTENCE_ENDS = "。；！？"
# Cut priorities: a blank line, a line break, the end of a sentence, anywhere.
BLANK_LINE, LINE, SENTENCE, ANYWHERE = 3, 2, 1, 0


def text_size(text: str) -> int:
    """Length in UTF-16 units, tags included: an upper bound of what Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut HTML into messages of at most `limit`, at paragraph boundaries where possible.

    Never cuts inside a tag or entity; tags open at a cut are closed before it and reopened after.
    """
    chunks: list[str] = []
    rest = text.strip("\n")
    while text_size(rest) > limit:
        head, rest = _cut(rest, limit)
        chunks.append(head)
    if rest:
        chunks.append(rest)
    return chunks


def _cut(text: str, limit: int) -> tuple[str, str]:
    """Split off the first message of `text`: (head with open tags closed, rest with them reopened)."""
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open so far
    best: dict[int, tuple[int, list[tuple[str, str]], int]] = {}  # priority → (end offset, stack, size)
    size = 0
    last_text = ""  # the last two characters of text, to tell a blank line from a line break
    tokens = TOKEN.finditer(text)
    token = next(tokens, None)
    while token is not None and size <= limit:
        following = next(tokens, None)
        tag = TAG.fullmatch(token.group())
        if tag and tag.group(1):
            if stack and stack[-1][0] == tag.group(2).lower():
                stack.pop()
        elif tag:
            stack.append((tag.group(2).lower(), token.group()))
        else:  # an entity stands for one character that is neither a line break nor 。
            last_text = (last_text + (token.group() if len(token.group()) == 1 else "x"))[-2:]
        size += text_size(token.group())
        # Never end a message just after an opening tag or just before a closing one.
        if not (tag and not tag.group(1)) and not (following and following.group().startswith("</")):
            cost = size + sum(text_size(f"</{name}>") for name, _ in stack)
            if cost <= limit:
                best[_priority(last_text)] = (token.end(), list(stack), cost)
        token = following
    end, open_tags = _choose(best, limit, text)
    head = text[:end].rstrip("\n") + "".join(f"</{name}>" for name, _ in reversed(open_tags))
    rest = "".join(opening for _, opening in open_tags) + text[end:].lstrip("\n")
    return head, rest


def _priority(last_text: str) -> int:
    if last_text == "\n\n":
        return BLANK_LINE
    if last_text.endswith("\n"):
        return LINE
    if last_text[-1:] in SENTENCE_ENDS:
        return SENTENCE
    return ANYWHERE


def _choose(
    best: dict[int, tuple[int, list[tuple[str, str]], int]], limit: int, text: str
) -> tuple[int, list[tuple[str, str]]]:
    """The best cut: the highest priority that still fills a fair part of the message."""
    for priority in (BLANK_LINE, LINE, SENTENCE, ANYWHERE):
        if priority in best and best[priority][2] >= limit // 3:
            return best[priority][0], best[priority][1]
    if not best:
        raise ValueError(f"message limit {limit} is too small for {text[:40]!r}…")
    index, stack, _ = best[max(best)]
    return index, stack
