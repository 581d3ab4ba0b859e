"""What reading a file gave (`ReadText`, read as a `FileKind`), what staff may send, and the checks every zip-based
file (.docx, .ofd) passes before anything is unpacked. Shared by the reader and the readers of each format (pdf, word,
webpage)."""

from __future__ import annotations

import enum
import io
import zipfile
from dataclasses import dataclass

from .errors import BinaryDocumentError, DocumentTooLargeError

# What staff can send; named in the messages that refuse something else.
ACCEPTED = ".txt / .md / .docx / .doc / .wps / .pdf / 网页（.html）"


class FileKind(str, enum.Enum):
    """How a document's text was read: its format, or OCR for a PDF with scanned pages."""

    TEXT = "text"  # .txt / .md
    DOCX = "docx"
    DOC = "doc"  # converted by LibreOffice
    WPS = "wps"  # converted by LibreOffice
    PDF = "pdf"  # the text layer
    OCR = "ocr"  # a PDF with scanned pages
    HTML = "html"  # a web page (.html, .mht)


@dataclass
class ReadText:
    """A document's text and how it was read (the preview tells staff)."""

    text: str
    kind: FileKind = FileKind.TEXT
    pages: int = 0  # PDF: pages in the file
    ocr_pages: int = 0  # PDF: pages read by OCR
    seconds: float = 0.0  # conversion and OCR time
    encoding: str = ""  # text and web pages: the encoding read
    tables: int = 0  # Word: tables whose text was read


# A zip's directory says how big its members unpack: checked before anything is unpacked (a 1 MB .docx can
# hold 1 GB of XML). Real Word files of laws unpack to a few MB at ratios under 20.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_RATIO = 100
MAX_PARAGRAPHS = 50_000


def check_zip(data: bytes, label: str) -> set[str]:
    """Refuse a zip-based file (.docx, .ofd) that would unpack too large or too compressed to be a document;
    return the names of its members."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as error:
        raise BinaryDocumentError(
            f"{label} 是损坏的压缩格式文件（Word / OFD 等），无法读取（{error}）。请重新导出后上传。"
        ) from None
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise DocumentTooLargeError(
            f"{label} 解压后过大（{unpacked / 1024 / 1024:.0f} MB，压缩比 {unpacked / packed:.0f}），不像一份法规文件，未读取。"
        )
    return {member.filename for member in members}
