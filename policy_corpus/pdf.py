"""PDF: the text layer read with PDFium (pypdfium2), pages without one read by OCR (`policy_corpus.ocr`).

Each page's characters are grouped into lines by their boxes, running headers, footers and page numbers
are taken off, and lines are re-joined into paragraphs (`policy_corpus.layout`). A page whose text layer is
empty or unreadable (fonts without a Unicode map give private-use codes) and that shows an image is
rendered and read by OCR; a scanned document is OCR'd page by page, within a page cap and a time limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import BinaryDocumentError, DocumentTooLargeError, EmptyDocumentError
from .filekinds import FileKind, ReadText
from .layout import Line, Page, law_text, lines_from_pieces, paragraphs, remove_running_lines

MAX_PAGES = 1000  # a law gazette runs to a few hundred pages
MIN_PAGE_CHARS = 10  # fewer readable characters than this: a scan (a stamp or a page number at most)
# PDFium is not thread-safe: two uploads (or an upload and /reload) read one PDF at a time.
_PDFIUM = threading.Lock()

Progress = Callable[[int, int], None]  # (pages read by OCR, pages to read)


def read_pdf(data: bytes, label: str, progress: Progress | None = None) -> ReadText:
    """The text of a PDF, its scanned pages read by OCR; refuses encrypted, broken and empty files."""
    import pypdfium2 as pdfium

    started = time.monotonic()
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            if error.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
                raise BinaryDocumentError(
                    f"{label} 是加密的 PDF（需要打开密码），无法读取。请上传未加密的版本，或另存为 Word 后上传。"
                ) from None
            raise BinaryDocumentError(
                f"{label} 是损坏或不完整的 PDF 文件，无法读取。请重新下载或重新导出后上传。"
            ) from None
        try:
            count = len(pdf)
            if count > MAX_PAGES:
                raise DocumentTooLargeError(f"{label} 有 {count} 页，超过上限 {MAX_PAGES} 页，未读取。请拆分后上传。")
            pages = [_text_page(pdf, index) for index in range(count)]
            scanned = [index for index, page in enumerate(pages) if page is None]
        finally:
            pdf.close()
    if scanned:
        from .ocr import OCR_DPI, OCR_MAX_SIDE, ocr_pages

        images = render_pages(data, scanned, OCR_DPI, OCR_MAX_SIDE)
        for index, page in zip(scanned, ocr_pages(images, len(scanned), label, progress)):
            pages[index] = page
    read = [page for page in pages if page is not None]
    remove_running_lines(read)
    text = law_text(paragraphs(read))
    if not text.strip():
        raise EmptyDocumentError(
            f"{label} 中没有可识别的文字（空白页，或扫描图像无法识别）。请上传带文字层的 PDF 或 Word 版本。"
        )
    return ReadText(
        text,
        FileKind.OCR if scanned else FileKind.PDF,
        pages=count,
        ocr_pages=len(scanned),
        seconds=time.monotonic() - started,
    )


def _text_page(pdf, index: int) -> Page | None:
    """The page's text lines, or None when it has no usable text layer but shows an image (a scan)."""
    page = pdf[index]
    try:
        return _page_lines(page)
    finally:
        page.close()


def _page_lines(page) -> Page | None:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        pieces: list[Line] = []
        text, box = "", None
        for index in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage, index))
            if char in "\r\n":
                if text.strip() and box is not None:
                    pieces.append(Line(text, *box))
                text, box = "", None
                continue
            text += char
            if char.isspace():
                continue
            try:
                left, bottom, right, top = textpage.get_charbox(index, loose=True)
            except pdfium.PdfiumError:
                continue
            box = (
                (left, height - top, right, height - bottom)
                if box is None
                else (min(box[0], left), min(box[1], height - top), max(box[2], right), max(box[3], height - bottom))
            )
        if text.strip() and box is not None:
            pieces.append(Line(text, *box))
    finally:
        textpage.close()
    readable = sum(_readable(char) for piece in pieces for char in piece.text if not char.isspace())
    shown = sum(1 for piece in pieces for char in piece.text if not char.isspace())
    if readable >= MIN_PAGE_CHARS and readable >= 0.8 * shown:
        return Page(width, height, lines_from_pieces(pieces))
    has_image = any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3))
    return None if has_image else Page(width, height, [])


def _readable(char: str) -> bool:
    """A character a text layer with a working Unicode map gives: not private-use, not a control code."""
    code = ord(char)
    return code >= 32 and not (0xE000 <= code <= 0xF8FF) and char != "\ufffd"


def render_pages(data: bytes, indexes: list[int], dpi: int, max_side: int):
    """Yield each page in `indexes` rendered to a grayscale PIL image (rotated upright, its longer side at
    most `max_side` pixels) with the points per pixel."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(data)
    try:
        for index in indexes:
            with _PDFIUM:
                page = pdf[index]
                scale = min(dpi / 72, max_side / max(page.get_size()))
                image = page.render(scale=scale, grayscale=True).to_pil()
                page.close()
            yield image, 1 / scale
    finally:
        with _PDFIUM:
            pdf.close()
