"""OCR of scanned PDF pages, offline: RapidOCR (rapidocr-onnxruntime, PaddleOCR's PP-OCRv4 Chinese models,
which its wheel carries) on onnxruntime. Nothing is downloaded.

Pages are rendered at OCR_DPI and read one at a time; a document with more than OCR_MAX_PAGES scanned pages,
or one that takes longer than OCR_SECONDS, is refused with the reason. `progress(done, total)` is called
before the first page and after each one. The engine is loaded once, on first use, and shared; one
document is read at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .errors import CorpusError, DocumentTooLargeError
from .layout import Line, Page, lines_from_pieces

OCR_DPI = 150  # body text of an A4 page (三号/四号, 14–16 pt) is 30 px high: plenty for the recogniser
OCR_MAX_SIDE = 3000  # pixels: an A3 page at 150 dpi; a page drawn larger is rendered smaller
OCR_MAX_PAGES = 50
OCR_SECONDS = 600.0
MIN_SCORE = 0.5  # recognised lines below this confidence are dropped (specks, stamps, signatures)
_ENGINE = None
_LOCK = threading.Lock()  # one document at a time: each OCR uses every core


class OcrUnavailableError(CorpusError):
    pass


class OcrTimeoutError(CorpusError):
    pass


def ocr_pages(
    images: Iterable[tuple[Any, float]], total: int, label: str, progress: Callable[[int, int], None] | None = None
) -> list[Page]:
    """`total` page images (each with its points per pixel, rendered at OCR_DPI) read by OCR, in order (lines in
    page points, top left origin). `images` is consumed lazily: pages are rendered as they are read."""
    if total > OCR_MAX_PAGES:
        raise DocumentTooLargeError(
            f"{label} 有 {total} 页是扫描图像，超过 OCR 上限 {OCR_MAX_PAGES} 页。"
            "请上传带文字层的 PDF 或 Word 版本，或拆分后上传。"
        )
    pages: list[Page] = []
    with _LOCK:
        engine = _engine(label)
        started = time.monotonic()
        if progress is not None:
            progress(0, total)
        for done, (image, points) in enumerate(images, start=1):
            pages.append(_read(engine, image, points))
            if progress is not None:
                progress(done, total)
            if done < total and time.monotonic() - started > OCR_SECONDS:
                raise OcrTimeoutError(
                    f"{label} 的扫描页识别超过 {OCR_SECONDS / 60:.0f} 分钟仍未完成（已识别 {done}/{total} 页）。"
                    "请上传带文字层的 PDF 或 Word 版本，或拆分后上传。"
                )
    return pages


def _read(engine, image, points: float) -> Page:
    """One page image read; boxes in points (`points` per pixel), as the text layer of a PDF gives them."""
    import numpy as np

    found, _ = engine(np.asarray(image), use_cls=False)
    pieces = []
    for box, text, score in found or []:
        if float(score) < MIN_SCORE or not text.strip():
            continue
        xs, ys = [point[0] * points for point in box], [point[1] * points for point in box]
        pieces.append(Line(text, min(xs), min(ys), max(xs), max(ys)))
    return Page(image.width * points, image.height * points, lines_from_pieces(pieces))


def _engine(label: str):
    global _ENGINE
    if _ENGINE is None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as error:  # OpenCV needs libGL and GLib (Debian: libgl1 libglib2.0-0)
            raise OcrUnavailableError(
                f"{label} 是扫描件，需要 OCR 识别，但 OCR 组件无法加载（{error}）。"
                "请管理员安装 libgl1 和 libglib2.0-0（apt-get install libgl1 libglib2.0-0），或上传带文字层的 PDF / Word 版本。"
            ) from None
        # Detection on the page scaled to 1280 px on its longer side: text lines stay 20+ px high, and it takes
        # half the time it does at full size. Lines recognised one at a time: a batch pads every line to the
        # widest, and one at a time was a fifth faster on pages of law text (2 cores).
        _ENGINE = RapidOCR(det_limit_type="max", det_limit_side_len=1280, rec_batch_num=1)
    return _ENGINE
