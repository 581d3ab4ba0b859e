"""Bad input gets a clear error; GB18030 and .docx are read."""

from __future__ import annotations

import io

import pytest

from policy_corpus.errors import BinaryDocumentError, EmptyDocumentError, EncodingError, NoArticlesError
from policy_corpus.parser import parse_document
from policy_corpus.reader import decode_document, read_document

from .conftest import DOCUMENTS


def test_empty_file():
    with pytest.raises(EmptyDocumentError, match="空的"):
        decode_document(b"  \n\n", "empty.txt")


def test_binary_files_are_named():
    with pytest.raises(BinaryDocumentError, match="PNG"):
        decode_document(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "photo.txt")
    with pytest.raises(BinaryDocumentError, match="PDF"):
        decode_document(b"%PDF-1.7\n...", "law.md")
    with pytest.raises(BinaryDocumentError):
        decode_document(bytes(range(256)) * 4, "blob.bin")


def test_html_page_without_articles_is_refused_with_the_reason():
    page = "<!DOCTYPE html><html><body><div>首页 &gt; 通知公告</div><p>关于开展检查的通知</p></body></html>"
    with pytest.raises(NoArticlesError, match="没有找到条文"):
        read_document(page.encode(), "page.html")


def test_gb18030_file_reads_like_utf8():
    original = (DOCUMENTS / "sme_law.md").read_text(encoding="utf-8")
    assert decode_document(original.encode("gb18030"), "sme_law.md") == original


def test_undecodable_text_is_refused():
    latin = "Paragraphe premier: ceci n'est pas du chinois, élève, été.".encode("latin-1") * 20
    with pytest.raises(EncodingError, match="UTF-8"):
        decode_document(latin, "french.txt")


def test_docx_is_read():
    import docx

    document = docx.Document()
    document.add_paragraph("示例办法")
    document.add_paragraph("第一条 为了测试，制定本办法。")
    document.add_paragraph("第二条 本办法自公布之日起施行。")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_document(decode_document(buffer.getvalue(), "demo.docx"), "demo")
    assert doc.title == "示例办法"
    assert [a.number for a in doc.articles] == [1, 2]


def test_windows_line_endings():
    text = decode_document("# 法\r\n\r\n第一条 甲。\r\n乙。\r\n".encode(), "crlf.md")
    doc = parse_document(text, "crlf")
    assert [p.text for p in doc.articles[0].paragraphs] == ["甲。", "乙。"]


def test_truncated_utf16_says_what_is_wrong():
    data = b"\xff\xfe" + "第一条 测试。".encode("utf-16-le") + b"\x00"
    with pytest.raises(EncodingError, match="UTF-16"):
        decode_document(data, "x.txt")
