"""Law in force, learned from the texts: a law repealed by a later one (《…》同时废止) is never searched or cited as
current, and a law that takes effect later is not current before its day."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.assistant import Assistant
from bot.render import article_plain
from embeddings.build import make_index_builder
from policy_corpus.config import load_config
from policy_corpus.library import Library
from policy_corpus.repeal import repealed_laws, replaced_series
from policy_corpus.sources import load_sources

from .conftest import PROJECT, extract_laws

SUBSET = [
    "行政法规/个体工商户条例(2016-02-06).md",
    "行政法规/促进个体工商户发展条例(2022-10-01).md",
    "行政法规/增值税暂行条例(2017-11-19).md",
    "经济法/增值税法(2024-12-25).md",
    "民法典/附则.md",
    "司法解释/最高人民法院关于适用《合同法》若干问题的解释（二）(2009-04-24).md",
    "司法解释/最高人民法院关于审理劳动争议案件适用法律若干问题的解释(2001-04-16).md",
    "司法解释/最高人民法院关于审理劳动争议案件适用法律问题的解释（一）(2020-12-29).md",
]
CONTRACT_LAW_RULES = "司法解释/最高人民法院关于适用《合同法》若干问题的解释(二)(2009-04-24)"
OLD_LABOUR_RULES = "司法解释/最高人民法院关于审理劳动争议案件适用法律若干问题的解释(2001-04-16)"
LABOUR_RULES = "司法解释/最高人民法院关于审理劳动争议案件适用法律问题的解释(一)(2020-12-29)"
OLD_SOLE_TRADERS = "行政法规/个体工商户条例(2016-02-06)"
OLD_VAT = "行政法规/增值税暂行条例(2017-11-19)"
VAT_LAW = "经济法/增值税法(2024-12-25)"


def publish_subset(root, monkeypatch, today: date) -> Assistant:
    monkeypatch.setattr("policy_corpus.repeal.today", lambda: today)
    collection = root / "collection"
    extract_laws(SUBSET, collection)
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(root / "data")})
    Library(config.data_path).publish(load_sources([collection]).documents, make_index_builder(config))
    return Assistant(config)


@pytest.fixture(scope="module")
def served_today(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    yield publish_subset(tmp_path_factory.mktemp("repeal"), monkeypatch, date(2026, 11, 30))
    monkeypatch.undo()


def test_the_repealing_clause_is_read():
    assert repealed_laws("本条例自2022年11月1日起施行。《个体工商户条例》同时废止。") == ["个体工商户条例"]
    assert repealed_laws("本法自2026年1月1日起施行。《中华人民共和国增值税暂行条例》同时废止。") == ["增值税暂行条例"]
    assert repealed_laws("依照《公司法》的规定予以登记。") == []


def test_a_repealed_law_is_not_in_force_and_says_by_what(served_today):
    infos = {info.id: info for info in served_today.documents()}
    assert not infos[OLD_SOLE_TRADERS].in_force
    assert infos[OLD_SOLE_TRADERS].repealed_by == "《促进个体工商户发展条例》第三十九条"
    assert infos[OLD_VAT].repealed_by == "《增值税法》第三十八条"
    assert infos[VAT_LAW].in_force and not infos[VAT_LAW].repealed_by
    view = served_today.article(OLD_SOLE_TRADERS, 2)  # still reachable by id, and says so
    assert article_plain(view).startswith("【已废止】本法规已被《促进个体工商户发展条例》第三十九条废止")


def test_an_interpretation_lapses_with_the_law_it_interprets(served_today):
    """民法典第一千二百六十条 repeals 合同法: the Supreme Court's interpretations of 合同法 are not current either."""
    infos = {info.id: info for info in served_today.documents()}
    assert not infos[CONTRACT_LAW_RULES].in_force
    assert infos[CONTRACT_LAW_RULES].repealed_by == "《民法典》第一千二百六十条"


def test_a_new_series_of_interpretations_replaces_the_old(served_today):
    """The labour-dispute interpretations of 2001–2013 gave way to the （一） of 2020 under the same title."""
    infos = {info.id: info for info in served_today.documents()}
    assert not infos[OLD_LABOUR_RULES].in_force
    assert infos[OLD_LABOUR_RULES].repealed_by == "《最高人民法院关于审理劳动争议案件适用法律问题的解释（一）》"
    assert infos[LABOUR_RULES].in_force
    for question in ("员工说我拖欠加班费，这个要谁拿证据", "合同签完原材料暴涨，继续做下去明显不公平，能要求改价吗"):
        answer = served_today.ask(question, top_k=5)
        cited = {c.doc_id for c in answer.citations + answer.more}
        assert not cited & {OLD_LABOUR_RULES, CONTRACT_LAW_RULES}, question


def test_a_series_numbered_from_the_start_is_not_replaced():
    """公司法 interpretations （一） to （五） stand side by side; only a （一） after an unnumbered first starts anew."""
    company = "最高人民法院关于适用《中华人民共和国公司法》若干问题的规定"
    labour = "最高人民法院关于审理劳动争议案件适用法律"
    documents = [
        ("c1", company + "（一）", "2014-02-20"),
        ("c2", company + "（二）", "2020-12-29"),
        ("c5", company + "（五）", "2020-12-29"),
        ("l0", labour + "若干问题的解释", "2001-04-16"),
        ("l4", labour + "若干问题的解释（四）", "2013-01-18"),
        ("l1", labour + "问题的解释（一）", "2020-12-29"),
    ]
    assert replaced_series(documents) == {"l0": "l1", "l4": "l1"}


def test_a_repealed_law_looked_up_by_name_is_shown_as_repealed(served_today):
    """「个体工商户条例第二条」: no law in force has that name, and the repealed one is found, marked 已废止."""
    assert served_today.resolve_document("个体工商户条例", 2) == OLD_SOLE_TRADERS
    assert served_today.resolve_document("促进个体工商户发展条例", 2) != OLD_SOLE_TRADERS


def test_a_repealed_law_is_never_cited(served_today):
    for question in (
        "个体户的经营者能不能换成家里人",
        "开个体户要不要交增值税",
        "个体工商户可以起字号吗",
        "小规模纳税人增值税税率是多少",
    ):
        answer = served_today.ask(question, top_k=5)
        cited = {c.doc_id for c in answer.citations + answer.more}
        assert not cited & {OLD_SOLE_TRADERS, OLD_VAT}, question


def test_article_json_carries_in_force_and_repealed_by(served_today, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(served_today.config.data_path))
    assert main(["article", OLD_SOLE_TRADERS, "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["in_force"] is False and data["repealed_by"] == "《促进个体工商户发展条例》第三十九条"
    assert main(["article", VAT_LAW, "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["in_force"] is True and data["repealed_by"] is None


def test_a_law_taking_effect_later_is_not_current_before_its_day(tmp_path, monkeypatch):
    before = publish_subset(tmp_path, monkeypatch, date(2025, 6, 1))
    infos = {info.id: info for info in before.documents()}
    assert not infos[VAT_LAW].in_force and infos[VAT_LAW].takes_effect == "2026-01-01"
    assert infos[OLD_VAT].in_force  # the law that will repeal it is not in force yet
    assert article_plain(before.article(VAT_LAW, 1)).startswith("【尚未施行】本法规自2026-01-01起施行")
