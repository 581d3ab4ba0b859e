"""Enterprise size (大中小微) by the 中小企业划型标准规定, read from the served document's own text.

Each item of 第四条 follows one pattern: "（十）餐饮业。从业人员300人以下或营业收入10000万元以下的为中小微型企业。其中，
从业人员100人及以上，且营业收入2000万元及以上的为中型企业；……的为小型企业；……的为微型企业。" The thresholds are parsed
from that text, so a revised standard uploaded with the same id is followed without a code change. "以下" excludes,
"及以上" includes; "或" means either, "且" both.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .model import Article, Item

SIZE_DOCUMENT = "sme_size"
RULES_ARTICLE = 4
REFERENCE_ARTICLE = 6  # 个体工商户和本规定以外的行业，参照本规定进行划型
SOLE_TRADER = re.compile(r"个体工商户|个体户|个体")


class Size(str, enum.Enum):
    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


class Metric(str, enum.Enum):
    STAFF = "从业人员"  # 人
    REVENUE = "营业收入"  # 万元
    ASSETS = "资产总额"  # 万元


SIZE_WORDS = {"中小微型企业": None, "中型企业": Size.MEDIUM, "小型企业": Size.SMALL, "微型企业": Size.MICRO}
TERM = re.compile(r"(从业人员|营业收入|资产总额)\s*([0-9]+(?:\.[0-9]+)?)\s*(?:人|万元)\s*(及以上|以下)")
CLAUSE = re.compile(r"([^。；，]*?(?:，且[^。；，]*?)*)的为(中小微型企业|中型企业|小型企业|微型企业)")


@dataclass(frozen=True)
class Term:
    metric: Metric
    threshold: float
    at_least: bool  # 及以上 (≥); else 以下 (<)

    def holds(self, value: float) -> bool:
        return value >= self.threshold if self.at_least else value < self.threshold


@dataclass(frozen=True)
class Condition:
    terms: tuple[Term, ...]
    all_of: bool  # 且: every term; 或: any term

    @property
    def metrics(self) -> set[Metric]:
        return {term.metric for term in self.terms}


@dataclass
class IndustryRule:
    """One item of 第四条: an industry and its conditions, with the item for citing."""

    name: str  # 餐饮业
    item: Item
    sme: Condition  # within 中小微型企业
    sizes: dict[Size, Condition]  # MEDIUM, SMALL, MICRO

    @property
    def metrics(self) -> set[Metric]:
        return self.sme.metrics.union(*(c.metrics for c in self.sizes.values()))


class SizeRuleError(ValueError):
    """An item of the standard that does not follow the pattern: reported to staff at publish time."""

    def __init__(self, message: str, industry: str = "") -> None:
        self.industry = industry  # the item's industry (餐饮业), when it has one
        super().__init__(message)


class MissingFactError(ValueError):
    """The rule needs a figure that was not given."""

    def __init__(self, rule: IndustryRule, missing: set[Metric]) -> None:
        self.rule = rule
        self.missing = missing
        super().__init__(
            f"{rule.name}的划型还需要：{'、'.join(m.value for m in sorted(missing, key=list(Metric).index))}"
        )


def parse_rules(article: Article) -> list[IndustryRule]:
    """The industries of 第四条, in order; SizeRuleError names an item that does not parse."""
    rules = []
    for paragraph in article.paragraphs:
        for item in paragraph.items:
            rules.append(parse_item(item))
    if not rules:
        raise SizeRuleError("第四条没有找到各行业的划型标准（应为“（一）行业。……的为中小微型企业……”）")
    return rules


def read_rules(article: Article) -> tuple[list[IndustryRule], list[SizeRuleError]]:
    """The industries of 第四条 that parse, and an error for each item that does not (the others still serve)."""
    rules, problems = [], []
    for paragraph in article.paragraphs:
        for item in paragraph.items:
            try:
                rules.append(parse_item(item))
            except SizeRuleError as error:
                problems.append(error)
    if not rules and not problems:
        problems.append(SizeRuleError("第四条没有找到各行业的划型标准（应为“（一）行业。……的为中小微型企业……”）"))
    return rules, problems


def check_standard(articles: list[Article]) -> list[str]:
    """What staff are told when the standard is published: each item of 第四条 that cannot be read (empty: all can)."""
    article = next((a for a in articles if a.number == RULES_ARTICLE and not a.sub), None)
    if article is None:
        return ["没有找到第四条（各行业划型标准）"]
    return [str(problem) for problem in read_rules(article)[1]]


def parse_item(item: Item) -> IndustryRule:
    name, _, body = item.text.partition("。")
    name = re.sub(r"^（[一二三四五六七八九十]+）", "", name).strip()
    found: dict[str | None, Condition] = {}
    for clause in CLAUSE.finditer(body):
        text = clause.group(1).removeprefix("其中，")
        terms = tuple(
            Term(Metric(metric), float(value), bound == "及以上") for metric, value, bound in TERM.findall(text)
        )
        if not terms:
            raise SizeRuleError(f"第四条{item.label}（{name}）有一句读不出指标：{text[:40]}", name)
        found[clause.group(2)] = Condition(terms, all_of="且" in text or len(terms) == 1)
    missing = [word for word in SIZE_WORDS if word not in found]
    if missing:
        raise SizeRuleError(f"第四条{item.label}（{name}）缺少“{'、'.join(missing)}”的标准", name)
    sizes = {SIZE_WORDS[word]: found[word] for word in ("中型企业", "小型企业", "微型企业")}
    return IndustryRule(name, item, found["中小微型企业"], sizes)


def classify(
    rule: IndustryRule, staff: float | None = None, revenue: float | None = None, assets: float | None = None
) -> Size:
    """The size of an enterprise by `rule` (revenue and assets in 万元); MissingFactError when a figure is needed."""
    values = {Metric.STAFF: staff, Metric.REVENUE: revenue, Metric.ASSETS: assets}

    def holds(condition: Condition) -> bool:
        known = [term.holds(values[term.metric]) for term in condition.terms if values[term.metric] is not None]
        if condition.all_of and not all(known):
            return False  # one known figure already fails 且
        if not condition.all_of and any(known):
            return True  # one known figure already meets 或
        missing = {t.metric for t in condition.terms if values[t.metric] is None}
        if missing:
            raise MissingFactError(rule, missing)
        return all(known) if condition.all_of else any(known)

    if not holds(rule.sme):
        return Size.LARGE
    for size in (Size.MEDIUM, Size.SMALL):
        if holds(rule.sizes[size]):
            return size
    return Size.MICRO


# Industries in owners' words → the standard's industry names
INDUSTRY_WORDS = {
    "餐饮业": ("饭馆", "餐馆", "饭店", "餐厅", "奶茶", "小吃", "快餐", "火锅", "烧烤", "食堂", "餐饮"),
    "住宿业": ("酒店", "宾馆", "旅馆", "民宿", "客栈", "住宿"),
    "零售业": (
        "超市",
        "便利店",
        "小卖部",
        "零售",
        "商店",
        "门店",
        "开店",
        "网店",
        "卖衣服",
        "药店",
        "卖菜",
        "水果店",
        "杂货",
    ),
    "批发业": ("批发", "贸易", "进出口", "经销", "代理商"),
    "软件和信息技术服务业": ("软件", "app", "APP", "系统开发", "信息技术", "IT", "做网站", "小程序"),
    "信息传输业": ("电信", "宽带", "互联网接入", "通信"),
    "建筑业": ("盖房子", "装修", "建筑", "施工", "工程队", "工程公司"),
    "工业": ("工厂", "开厂", "厂子", "小厂", "制造", "加工", "生产", "采矿", "发电", "自来水"),
    "交通运输业": ("运输", "物流", "货运", "客运", "跑车", "货车", "出租车"),
    "仓储业": ("仓储", "仓库"),
    "邮政业": ("快递", "邮政"),
    "房地产开发经营": ("房地产开发", "开发商", "楼盘"),
    "物业管理": ("物业",),
    "租赁和商务服务业": ("租赁", "咨询", "广告", "中介", "人力资源", "会计", "律师", "商务服务"),
    "农、林、牧、渔业": ("种地", "种植", "养殖", "养猪", "养鸡", "养鱼", "果园", "农场", "林场", "渔"),
    # 第三条: 其他未列明行业 includes 居民服务、修理和其他服务业, 文化、体育和娱乐业, 科学研究和技术服务业 …
    "其他未列明行业": (
        "理发",
        "美发",
        "美容",
        "美甲",
        "洗车",
        "修车",
        "汽修",
        "家政",
        "保洁",
        "维修",
        "健身",
        "摄影",
        "洗衣",
        "婚庆",
        "网吧",
        "KTV",
        "科研",
        "检测",
    ),
}


def sole_trader(text: str) -> tuple[str, bool]:
    """The industry words without 个体户 / 个体工商户, and whether they named one (sized by reference: 第六条)."""
    rest = SOLE_TRADER.sub("", text).strip(" ，,、的")
    return rest, SOLE_TRADER.search(text) is not None


def industry_of(text: str, rules: list[IndustryRule]) -> IndustryRule | None:
    """The rule for an industry named in owners' words (开饭馆 → 餐饮业) or by the standard's own name."""
    by_name = {rule.name: rule for rule in rules}
    name = industry_name(text, list(by_name))
    return by_name[name] if name is not None else None


def industry_name(text: str, names: list[str]) -> str | None:
    """Which of the standard's industry `names` `text` means, by the name itself (餐饮, 工业) or owners' words."""
    for name in names:
        short = name.rstrip("业")
        if name and (short if len(short) >= 2 else name) in text:  # 工业: not every 员工
            return name
    for name, words in INDUSTRY_WORDS.items():
        if name in names and any(word in text for word in words):
            return name
    return None
