"""Which laws are in force, learned from the texts themselves.

A law repeals another in its closing article ("本法自2026年1月1日起施行。《中华人民共和国增值税暂行条例》同时废止。"), under
another title than the law it replaces, so the versions-by-title rule cannot see it. A law whose own dates say it
takes effect later (…施行) is not current before that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .model import DATE_IN_TEXT, law_key

# The clause that repeals: the book titles in it, up to 同时废止 / 予以废止
REPEALS = re.compile(r"([^。；;]*?)(?:同时|予以|一并)废止")
TITLE = re.compile(r"《([^《》]+)》")
IN_FORCE_LINE = re.compile(r"施行|生效")


def today() -> date:
    """The day laws are judged in force on (tests replace it)."""
    return date.today()


@dataclass(frozen=True)
class Repeal:
    """A law repealed by an article of a later law in the corpus."""

    law: str  # law_key of the repealed law
    by_doc: str  # the repealing document's id
    by_article: int  # and its article's number
    by_date: str  # the repealing document's version date (YYYY-MM-DD)


def repealed_laws(text: str) -> list[str]:
    """The law keys an article's text repeals: 《…》同时废止 → [law_key(…)]."""
    found = []
    for clause in REPEALS.finditer(text):
        found += [law_key(title) for title in TITLE.findall(clause.group(1))]
    return found


# 本法自2026年1月1日起施行 (a closing article)
TAKES_EFFECT = re.compile(r"自\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*起\s*施行")


def takes_effect(dates: list[str], closing_texts: list[str] = ()) -> str:
    """The day a document takes effect (YYYY-MM-DD): from its dated lines (…施行) and its articles' 自…起施行;
    "" if neither says."""
    stamps = [
        f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
        for line in dates
        if IN_FORCE_LINE.search(line)
        for y, m, d in DATE_IN_TEXT.findall(line)
    ]
    stamps += [
        f"{int(y):04d}-{int(m):02d}-{int(d):02d}" for text in closing_texts for y, m, d in TAKES_EFFECT.findall(text)
    ]
    return max(stamps, default="")


def not_yet_in_force(effective: str, on: date | None = None) -> bool:
    """Whether a document taking effect on `effective` (YYYY-MM-DD or "") is not in force yet."""
    return bool(effective) and effective > (on or today()).isoformat()
