"""Read documents from where they live: a folder of files, or a .tar.gz collection of Markdown laws."""

from __future__ import annotations

import re
import tarfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import BadDocumentIdError, CorpusError
from .model import Document, normal_id
from .parser import parse_document
from .reader import ACCEPTED, decode_document

# What the folder reads; the kind of each file is decided from its bytes (policy_corpus.reader).
WEB_PAGES = (".html", ".htm", ".shtml", ".xhtml", ".mht", ".mhtml")
SUFFIXES = (".md", ".txt", ".docx", ".doc", ".wps", ".pdf", ".ofd", *WEB_PAGES)
# Collections mark folders with _index.md files: they describe the folder and are not laws.
SKIPPED_NAMES = ("_index.md", "README.md")
# A collection's court cases (案例/消费购物/吴某与某电子商务有限公司买卖合同纠纷案) quote the provisions they apply: some
# parse into "articles" (第六条 of the interpretation they quote), but a case is not a provision to cite
CASE_FOLDERS = ("案例",)
CASE_SKIPPED = "法院案例，不是法规条文：不作为条文引用"
# Files a computer leaves beside documents: hidden files, Office's lock files (~$办法.docx), folder thumbnails.
SILENT = re.compile(r"^(?:\.|~\$)|^(?:Thumbs\.db|desktop\.ini)$", re.IGNORECASE)
UNSAFE_ID_CHARS = re.compile(r"[\x00-\x1f\\<>:\"|?*]")


@dataclass
class SourceFile:
    doc_id: str
    name: str  # path as shown to people
    data: bytes


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    not_laws: set[str] = field(default_factory=set)  # ids among the skipped that are no law at all (court cases)


def document_id(relative: str) -> str:
    """A document's id: its path inside the source without the suffix (hunan, 民法典/合同编)."""
    return str(PurePosixPath(relative).with_suffix(""))


def from_collection(doc_id: str) -> bool:
    """Whether a document is an entry of a law collection (社会法/劳动合同法(2012-12-28)), filed in a category
    folder, rather than one of the flat policy documents (hunan) or an upload."""
    return "/" in doc_id


def is_case(doc_id: str) -> bool:
    """Whether a collection entry is a court case (filed under 案例/), not a law."""
    return from_collection(doc_id) and doc_id.split("/", 1)[0] in CASE_FOLDERS


def check_document_id(doc_id: str, allow_folders: bool = True) -> str:
    """Refuse ids that could escape their folder: no '..', nothing hidden, no odd characters.

    Collection ids have folders (民法典/合同编); an id staff give for an upload must not.
    """
    if any(unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs", "Zl", "Zp") for ch in doc_id):
        raise BadDocumentIdError(f"文件编号 {doc_id!r} 含有看不见的格式字符（零宽空格、方向控制等），请重新输入。")
    doc_id = normal_id(doc_id)
    parts = doc_id.split("/")
    if (
        not doc_id.strip()
        or UNSAFE_ID_CHARS.search(doc_id)
        or (len(parts) > 1 and not allow_folders)
        or any(not part.strip() or part.startswith(".") or part != part.strip() for part in parts)
    ):
        raise BadDocumentIdError(
            f"文件编号 {doc_id!r} 不合规：请用简单的名字（字母、数字、汉字、下划线），不能含路径、“/”或“..”。"
        )
    return doc_id


def iter_source(path: Path, unread: list[str] | None = None) -> Iterator[SourceFile]:
    """Yield every document file in a folder (recursively) or a .tar.gz archive, in a stable order.

    Files of other kinds (images, spreadsheets, …) are not read: their names go to `unread`, when given.
    """

    def wanted(relative: str) -> bool:
        name = PurePosixPath(relative).name
        if name in SKIPPED_NAMES or SILENT.search(name) or any(part.startswith(".") for part in relative.split("/")):
            return False
        if relative.lower().endswith(SUFFIXES):
            return True
        if unread is not None:
            unread.append(relative)
        return False

    if path.is_dir():
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(path).as_posix()
            if file.is_file() and wanted(relative):
                yield SourceFile(document_id(relative), relative, file.read_bytes())
    elif path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as archive:
            members = sorted((m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name)
            for member in members:
                relative = member.name.removeprefix("./")
                if wanted(relative):
                    yield SourceFile(document_id(relative), relative, archive.extractfile(member).read())
    elif path.is_file():
        yield SourceFile(document_id(path.name), path.name, path.read_bytes())
    else:
        raise CorpusError(f"找不到语料来源 {path}：请给出一个文件夹、.tar.gz 压缩包或文件。")


def load_sources(paths: list[Path]) -> LoadResult:
    """Parse every document of every source; files that are not laws are skipped with the reason."""
    result = LoadResult()
    seen: set[str] = set()
    for number, path in enumerate(paths):
        unread: list[str] = []
        for source in iter_source(path, unread):
            if source.doc_id in seen:
                result.skipped.append((source.name, f"编号 {source.doc_id} 与前面的文件重复"))
                continue
            if is_case(source.doc_id):
                result.skipped.append((source.name, CASE_SKIPPED))
                result.not_laws.add(source.doc_id)
                continue
            try:
                text = decode_document(source.data, source.name)
                doc = parse_document(text, check_document_id(source.doc_id), source.name)
            except CorpusError as error:
                result.skipped.append((source.name, str(error)))
                continue
            doc.primary = number == 0
            seen.add(doc.id)
            result.documents.append(doc)
        result.skipped += [(name, f"不是可读取的文件类型（可读取：{ACCEPTED}）") for name in unread]
    return result
