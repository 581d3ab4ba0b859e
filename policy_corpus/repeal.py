"""Which laws are in force, learned from the texts themselves.

A law repeals another in its closing article ("本法自2026年1月1日起施行。《中华人民共和国增值税暂行条例》同时废止。"), under
another title than the law it replaces, so the versions-by-title rule cannot see it. A judicial interpretation of a
law (最高人民法院关于适用《中华人民共和国合同法》若干问题的解释（二）) lapses with the law it interprets. A series of
interpretations that starts again at （一） under the old series' title (关于审理劳动争议案件适用法律问题的解释（一）, 2020,
after the unnumbered one of 2001 and its （二） to （四）) replaces the old series. A law whose own dates say it takes
effect later (…施行) is not current before that day.
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


# 最高人民法院关于适用《中华人民共和国合同法》若干问题的解释（一）: an interpretation of 合同法
INTERPRETS = re.compile(r"关于适用《([^《》]+)》")
# the number of one interpretation in a series: …的解释（四）
SERIES_NUMBER = re.compile(r"[（(]([一二三四五六七八九十]+)[）)]$")


def interpreted_law(title: str) -> str:
    """The law_key of the law a judicial interpretation interprets (关于适用《…》), "" for other documents."""
    found = INTERPRETS.search(title)
    return law_key(found.group(1)) if found else ""


def series_of(title: str) -> tuple[str, str]:
    """The series a document belongs to (its title without the number and 若干, which the 2020 series dropped) and
    its number in it ("" when unnumbered): …适用法律若干问题的解释（四） → (…适用法律问题的解释, 四)."""
    number = SERIES_NUMBER.search(title)
    base = title[: number.start()] if number else title
    return law_key(base).replace("若干", ""), number.group(1) if number else ""


def replaced_series(documents: list[tuple[str, str, str]]) -> dict[str, str]:
    """Of (id, title, version date) triples, the documents a new series replaces (id → the new series' （一）'s id):
    every document of a series older than a （一） that came after the series' unnumbered first one."""
    by_series: dict[str, list[tuple[str, str, str]]] = {}
    for doc_id, title, day in documents:
        key, number = series_of(title)
        by_series.setdefault(key, []).append((day, number, doc_id))
    replaced = {}
    for members in by_series.values():
        first_unnumbered = min((day for day, number, _ in members if not number), default=None)
        restarts = [(day, doc_id) for day, number, doc_id in members if number == "一"]
        if first_unnumbered is None or not restarts:
            continue
        day, new_first = max(restarts)
        if day <= first_unnumbered:
            continue
        replaced |= {doc_id: new_first for old_day, _, doc_id in members if old_day < day}
    return replaced


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
