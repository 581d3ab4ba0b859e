"""Text laid out on pages (a PDF's text layer, OCR of a scan) back into the lines the parser reads.

A page is a list of lines with their boxes. From them: reading order (top to bottom, left to right),
running headers and footers and page numbers taken off, lines re-joined into paragraphs (a line break
inside a sentence is not a paragraph break: the line ran to the right margin and the next one is not
indented), then the shape `policy_corpus.parser` expects (see `law_text`).
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from .numerals import NUMERAL_CHARS, cn_to_int
from .parser import is_comparison_draft


@dataclass
class Line:
    """A line of text and its box, in page units with the origin at the top left."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1e-6)


@dataclass
class Page:
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


# A page number alone on its line: 3, - 3 -, — 3 — (OCR reads the dashes as 一), 第3页, 第 3 页 共 12 页, 3/12, （3）.
PAGE_NUMBER = re.compile(
    r"^(?:[-—–－~一\s]*[(（]?\d{1,4}[)）]?[-—–－~一\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}"
    rf"|[-—–－]\s*[{NUMERAL_CHARS}]+\s*[-—–－])$"
)
# How much of the page's height at the top and at the bottom can hold a running header or footer.
MARGIN_BAND = 0.1
# A line that starts a block of its own: a chapter or section head, an item, a numbered point, an annex;
# article heads are told by `_article_head`.
BLOCK_START = re.compile(
    rf"^(?:[第笫]\s?[{NUMERAL_CHARS}\d]+\s?[章节编](?![第条款项])"
    rf"|[（(][{NUMERAL_CHARS}\d]+[）)]"
    rf"|[{NUMERAL_CHARS}]+、"
    r"|\d+[、．]|\d+\.(?!\d)"
    r"|附件|附表)"
)
ARTICLE_START = re.compile(rf"^[第笫]\s?(?P<num>[{NUMERAL_CHARS}]+)\s?条(?:之[{NUMERAL_CHARS}]+)?(?P<sep>[\s【]|$)?")
SENTENCE_END = tuple("。；;！？!?：:")
CHAPTER = re.compile(
    rf"^[第笫]\s?[{NUMERAL_CHARS}\d]+\s?(?P<kind>[编章节])(?:\s*[^\s。，；：,;][^。，；：,;]{{0,30}})?$"
)
FIRST_ARTICLE = re.compile(rf"^(?P<head>[第笫]\s?[{NUMERAL_CHARS}]+\s?条)(?P<rest>[^\s【].*)$")
# Lines of a red-header document above its title: 湖南省人民政府办公厅文件, 湘政办发〔2024〕3号, 签发人：….
LETTERHEAD = re.compile(r"^.{2,20}文件$|^[^\s，。]{1,12}[〔［\[（(]\d{4}[〕］\]）)]\s*\d+\s*号$|^签发人")


def lines_from_pieces(pieces: list[Line]) -> list[Line]:
    """Group pieces of text (characters, runs, OCR boxes) that share a row into lines, top to bottom.

    Pieces whose vertical extents overlap by half the smaller height are on one row; within a row they
    are read left to right, with a space where the gap between two pieces is wider than half a character.
    """
    rows: list[list[Line]] = []
    for piece in sorted(pieces, key=lambda p: (p.top + p.bottom) / 2):
        if not piece.text.strip():
            continue
        row = rows[-1] if rows else None
        if row is not None and _overlap(row, piece) >= 0.5 * min(
            piece.height, statistics.median(p.height for p in row)
        ):
            row.append(piece)
        else:
            rows.append([piece])
    lines = []
    for row in rows:
        row.sort(key=lambda p: p.left)
        text = row[0].text
        for before, piece in itertools.pairwise(row):
            gap = piece.left - before.right
            if (
                gap > 0.5 * min(before.height, piece.height)
                and not text.endswith(" ")
                and not piece.text.startswith(" ")
            ):
                text += " "
            text += piece.text
        lines.append(
            Line(
                text.strip(),
                min(p.left for p in row),
                min(p.top for p in row),
                max(p.right for p in row),
                max(p.bottom for p in row),
            )
        )
    return lines


def _overlap(row: list[Line], piece: Line) -> float:
    top, bottom = min(p.top for p in row), max(p.bottom for p in row)
    return min(bottom, piece.bottom) - max(top, piece.top)


def remove_running_lines(pages: list[Page]) -> None:
    """Take page numbers and running headers and footers off the pages (in place).

    Only lines in the top or bottom tenth of a page are candidates: a page number alone on its line, or a
    line that (digits aside) comes back on at least half of the pages of a document of two or more pages.
    """

    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))

    def in_band(page: Page, line: Line) -> bool:
        return line.bottom <= page.height * MARGIN_BAND or line.top >= page.height * (1 - MARGIN_BAND)

    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({key(line) for line in page.lines if in_band(page, line)})
    repeated = {text for text, count in seen.items() if len(pages) >= 2 and count >= max(2, len(pages) / 2)}
    for page in pages:
        page.lines = [
            line
            for line in page.lines
            if not (in_band(page, line) and (PAGE_NUMBER.match(line.text.strip()) or key(line) in repeated))
        ]


def paragraphs(pages: list[Page]) -> list[str]:
    """Re-join the pages' lines into paragraphs, page breaks included."""
    result: list[str] = []
    previous: tuple[Line, _Margins] | None = None
    last_article = 0
    fallback = _margins([line for page in pages for line in page.lines])
    for page in pages:
        margins = _margins(page.lines) if len(page.lines) >= 5 else fallback
        for line in page.lines:
            text = line.text.strip()
            if not text:
                continue
            article = _article_head(text, last_article)
            if article:
                last_article = article
            if previous is not None and result and not article and _continues(*previous, line, margins):
                result[-1] = _join(result[-1], text)
            else:
                result.append(text)
            previous = (line, margins)
    return result


def _article_head(text: str, last: int) -> int:
    """The number of the article `text` opens, or 0. As in the parser, a head run on into its text ("第二条本法…",
    OCR drops the space) counts only when it continues the numbering: "第十三条第二款）" on a wrapped line
    does not."""
    match = ARTICLE_START.match(text)
    if not match:
        return 0
    number = _number(match.group("num"))
    return number if match.group("sep") is not None or number == last + 1 else 0


@dataclass
class _Margins:
    left: float
    right: float
    char: float  # a character's height: the unit of indents and ragged ends


def _margins(lines: list[Line]) -> _Margins:
    """The text block's edges: where its lines start (first lines are indented, headings centred) and end."""
    lines = [line for line in lines if len(line.text.strip()) >= 2] or lines
    if not lines:
        return _Margins(0.0, 0.0, 1.0)
    char = statistics.median(line.height for line in lines)
    left = min(line.left for line in lines)
    body = [line for line in lines if line.left <= left + 2.5 * char]  # not the centred title and headings
    return _Margins(left, max(line.right for line in body), char)


def _continues(before: Line, was: _Margins, line: Line, now: _Margins) -> bool:
    """Whether `line` goes on with the paragraph `before` ended: the line before ran to the right margin,
    this one starts at the left margin and does not open a block of its own. Two centred lines (a title
    over two lines) go together unless the first ends a sentence."""
    text = line.text.strip()
    if BLOCK_START.match(text):
        return False
    indented = line.left > now.left + 1.2 * now.char
    full = before.right >= was.right - 2 * was.char and before.left <= was.left + 2.5 * was.char
    if full:
        return not indented
    centred = _centred(before, was) and _centred(line, now)
    return centred and not before.text.rstrip().endswith(SENTENCE_END)


def _centred(line: Line, margins: _Margins) -> bool:
    left, right = line.left - margins.left, margins.right - line.right
    return left > 2 * margins.char and right > 2 * margins.char and abs(left - right) < 3 * margins.char


def _join(before: str, after: str) -> str:
    """Two lines of one paragraph: Chinese runs on; two Latin words get their space back (a number broken
    over the line end does not)."""
    if before[-1:].isascii() and before[-1:].isalpha() and after[:1].isascii() and after[:1].isalpha():
        return f"{before} {after}"
    return before + after


def law_text(lines: list[str], title: str = "") -> str:
    """Lines of a law as the parser reads them: a title first (`title`, else the first line that is not a
    letterhead line), chapter and section heads as Markdown headings, the first article's head set off by
    a space (OCR and some PDFs lose it: "第一条为了…")."""
    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in lines]
    lines = [line for line in lines if line]
    headings = not is_comparison_draft("\n".join(lines))  # a comparison draft's parser reads no headings
    out: list[str] = []
    if title:
        out.append(f"# {title}")
    seen_article = False
    for index, line in enumerate(lines):
        if not out and LETTERHEAD.search(line) and index + 1 < len(lines):
            continue
        chapter = CHAPTER.match(line) if headings else None
        if chapter:
            out.append(("### " if chapter.group("kind") == "节" else "## ") + line)
            continue
        first = FIRST_ARTICLE.match(line)
        if first and not seen_article and _number(first.group("head")) == 1:
            line = f"{first.group('head')} {first.group('rest')}"
        seen_article = seen_article or ARTICLE_START.match(line) is not None
        out.append(line)
    return "\n".join(out) + "\n"


def _number(numeral: str) -> int:
    try:
        return cn_to_int(re.sub(r"[第笫条\s]", "", numeral))
    except ValueError:
        return 0
