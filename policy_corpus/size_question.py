"""Owners' words about their enterprise's size: whether a message asks 算不算小微企业, and the figures it gives
(15个人, 员工二十来个, 一年营业额三百来万, 1.2亿, 八十万) read as 从业人员 (人) and 营业收入 / 资产总额 (万元).

Rough figures get a reading (三百来万 → 300万元, 十几个人 → 15人) and the range they allow, so that a reply can say
which figure it used and when the size would change within that range.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .size import INDUSTRY_WORDS, SOLE_TRADER, Metric

# ---------------------------------------------------------------- is it a size question?

_SIZE = r"(?:(?:小微|小型|微型|中小微?|中型|大型)型?(?:企业)?|[小中大]企业)"
_STOP = r"[^，。？！?!,；;]"
SIZE_QUESTIONS = [
    # 是不是小微企业, 算不算中小企业, 属不属于小型企业 …
    re.compile(rf"(?:是不是|算不算|属不属于|够不够|符不符合|能不能算|是否|可否算){_STOP}{{0,4}}{_SIZE}"),
    # 算小微企业吗, 属于中小企业吗, 符合小微企业标准吗 (not "我们是小微企业，贷款……")
    re.compile(
        rf"(?:算|属于|是|够|符合|达到|认定为?|划为|评为|归为|够得上){_STOP}{{0,3}}?{_SIZE}"
        r"(?:标准|条件)?(?:了|的)?\s*(?:吗|么|嘛|呢|不|没|\?|$)"
    ),
    # 算小型还是微型, 是中型企业还是小型企业: a choice between sizes
    re.compile(rf"(?:算|属于|是|划为|归为){_STOP}{{0,3}}?{_SIZE}{_STOP}{{0,2}}还是{_STOP}{{0,3}}?{_SIZE}"),
    # 算什么规模, 属于哪类企业, 划型, 小微企业的标准
    re.compile(
        r"划型|大中小微|(?:什么|多大|哪种|哪个)规模|规模(?:怎么|如何)(?:算|认定|划分|划)"
        r"|(?:算|属于|是)(?:什么|哪种|哪类|哪一类|哪个)(?:类型|规模)?的?企业"
        r"|(?:小微|中小|小型|微型)企业的?(?:划分|划型|认定)?标准"
    ),
]


def is_size_question(text: str) -> bool:
    """Whether `text` asks what size an enterprise is (算小微企业吗, 属于中小企业吗, 划型), not merely mentions one
    ("小微企业贷款有什么优惠" is a policy question)."""
    text = normalize(text)
    return any(pattern.search(text) for pattern in SIZE_QUESTIONS)


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    """One figure the standard uses: `value` is what the size is worked out with (人, 万元)."""

    value: float
    shown: str  # as the reply states it: 15人, 300万元, 不到20人
    said: str = ""  # the owner's words when they were read (三百来万, 十几个), for "按300万元算"
    low: float | None = None  # the range rough words allow (十几 → 11..19); None: exact
    high: float | None = None


@dataclass
class Reading:
    """What one message says: the figures by metric, and the text left once figures, industry words and filler
    are taken out (empty or nearly: the message only gave facts)."""

    figures: dict[Metric, Figure] = field(default_factory=dict)
    rest: str = ""


DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
PLACES = {"十": 10, "百": 100, "千": 1000}
SCALES = {"万": 1e4, "w": 1e4, "W": 1e4, "百万": 1e6, "千万": 1e7, "亿": 1e8}
_CN = "零〇一二两三四五六七八九"
FIGURE = re.compile(
    r"(?P<before>不到|不足|少于|低于|不满|没到|没有|超过|多于|高于|大概|大约|约|差不多|将近|接近)?"
    rf"(?P<number>\d+(?:\.\d+)?|[{_CN}十几][{_CN}十百千几]*(?:点[{_CN}]+)?)"
    r"(?P<rough>来|多|余)?"
    r"(?P<scale>千万|百万|万|亿|[wW](?![a-zA-Z]))?"
    r"(?P<tail>(?<=万)[一二两三四五六七八九]千?(?![十百万]))?"  # 一万二, 两万五千
    r"(?P<rough2>来|多|余)?"
    r"(?P<unit>块钱|块|元|个人|名|位|人(?!民)|个(?!月|小时|星期|工作日))?"
    r"(?P<after>左右|上下|以内|以下|出头)?"
)
NOT_A_FIGURE_AFTER = set("年月日号岁天家条项次%倍平米层辆台吨度点周")
STAFF_WORDS = re.compile(r"员工|职工|工人|伙计|店员|雇员|雇了|人手|人数|从业人员|员工数|招了")
STAFF_AFTER = re.compile(r"(?:员工|职工|工人|伙计|店员|雇员|人)")  # 七八个员工
# which money a figure is: the nearest of these words before it in its clause, else the first after it
MONEY_WORDS = re.compile(
    r"(?P<assets>资产)"
    r"|(?P<revenue>营业额|营业收入|收入|营收|流水|销售额|销售|产值|卖)"
    r"|(?P<other>注册资本|注册资金|资本|投资|投入|贷|借|欠|工资|房租|租金|税|罚|补贴|成本|利润|赚|挣|亏)"
)
CLAUSE_END = re.compile(r"[，。；;！!？?,\n]")
FILLER = re.compile(
    r"那要是|要是|如果|假如|换成|改成|的话|我们|我家|咱们|我|咱|公司|企业|单位|一共|总共|全年|每年|一年|去年|今年|"
    r"营业额|营业收入|收入|营收|流水|销售额|资产总额|总资产|资产|员工|职工|从业人员|人数|工人|大概|大约|差不多|左右|"
    r"开了?|做|搞|干|家|个|是|有|在|和|还有|约|呢|吧|啊|呀|哦|嗯|了|的|那|人|元|块|万|亿|[，。；;！!？?,.、\s]"
)


def normalize(text: str) -> str:
    """Full-width digits and punctuation as ASCII (１５ → 15), thousands separators dropped (1,200 → 1200)."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def read_figures(text: str, expect: tuple[Metric, ...] = ()) -> Reading:
    """The staff, revenue and assets figures in `text` (the first of each); `expect`: the figures just asked for,
    so that "20个" is people when 从业人员 was asked, and a bare number ("20", "300") is the one figure asked."""
    text = normalize(text)
    reading = Reading()
    taken: list[tuple[int, int]] = []
    for match in FIGURE.finditer(text):
        if not match.group("number") or _not_a_figure(text, match):
            continue
        metric = _metric(match, text, expect)
        if metric is None:
            continue
        taken.append(match.span())
        if metric not in reading.figures:
            reading.figures[metric] = _figure(match, metric)
    reading.rest = _rest(text, taken)
    return reading


def _not_a_figure(text: str, match: re.Match[str]) -> bool:
    """第三条, 2023年, 3个月, 零售 and 零食: numbers that are not a figure of the enterprise."""
    if match.start() > 0 and text[match.start() - 1] == "第":
        return True
    if match.group("number") in ("零", "〇") and not match.group("scale"):
        return True  # 做零售的, 卖零食的: nobody gives a figure as a bare 零
    if match.group("unit") or match.group("after"):
        return False
    following = text[match.end() : match.end() + 1]
    return following in NOT_A_FIGURE_AFTER


def _clause(text: str, match: re.Match[str]) -> tuple[str, str]:
    """The words of the clause a figure stands in, before and after it (营业额三百来万 → 营业额, "")."""
    ends = [m.end() for m in CLAUSE_END.finditer(text, 0, match.start())]
    end = CLAUSE_END.search(text, match.end())
    return text[ends[-1] if ends else 0 : match.start()], text[match.end() : end.start() if end else len(text)]


def _metric(match: re.Match[str], text: str, expect: tuple[Metric, ...]) -> Metric | None:
    before, after = _clause(text, match)
    unit, scale = match.group("unit") or "", match.group("scale")
    if unit in ("个人", "名", "位", "人"):
        return Metric.STAFF
    if unit == "个":
        staff = STAFF_WORDS.search(before) or STAFF_AFTER.match(after) or Metric.STAFF in expect
        return Metric.STAFF if staff else None
    kind = _money_word(before, after)
    if not scale and unit not in MONEY_UNITS:  # a bare number: 员工20, 营业额300 (万元), or "20" when asked for
        if STAFF_WORDS.search(before):
            return Metric.STAFF
        if kind is not None:
            return MONEY_KINDS.get(kind)
        only_number = not FILLER.sub("", text.replace(match.group(0), "", 1))
        return expect[0] if only_number and len(expect) == 1 else None
    return Metric.REVENUE if kind is None else MONEY_KINDS.get(kind)  # 一年三百万: revenue


MONEY_KINDS = {"assets": Metric.ASSETS, "revenue": Metric.REVENUE}  # "other": 注册资本, 贷款 … are no figure of size


def _money_word(before: str, after: str) -> str | None:
    """Which money the nearest money word before a figure (else the first after it) names: assets, revenue, other."""
    found = list(MONEY_WORDS.finditer(before))
    word = found[-1] if found else MONEY_WORDS.search(after)
    return word.lastgroup if word is not None else None


MONEY_UNITS = ("元", "块", "块钱")
ABOUT = ("大概", "大约", "约", "差不多")
BELOW = ("不到", "不足", "少于", "低于", "不满", "没到", "没有")
ABOVE = ("超过", "多于", "高于")


def _figure(match: re.Match[str], metric: Metric) -> Figure:
    number, place, low, high = _number(match.group("number"))
    rough = match.group("rough") or match.group("rough2") or ""
    before, after = match.group("before") or "", match.group("after") or ""
    if rough in ("多", "余") or after == "出头":  # 二十多 → 21..29, read as 25
        low, high = number + place * 0.01, number + place * 0.99
        number += place / 2
    elif rough == "来":  # 三百来万 → about 300万
        low, high = number * 0.9, number * 1.1
    unit, scale = match.group("unit") or "", SCALES.get(match.group("scale") or "", 1.0)
    money = metric is not Metric.STAFF
    # money in 万元: 300万 → 300, 500000元 → 50, 1.2亿 → 12000; a bare number (营业额300) is taken as 万元
    factor = scale / 1e4 if money and (scale > 1 or unit in MONEY_UNITS) else scale
    value = number * factor + _tail(match.group("tail") or "", scale) / (1e4 if money else 1)
    if low is not None and high is not None:
        low, high = low * factor, high * factor
    if before in ABOUT or after in ("左右", "上下"):
        low, high = value * 0.9, value * 1.1
    elif before in ("将近", "接近"):
        low, high = value * 0.9, value
    if not money and low is not None:
        value = float(int(value + 0.5))  # people are whole: 七八个 → 8
    shown = f"{_plain(value)}{'万元' if money else '人'}"
    step = 0.01 if money else 1
    if before in BELOW or after in ("以内", "以下"):
        shown, low, high, value = f"不到{shown}", 0.0, value - step, value - step
    elif before in ABOVE:
        shown, low, high, value = f"超过{shown}", value + step, value * 1000, value + step
    read = low is not None or (money and not (unit or match.group("scale")))  # rough words, or 万元 assumed
    return Figure(value, shown, match.group(0) if read else "", low, high)


def _number(text: str) -> tuple[float, float, float | None, float | None]:
    """(value, place of its last digit, low, high): 二十 → (20, 10, None, None), 十几 → (15, 1, 11, 19),
    三四十 → (35, 10, 30, 40), 300 → (300, 100, None, None)."""
    if text[0].isdigit():
        value = float(text)
        digits = text.split(".")[0]
        place = 10 ** (len(digits) - len(digits.rstrip("0"))) if "." not in text and value else 1
        return value, place, None, None
    low = high = None
    if "几" in text:
        low, high = _cn(text.replace("几", "一")), _cn(text.replace("几", "九"))
        text = text.replace("几", "五")
    pair = re.search(rf"([{_CN[2:]}])([{_CN[2:]}])(?=[十百千]|$)", text)
    if pair and "点" not in text and len(text) > 2:  # 三四十, 七八个 (not 十五: one digit after a place)
        low = _cn(text[: pair.start()] + pair.group(1) + text[pair.end() :])
        high = _cn(text[: pair.start()] + pair.group(2) + text[pair.end() :])
        return (low + high) / 2, _place(text), low, high
    if pair and len(text) == 2:  # 七八
        low, high = DIGITS[pair.group(1)], DIGITS[pair.group(2)]
        return (low + high) / 2, 1, low, high
    return _cn(text), _place(text), low, high


def _place(text: str) -> float:
    """The place of a Chinese numeral's last digit: 二十 → 10, 三百 → 100, 十五 → 1."""
    return PLACES.get(text[-1], 1)


def _cn(text: str) -> float:
    """一百二十 → 120, 三百五 → 350 (spoken: the digit after 百 is tens), 一千零二 → 1002, 一点二 → 1.2."""
    whole, _, fraction = text.partition("点")
    total, digit, place, zero = 0, None, 0, False
    for char in whole:
        if char in PLACES:
            total += (1 if digit is None else digit) * PLACES[char]
            digit, place, zero = None, PLACES[char], False
        elif DIGITS[char] == 0:
            zero = True
        else:
            digit = DIGITS[char]
    if digit is not None:
        total += digit * place // 10 if place >= 100 and not zero else digit
    if fraction:
        total += float("0." + "".join(str(DIGITS[c]) for c in fraction))
    return float(total)


def _tail(tail: str, scale: float) -> float:
    """一万二 → 2000 (spoken: the digit after 万 is thousands), 两万五千 → 5000."""
    if not tail:
        return 0.0
    return DIGITS[tail[0]] * scale / 10


def _plain(value: float) -> str:
    """300.0 → 300, 1.25 → 1.25."""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


INDUSTRY_TERMS = sorted({word for words in INDUSTRY_WORDS.values() for word in words} | set(INDUSTRY_WORDS), key=len)


def _rest(text: str, taken: list[tuple[int, int]]) -> str:
    for start, end in reversed(taken):
        text = text[:start] + " " + text[end:]
    for word in reversed(INDUSTRY_TERMS):
        text = text.replace(word, " ")
    text = SOLE_TRADER.sub(" ", text)
    return FILLER.sub("", text)
