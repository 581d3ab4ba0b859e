"""Turn uploaded or on-disk bytes into text. The kind of file is decided from its bytes, never its name:

- plain text: UTF-8 / UTF-16 / GB18030 (.txt, .md);
- Word: .docx, tables included (`policy_corpus.word`); .doc and .wps converted by LibreOffice when installed;
- PDF: the text layer, scanned pages by OCR (`policy_corpus.pdf`, `policy_corpus.ocr`);
- web pages saved from a government portal, whole, as one file (.mht) or a fragment (`policy_corpus.webpage`);
- OFD, images, archives and other binaries are refused with what to send instead.

Zip-based files (.docx, .ofd, …) are checked before anything is unpacked (`check_zip`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import BinaryDocumentError, EmptyDocumentError, EncodingError
from .filekinds import ACCEPTED, FileKind, ReadText, check_zip

__all__ = ["ACCEPTED", "FileKind", "ReadText", "check_zip", "decode_document", "read_document"]

# Magic numbers of files people send by mistake (images, archives, media).
BINARY_MAGIC = {
    b"\x89PNG": "PNG 图片",
    b"\xff\xd8\xff": "JPEG 图片",
    b"GIF8": "GIF 图片",
    b"Rar!": "RAR 压缩包",
    b"7z\xbc\xaf\x27\x1c": "7z 压缩包",
    b"\x1f\x8b": "gzip 压缩包",
    b"RIFF": "音视频文件",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97–2003 (.doc), WPS (.wps), old Excel and PowerPoint
# A web page or a saved fragment of one: it opens with a tag, a doctype or a comment, and holds HTML tags.
HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<", re.IGNORECASE)
# A page saved as one file (.mht / .mhtml: "网页，单个文件"): a MIME message whose first HTML part is the page.
MHTML_START = re.compile(rb"^(?:[A-Za-z-]+:[^\n]*\n(?:[ \t][^\n]*\n)*){0,20}?MIME-Version:", re.IGNORECASE)
HTML_TAG = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|meta|title|div|p|span|table|td|br|font|center|h[1-6]|article|section)\b",
    re.IGNORECASE,
)


def decode_document(data: bytes, name: str = "") -> str:
    """Decode a document's bytes to text, or raise a CorpusError that says what to do."""
    return read_document(data, name).text


def read_document(data: bytes, name: str = "", progress: Callable[[int, int], None] | None = None) -> ReadText:
    """Read a document of any accepted kind; `progress(done, total)` follows OCR page by page."""
    label = name or "文件"
    if not data.strip():
        raise EmptyDocumentError(f"{label} 是空的，请上传含有条文的文件（{ACCEPTED}）。")
    if b"%PDF-" in data[:1024]:
        from .pdf import read_pdf

        return read_pdf(data, label, progress)
    if data.startswith(b"PK\x03\x04"):
        return _zip_document(data, label)
    if data.startswith(OLE_MAGIC):
        from .word import read_ole

        return read_ole(data, label, name)
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise BinaryDocumentError(f"{label} 是{kind}，不是文本。请上传 {ACCEPTED} 格式的文件。")
    if HTML_START.match(data) and HTML_TAG.search(data[:65536]):
        from .webpage import read_html

        return read_html(data, label)
    if MHTML_START.match(data) and b"multipart/related" in data[:4096].lower():
        from .webpage import read_mhtml

        return read_mhtml(data, label)
    text, encoding = _decode_text(data, label)
    if _looks_binary(text):
        raise BinaryDocumentError(f"{label} 看起来是二进制文件，不是文本。请上传 {ACCEPTED} 格式的文件。")
    return ReadText(text.replace("\r\n", "\n").replace("\r", "\n"), encoding=encoding)


def _zip_document(data: bytes, label: str) -> ReadText:
    """A zip-based file, told apart by what it holds: Word (.docx), OFD, Excel, PowerPoint or a plain zip."""
    names = check_zip(data, label)
    if "word/document.xml" in names or ("[Content_Types].xml" in names and any(n.startswith("word/") for n in names)):
        from .word import read_docx

        return read_docx(data, label)
    if "OFD.xml" in names:
        raise BinaryDocumentError(f"{label} 是 OFD 版式文件。暂不支持 OFD，请上传 PDF 或 Word 版本。")
    if any(name.startswith("xl/") for name in names):
        kind = "Excel 表格（.xlsx）"
    elif any(name.startswith("ppt/") for name in names):
        kind = "PowerPoint 演示文稿（.pptx）"
    else:
        kind = "zip 压缩包"
    raise BinaryDocumentError(f"{label} 是{kind}，不是法规文本。请上传 {ACCEPTED} 格式的文件。")


def _decode_text(data: bytes, label: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise EncodingError(
                f"{label} 是不完整的 UTF-16 文本（文件被截断或损坏）。请另存为 UTF-8 后再上传。"
            ) from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise BinaryDocumentError(f"{label} 看起来是二进制文件，不是文本。请上传 {ACCEPTED} 格式的文件。")
    try:
        # GB18030 covers GBK and GB2312, the encodings Chinese government offices still use.
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise EncodingError(
            f"{label} 的编码无法识别（不是 UTF-8 也不是 GB18030/GBK）。请另存为 UTF-8 后再上传。"
        ) from None
    if _cjk_share(text) < 0.2:
        raise EncodingError(f"{label} 的编码无法识别：按 GB18030 解码后不像中文。请另存为 UTF-8 后再上传。")
    return text, "GB18030"


def _cjk_share(text: str) -> float:
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 0.0
    return sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff") / len(visible)


def _looks_binary(text: str) -> bool:
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return "\x00" in text or control > max(8, len(text) // 100)
