"""Word files: .docx read with python-docx, body paragraphs and tables in document order; .doc and .wps
(Word 97–2003 and WPS, compound files) converted to .docx by LibreOffice headless first, when installed.

A table is read row by row, cell by cell, each cell's paragraphs in turn: an article set in a table (a
two-column 修改对照表, or 第N条 in one cell and its text in the next) reads as it would outside one.
A merged cell is read once.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from .errors import BinaryDocumentError, DocumentTooLargeError, EmptyDocumentError
from .filekinds import ACCEPTED, MAX_PARAGRAPHS, FileKind, ReadText, check_zip

CONVERT_SECONDS = 120  # LibreOffice starts in a few seconds and converts a law in one or two more
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"  # Debian / Ubuntu


def read_docx(data: bytes, label: str, kind: FileKind = FileKind.DOCX) -> ReadText:
    """The text of a .docx: body paragraphs and table cells in document order, one line per paragraph."""
    check_zip(data, label)
    try:
        import docx  # python-docx
        from lxml.etree import XMLSyntaxError

        document = docx.Document(io.BytesIO(data))
        lines, tables = [], 0
        for text, in_table in _body_lines(document.element.body):
            lines.append(text)
            tables += in_table
            if len(lines) > MAX_PARAGRAPHS:
                raise DocumentTooLargeError(f"{label} 有超过 {MAX_PARAGRAPHS:,} 个段落，不像一份法规文件，未读取。")
    except (zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as error:
        raise BinaryDocumentError(
            f"{label} 是压缩包或损坏的 Word 文件，无法读取（{type(error).__name__}）。请上传 {ACCEPTED} 格式的文件。"
        ) from None
    text = "\n".join(lines)
    if not text.strip():
        raise EmptyDocumentError(f"{label} 是空的 Word 文件，请上传含有条文的文件。")
    return ReadText(text, kind, tables=tables)


def _body_lines(container) -> Iterator[tuple[str, int]]:
    """(paragraph text, 1 at the start of each table else 0), in document order; tables nest."""
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, None).text, 0
        elif child.tag == qn("w:tbl"):
            first = 1
            for row in child.iterchildren(qn("w:tr")):
                for cell in row.iterchildren(qn("w:tc")):
                    for text, nested in _body_lines(cell):
                        yield text, first + nested
                        first = 0
        elif child.tag in (qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")):
            yield from _body_lines(child)  # content controls and custom XML wrap paragraphs and tables


# Compound-file directory entries are UTF-16 names: they tell a Word document from a workbook or an
# encrypted Office file without a parser.
def _stream(name: str) -> bytes:
    return name.encode("utf-16-le")


def read_ole(data: bytes, label: str, name: str = "") -> ReadText:
    """A Word 97–2003 (.doc) or WPS (.wps) file, converted by LibreOffice; other compound files refused."""
    if _stream("EncryptedPackage") in data or _stream("EncryptionInfo") in data:
        raise BinaryDocumentError(f"{label} 是加密的 Office 文件（设置了打开密码），无法读取。请取消密码后再上传。")
    if _stream("WordDocument") in data:
        suffix = ".wps" if name.lower().endswith(".wps") else ".doc"
    elif _stream("Workbook") in data or _stream("Book") in data:
        raise BinaryDocumentError(f"{label} 是 Excel 表格（.xls），不是法规文本。请上传 {ACCEPTED} 格式的文件。")
    elif _stream("PowerPoint Document") in data:
        raise BinaryDocumentError(
            f"{label} 是 PowerPoint 演示文稿（.ppt），不是法规文本。请上传 {ACCEPTED} 格式的文件。"
        )
    elif name.lower().endswith(".wps"):
        suffix = ".wps"
    else:
        raise BinaryDocumentError(f"{label} 是无法识别的旧版 Office 文件。请另存为 .docx 或 PDF 后上传。")
    started = time.monotonic()
    converted = convert_to_docx(data, label, suffix)
    read = read_docx(converted, label, kind=FileKind(suffix.lstrip(".")))
    read.seconds = time.monotonic() - started
    return read


def libreoffice() -> str | None:
    """The LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(data: bytes, label: str, suffix: str) -> bytes:
    """Convert a .doc / .wps to .docx with LibreOffice headless, in a temporary folder, within CONVERT_SECONDS."""
    program = libreoffice()
    if program is None:
        raise BinaryDocumentError(
            f"{label} 是 {suffix} 文件，需要 LibreOffice 转换，但服务器没有安装"
            f"（Debian/Ubuntu：apt-get install {LIBREOFFICE_PACKAGE}）。请另存为 .docx 或 PDF 后上传。"
        )
    with tempfile.TemporaryDirectory(prefix="policybot-convert-") as folder:
        work = Path(folder)
        source = work / f"upload{suffix}"  # never the sender's file name
        source.write_bytes(data)
        command = [
            program,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",  # a profile of its own: no lock, no clash
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=work,
            env={**os.environ, "HOME": str(work)},
            start_new_session=True,  # its own process group: a timeout ends LibreOffice's helpers too
        )
        try:
            output, _ = process.communicate(timeout=CONVERT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise BinaryDocumentError(
                f"{label} 转换超时（超过 {CONVERT_SECONDS} 秒），文件可能已损坏。请另存为 .docx 或 PDF 后上传。"
            ) from None
        result = work / "out" / "upload.docx"
        if process.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            detail = output.decode("utf-8", "replace").strip().splitlines()[-1:] if output else []
            raise BinaryDocumentError(
                f"{label} 无法用 LibreOffice 转换（{detail[0][:80] if detail else process.returncode}），"
                "文件可能已损坏或加密。请另存为 .docx 或 PDF 后上传。"
            )
        return result.read_bytes()
