"""Article references in text (第十一条, 促进法第十九条, 第十条之一): the one place that recognises them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numerals import NUMERAL_RE, cn_to_int, parse_article_ref

# 第 before an article's number, or the last character of a law's name (劳动合同法, 支付条例, 民法典, 划型标准规定, 实施细则,
# 司法解释) right before digits: owners write 劳动合同法39条, 民法典577条
ARTICLE_START = r"(?:第|(?<=[法例典定则释])(?=\s*\d))"
# An article named anywhere in a question: 促进法第十九条讲的是什么, 劳动合同法39条怎么说
ARTICLE_REFERENCE = re.compile(rf"{ARTICLE_START}\s*({NUMERAL_RE}|\d+)\s*条(?:之({NUMERAL_RE}))?")
# A message that is nothing but a lookup: 第十一条, 促进法第十九条, 支付条例 第9条, 第十条之一, and with the
# paragraph or item cited (第十一条第一款第（七）项, 劳动合同法第19条第2款): the whole article is shown
LOOKUP = re.compile(
    rf"^\s*(?P<name>[^\s第]{{0,30}}?)\s*{ARTICLE_START}\s*(?P<num>{NUMERAL_RE}|\d+)\s*条(?:之(?P<sub>{NUMERAL_RE}|\d+))?"
    rf"(?:\s*第\s*(?:{NUMERAL_RE}|\d+)\s*款)?(?:\s*第?\s*[（(]?\s*(?:{NUMERAL_RE}|\d+)\s*[）)]?\s*项)?\s*$"
)


@dataclass(frozen=True)
class Reference:
    """One 第N条 (or 第N条之M) in a text; the words before `start` may name its document."""

    number: int
    sub: int
    start: int
    end: int


def find_references(text: str) -> list[Reference]:
    """Every article reference in `text`, in order."""
    return [
        Reference(cn_to_int(match.group(1)), cn_to_int(match.group(2)) if match.group(2) else 0, *match.span())
        for match in ARTICLE_REFERENCE.finditer(text)
    ]


def parse_lookup(text: str) -> tuple[str, int, int] | None:
    """A message that is only a lookup: (the document's name as typed, or "", number, sub); None otherwise."""
    match = LOOKUP.match(text)
    if not match:
        return None
    number, sub = parse_article_ref(match.group("num") + (f"之{match.group('sub')}" if match.group("sub") else ""))
    return match.group("name").strip("《》〈〉 "), number, sub
