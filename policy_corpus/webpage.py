"""Web pages saved from a government portal, whole, as one file (.mht) or a fragment: the policy text without
the portal around it.

The encoding comes from a byte-order mark, else the page's <meta charset> (gb2312 and GBK are read as their
superset GB18030), else UTF-8, else GB18030. The page is parsed with lxml; scripts, styles, forms' controls
and the like are dropped; the text is laid out as a browser shows it (a line per paragraph, table row or
<br>). The policy text is the smallest element that holds (nearly) all the article heads (第N条): menus,
breadcrumbs, share buttons, related links and footers around it are left out. The title comes from the
page's ArticleTitle meta, its <h1>, or its <title> without the site name.
"""

from __future__ import annotations

import re

from .errors import EncodingError, NoArticlesError
from .filekinds import FileKind, ReadText
from .layout import law_text
from .numerals import NUMERAL_CHARS

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_\-]+)""", re.IGNORECASE)
GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "hz-gb-2312"}
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
DROPPED = {
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "button",
    "input",
    "select",
    "textarea",
    "option",
    "map",
    "head",
}
BLOCKS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "center",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "form",
    "caption",
    "figure",
    "figcaption",
    "address",
}
CELLS = {"td", "th"}
ARTICLE_LINE = re.compile(rf"^\s*[第笫]\s?[{NUMERAL_CHARS}]+\s?条")
TITLE_SEPARATOR = re.compile(r"\s*[_|｜]+\s*|\s+[-—–]+\s+")
SITE_NAME = re.compile(r"(?:网|网站|门户|平台|首页|人民政府|政策文件|政策法规|通知公告|文件库|信息公开)$")
SHARE = 0.8  # the text holds at least this share of the page's article heads
# Short lines of a portal's page at the end of the text's element: print, close, share, editor, source.
PAGE_FURNITURE = re.compile(
    r"打印本页|打印此页|关闭窗口|关闭本页|返回顶部|收藏本页|保存本页|分享到|责任编辑|来源[:：]|字号[:：]|扫一扫"
    r"|浏览次数|上一篇|下一篇|相关链接|相关阅读|相关文章|【\s*(?:打印|关闭|收藏|纠错)\s*】"
)


def read_html(data: bytes, label: str) -> ReadText:
    """The policy text of a saved web page, titled, in the shape the parser reads."""
    import lxml.html

    markup, encoding = _decode(data, label)
    root = lxml.html.document_fromstring(XML_DECLARATION.sub("", markup, count=1) or "<p></p>")
    title = _title(root)
    for element in list(root.iter()):
        dropped = not isinstance(element.tag, str) or element.tag.lower() in DROPPED
        if dropped and element.getparent() is not None:
            element.drop_tree()  # keeps the element's tail text
    lines = _lines(root)
    heads = [index for index, (text, _) in enumerate(lines) if ARTICLE_LINE.match(text)]
    if not heads:
        raise NoArticlesError(
            f"{label} 是网页，但正文中没有找到条文（第一条、第二条……）。"
            "如果条文在附件里，请下载附件（PDF / Word）后上传。"
        )
    body = _body(lines, heads)
    named = [index for index, text in enumerate(body[: _first_head(body)]) if title and title in text]
    if named:  # the text names itself: start there, its own line is the title
        body, title = body[named[0] :], ""
    return ReadText(law_text(body, title), FileKind.HTML, encoding=encoding)


def read_mhtml(data: bytes, label: str) -> ReadText:
    """A page saved as one file (.mht / .mhtml): its first HTML part, read as a page."""
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            if charset and not META_CHARSET.search(html[:8192]):
                html = f'<meta charset="{charset}">'.encode("ascii", "ignore") + html
            return read_html(html, label)
    raise NoArticlesError(f"{label} 是单文件网页（.mht），但其中没有网页正文。请另存为 .html 后上传。")


def _decode(data: bytes, label: str) -> tuple[str, str]:
    """UTF-8 when the bytes are valid UTF-8 (GBK text practically never is, and a page re-saved as UTF-8 may
    keep its old gb2312 <meta>), else the declared charset, else GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace"), "UTF-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace"), "UTF-16"
    tries = ["utf-8"]
    declared = META_CHARSET.search(data[:8192])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        tries.append("gb18030" if name in GB_FAMILY else name)
    tries.append("gb18030")
    for name in dict.fromkeys(tries):
        try:
            return data.decode(name), "GB18030" if name == "gb18030" else name.upper()
        except (UnicodeDecodeError, LookupError):
            continue
    raise EncodingError(f"{label} 是网页，但编码无法识别（不是 UTF-8 也不是 GB18030/GBK）。请另存为 UTF-8 后再上传。")


def _title(root) -> str:
    """The page's ArticleTitle meta (portal CMSs write it), else the first part of its <title> that is not
    the site's or the column's name ("条例_政策文件_某省人民政府门户网站"), else an <h1> that <title> names."""
    for meta in root.iter("meta"):
        if (meta.get("name") or "").lower() == "articletitle" and (meta.get("content") or "").strip():
            return _clean(meta.get("content"))
    page_title = " ".join(_clean(title.text_content()) for title in root.iter("title"))
    parts = [part for part in TITLE_SEPARATOR.split(page_title) if len(part) >= 4 and not SITE_NAME.search(part)]
    if parts:
        return parts[0]
    for heading in root.iter("h1"):
        text = _clean(heading.text_content())
        if len(text) >= 4 and text in page_title:
            return text
    return ""


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "").replace("\xa0", " ")).strip()


def _lines(root) -> list[tuple[str, tuple]]:
    """The page's text as a browser lays it out: (line, the elements it sits in, outermost first)."""
    lines: list[tuple[str, tuple]] = []
    current: list[str] = []
    where: list[tuple] = [()]

    def flush() -> None:
        text = _inline("".join(current))
        if text:
            lines.append((text, where[0]))
        current.clear()

    def walk(element, path: tuple) -> None:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        path = (*path, element)
        block = tag in BLOCKS
        if block:
            flush()
        if tag in CELLS and current:
            current.append(" ")
        if not current:
            where[0] = path
        if tag != "pre" and element.text:
            current.append(element.text)
        elif element.text:
            current.append(element.text.replace("\n", "\u2028"))
        for child in element:
            walk(child, path)
            if child.tail:
                if not current:
                    where[0] = path
                current.append(child.tail)
        if block:
            flush()

    walk(root, ())
    flush()
    return lines


def _inline(text: str) -> str:
    """Collapse whitespace as a browser does; a line break in the source between two Chinese characters
    is dropped (the source was wrapped), other runs of whitespace become one space."""
    text = text.replace("\xa0", " ").replace("\u3000", " ")
    text = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef])[ \t]*[\r\n]+[ \t]*(?=[\u3000-\u9fff\uff00-\uffef])", "", text)
    return re.sub(r"[ \t\r\n\f]+", " ", text).replace("\u2028", "\n").strip()


def _body(lines: list[tuple[str, tuple]], heads: list[int]) -> list[str]:
    """The lines of the smallest element that holds at least SHARE of the article heads and more than one
    line (not the paragraph of a lone article head)."""
    heads_in: dict[int, int] = {}
    lines_in: dict[int, int] = {}
    depth: dict[int, int] = {}
    for index, (_, path) in enumerate(lines):
        for number, element in enumerate(path):
            lines_in[id(element)] = lines_in.get(id(element), 0) + 1
            depth[id(element)] = number
            if index in heads:
                heads_in[id(element)] = heads_in.get(id(element), 0) + 1
    needed = SHARE * len(heads)
    holders = [key for key, count in heads_in.items() if count >= needed and (count >= 2 or lines_in[key] >= 2)]
    chosen = max(holders, key=lambda key: depth[key]) if holders else None  # None: a page of one line
    body = [
        part
        for text, path in lines
        if chosen is None or any(id(element) == chosen for element in path)
        for part in text.split("\n")
        if part.strip()
    ]
    while body and len(body[-1]) <= 40 and PAGE_FURNITURE.search(body[-1]) and not re.search("[。；]", body[-1]):
        body.pop()  # 【打印本页】【关闭窗口】, 分享到, 责任编辑 under the text
    return body


def _first_head(lines: list[str]) -> int:
    return next((index for index, text in enumerate(lines) if ARTICLE_LINE.match(text)), len(lines))
