"""Chinese numerals as they appear in legal citations (第一百二十三条, 第（七）项)."""

from __future__ import annotations

import re

from .errors import UnknownArticleError

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
NUMERAL_CHARS = "零〇一二三四五六七八九十百千万两"
NUMERAL_RE = f"[{NUMERAL_CHARS}]+"
MAX_ARTICLE = 99999  # article numbers read and written: the longest code (民法典) has 1,260


def cn_to_int(text: str) -> int:
    """Convert a Chinese numeral (一百二十三, 十, 一千零五) or ASCII digits to an int."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in DIGITS and ch not in UNITS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    if "万" in text:  # 一万二千零五 = 一 × 10000 + 二千零五
        high, _, low = text.partition("万")
        return cn_to_int(high or "一") * 10000 + (cn_to_int(low) if low.strip("零〇") else 0)
    total, digit = 0, None
    for ch in text:
        if ch in DIGITS:
            digit = DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * UNITS[ch]
            digit = None
    return total + (digit or 0)


def int_to_cn(number: int) -> str:
    """Convert 1..99999 to the form used in article numbers (十一, 一百零五, 二十, 一万零一)."""
    if number <= 0:
        raise ValueError(f"article numbers start at 1, got {number}")
    if number >= 10000:
        high, low = divmod(number, 10000)
        if not low:
            return f"{int_to_cn(high)}万"
        return f"{int_to_cn(high)}万{'零' if low < 1000 else ''}{int_to_cn(low) if low >= 20 or low < 10 else '一' + int_to_cn(low)}"
    names = "零一二三四五六七八九"
    if number < 10:
        return names[number]
    if number < 20:
        return "十" + (names[number - 10] if number > 10 else "")
    parts: list[str] = []
    zero_pending = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = (number // value) % 10
        if digit:
            if zero_pending and parts:
                parts.append("零")
            parts.append(names[digit] + unit)
            zero_pending = False
        elif parts:
            zero_pending = True
    return "".join(parts)


def article_label(number: int, sub: int = 0) -> str:
    """第十条 or, for an inserted article, 第十条之一."""
    label = f"第{int_to_cn(number)}条"
    return f"{label}之{int_to_cn(sub)}" if sub else label


def parse_article_ref(text: str) -> tuple[int, int]:
    """Parse '11', '十一', '第十一条', '10之一' or '第十条之一' into (number, sub)."""
    match = re.fullmatch(rf"\s*第?\s*({NUMERAL_RE}|\d+)\s*条?\s*(?:之\s*({NUMERAL_RE}|\d+))?\s*", text)
    if not match:
        raise ValueError(f"not an article number: {text!r}")
    if len(match.group(1)) > 12 or (match.group(2) and len(match.group(2)) > 12):
        raise ArticleNumberError(text)
    number = cn_to_int(match.group(1))
    sub = cn_to_int(match.group(2)) if match.group(2) else 0
    if not 1 <= number <= MAX_ARTICLE or not 0 <= sub <= MAX_ARTICLE or (match.group(2) and sub == 0):
        raise ArticleNumberError(text)
    return number, sub


class ArticleNumberError(UnknownArticleError, ValueError):
    """A number no article has (0, or too large to be one): bounded here, where numbers are read."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()[:20]
        super().__init__(f"没有这一条：条号应在第一条到第{int_to_cn(MAX_ARTICLE)}条之间（收到“{self.text}”）。")
