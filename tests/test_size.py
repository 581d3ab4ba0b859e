"""Enterprise size by the 中小企业划型标准规定 (`policybot size`), read from the served document's 第四条."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from policy_corpus.model import Item
from policy_corpus.size import Size, classify, parse_item

# (industry as typed, staff, revenue 万元, assets 万元) → (size, item) by the standard's own table
CASES = [
    ("农、林、牧、渔业", None, 49, None, "micro", 1),
    ("养猪", None, 50, None, "small", 1),  # 50万元及以上 includes 50
    ("工业", 20, 300, None, "small", 2),  # both bounds of 小型 are 及以上
    ("开厂", 19, 5000, None, "micro", 2),  # 从业人员20人以下: either figure below makes it micro
    ("工业", 1000, 40000, None, "large", 2),  # neither 1000人以下 nor 40000万元以下
    ("建筑业", None, 6000, 5000, "medium", 3),
    ("装修", None, 300, 299, "micro", 3),
    ("批发业", 5, 1000, None, "small", 4),
    ("零售业", 50, 500, None, "medium", 5),
    ("开超市", 9, 2000, None, "micro", 5),
    ("交通运输业", 20, 200, None, "small", 6),
    ("仓储业", 100, 1000, None, "medium", 7),
    ("快递", 19, 100, None, "micro", 8),
    ("住宿业", 10, 100, None, "small", 9),
    ("开饭馆", 15, 300, None, "small", 10),
    ("餐饮业", 300, 20000, None, "large", 10),
    ("信息传输业", 100, 1000, None, "medium", 11),
    ("做软件", 10, 50, None, "small", 12),
    ("软件和信息技术服务业", 10, 49, None, "micro", 12),
    ("房地产开发经营", None, 100, 2000, "small", 13),
    ("物业管理", 100, 500, None, "small", 14),
    ("租赁和商务服务业", 10, None, 100, "small", 15),
    ("其他未列明行业", 100, None, None, "medium", 16),
    ("其他未列明行业", 9, None, None, "micro", 16),
]


# 第四条 typed from the standard's text: industry → (its two figures, 中小微型 (either below), 中型 (both at least),
# 小型 (both at least)); one figure for 农、林、牧、渔业 and 其他未列明行业. 以下 excludes, 及以上 includes.
TABLE = {
    "农、林、牧、渔业": (("revenue",), (20000,), (500,), (50,)),
    "工业": (("staff", "revenue"), (1000, 40000), (300, 2000), (20, 300)),
    "建筑业": (("revenue", "assets"), (80000, 80000), (6000, 5000), (300, 300)),
    "批发业": (("staff", "revenue"), (200, 40000), (20, 5000), (5, 1000)),
    "零售业": (("staff", "revenue"), (300, 20000), (50, 500), (10, 100)),
    "交通运输业": (("staff", "revenue"), (1000, 30000), (300, 3000), (20, 200)),
    "仓储业": (("staff", "revenue"), (200, 30000), (100, 1000), (20, 100)),
    "邮政业": (("staff", "revenue"), (1000, 30000), (300, 2000), (20, 100)),
    "住宿业": (("staff", "revenue"), (300, 10000), (100, 2000), (10, 100)),
    "餐饮业": (("staff", "revenue"), (300, 10000), (100, 2000), (10, 100)),
    "信息传输业": (("staff", "revenue"), (2000, 100000), (100, 1000), (10, 100)),
    "软件和信息技术服务业": (("staff", "revenue"), (300, 10000), (100, 1000), (10, 50)),
    "房地产开发经营": (("revenue", "assets"), (200000, 10000), (1000, 5000), (100, 2000)),
    "物业管理": (("staff", "revenue"), (1000, 5000), (300, 1000), (100, 500)),
    "租赁和商务服务业": (("staff", "assets"), (300, 120000), (100, 8000), (10, 100)),
    "其他未列明行业": (("staff",), (300,), (100,), (10,)),
}


def boundary_cases() -> list:
    """Each line of the table at its threshold (及以上: the larger size) and one below it on each figure (以下: the
    smaller size): 大型 at the 中小微型 line, 中型 / 小型 either side of the 中型 line, 小型 / 微型 of the 小型 line."""
    cases = []
    for item, (industry, (metrics, sme, medium, small)) in enumerate(TABLE.items(), 1):
        for line, at, below in ((sme, "large", "medium"), (medium, "medium", "small"), (small, "small", "micro")):
            cases.append(pytest.param(industry, dict(zip(metrics, line)), at, item, id=f"{industry}-{line}-{at}"))
            for metric, value in zip(metrics, line):
                values = dict(zip(metrics, line)) | {metric: value - 1}
                cases.append(pytest.param(industry, values, below, item, id=f"{industry}-{metric}{value - 1}-{below}"))
    return cases


@pytest.fixture
def size_cli(served_config, monkeypatch, capsys):
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(served_config.data_path))

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["size", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.mark.parametrize(("industry", "staff", "revenue", "assets", "size", "item"), CASES)
def test_size_follows_the_standard(size_cli, industry, staff, revenue, assets, size, item):
    args = ["--industry", industry, "--json"]
    for flag, value in (("--staff", staff), ("--revenue", revenue), ("--assets", assets)):
        if value is not None:
            args += [flag, str(value)]
    code, out, _ = size_cli(*args)
    assert code == 0
    data = json.loads(out)
    assert data["size"] == size
    numeral = "一二三四五六七八九十"[item - 1] if item <= 10 else "十" + "一二三四五六"[item - 11]
    assert data["citation"] == f"《中小企业划型标准规定》第四条第（{numeral}）项"
    assert data["text"].startswith(f"（{numeral}）{data['industry']}。")


@pytest.mark.parametrize(("industry", "values", "size", "item"), boundary_cases())
def test_size_at_each_boundary_of_the_standard(size_cli, industry, values, size, item):
    code, out, _ = size_cli("--industry", industry, "--json", *(f"--{k}={v}" for k, v in values.items()))
    assert code == 0
    data = json.loads(out)
    assert (data["industry"], data["size"]) == (industry, size)
    numeral = "一二三四五六七八九十"[item - 1] if item <= 10 else "十" + "一二三四五六"[item - 11]
    assert data["citation"] == f"《中小企业划型标准规定》第四条第（{numeral}）项"


def test_the_boundary_table_covers_every_industry_of_the_served_standard(assistant):
    from policy_corpus.size import RULES_ARTICLE, SIZE_DOCUMENT, parse_rules

    rules = parse_rules(assistant.article(SIZE_DOCUMENT, RULES_ARTICLE).article)
    assert [rule.name for rule in rules] == list(TABLE)
    assert len(boundary_cases()) == 14 * 9 + 2 * 6


def test_a_missing_figure_is_asked_for_and_an_unknown_industry_is_named(size_cli):
    code, _, err = size_cli("--industry", "开饭馆", "--staff", "15")
    assert code == 2 and "营业收入" in err and "--revenue" in err
    code, _, err = size_cli("--industry", "搞直播的", "--staff", "3")
    assert code == 2 and "不认识行业" in err


def test_a_revised_standard_is_followed_without_a_code_change():
    revised = "（十）餐饮业。从业人员300人以下的为中小微型企业。其中，从业人员100人及以上的为中型企业；从业人员20人及以上的为小型企业；从业人员20人以下的为微型企业。"
    rule = parse_item(Item(10, revised))
    assert classify(rule, staff=15) is Size.MICRO  # 15 people: small by the 2011 standard, micro by this one
    assert classify(rule, staff=20) is Size.SMALL


def test_a_sole_trader_is_sized_by_reference_to_the_standard(size_cli):
    """个体户开饭馆: the 餐饮业 thresholds, and 第六条 (个体工商户……参照本规定进行划型) said with it."""
    code, out, _ = size_cli("--industry", "个体户开饭馆", "--staff", "3", "--revenue", "50", "--json")
    data = json.loads(out)
    assert code == 0 and (data["industry"], data["size"]) == ("餐饮业", "micro")
    assert data["reference"]["citation"] == "《中小企业划型标准规定》第六条"
    assert "个体工商户" in data["reference"]["text"] and "参照" in data["reference"]["text"]
    code, out, _ = size_cli("--industry", "开饭馆", "--staff", "3", "--revenue", "50", "--json")
    assert "reference" not in json.loads(out)
    code, out, _ = size_cli("--industry", "个体户开饭馆", "--staff", "3", "--revenue", "50")
    assert code == 0 and "参照" in out and "第六条" in out
    code, _, err = size_cli("--industry", "个体户", "--staff", "3")
    assert code == 2 and "请写明行业" in err
