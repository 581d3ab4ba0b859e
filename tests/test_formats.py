"""Uploads in the formats policies are published in (issue 19): PDF with a text layer, scanned PDF (OCR),
web pages saved from a portal (UTF-8 and GB2312, whole or a fragment), .docx with articles in tables,
.doc / .wps through LibreOffice, OFD refused; bad files of each kind refused with the reason.

Every fixture is made here: PDFs are written by hand (the text ones with Adobe's STSong-Light CID font, which
needs no font file), the scanned pages are drawn with Pillow in a subset of Noto Serif CJK SC
(tests/data/fonts: these machines have no Chinese font) and saved as image-only PDFs.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.texts import OCR_DONE_TEXT
from policy_corpus import word
from policy_corpus.errors import (
    BinaryDocumentError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncodingError,
    NoArticlesError,
)
from policy_corpus.layout import Line, Page, paragraphs, remove_running_lines
from policy_corpus.parser import parse_document
from policy_corpus.reader import FileKind, read_document
from policy_corpus.sources import load_sources

from . import test_admin
from .conftest import PROJECT
from .telegram_stub import labels
from .test_admin import (
    ADMIN,
    FIREFLY_QUESTION,
    LOAN_CITATION,
    LOAN_QUESTION,
    OWNER,
    firefly_rules,
    first_citation,
    press,
    running_bot,
    send,
)

# tests/test_admin.py's fixtures: a data folder of its own per test, version 0001 (the default documents) serving
admin_base, env = test_admin.admin_base, test_admin.env

FONT = PROJECT / "tests" / "data" / "fonts" / "NotoSerifCJKsc-subset.otf"
HEADER = "测试省人民政府公报"
TITLE = "测试促进条例"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice is not installed (Debian: apt-get install libreoffice-writer-nogui)"
)


def law() -> str:
    """《测试促进条例》, six articles in two chapters (tests.test_admin.firefly_rules)."""
    return firefly_rules(sixth=True)


# ---------------------------------------------------------------- laying a law out on pages


@dataclass
class Row:
    """A line of text on an A4 page, in points from the top left."""

    x: float
    y: float
    size: float
    text: str


def law_pages(text: str, per_line: int = 22, rows_per_page: int = 12) -> list[list[Row]]:
    """Lay a law out as a Word export would: a centred title and chapter heads, articles indented two
    characters and wrapped at `per_line`, a running header on each page and its number at the foot."""
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("<!--"):
            continue
        if line.startswith("# "):
            rows.append(("title", line[2:]))
        elif line.startswith("## "):
            rows.append(("chapter", line[3:]))
        else:
            chunks = [line[: per_line - 2]] + [
                line[start : start + per_line] for start in range(per_line - 2, len(line), per_line)
            ]
            if len(chunks) > 1 and len(chunks[-1]) == 1:  # no one-character line (see `text_pdf`)
                chunks[-2:] = [chunks[-2][:-1], chunks[-2][-1] + chunks[-1]]
            rows += [("first" if number == 0 else "wrapped", chunk) for number, chunk in enumerate(chunks)]
    pages = []
    for start in range(0, len(rows), rows_per_page):
        page = [Row(72, 40, 9, HEADER)]
        for number, (kind, chunk) in enumerate(rows[start : start + rows_per_page]):
            y = 110 + 26 * number
            size = 18 if kind == "title" else 12
            x = {"title": (595 - 18 * len(chunk)) / 2, "chapter": (595 - 12 * len(chunk)) / 2, "first": 96}.get(
                kind, 72
            )
            page.append(Row(x, y, size, chunk))
        page.append(Row(286, 800, 9, f"- {len(pages) + 1} -"))
        pages.append(page)
    return pages


# ---------------------------------------------------------------- PDFs written by hand

PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    box, j = list(range(256)), 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def text_pdf(pages: list[list[Row]], user_password: str | None = None) -> bytes:
    """A PDF whose text is set in STSong-Light (Adobe-GB1, UniGB-UCS2-H): PDF readers know the font, so no
    font file is embedded, and PDFium maps the codes to Unicode (it draws nothing, having no Chinese font,
    and drops a text object of one character: `law_pages` writes none). With `user_password`, the file is
    encrypted (RC4, 40 bits: the standard security handler, revision 2)."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [4 0 R] >>",
        4: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 5 0 R /DW 1000 >>",
        5: b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
    }
    kids = []
    for number, rows in enumerate(pages):
        page, content = 6 + 2 * number, 7 + 2 * number
        kids.append(f"{page} 0 R")
        stream = "\n".join(
            f"BT /F1 {row.size} Tf {row.x:.1f} {842 - row.y - row.size:.1f} Td <{row.text.encode('utf-16-be').hex()}> Tj ET"
            for row in rows
        ).encode()
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {content} 0 R >>"
        ).encode()
        objects[content] = stream  # the stream's dictionary is written below, once its length is known
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    streams = {6 + 2 * number + 1 for number in range(len(pages))}
    file_id = hashlib.md5(b"policybot test").digest()
    trailer = ""
    if user_password is not None:
        padded = (user_password.encode() + PASSWORD_PAD)[:32]
        owner = rc4(hashlib.md5((b"owner" + PASSWORD_PAD)[:32]).digest()[:5], padded)
        permissions = -44
        key = hashlib.md5(padded + owner + struct.pack("<i", permissions) + file_id).digest()[:5]
        encrypt = len(objects) + 1
        objects[encrypt] = (
            f"<< /Filter /Standard /V 1 /R 2 /O <{owner.hex()}> /U <{rc4(key, PASSWORD_PAD).hex()}> /P {permissions} >>"
        ).encode()
        for number in streams:
            object_key = hashlib.md5(key + number.to_bytes(3, "little") + b"\0\0").digest()[:10]
            objects[number] = rc4(object_key, objects[number])
        trailer = f" /Encrypt {encrypt} 0 R"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        body = objects[number]
        if number in streams:
            body = b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in range(1, len(objects) + 1))
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /ID [<{file_id.hex()}> <{file_id.hex()}>]{trailer} >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def scanned_pdf(pages: list[list[Row]], dpi: int = 150) -> bytes:
    """The pages drawn as images (Pillow, the subset font) in a PDF with no text layer, as a scanner makes."""
    from PIL import Image, ImageDraw, ImageFont

    fonts: dict[float, ImageFont.FreeTypeFont] = {}
    images = []
    for rows in pages:
        image = Image.new("L", (round(595 / 72 * dpi), round(842 / 72 * dpi)), 255)
        draw = ImageDraw.Draw(image)
        for row in rows:
            font = fonts.setdefault(row.size, ImageFont.truetype(str(FONT), round(row.size / 72 * dpi)))
            missing = [char for char in row.text if not char.isspace() and _glyph(font, char) == _glyph(font, "\ue000")]
            assert not missing, f"{FONT.name} has no glyph for {missing}: add them (tests/data/fonts/OFL.txt says how)"
            draw.text((row.x / 72 * dpi, row.y / 72 * dpi), row.text, font=font, fill=0)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def _glyph(font, char: str) -> bytes:
    return bytes(font.getmask(char))


# ---------------------------------------------------------------- web pages, Word files


def portal_page(text: str, charset: str = "utf-8") -> str:
    """A policy page as a government portal serves it: head scripts, logo, menu, search box, breadcrumb, an
    information table, the title, date and font-size links, the text, share buttons, related links, footer."""
    body = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("<!--", "# ")):
            continue
        if line.startswith("## "):
            body.append(f'<p style="text-align:center"><strong>{line[3:]}</strong></p>')
        elif line.startswith("第") and " " in line[:8]:
            head, rest = line.split(" ", 1)
            body.append(f'<p style="text-indent:2em"><span style="font-family:黑体">{head}</span>\u3000{rest}</p>')
        else:
            body.append(f"<p>{line}</p>")
    paragraphs_html = "\n".join(body)
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="ArticleTitle" content="{TITLE}"><title>{TITLE}_政策文件_测试省人民政府门户网站</title>
<script>document.write("第九十九条 脚本里的字");</script><style>.nav {{ color: red }}</style></head>
<body>
<div class="header"><div class="logo">测试省人民政府门户网站</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li><li><a>政策文件</a></li></ul>
<form class="search"><input type="text" value="请输入关键词"><button>搜索</button></form></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 政策文件</div>
<div class="main">
<table class="info"><tr><td>索引号：</td><td>000014349/2024-00012</td><td>发文机关：</td><td>测试省人民政府</td></tr>
<tr><td>标　　题：</td><td colspan="3">{TITLE}</td></tr></table>
<h1>{TITLE}</h1>
<div class="pages-date">2024-04-25 来源：测试省人民政府办公厅 字号：<a>大</a> <a>中</a> <a>小</a> | <a>打印</a></div>
<div id="UCAP-CONTENT">
{paragraphs_html}
</div>
<div class="share">分享到：<a>微信</a> <a>微博</a></div>
<div class="related"><h3>相关文件</h3><ul><li><a>关于第三条补贴标准的政策解读</a></li></ul></div>
</div>
<div class="footer"><p>主办单位：测试省人民政府办公厅</p><p>测ICP备05001234号</p></div>
</body></html>"""


PORTAL_WORDS = ("首页", "当前位置", "请输入关键词", "索引号", "字号", "分享到", "相关文件", "主办单位", "ICP", "脚本里")


def table_docx(text: str) -> bytes:
    """A .docx whose articles sit in a table: a heading row, then 条号 | 条文 per article, chapter heads in
    merged cells; the title above the table, a closing line below it. 第三条 lists its conditions as items."""
    import docx

    document = docx.Document()
    document.add_paragraph(TITLE)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "条号", "条文"
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("<!--", "# ")) or line[:1].isdigit():
            continue
        cells = table.add_row().cells
        if line.startswith("## "):
            merged = cells[0].merge(cells[1])
            merged.text = line[3:]
            continue
        head, rest = line.split(" ", 1)
        cells[0].text, cells[1].text = head, rest
        if head == "第三条":
            cells[1].add_paragraph("（一）在本省登记注册；")
            cells[1].add_paragraph("（二）养殖场地经县级主管部门核验。")
    document.add_paragraph("本条例由测试省人民政府负责解释。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def doc_bytes(docx_data: bytes, tmp_path: Path) -> bytes:
    """The .docx saved as Word 97–2003 (.doc) by LibreOffice."""
    source = tmp_path / "table.docx"
    source.write_bytes(docx_data)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "doc"]
        + ["--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (tmp_path / "table.doc").read_bytes()


def ofd_bytes(body: bytes = b"") -> bytes:
    """A minimal OFD package (a zip with OFD.xml and a page)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("OFD.xml", '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>')
        package.writestr(
            "Doc_0/Pages/Page_0/Content.xml",
            b'<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer><ofd:TextObject>'
            + "<ofd:TextCode X='0' Y='5'>第一条 测试。</ofd:TextCode>".encode()
            + body
            + b"</ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>",
        )
    return buffer.getvalue()


def articles(text: str) -> list[str]:
    return [article.label for article in parse_document(text, "test").articles]


SIX = ["第一条", "第二条", "第三条", "第四条", "第五条", "第六条"]


# ---------------------------------------------------------------- reading each format


def test_text_pdf_reads_in_order_without_headers_footers_and_page_numbers():
    pages = law_pages(law())
    assert len(pages) >= 2 and any(len(row.text) < 22 for row in pages[0][1:-1])
    for rows in pages:  # the content stream out of reading order: lines are read by their position
        rows.reverse()
    read = read_document(text_pdf(pages), "条例.pdf")
    assert (read.kind, read.pages, read.ocr_pages) == (FileKind.PDF, len(pages), 0)
    assert HEADER not in read.text and "- 1 -" not in read.text
    doc = parse_document(read.text, "test")
    assert doc.title == TITLE
    assert [a.label for a in doc.articles] == SIX
    assert [a.chapter for a in doc.articles[:3]] == ["第一章 总则", "第一章 总则", "第二章 扶持措施"]
    # wrapped lines are one paragraph again, across a page break too
    assert doc.articles[2].paragraphs[0].text == (
        "小微企业从事萤火虫人工养殖的，可以向县级人民政府申请一次性养殖补贴，每户补贴三千元。"
    )


def test_lines_are_joined_into_paragraphs_by_their_layout():
    def line(text: str, left: float, top: float) -> Line:
        return Line(text, left, top, left + 12 * len(text), top + 12)

    page = Page(
        595,
        842,
        [
            line("第一条 为了检验上传功能，制定本", 96, 100),  # runs to the right margin
            line("条例。", 72, 120),  # a CJK line break inside a sentence: joined
            line("前款规定的材料，应当齐全有效", 96, 140),  # indented: a paragraph of its own
            line("（一）营业执照；", 72, 160),  # an item starts a block
            line("第二条 本条例自公布之日起施", 96, 180),
            line("行。", 72, 200),
            line("3", 290, 800),  # page number
        ],
    )
    remove_running_lines([page])
    assert paragraphs([page]) == [
        "第一条 为了检验上传功能，制定本条例。",
        "前款规定的材料，应当齐全有效",
        "（一）营业执照；",
        "第二条 本条例自公布之日起施行。",
    ]


def test_scanned_pdf_is_read_by_ocr_with_progress():
    calls = []
    started = time.monotonic()
    read = read_document(scanned_pdf(law_pages(law())), "扫描件.pdf", lambda done, total: calls.append((done, total)))
    assert (read.kind, read.ocr_pages) == (FileKind.OCR, read.pages)
    assert calls[0] == (0, read.pages) and calls[-1] == (read.pages, read.pages)
    assert HEADER not in read.text and "- 1 -" not in read.text
    doc = parse_document(read.text, "test")
    assert doc.title == TITLE
    assert [a.label for a in doc.articles] == SIX
    assert "萤火虫" in doc.articles[2].paragraphs[0].text
    assert time.monotonic() - started < 120


def test_a_pdf_with_some_scanned_pages_is_read_page_by_page():
    """A text page, then a scanned one (an attachment printed and scanned into the file): OCR reads the scan."""
    import pypdfium2 as pdfium

    pages = law_pages(law())
    merged = pdfium.PdfDocument(text_pdf(pages[:1]))
    merged.import_pages(pdfium.PdfDocument(scanned_pdf(pages[1:])))
    buffer = io.BytesIO()
    merged.save(buffer)
    read = read_document(buffer.getvalue(), "合并.pdf")
    assert (read.kind, read.pages, read.ocr_pages) == (FileKind.OCR, 2, 1)
    assert articles(read.text) == SIX


def test_web_pages_give_the_policy_text_only():
    for data, encoding in [
        (portal_page(law()).encode(), "UTF-8"),
        (portal_page(law(), "gb2312").encode("gb2312"), "GB18030"),
        (portal_page(law(), "GBK").encode("gbk"), "GB18030"),
    ]:
        read = read_document(data, "page.html")
        assert (read.kind, read.encoding) == (FileKind.HTML, encoding)
        assert not [word for word in PORTAL_WORDS if word in read.text], read.text
        doc = parse_document(read.text, "test")
        assert doc.title == TITLE and [a.label for a in doc.articles] == SIX
        assert doc.articles[0].chapter == "第一章 总则"


def test_a_saved_fragment_in_gbk_without_a_charset_is_read():
    """A fragment copied from a page's source: mostly ASCII markup, GBK text, no <meta> (once "encoding")."""
    fragment = '<div class="TRS_Editor">\n<p align="center"><b>测试促进条例</b></p>\n'
    fragment += "".join(f"<p>{line}</p>\n" for line in law().splitlines()[6:] if line.startswith("第"))
    read = read_document((fragment + "</div>").encode("gbk"), "fragment.htm")
    assert read.kind is FileKind.HTML
    assert articles(read.text) == SIX
    assert parse_document(read.text, "test").title == TITLE


def test_pages_saved_in_other_shapes():
    """A page saved as one file (.mht, quoted-printable GB2312), a page re-saved as UTF-8 that kept its gb2312
    <meta>, a page whose logo is the <h1> and which has no ArticleTitle: each gives the text and its title."""
    from email.message import EmailMessage

    page = portal_page(law(), "gb2312")
    mht = EmailMessage()
    mht["MIME-Version"] = "1.0"
    mht.make_related()
    mht.add_related(page.encode("gb2312"), "text", "html", cte="quoted-printable", params={"charset": "gb2312"})
    logo = portal_page(law()).replace('<meta name="ArticleTitle" content="测试促进条例">', "")
    logo = logo.replace('<div class="logo">测试省人民政府门户网站</div>', "<h1>测试省人民政府门户网站</h1>")
    for name, data in [
        ("单个文件.mht", b"From: <Saved by Windows Internet Explorer>\n" + mht.as_bytes()),
        ("resaved.html", page.encode()),
        ("logo.html", logo.encode()),
    ]:
        read = read_document(data, name)
        assert read.kind is FileKind.HTML, name
        doc = parse_document(read.text, "test")
        assert (doc.title, [a.label for a in doc.articles]) == (TITLE, SIX), (name, read.text)
        assert not [word for word in PORTAL_WORDS if word in read.text], (name, read.text)


def test_page_furniture_inside_the_text_element_is_dropped_the_law_is_not():
    page = (
        '<html><head><title>测试办法_测试省人民政府门户网站</title></head><body><div class="nav">首页</div>'
        '<div id="zoom"><p>测试办法</p><p>第一条 为了测试，制定本办法。</p><p>第二条 违反本办法的，依法关闭。</p>'
        "<p>情节严重的，依法关闭并分享处罚信息。</p><p>【打印本页】【关闭窗口】</p><p>责任编辑：张三</p></div>"
        '<div class="footer">主办单位：测试省人民政府办公厅</div></body></html>'
    )
    doc = parse_document(read_document(page.encode(), "page.html").text, "test")
    assert doc.title == "测试办法"
    assert [p.text for p in doc.articles[-1].paragraphs] == [
        "违反本办法的，依法关闭。",
        "情节严重的，依法关闭并分享处罚信息。",
    ]


def test_docx_articles_and_items_in_a_table_are_read_in_order():
    read = read_document(table_docx(law()), "表格.docx")
    assert (read.kind, read.tables) == (FileKind.DOCX, 1)
    doc = parse_document(read.text, "test")
    assert doc.title == TITLE and [a.label for a in doc.articles] == SIX
    third = doc.articles[2]
    assert [item.text for item in third.paragraphs[0].items] == [
        "（一）在本省登记注册；",
        "（二）养殖场地经县级主管部门核验。",
    ]
    assert read.text.count("扶持措施") == 1  # a merged cell is read once
    assert read.text.rstrip().endswith("本条例由测试省人民政府负责解释。")


@needs_libreoffice
def test_doc_and_wps_are_converted_by_libreoffice(tmp_path):
    data = doc_bytes(table_docx(law()), tmp_path)
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    for name, kind in [("条例.doc", FileKind.DOC), ("条例.wps", FileKind.WPS)]:
        read = read_document(data, name)
        assert read.kind is kind and read.seconds > 0
        assert articles(read.text) == SIX


def test_doc_without_libreoffice_names_the_package(monkeypatch):
    monkeypatch.setattr(word, "libreoffice", lambda: None)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "WordDocument".encode("utf-16-le") + b"\0" * 500
    with pytest.raises(BinaryDocumentError, match="libreoffice-writer-nogui"):
        read_document(ole, "旧版.doc")


def test_ofd_gets_one_clear_message_and_the_zip_checks():
    with pytest.raises(BinaryDocumentError, match="暂不支持 OFD，请上传 PDF 或 Word 版本"):
        read_document(ofd_bytes(), "发文.ofd")
    with pytest.raises(DocumentTooLargeError, match="解压后过大"):
        read_document(ofd_bytes(b" " * (60 * 1024 * 1024)), "炸弹.ofd")


def test_bad_files_of_each_kind_are_refused_with_the_reason():
    pdf = text_pdf(law_pages(law()))
    cases = [
        (pdf[: len(pdf) // 2], BinaryDocumentError, "损坏或不完整的 PDF"),
        (text_pdf(law_pages(law()), user_password="secret"), BinaryDocumentError, "加密的 PDF"),
        (scanned_pdf([[Row(72, 100, 12, "")]]), EmptyDocumentError, "没有可识别的文字"),
        (portal_page("# 通知\n\n请各单位认真学习贯彻。\n").encode(), NoArticlesError, "没有找到条文"),
        (b"<html><meta charset='utf-8'><p>\xff\xfe\xfd\x80</p></html>", EncodingError, "编码无法识别"),
    ]
    for data, error, message in cases:
        with pytest.raises(error, match=message):
            read_document(data, "bad")


def test_encrypted_pdfs():
    """A PDF that needs a password to open is refused (the test file is a real one: its password opens it);
    one encrypted only against copying and printing (no open password, as portals publish them) is read."""
    import pypdfium2 as pdfium

    locked = text_pdf(law_pages(law()), user_password="secret")
    assert "萤火虫" in pdfium.PdfDocument(locked, password="secret")[0].get_textpage().get_text_range()
    with pytest.raises(BinaryDocumentError, match="加密的 PDF"):
        read_document(locked, "locked.pdf")
    assert articles(read_document(text_pdf(law_pages(law()), user_password=""), "copy-protected.pdf").text) == SIX


def test_the_corpus_folder_reads_the_same_formats_and_lists_what_it_skipped(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "pdf_rules.pdf").write_bytes(text_pdf(law_pages(law())))
    (folder / "page_rules.html").write_bytes(portal_page(law(), "gb2312").encode("gb2312"))
    (folder / "table_rules.docx").write_bytes(table_docx(law()))
    (folder / "发文.ofd").write_bytes(ofd_bytes())
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (folder / "~$table_rules.docx").write_bytes(b"lock file")  # Word's lock file: not a document
    loaded = load_sources([folder])
    assert sorted(doc.id for doc in loaded.documents) == ["page_rules", "pdf_rules", "table_rules"]
    assert all(len(doc.articles) == 6 for doc in loaded.documents)
    skipped = dict(loaded.skipped)
    assert sorted(skipped) == ["photo.png", "发文.ofd"]
    assert "暂不支持 OFD" in skipped["发文.ofd"] and "不是可读取的文件类型" in skipped["photo.png"]


# ---------------------------------------------------------------- through the bot

PROGRESS = "正在识别扫描件"


async def upload_and_wait(stub, file_name: str, data: bytes, caption: str) -> list[dict]:
    """Send a file as the admin; the bot's messages up to its answer (an OCR progress message comes first)."""
    since = len(stub.sent_messages(ADMIN))
    stub.send_document(ADMIN, file_name, data, caption=caption)

    def answered() -> list[dict] | None:
        messages = stub.sent_messages(ADMIN)[since:]
        return messages if any(not m["plain_text"].startswith(PROGRESS) for m in messages) else None

    return await stub.wait_for(answered, timeout=180)


async def test_each_format_is_previewed_and_served(env):
    """Upload each format through the real Application: a preview with the right article count and a line
    on how the text was read; the scanned PDF first shows OCR progress; 确认 serves it."""
    uploads = [
        ("条例.pdf", text_pdf(law_pages(law())), "pdf_rules", "来源：PDF，共 2 页"),
        (
            "扫描件.pdf",
            scanned_pdf(law_pages(law())),
            "scan_rules",
            "来源：扫描件 PDF，2 页（共 2 页）的文字由 OCR 识别",
        ),
        ("网页.html", portal_page(law()).encode(), "html_rules", "来源：网页（UTF-8 编码）"),
        ("网页gb.htm", portal_page(law(), "gb2312").encode("gb2312"), "gb_rules", "来源：网页（GB18030 编码）"),
        ("表格.docx", table_docx(law()), "table_rules", "含 1 个表格"),
    ]
    previews = {}
    async with running_bot(env) as (stub, _app):
        for file_name, data, caption, source in uploads:
            started = time.monotonic()
            replies = await upload_and_wait(stub, file_name, data, caption)
            seconds = time.monotonic() - started
            preview = replies[-1]["plain_text"]
            assert preview.startswith(f"预览：《{TITLE}》\n编号 {caption}；新文件\n现行文本：6 条"), preview
            assert preview.endswith(source) or source in preview.splitlines()[-1], preview
            assert labels(replies[-1]) == ["确认", "取消"]
            if caption == "scan_rules":  # one progress message, edited as pages are read, before the preview
                assert len(replies) == 2 and replies[0]["plain_text"].startswith(PROGRESS)
                assert stub.message(ADMIN, replies[0]["message_id"])["text"] == OCR_DONE_TEXT.format(total=2)
            else:
                assert len(replies) == 1, [r["plain_text"] for r in replies]
            previews[caption] = replies[-1]
            print(f"\n[{file_name}, {len(data) / 1024:.0f} KB: {seconds:.1f} s]\n{preview}")

        done = await press(stub, ADMIN, previews["scan_rules"], "确认")
        assert done["plain_text"].startswith("已发布版本 0002（原版本 0001）")
        [answer] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert TITLE in answer["plain_text"]


@needs_libreoffice
async def test_a_doc_is_previewed_through_libreoffice(env, tmp_path):
    data = doc_bytes(table_docx(law()), tmp_path)
    async with running_bot(env) as (stub, _app):
        started = time.monotonic()
        [reply] = await upload_and_wait(stub, "旧版.doc", data, "doc_rules")
        preview = reply["plain_text"]
        assert preview.startswith(f"预览：《{TITLE}》\n编号 doc_rules；新文件\n现行文本：6 条"), preview
        assert "来源：.doc 文件，已用 LibreOffice 转换" in preview.splitlines()[-1]
        assert labels(reply) == ["确认", "取消"]
        print(f"\n[旧版.doc, {len(data) / 1024:.0f} KB: {time.monotonic() - started:.1f} s]\n{preview}")


async def test_bad_files_are_refused_and_the_old_corpus_keeps_answering(env, monkeypatch):
    monkeypatch.setattr(word, "libreoffice", lambda: None)
    pdf = text_pdf(law_pages(law()))
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "WordDocument".encode("utf-16-le") + b"\0" * 500
    cases = [
        ("truncated.pdf", pdf[: len(pdf) // 2], "损坏或不完整的 PDF"),
        ("blank_scan.pdf", scanned_pdf([[Row(72, 100, 12, "")]]), "没有可识别的文字"),
        ("notice.html", portal_page("# 通知\n\n请各单位认真学习贯彻。\n").encode(), "没有找到条文"),
        ("locked.pdf", text_pdf(law_pages(law()), user_password="secret"), "加密的 PDF"),
        ("发文.ofd", ofd_bytes(), "暂不支持 OFD，请上传 PDF 或 Word 版本"),
        ("旧版.doc", ole, "apt-get install libreoffice-writer-nogui"),
    ]
    async with running_bot(env) as (stub, _app):
        for file_name, data, expected in cases:
            reply = (await upload_and_wait(stub, file_name, data, "bad_rules"))[-1]
            assert expected in reply["plain_text"], (file_name, reply["plain_text"])
            assert "\n" not in reply["plain_text"].strip(), reply["plain_text"]  # one line
            assert labels(reply) == [], file_name
            print(f"\n[{file_name}] {reply['plain_text']}")
        [answer] = await send(stub, OWNER, LOAN_QUESTION)
        assert first_citation(answer).startswith(LOAN_CITATION)
    assert [v.name for v in env.library.versions()] == ["0001"] and env.assistant.version == "0001"
