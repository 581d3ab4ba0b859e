"""Data classes for the corpus: Document → Article (条) → Paragraph (款) → Item (项)."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field

from .numerals import article_label, int_to_cn


class Version(str, enum.Enum):
    """Which wording of an article: the one in force, or the earlier draft of a comparison draft."""

    CURRENT = "current"
    DRAFT = "draft"


class DocumentKind(str, enum.Enum):
    """How a document's source is laid out."""

    MARKDOWN = "markdown"  # `# title`, dated lines, then 第N条 articles (the national collection's shape)
    COMPARISON = "comparison"  # a 修改对照稿: each article as the draft, then the current wording


class ChangeAction(str, enum.Enum):
    """What a publish did to one document."""

    ADDED = "added"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REMOVED = "removed"


class DraftStatus(str, enum.Enum):
    """What became of a draft article in the current wording."""

    REVISED = "revised"  # a current article revises it (see paired_number)
    MOVED = "moved"  # its text went into other articles (the notes say where)
    DROPPED = "dropped"  # no current article takes it up


@dataclass
class Item:
    """项: a numbered item （一） inside a paragraph."""

    number: int
    text: str

    @property
    def label(self) -> str:
        return f"第（{int_to_cn(self.number)}）项"


@dataclass
class Paragraph:
    """款: one paragraph of an article; `text` is its own sentence(s), `items` the 项 under it."""

    number: int
    text: str
    items: list[Item] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"第{int_to_cn(self.number)}款"

    @property
    def full_text(self) -> str:
        """The paragraph with its items, one per line, as printed in the law."""
        return "\n".join([self.text] * bool(self.text) + [item.text for item in self.items])


@dataclass
class Article:
    """条: one article in one version of a document."""

    number: int
    paragraphs: list[Paragraph]
    version: Version = Version.CURRENT
    sub: int = 0  # 之一, 之二 … for inserted articles; 0 otherwise
    title: str = ""  # 【标题】 where the text gives one
    chapter: str = ""  # "第一章 总则 / 第一节 …"
    notes: list[str] = field(default_factory=list)  # editorial notes, never law text
    paired_number: int | None = None  # the other version's article number, if paired
    status: DraftStatus | None = None  # drafts only

    @property
    def label(self) -> str:
        return article_label(self.number, self.sub)

    @property
    def text(self) -> str:
        return "\n".join(p.full_text for p in self.paragraphs)

    def paragraphs_data(self) -> list[dict]:
        """Paragraphs and items as plain data: [{"number", "text", "items": [{"number", "text"}]}]."""
        return [
            {"number": p.number, "text": p.text, "items": [{"number": i.number, "text": i.text} for i in p.items]}
            for p in self.paragraphs
        ]

    def as_dict(self) -> dict:
        """The article as plain data (the store's columns and `policybot article --json`)."""
        return {
            "version": self.version.value,
            "number": self.number,
            "sub": self.sub,
            "label": self.label,
            "title": self.title,
            "chapter": self.chapter,
            "text": self.text,
            "paragraphs": self.paragraphs_data(),
            "notes": self.notes,
            "paired_number": self.paired_number,
            "status": self.status.value if self.status else None,
        }


@dataclass
class Document:
    """One legal text: a law, regulation or a comparison draft with two versions."""

    id: str
    title: str
    articles: list[Article]
    source: str = ""  # file name it came from
    kind: DocumentKind = DocumentKind.MARKDOWN
    primary: bool = True  # from the first source (the policy documents) or uploaded; else national law
    code_title: str = ""  # for a part of a code (民法典/合同编): the code's title, used in citations
    part: str = ""  # the part's own heading, e.g. 合同编
    dates: list[str] = field(default_factory=list)  # passed / revised / in-force lines
    content_hash: str = ""

    @property
    def version_date(self) -> str:
        """The date of this version (YYYY-MM-DD): from the id, e.g. 公司法(2023-12-29), else the latest dated line."""
        return version_date(self.id, self.dates)

    @property
    def law(self) -> str:
        """What versions of one law share: the title (with the part, for a part of a code)."""
        return law_key(self.title)

    @property
    def cite_title(self) -> str:
        """The title used in citations: the code's title for parts of a code."""
        return self.code_title or self.title

    def versions(self) -> list[Version]:
        return [v for v in Version if any(a.version is v for a in self.articles)]

    def count(self, version: Version) -> int:
        return sum(1 for a in self.articles if a.version is version)

    def article(self, number: int, version: Version = Version.CURRENT, sub: int = 0) -> Article | None:
        for article in self.articles:
            if article.number == number and article.version is version and article.sub == sub:
                return article
        return None


DATE_IN_ID = re.compile(r"\((\d{4})-(\d{2})-(\d{2})\)$")
DATE_IN_TEXT = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


def normal_id(doc_id: str) -> str:
    """The form a document id is stored in: ｈｕｎａｎ and hunan are one id, and so are a collection entry's path
    and the id it is served under (…解释（一）(2020-12-29) → …解释(一)(2020-12-29))."""
    return unicodedata.normalize("NFKC", doc_id)


def version_date(doc_id: str, dates: list[str]) -> str:
    found = DATE_IN_ID.search(doc_id)
    if found:
        return "-".join(found.groups())
    stamps = [f"{y}-{int(m):02d}-{int(d):02d}" for line in dates for y, m, d in DATE_IN_TEXT.findall(line)]
    return max(stamps, default="")


def law_key(title: str) -> str:
    """Versions of one law share this key: the title without 中华人民共和国, spaces or book-title marks."""
    return re.sub(r"[\s《》〈〉<>]|中华人民共和国", "", title)
