"""Parse legal texts into Documents: Markdown laws and comparison drafts (修改对照稿).

The parser does no I/O: it takes text that `policy_corpus.reader` has already decoded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import NoArticlesError
from .model import Article, Document, DocumentKind, DraftStatus, Item, Paragraph, Version
from .numerals import NUMERAL_RE, cn_to_int

# 笫 is a common typo for 第 in the sources; "第一百二十四 条" with a stray space occurs too.
ARTICLE_HEAD = re.compile(
    rf"^[第笫] ?(?P<num>{NUMERAL_RE}) ?条(?:之(?P<sub>{NUMERAL_RE}))?"
    r"(?:【(?P<title>[^】]*)】)?(?P<sep> |$)?(?P<rest>.*)$"
)
ITEM_HEAD = re.compile(rf"^[（(](?P<num>{NUMERAL_RE})[）)]")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
INFO_END = "<!-- INFO END -->"
# Editorial notes of a comparison draft: （原第十三条第二款）, （移至第二十一条第一款）, （对列项的顺序作了调整）.
EDITORIAL_NOTE = re.compile(r"[（(](?P<note>[^（）()]*?(?:原第|移至|调整|对调|顺序)[^（）()]*?)[）)]\s*$")
# Lines of a comparison draft's cover that are not law: meeting papers, column headings, legends.
COMPARISON_TITLE = re.compile(r"《(?P<title>.+)》.*对照稿")
# A whole line in brackets about the paper itself, e.g. （制作时间：2020年9月16日）.
PAPER_NOTE = re.compile(r"^[（(](?P<note>[^（）()]*(?:制作时间|印发|发布时间)[^（）()]*)[）)]$")
SPACE = re.compile(r"[ \t\u3000\xa0]+")
# Zero-width spaces and joiners: the collection puts a line of one before some chapter headings, which read as an
# empty last paragraph of the article before
ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_document(text: str, doc_id: str, source: str = "") -> Document:
    """Parse a decoded legal text, choosing the layout from its content."""
    if is_comparison_draft(text):
        doc = parse_comparison_draft(text, doc_id, source)
    else:
        doc = parse_markdown_law(text, doc_id, source)
    if not doc.articles:
        raise NoArticlesError(f"《{doc.title or doc_id}》中没有找到条文（应以“第一条”这样的条号开头，每条单独成行）。")
    return doc


def is_comparison_draft(text: str) -> bool:
    """A comparison draft gives each article twice: once plain, once with a 【title】."""
    heads = [article_head(clean(line)) for line in text.splitlines()]
    heads = [h for h in heads if h]
    titled = sum(1 for h in heads if h.group("title") is not None)
    return INFO_END not in text and 0 < titled < len(heads)


def article_head(line: str, last_number: int | None = None) -> re.Match[str] | None:
    """Match an article head on a cleaned line.

    A head is followed by a space, a 【title】 or the end of the line. Without one ("第十条采用…")
    the line only counts as a head when it continues the numbering: otherwise it is likely a
    paragraph that starts by citing an article ("第十条规定的…").
    """
    match = ARTICLE_HEAD.match(line)
    if not match or match.group("sep") is not None or match.group("title") is not None:
        return match
    if last_number is not None and cn_to_int(match.group("num")) == last_number + 1:
        return match
    return None


def clean(line: str) -> str:
    """Trim a line, drop zero-width characters and fold runs of spaces (tabs and full-width spaces included) to one."""
    return SPACE.sub(" ", ZERO_WIDTH.sub("", line)).strip()


# ---------------------------------------------------------------- Markdown laws


@dataclass
class _Heading:
    level: int
    text: str


def parse_markdown_law(text: str, doc_id: str, source: str = "") -> Document:
    """Parse a law in the collection's Markdown shape (# title, dates, INFO END, ## chapters, 第N条)."""
    lines = text.splitlines()
    titles: list[str] = []
    dates: list[str] = []
    body_start = 0
    if INFO_END in text:
        for index, raw in enumerate(lines):
            line = clean(raw)
            if line == INFO_END:
                body_start = index + 1
                break
            heading = HEADING.match(line)
            if heading and len(heading.group("hashes")) == 1:
                titles.append(clean(heading.group("text")))
            elif line and not line.startswith("<!--") and not line.startswith("---"):
                dates.append(line)
    headings: list[_Heading] = []
    articles: list[Article] = []
    current: list[str] | None = None
    head: re.Match[str] | None = None
    chapter = ""

    def flush() -> None:
        if head is not None and current is not None:
            articles.append(_make_article(head, current, Version.CURRENT, chapter))

    for raw in lines[body_start:]:
        line = clean(raw)
        heading = HEADING.match(line)
        if heading:
            level, heading_text = len(heading.group("hashes")), clean(heading.group("text"))
            if level == 1 and not articles and current is None:
                titles.append(heading_text)
                continue
            flush()
            head, current = None, None
            headings = [h for h in headings if h.level < level] + [_Heading(level, heading_text)]
            chapter = " ".join(h.text for h in headings if h.level > 1)
            continue
        if not line or line.startswith("<!--"):
            continue
        last_number = cn_to_int(head.group("num")) if head else (articles[-1].number if articles else None)
        match = article_head(line, last_number)
        if match:
            flush()
            head, current = match, []
            rest = match.group("rest").strip()
            if rest:
                current.append(rest)
        elif current is not None:
            current.append(line)
        elif not titles and not articles:
            titles.append(line)  # a plain-text law: its first line is the title
    flush()
    title, code_title, part = _titles(titles, doc_id)
    return Document(
        id=doc_id,
        title=title,
        articles=articles,
        source=source,
        kind=DocumentKind.MARKDOWN,
        code_title=code_title,
        part=part,
        dates=dates,
        content_hash=content_hash(text),
    )


def _titles(titles: list[str], doc_id: str) -> tuple[str, str, str]:
    """(title, code_title, part): two H1 lines mean a part of a code (# 中华人民共和国民法典 / # 合同编)."""
    if len(titles) >= 2:
        return f"{titles[0]}·{titles[1]}", titles[0], titles[1]
    if titles:
        return titles[0], "", ""
    return doc_id, "", ""


def _make_article(
    head: re.Match[str], lines: list[str], version: Version, chapter: str = "", notes: list[str] | None = None
) -> Article:
    paragraphs: list[Paragraph] = []
    for line in lines:
        item = ITEM_HEAD.match(line)
        if item and paragraphs:
            paragraphs[-1].items.append(Item(number=cn_to_int(item.group("num")), text=line))
        elif item:
            paragraphs.append(Paragraph(number=1, text="", items=[Item(cn_to_int(item.group("num")), line)]))
        else:
            paragraphs.append(Paragraph(number=len(paragraphs) + 1, text=line))
    return Article(
        number=cn_to_int(head.group("num")),
        sub=cn_to_int(head.group("sub")) if head.group("sub") else 0,
        title=(head.group("title") or "").strip(),
        paragraphs=paragraphs,
        version=version,
        chapter=chapter,
        notes=notes or [],
    )


# ---------------------------------------------------------------- comparison drafts


def parse_comparison_draft(text: str, doc_id: str, source: str = "") -> Document:
    """Parse a 修改对照稿: each article as the draft wording, then the current wording with 【title】.

    A current article revises the draft article printed right before it; a current article that
    follows another current article is new; a draft not followed by a current article was moved
    (its notes say 移至) or dropped.
    """
    title = ""
    dates: list[str] = []
    blocks: list[tuple[re.Match[str], list[str], list[str]]] = []  # (head, body lines, notes)
    for raw in text.splitlines():
        line = clean(raw)
        if not line:
            continue
        if paper_note := PAPER_NOTE.match(line):
            dates.append(paper_note.group("note"))
            continue
        match = article_head(line)
        if match:
            blocks.append((match, [], []))
            line = match.group("rest").strip()
            if not line:
                continue
        if not blocks:
            found = COMPARISON_TITLE.search(line)
            if found and not title:
                title = _comparison_title(found.group("title"))
            continue
        body, notes = blocks[-1][1], blocks[-1][2]
        line, line_notes = split_notes(line)
        notes.extend(line_notes)
        if line:
            body.append(line)
    articles: list[Article] = []
    previous: Article | None = None
    for head, body, notes in blocks:
        version = Version.CURRENT if head.group("title") is not None else Version.DRAFT
        article = _make_article(head, body, version, notes=notes)
        if version is Version.CURRENT and previous is not None and previous.version is Version.DRAFT:
            article.paired_number, previous.paired_number = previous.number, article.number
        articles.append(article)
        previous = article
    for article in articles:
        if article.version is Version.DRAFT:
            article.status = _draft_status(article)
    return Document(
        id=doc_id,
        title=title or doc_id,
        articles=articles,
        source=source,
        kind=DocumentKind.COMPARISON,
        dates=dates,
        content_hash=content_hash(text),
    )


def split_notes(line: str) -> tuple[str, list[str]]:
    """Take editorial notes off the end of a line: ('…办理续贷。', ['对列项的顺序作了调整'])."""
    notes: list[str] = []
    while match := EDITORIAL_NOTE.search(line):
        notes.insert(0, match.group("note"))
        line = line[: match.start()].rstrip()
    return line, notes


def _comparison_title(raw: str) -> str:
    """《湖南省实施〈…〉办法（修订草案）》 → 湖南省实施《…》办法."""
    title = re.sub(r"[（(][^（）()]*草案[^（）()]*[）)]$", "", raw.strip())
    return title.replace("〈", "《").replace("〉", "》")


def _draft_status(article: Article) -> DraftStatus:
    if article.paired_number is not None:
        return DraftStatus.REVISED
    if any("移至" in note for note in article.notes):
        return DraftStatus.MOVED
    return DraftStatus.DROPPED


# ---------------------------------------------------------------- checks


def numbering_problems(doc: Document) -> list[str]:
    """Describe where article numbers are not 1, 2, 3 … in each version (empty when they are)."""
    problems: list[str] = []
    for version in doc.versions():
        articles = [a for a in doc.articles if a.version is version]
        # A part of a code (民法典/合同编) goes on from where the previous part stopped.
        expected = articles[0].number if doc.part and articles else 1
        for article in articles:
            if article.sub:
                continue  # 第十条之一 sits between 第十条 and 第十一条
            if article.number != expected:
                kind = "重复或倒序" if article.number < expected else "跳号"
                problems.append(f"{version.value}: {kind}，期望第{expected}条，实际为{article.label}")
            expected = max(expected, article.number + 1)
    return problems
