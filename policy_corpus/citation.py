"""How provisions are named and compared: citations (《…》第十一条第一款第（七）项) and draft→current diffs."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .model import Article
from .numerals import int_to_cn

NATIONAL_PREFIX = "中华人民共和国"


def short_title(title: str) -> str:
    """The name people use: 中华人民共和国中小企业促进法 → 中小企业促进法.

    Inner book-title marks become 〈〉 so the result can sit inside 《》.
    """
    short = title.replace(NATIONAL_PREFIX, "") if title != NATIONAL_PREFIX else title
    return short.replace("《", "〈").replace("》", "〉")


def cite(
    doc_title: str, article: Article, paragraph: int | None = None, item: int | None = None, with_title: bool = True
) -> str:
    """《短名》第十一条第一款第（七）项【金融机构支持】."""
    text = f"《{short_title(doc_title)}》{article.label}"
    if paragraph is not None and len(article.paragraphs) > 1:
        text += next(p.label for p in article.paragraphs if p.number == paragraph)
    if item is not None:
        text += f"第（{int_to_cn(item)}）项"
    if with_title and article.title:
        text += f"【{article.title}】"
    return text


# An article this short is quoted whole; a longer one is cut to the paragraphs and items that match.
SHORT_ARTICLE_CHARS = 220


@dataclass
class Citation:
    """One provision found for a question (a search hit) and cited in its answer: an article, narrowed to the
    paragraph or item that matched."""

    doc_id: str
    doc_title: str  # the title used in citations (the code's title for a part of a code)
    article: Article
    paragraph: int | None = None
    item: int | None = None
    score: float = 0.0  # for ranking and evaluation only; never shown to owners

    @property
    def reference(self) -> str:
        """《短名》第十一条第一款第（七）项【金融机构支持】."""
        return cite(self.doc_title, self.article, self.paragraph, self.item)

    @property
    def article_reference(self) -> str:
        return cite(self.doc_title, self.article)

    def quote(self) -> str:
        """The law text to show: the whole article if short, else the matching paragraph or item."""
        article = self.article
        if len(article.text) <= SHORT_ARTICLE_CHARS or self.paragraph is None:
            return article.text
        paragraph = next((p for p in article.paragraphs if p.number == self.paragraph), None)
        if paragraph is None:
            return article.text
        if self.item is not None:
            item = next((i for i in paragraph.items if i.number == self.item), None)
            if item is not None:
                return "\n".join(filter(None, [paragraph.text, item.text]))
        return paragraph.full_text

    def quote_lines(self) -> list[tuple[str, bool]]:
        """The quote's lines, each with whether it is the cited paragraph or item: a short article is quoted whole,
        and the owner should still see which of its lines 第十九条第三款 points at. None is marked when the quote is
        the cited place itself or the article is cited whole."""
        if self.is_excerpt or self.paragraph is None:
            return [(line, False) for line in self.quote().split("\n")]
        lines = []
        for paragraph in self.article.paragraphs:
            here = paragraph.number == self.paragraph
            if paragraph.text:
                lines.append((paragraph.text, here and self.item is None))
            lines += [(item.text, here and self.item in (None, item.number)) for item in paragraph.items]
        if all(marked for _, marked in lines):  # the one paragraph of an article with items: nothing to point at
            return [(line, False) for line, _ in lines]
        return lines

    @property
    def is_excerpt(self) -> bool:
        return self.quote() != self.article.text

    def as_record(self) -> dict:
        """What the question log keeps: enough to find the provision again and to read it in statistics."""
        return {
            "doc": self.doc_id,
            "article": self.article.number,
            "sub": self.article.sub,
            "paragraph": self.paragraph,
            "item": self.item,
            "score": round(self.score, 4),
            "reference": self.reference,
        }

    @classmethod
    def from_record(cls, record: dict, doc_title: str, article: Article) -> Citation:
        """A logged provision again, with the article as now served."""
        return cls(record["doc"], doc_title, article, record["paragraph"], record["item"], record["score"])


@dataclass
class Segment:
    """A run of text in a diff: kept ('='), added ('+') or removed ('-')."""

    op: str
    text: str


TOKEN = re.compile(r"[\u4e00-\u9fff]|[A-Za-z0-9]+|\s+|.", re.DOTALL)


def diff_text(old: str, new: str) -> list[Segment]:
    """Diff two wordings line by line (paragraphs and items), and character by character within
    a line that was reworded, so moved items show as whole lines rather than letter soup."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for line in old_lines[i1:i2]:
                _append(segments, "=", line + "\n")
            continue
        # Pair each new line with the most similar old one, wherever it was: items get reordered.
        removed = old_lines[i1:i2]
        for line in new_lines[j1:j2]:
            best = max(removed, key=lambda old_line: _similarity(old_line, line), default=None)
            if best is not None and _similarity(best, line) >= 0.5:
                removed.remove(best)
                for segment in _diff_chars(best + "\n", line + "\n"):
                    _append(segments, segment.op, segment.text)
            else:
                _append(segments, "+", line + "\n")
        for line in removed:
            _append(segments, "-", line + "\n")
    if segments:
        segments[-1].text = segments[-1].text.removesuffix("\n")
    return [s for s in segments if s.text]


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _diff_chars(old: str, new: str) -> list[Segment]:
    a, b = TOKEN.findall(old), TOKEN.findall(new)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _append(segments, "=", "".join(a[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            _append(segments, "-", "".join(a[i1:i2]))
        if tag in ("insert", "replace"):
            _append(segments, "+", "".join(b[j1:j2]))
    return segments


def _append(segments: list[Segment], op: str, text: str) -> None:
    if segments and segments[-1].op == op:
        segments[-1].text += text
    else:
        segments.append(Segment(op, text))


def plain_diff(segments: list[Segment]) -> str:
    """Render a diff for the terminal: [-removed-]{+added+}."""
    marks = {"=": ("", ""), "-": ("[-", "-]"), "+": ("{+", "+}")}
    return "".join(marks[s.op][0] + s.text + marks[s.op][1] for s in segments)
