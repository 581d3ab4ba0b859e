"""Find documents by the names people use: 促进法, 湖南办法, 支付条例, 劳动合同法."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Protocol

from .citation import NATIONAL_PREFIX, short_title

MIN_ANY_ORDER = 6  # characters of a name whose words may come in another order than the title's
MIN_NAME = 3  # characters: 民法典, 公司法; shorter ones (税法, 刑法 aside) are words as often as names


class Named(Protocol):
    id: str
    title: str
    cite_title: str


def match_quality(name: str, doc: Named) -> float:
    """How well `name` names `doc`: 0 not at all, higher is better."""
    name = name.strip("《》〈〉<> ")
    if not name:
        return 0.0
    short = short_title(doc.title).replace("〈", "").replace("〉", "")
    code = short_title(doc.cite_title) if doc.cite_title != doc.title else ""
    if name in (doc.id, doc.title, short, doc.id.rsplit("/", 1)[-1], doc.cite_title, code):
        return 4.0
    if short.endswith(name) and len(name) >= 2:
        return 3.0
    if name in short or name in doc.title:
        return 2.0
    if len(name) >= 3 and name[0] == short[0] and name[-1] == short[-1] and _is_subsequence(name, short):
        return 1.0  # 湖南办法 → 湖南省实施中小企业促进法办法
    if len(name) >= MIN_ANY_ORDER and name[0] == short[0] and not Counter(name) - Counter(short):
        return 0.5  # 湖南中小企业促进法实施办法: the title's words in another order
    return 0.0


def find_documents(name: str, docs: Sequence[Named]) -> list[Named]:
    """The documents `name` may mean, best first; several when it is ambiguous.

    Beside national law, a name that fits a policy document as well as national laws means the policy document:
    an owner's 促进法 is the 中小企业促进法, not the 就业促进法."""
    scored = [(match_quality(name, doc), doc) for doc in docs]
    best = max((q for q, _ in scored), default=0.0)
    if best == 0:
        return []
    found = [doc for q, doc in scored if q == best]
    policy = [doc for doc in found if getattr(doc, "primary", False)]
    return sorted(policy if policy and len(policy) < len(found) else found, key=lambda doc: len(doc.title))


def narrow_by_article(found: list[Named], number: int, has_article: Callable[[str, int], bool]) -> list[Named]:
    """Of several documents a name may mean, those that have the article: 民法典第五百七十七条 → 合同编."""
    if len(found) <= 1:
        return found
    having = [doc for doc in found if has_article(doc.id, number)]
    return having or found


def name_before(text: str, docs: Sequence[Named], max_chars: int = 30) -> list[Named]:
    """Documents named at the end of `text` (the words before 第N条), trying the longest name first."""
    tail = text[-max_chars:]
    for start in range(len(tail) - 1):
        found = find_documents(tail[start:], docs)
        if found:
            return found
    return []


def _is_subsequence(needle: str, haystack: str) -> bool:
    chars = iter(haystack)
    return all(ch in chars for ch in needle)


# What may follow a law's name without ending it: 公司法人, 劳动法院, 消防法规, 促进法实施办法 are other words or
# another document's name
CONTINUES_NAME = re.compile(r"^(?:人|院|官|律|规|定|庭|学|理|实施|办法|条例|细则|解释)")


class LawNames:
    """The laws a question names without an article number (劳动合同法对试用期是怎么规定的, 中小企业促进法里关于融资担保):
    by their exact names, the longest first, with and without 中华人民共和国 and the inner 《》."""

    def __init__(self, docs: Sequence[Named]) -> None:
        self.ids: dict[str, set[str]] = {}
        for doc in docs:
            plain = doc.title.replace("《", "").replace("》", "").replace(NATIONAL_PREFIX, "")
            for name in {doc.title, short_title(doc.title), plain, short_title(doc.cite_title)}:
                if len(name) >= MIN_NAME:
                    self.ids.setdefault(name, set()).add(doc.id)
        names = sorted(self.ids, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, names))) if names else None

    def find(self, text: str) -> tuple[set[str], str]:
        """The ids of the documents `text` names, and `text` without their names."""
        if self.pattern is None:
            return set(), text
        found: set[str] = set()
        rest = text
        for match in reversed(list(self.pattern.finditer(text))):
            if CONTINUES_NAME.match(text[match.end() :]):
                continue
            found |= self.ids[match.group()]
            rest = rest[: match.start()] + " " + rest[match.end() :]
        return found, rest
