"""Retrieval units: the texts that get embedded, each pointing back to an article, paragraph or item; and the
question as the dense side reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy_corpus.citation import short_title
from policy_corpus.model import Article

MAX_UNIT_CHARS = 400  # m3e-small reads 256 tokens: about this many Chinese characters plus headings
# Words of a loosely typed question that say nothing about its topic; the dense side reads better without.
FILLER = sorted(
    [
        "我们",
        "我",
        "你们",
        "他们",
        "公司",
        "一家",
        "这种",
        "这样",
        "有没有",
        "能不能",
        "可不可以",
        "是不是",
        "怎么办",
        "怎么",
        "什么",
        "可以",
        "应该",
        "规定",
        "国家",
        "政府",
        "现在",
    ],
    key=len,
    reverse=True,
)
FILLER_RE = re.compile("|".join(FILLER))


@dataclass
class Unit:
    article: int  # index into the searcher's article list
    paragraph: int | None
    item: int | None
    text: str


def article_heading(doc_title: str, article: Article) -> str:
    """What a unit's text starts with, so every paragraph carries its law and topic."""
    parts = [short_title(doc_title)]
    if article.chapter:
        parts.append(article.chapter.split(" ")[-1])
    if article.title:
        parts.append(article.title)
    return " ".join(parts)


def article_places(article: Article) -> list[tuple[int, int | None, str]]:
    """(paragraph, item or None, text) of each paragraph and item of a longer article, which a citation can point
    at (an item with its paragraph's lead-in); none for an article of one paragraph without items."""
    if len(article.paragraphs) < 2 and not any(p.items for p in article.paragraphs):
        return []
    places: list[tuple[int, int | None, str]] = []
    for paragraph in article.paragraphs:
        places.append((paragraph.number, None, paragraph.full_text))
        places.extend((paragraph.number, item.number, f"{paragraph.text}{item.text}") for item in paragraph.items)
    return places


def article_units(index: int, doc_title: str, article: Article, split: bool = True) -> list[Unit]:
    """The whole article, plus (`split`) each paragraph and item of a longer article on its own."""
    heading = article_heading(doc_title, article)
    units = [Unit(index, None, None, f"{heading}\n{article.text}"[:MAX_UNIT_CHARS])]
    if split:
        units.extend(
            Unit(index, paragraph, item, f"{heading}\n{text}"[:MAX_UNIT_CHARS])
            for paragraph, item, text in article_places(article)
        )
    return units


# A character or phrase (up to 20 characters) said three times or more in a row: 啊啊啊啊, 你好你好你好, a pasted
# question repeated. Searched as it stands, the repeats outweigh everything else in the words and land the vector on
# whatever law is nearest to the noise.
REPEATED = re.compile(r"(.{1,20}?)\1{2,}", re.DOTALL)


def condensed(question: str) -> str:
    """The question, readable (`readable`), with each run of a repeated character or phrase said once."""
    return REPEATED.sub(r"\1", readable(question))


# Undecodable bytes arrive as lone surrogates (a terminal's surrogateescape, JSON's "\udcff"): the tokenizers refuse
# them, and encoding them with errors="replace" would make them "?", which reads as a question mark
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(text: str) -> str:
    """`text` with each undecodable character (a lone surrogate) as U+FFFD, the replacement character."""
    return LONE_SURROGATE.sub("\ufffd", text)


LETTERS = re.compile(r"\w")


def letters(text: str) -> str:
    """The letters and digits of `text`, without spaces and punctuation."""
    return "".join(LETTERS.findall(text))


def query_text(question: str) -> str:
    """The question as the dense side reads it: without the filler."""
    return FILLER_RE.sub(" ", question)
