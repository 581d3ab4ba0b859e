"""Turn uploaded or on-disk bytes into text: detect binaries, decode UTF-8 / GB18030, read .docx."""

from __future__ import annotations

import io
import re
import zipfile

from .errors import BinaryDocumentError, DocumentTooLargeError, EmptyDocumentError, EncodingError

# Magic numbers of files people send by mistake (images, PDFs, archives, office files).
BINARY_MAGIC = {
    b"\x89PNG": "PNG 图片",
    b"\xff\xd8\xff": "JPEG 图片",
    b"GIF8": "GIF 图片",
    b"%PDF": "PDF 文件",
    b"Rar!": "RAR 压缩包",
    b"\x1f\x8b": "gzip 压缩包",
    b"\xd0\xcf\x11\xe0": "旧版 Office 文件（.doc/.xls）",
    b"RIFF": "音视频文件",
}
HTML_PAGE = re.compile(rb"^\s*(<!doctype html|<html)", re.IGNORECASE)


def decode_document(data: bytes, name: str = "") -> str:
    """Decode a document's bytes to text, or raise a CorpusError that says what to do."""
    label = name or "文件"
    if not data.strip():
        raise EmptyDocumentError(f"{label} 是空的，请上传含有条文的文本文件（.txt / .md / .docx）。")
    if data.startswith(b"PK\x03\x04"):
        return _docx_text(data, label)
    for magic, kind in BINARY_MAGIC.items():
        if data.startswith(magic):
            raise BinaryDocumentError(f"{label} 是{kind}，不是文本。请另存为 UTF-8 的 .txt / .md 或 .docx 后再上传。")
    if HTML_PAGE.match(data):
        raise BinaryDocumentError(f"{label} 是网页（HTML），不是法规文本。请把正文复制为纯文本（.txt）后再上传。")
    text = _decode_text(data, label)
    if _looks_binary(text):
        raise BinaryDocumentError(f"{label} 看起来是二进制文件，不是文本。请上传 .txt / .md / .docx。")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_text(data: bytes, label: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise EncodingError(
                f"{label} 是不完整的 UTF-16 文本（文件被截断或损坏）。请另存为 UTF-8 后再上传。"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise BinaryDocumentError(f"{label} 看起来是二进制文件，不是文本。请上传 .txt / .md / .docx。")
    try:
        # GB18030 covers GBK and GB2312, the encodings Chinese government offices still use.
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise EncodingError(
            f"{label} 的编码无法识别（不是 UTF-8 也不是 GB18030/GBK）。请另存为 UTF-8 后再上传。"
        ) from None
    if _cjk_share(text) < 0.2:
        raise EncodingError(f"{label} 的编码无法识别：按 GB18030 解码后不像中文。请另存为 UTF-8 后再上传。")
    return text


def _cjk_share(text: str) -> float:
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 0.0
    return sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff") / len(visible)


def _looks_binary(text: str) -> bool:
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return "\x00" in text or control > max(8, len(text) // 100)


# A zip's directory says how big its members unpack: checked before anything is unpacked (a 1 MB .docx can
# hold 1 GB of XML). Real Word files of laws unpack to a few MB at ratios under 20.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_RATIO = 100
MAX_PARAGRAPHS = 50_000


def check_zip(data: bytes, label: str) -> None:
    """Refuse a zip-based file (.docx) that would unpack too large or too compressed to be a document."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as error:
        raise BinaryDocumentError(f"{label} 是损坏的 Word 文件，无法读取（{error}）。请重新导出后上传。") from None
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members) or 1
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise DocumentTooLargeError(
            f"{label} 解压后过大（{unpacked / 1024 / 1024:.0f} MB，压缩比 {unpacked / packed:.0f}），不像一份法规文件，未读取。"
        )


def _docx_text(data: bytes, label: str) -> str:
    check_zip(data, label)
    try:
        import docx  # python-docx
        from lxml.etree import XMLSyntaxError

        document = docx.Document(io.BytesIO(data))
        paragraphs = document.paragraphs
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as error:
        raise BinaryDocumentError(
            f"{label} 是压缩包或损坏的 Word 文件，无法读取（{type(error).__name__}）。请上传 .txt / .md / .docx。"
        ) from None
    if len(paragraphs) > MAX_PARAGRAPHS:
        raise DocumentTooLargeError(f"{label} 有 {len(paragraphs):,} 个段落，不像一份法规文件，未读取。")
    text = "\n".join(paragraph.text for paragraph in paragraphs)
    if not text.strip():
        raise EmptyDocumentError(f"{label} 是空的 Word 文件，请上传含有条文的文件。")
    return text
