"""`policybot chat`, `policybot ask` and `policybot serve` through bot.cli.main."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from bot.cli import build_parser, main
from bot.texts import ABSTAIN_TEXT, CHITCHAT_TEXT, HELLO_TEXT, NOT_CHINESE_TEXT, THANKS_TEXT

from .conftest import PROJECT

LOAN_QUESTION = "银行贷款到期了，能不能不还本金直接续贷？"
HUNAN_11 = "《湖南省实施〈中小企业促进法〉办法》第十一条"


@pytest.fixture
def cli(served_config, assistant, monkeypatch):
    """main() on the served corpus, reusing the session's assistant instead of loading the model again."""
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(served_config.data_path))
    monkeypatch.setattr("bot.cli.load_assistant", lambda config: assistant)
    level = logging.getLogger().level
    yield main
    logging.getLogger().setLevel(level)  # chat and ask quieten the root logger


def chat(cli, monkeypatch, capsys, *lines: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
    assert cli(["chat"]) == 0
    return capsys.readouterr().out


def test_chat_answers_looks_up_and_lists(cli, monkeypatch, capsys):
    out = chat(
        cli, monkeypatch, capsys, LOAN_QUESTION, "/article 11", "/docs", "促进法第十九条", "/article", "/quit", "/docs"
    )
    assert out.startswith("您好") and "不构成法律意见" in out
    assert f"{HUNAN_11}第一款第（七）项【金融机构支持】\n" in out  # the answer
    assert f"{HUNAN_11}【金融机构支持】\n" in out  # the whole article
    assert "（一）增加小型微型企业融资规模和比例" in out
    assert "《中小企业促进法》  编号 sme_law" in out
    assert out.count("收录的文件（6 件）") == 1  # nothing is read after /quit
    assert "《中小企业促进法》第十九条" in out
    assert "用法：/article 条号" in out


def test_chat_a_lookup_naming_the_paragraph_and_item_shows_the_article(cli, monkeypatch, capsys):
    out = chat(cli, monkeypatch, capsys, "第十一条第一款第（七）项")
    assert f"{HUNAN_11}【金融机构支持】\n" in out  # the whole article, not a search
    assert "（七）" in out and "接着上一个问题" not in out


def test_chat_ends_at_end_of_input(cli, monkeypatch, capsys):
    out = chat(cli, monkeypatch, capsys, "/diff 11", "/article sme_law 999")
    assert "[-银行-]{+金融+}" in out
    assert "没有第九百九十九条" in out


def test_ask_json_shape(cli, capsys):
    assert cli(["ask", LOAN_QUESTION, "--json", "--top", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"question", "abstained", "citations", "answer"}
    assert data["question"] == LOAN_QUESTION and data["abstained"] is False
    assert len(data["citations"]) == 2
    best = data["citations"][0]
    assert set(best) == {"doc", "article", "title", "paragraph", "item", "score"}
    assert (best["doc"], best["article"], best["title"], best["paragraph"], best["item"]) == (
        "hunan",
        11,
        "金融机构支持",
        1,
        7,
    )
    assert data["citations"][0]["score"] >= data["citations"][1]["score"]
    assert data["answer"].startswith(HUNAN_11)


def test_ask_plain_is_the_chat_answer(cli, monkeypatch, capsys):
    assert cli(["ask", LOAN_QUESTION]) == 0
    plain = capsys.readouterr().out.strip()
    assert plain in chat(cli, monkeypatch, capsys, LOAN_QUESTION)


def test_serve_without_token_says_what_to_do(cli, monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert cli(["serve"]) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err


def test_webhook_mode_needs_url_and_secret(cli, monkeypatch, capsys, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("telegram:\n  mode: webhook\n  webhook_url: https://example.org/hook\n", encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    assert cli(["--config", str(config), "serve"]) == 2
    assert "webhook_secret" in capsys.readouterr().err


def test_every_command_is_documented():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    usage = build_parser().format_help()
    names = re.search(r"\{([a-z,]+)\}", usage).group(1).split(",")
    assert {"ask", "chat", "serve"} <= set(names)
    for name in names:
        assert f"policybot {name}" in readme, f"README does not show `policybot {name}`"


def test_chat_follow_up_is_answered_in_context_and_new_clears_it(cli, monkeypatch, capsys):
    out = chat(cli, monkeypatch, capsys, LOAN_QUESTION, "那担保呢？", "/new", "那担保呢？")
    assert "接着上一个问题（金融机构支持）回答" in out
    assert out.count("接着上一个问题") == 1  # after /new the same words are a new question
    assert "好的，请说您的新问题。" in out
    assert re.search(r"第十四条(第.款)?【融资担保】", out.split("接着上一个问题")[1].split("好的，请说您的新问题。")[0])


def test_chat_undecodable_bytes_after_a_question_are_not_a_follow_up(cli, monkeypatch, capsys):
    """Bytes the terminal could not decode arrive as lone surrogates: noise, declined, not read as 「接着上一个问题」."""
    out = chat(cli, monkeypatch, capsys, LOAN_QUESTION, "\x00\udcff\udcfe 啊啊啊")
    assert "接着上一个问题" not in out
    assert out.rstrip().endswith(ABSTAIN_TEXT.splitlines()[-1])


def test_chat_a_question_without_chinese_is_asked_again_in_chinese(cli, monkeypatch, capsys):
    """English or a bare link: the texts are Chinese, so the owner is asked to write in Chinese, and the question
    before stays the one a follow-up leans on."""
    out = chat(
        cli, monkeypatch, capsys, LOAN_QUESTION, "Can I renew my loan without repaying?", "https://e.cn/x", "那担保呢？"
    )
    assert out.count(NOT_CHINESE_TEXT) == 2
    assert "接着上一个问题（金融机构支持）回答" in out


def test_chat_greetings_and_thanks_are_answered_in_kind_and_keep_the_context(cli, monkeypatch, capsys):
    out = chat(cli, monkeypatch, capsys, "你好，在吗？", "我想咨询一下", LOAN_QUESTION, "好的，谢谢！", "那担保呢？")
    assert out.count(HELLO_TEXT) == 2 and out.count(THANKS_TEXT) == 1
    assert ABSTAIN_TEXT not in out
    assert "接着上一个问题（金融机构支持）回答" in out


def test_chat_chitchat_after_a_question_is_not_answered_from_it(cli, monkeypatch, capsys):
    out = chat(cli, monkeypatch, capsys, LOAN_QUESTION, "今天天气怎么样", "那担保呢？")
    assert CHITCHAT_TEXT in out
    assert out.count("接着上一个问题（金融机构支持）回答") == 1  # 那担保呢, not the weather


def test_ask_answers_a_size_question_as_the_chat_does(cli, monkeypatch, capsys):
    question = "我们开饭馆的，15个人，一年营业额三百来万，算小微企业吗"
    assert cli(["ask", question, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"question", "abstained", "citations", "answer"} <= set(data)
    assert data["size"]["size"] == "small" and data["size"]["citation"] == "《中小企业划型标准规定》第四条第（十）项"
    assert cli(["ask", question]) == 0
    plain = capsys.readouterr().out.strip()
    assert plain.startswith("按《中小企业划型标准规定》，属于小型企业（餐饮业）。")
    assert plain in chat(cli, monkeypatch, capsys, question)
