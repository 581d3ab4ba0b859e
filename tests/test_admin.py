"""Staff refresh the corpus from Telegram: end to end through the stand-in Bot API server, with the
real Application, a real corpus and a real search index in a temp data folder per test (copied from
one built per module: see `admin_base`)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.admin import CorpusAdmin
from bot.assistant import Assistant
from bot.questionlog import QUESTIONS_FILE, QuestionLog
from bot.telegram_app import build_application
from bot.texts import ADMIN_COMMANDS, BEYOND_THE_LAW_TEXT, BUSY_TEXT, COMMANDS, ERROR_TEXT, NOT_ADMIN_TEXT
from policy_corpus.config import Config, load_config
from policy_corpus.library import Library

from . import telegram_stub
from .conftest import DOCUMENTS, PROJECT
from .telegram_stub import BotApiStub, iter_button_data, labels, polling

TOKEN = "123456:SECRET-ADMIN-TEST-TOKEN"
ADMIN, OWNER, STRANGER = 7, 101, 555
LOAN_QUESTION = "银行贷款到期了，能不能不还本金直接续贷？"
LOAN_CITATION = "《湖南省实施〈中小企业促进法〉办法》第十一条"
FIREFLY_QUESTION = "小微企业搞萤火虫人工养殖，能申请补贴吗？"
OFF_TOPIC = "今天天气怎么样，推荐一部电影"


def firefly_rules(third: str = "可以向县级人民政府申请一次性养殖补贴，每户补贴三千元。", sixth: bool = False) -> str:
    """《测试促进条例》: a small law with one distinctive provision (第三条, a firefly-farming subsidy)."""
    text = (
        "# 测试促进条例\n\n2024年5月1日 施行\n\n<!-- INFO END -->\n\n## 第一章 总则\n\n"
        "第一条 为了检验管理员上传文件的功能，促进萤火虫产业发展，制定本条例。\n\n"
        "第二条 本条例适用于在本省登记、从事萤火虫养殖的小微企业。\n\n## 第二章 扶持措施\n\n"
        f"第三条 小微企业从事萤火虫人工养殖的，{third}\n\n"
        "第四条 萤火虫养殖企业申请补贴，应当提交营业执照和养殖场地证明。\n\n"
        "第五条 本条例自2024年5月1日起施行。\n"
    )
    if sixth:
        text += "\n第六条 县级人民政府应当公布补贴的申请流程。\n"
    return text


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- fixtures


def make_config(root: Path, **settings: Any) -> Config:
    config = load_config(
        PROJECT / "config.yaml",
        environ={
            "POLICYBOT_DATA_DIR": str(root / "data"),
            "POLICYBOT_CORPUS_DIR": str(root / "documents"),
            "POLICYBOT_CORPUS__SOURCES": "[]",  # /reload reads the documents folder only, not national law
            "POLICYBOT_ADMIN_IDS": str(ADMIN),
        },
    )
    for name, value in settings.items():
        setattr(config.admin, name, value)
    return config


@pytest.fixture(scope="module")
def admin_base(served_config, tmp_path_factory) -> Path:
    """The default documents published with a real search index, once per module; each test copies
    it. The session's embedding and background caches are reused, so no article is embedded twice."""
    from embeddings.build import make_index_builder
    from policy_corpus.sources import load_sources

    root = tmp_path_factory.mktemp("admin_base")
    (root / "data").mkdir()
    cache = served_config.data_path / "embedding_cache.db"
    if cache.exists():
        with sqlite3.connect(cache) as source, sqlite3.connect(root / "data" / cache.name) as target:
            source.backup(target)
        source.close()
        target.close()
    if (served_config.data_path / "background").exists():  # read only: share it
        (root / "data" / "background").symlink_to(served_config.data_path / "background")
    config = make_config(root)
    Library(config.data_path).publish(load_sources([DOCUMENTS]).documents, make_index_builder(config))
    return root


@dataclass
class Env:
    root: Path
    config: Config
    assistant: Assistant

    @property
    def library(self) -> Library:
        return self.assistant.library

    @property
    def documents(self) -> Path:
        return self.root / "documents"


@pytest.fixture
def env(admin_base, tmp_path):
    """A data folder of its own (version 0001 serving), a writable corpus folder, an Assistant."""
    shutil.copytree(admin_base / "data", tmp_path / "data", symlinks=True)
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    config = make_config(tmp_path)
    assistant = Assistant(config)
    assert assistant.version == "0001"
    yield Env(tmp_path, config, assistant)
    if assistant.store is not None:
        assistant.store.close()


@contextlib.asynccontextmanager
async def running_bot(env: Env, build_index=None) -> AsyncIterator[tuple[BotApiStub, Application]]:
    """The real Application polling the stub, started and stopped as `run_polling` does."""
    with BotApiStub(token=TOKEN) as stub:
        config = copy.deepcopy(env.config)
        config.telegram.base_url, config.telegram.base_file_url = stub.base_url, stub.base_file_url
        config.telegram.rate_limit_count, config.telegram.rate_limit_seconds = 1000, 1.0
        log = QuestionLog(config.data_path / QUESTIONS_FILE)
        admin = CorpusAdmin(config, env.assistant, log, build_index)
        application = build_application(config, env.assistant, TOKEN, question_log=log, admin=admin)
        async with polling(application):
            yield stub, application


async def send(stub: BotApiStub, user: int, text: str, replies: int = 1) -> list[dict[str, Any]]:
    return await telegram_stub.ask(stub, user, text, replies, timeout=60)  # a publish takes longer than an answer


async def upload(
    stub: BotApiStub, user: int, file_name: str, content: bytes, caption: str | None = None
) -> dict[str, Any]:
    since = len(stub.sent_messages(user))
    stub.send_document(user, file_name, content, caption=caption)
    [reply] = await stub.wait_for_replies(1, chat_id=user, since=since, timeout=60)
    return reply


async def press(stub: BotApiStub, user: int, message: dict[str, Any], label: str) -> dict[str, Any]:
    [reply] = await telegram_stub.press(stub, user, message, label, timeout=60)
    return reply


def first_citation(reply: dict[str, Any]) -> str:
    """The line under "问：…": the best provision's citation, or the abstention."""
    return reply["plain_text"].splitlines()[1]


# ---------------------------------------------------------------- upload, preview, confirm


async def test_admin_upload_preview_confirm_then_owners_get_it_cited(env):
    async with running_bot(env) as (stub, _app):
        [before] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "测试促进条例" not in before["plain_text"]

        preview = await upload(stub, ADMIN, "测试促进条例.md", firefly_rules().encode(), caption="test_rules")
        text = preview["plain_text"]
        assert text.startswith("预览：《测试促进条例》\n编号 test_rules；新文件\n现行文本：5 条")
        assert "与正在服务的版本 0001 相比：\n• 新增 5 条" in text
        assert labels(preview) == ["确认", "取消"]
        assert all(len(data.encode()) <= 64 for data in iter_button_data([preview]))
        # nothing is live before 确认
        [still] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "测试促进条例" not in still["plain_text"] and env.assistant.version == "0001"

        done = await press(stub, ADMIN, preview, "确认")
        assert done["plain_text"].startswith(
            "已发布版本 0002（原版本 0001），现在按新版本回答：\n• 新增《测试促进条例》 编号 test_rules：5 条"
        )
        assert labels(stub.message(ADMIN, preview["message_id"])) == []  # cannot be confirmed twice
        assert {a["text"] for a in stub.callback_answers} == {"正在发布，请稍候…"}

        [after] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert first_citation(after).startswith("《测试促进条例》第三条")
        assert "每户补贴三千元" in after["plain_text"]
        [loan] = await send(stub, OWNER, LOAN_QUESTION)  # the rest of the corpus still answers
        assert first_citation(loan).startswith(LOAN_CITATION)

        # a replacement (as .docx) previews what changes against the served wording; 取消 keeps it
        changed = firefly_rules("可以申请一次性养殖补贴，每户补贴五千元。", sixth=True)
        preview = await upload(stub, ADMIN, "test_rules.docx", docx_bytes(changed))
        text = preview["plain_text"]
        assert "编号 test_rules；将替换正在服务的《测试促进条例》" in text and "现行文本：6 条" in text
        assert "与正在服务的版本 0002 相比：" in text
        assert "• 新增 1 条：第六条" in text and "• 修改 1 条：第三条" in text and "删去" not in text
        cancelled = await press(stub, ADMIN, preview, "取消")
        assert cancelled["plain_text"] == "已取消，正在服务的语料没有改动。"
        [same] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "三千元" in same["plain_text"] and env.assistant.version == "0002"

        # the same replacement in GB18030 (as government offices save it), confirmed this time
        preview = await upload(stub, ADMIN, "测试促进条例.txt", changed.encode("gb18030"), caption="test_rules")
        assert "• 修改 1 条：第三条" in preview["plain_text"]
        done = await press(stub, ADMIN, preview, "确认")
        assert done["plain_text"].startswith("已发布版本 0003（原版本 0002）")
        assert "• 修改《测试促进条例》 编号 test_rules：6 条" in done["plain_text"]
        [replaced] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "五千元" in replaced["plain_text"]

        assert stub.unanswered_callbacks() == []

        [corpus] = await send(stub, ADMIN, "/corpus")
        text = corpus["plain_text"]
        assert text.startswith("正在服务：版本 0003\n发布于 ") and "发布者：管理员 7" in text
        assert "《测试促进条例》 编号 test_rules：6 条" in text
        assert "《湖南省实施〈中小企业促进法〉办法》 编号 hunan：35 条（修订草案 38 条）" in text
        assert "• 0002：" in text and "• 0001：" in text and "命令行" in text
        assert "管理员 7 发布版本 0003：修改 test_rules" in text

    meta = json.loads((env.library.versions_dir / "0002" / "meta.json").read_text(encoding="utf-8"))
    assert meta["published_by"] == str(ADMIN) and meta["parent"] == "0001"
    assert [(c["doc_id"], c["action"]) for c in meta["changes"]] == [("test_rules", "added")]
    history = env.library.history()
    assert [(h["action"], h["version"], h["by"]) for h in history] == [
        ("publish", "0001", "cli"),
        ("publish", "0002", "7"),
        ("publish", "0003", "7"),
    ]
    assert history[-1]["changes"][0]["action"] == "changed"


async def test_non_admins_are_refused_and_nothing_happens(env, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(env) as (stub, _app):
        assert stub.commands == [{"command": name, "description": text} for name, text in COMMANDS]
        [scoped] = [c for c in stub.calls("setMyCommands") if c.get("scope")]
        assert scoped["scope"] == {"type": "chat", "chat_id": ADMIN}
        assert [c["command"] for c in scoped["commands"]] == [n for n, _ in COMMANDS + ADMIN_COMMANDS]

        for command in ("/reload", "/corpus", "/rollback", "/remove hunan", "/stats", "/stats 30"):
            [reply] = await send(stub, STRANGER, command)
            assert reply["plain_text"] == NOT_ADMIN_TEXT
        refusal = await upload(stub, STRANGER, "测试促进条例.md", firefly_rules().encode(), caption="x")
        assert refusal["plain_text"] == NOT_ADMIN_TEXT and labels(refusal) == []
        assert stub.calls("getFile") == []  # nothing was downloaded
        [help_text] = await send(stub, STRANGER, "/help")
        assert "/reload" not in help_text["plain_text"]
        [admin_help] = await send(stub, ADMIN, "/help")
        assert all(f"/{name}" in admin_help["plain_text"] for name, _ in ADMIN_COMMANDS)
        [answer] = await send(stub, STRANGER, LOAN_QUESTION)
        assert first_citation(answer).startswith(LOAN_CITATION)
        # a 确认 forged by someone else (the callback data of an admin's preview) is refused too
        preview = await upload(stub, ADMIN, "test_rules.md", firefly_rules().encode())
        stub.press_button(STRANGER, preview["message_id"], stub.button_data(preview, "确认"), chat_id=ADMIN)
        await stub.wait_for(lambda: stub.callback_answers)
        assert stub.callback_answers[0]["text"] == NOT_ADMIN_TEXT
        assert (await press(stub, ADMIN, preview, "取消"))["plain_text"].startswith("已取消")
        assert stub.unanswered_callbacks() == []

    assert [v.name for v in env.library.versions()] == ["0001"] and env.assistant.version == "0001"
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert refused == [
        f"refused {c} from non-admin user {STRANGER}"
        for c in ("/reload", "/corpus", "/rollback", "/remove", "/stats", "/stats", "upload", "button")
    ]
    assert TOKEN not in caplog.text and "stubfile" not in caplog.text


async def test_bad_uploads_are_rejected_and_the_corpus_still_answers(env, caplog):
    env.config.admin.max_upload_bytes = 4000
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    no_articles = "# 一份通知\n\n请各单位认真学习贯彻落实。\n".encode()
    gaps = "# 跳号规定\n\n第一条 总则。\n\n第二条 适用范围。\n\n第五条 施行日期。\n".encode()
    good = firefly_rules().encode()
    cases = [
        ("empty.txt", b"", None, "是空的"),
        ("blank.md", b"  \n\n ", None, "是空的"),
        ("photo.png", png, "photo_rules", "PNG 图片，不是文本"),
        ("big.txt", good + "补充说明。".encode() * 400, "big_rules", "文件太大"),
        ("notice.md", no_articles, None, "没有找到条文"),
        ("gaps.md", gaps, None, "条号不连贯"),
        ("x.md", good, "../evil", "不合规"),
        ("x.md", good, "a/b", "不合规"),
        ("x.md", good, "..", "不合规"),
        ("../../escape.md", good, None, "不合规"),
        ("..\\..\\escape.md", good, None, "不合规"),
    ]
    async with running_bot(env) as (stub, _app):
        for file_name, content, caption, expected in cases:
            reply = await upload(stub, ADMIN, file_name, content, caption)
            assert expected in reply["plain_text"], (file_name, reply["plain_text"])
            assert labels(reply) == [], file_name
        texts = {name: m["plain_text"] for name, m in zip([c[0] for c in cases], stub.sent_messages(ADMIN))}
        assert "• 现行文本：跳号，期望第3条，实际为第五条" in texts["gaps.md"]
        assert "上限是 3.9 KB" in texts["big.txt"]
        # size and id are checked before downloading: big.txt and the five bad ids were not fetched
        assert len(stub.calls("getFile")) == len(cases) - 6

        [answer] = await send(stub, OWNER, LOAN_QUESTION)
        assert first_citation(answer).startswith(LOAN_CITATION)
        [firefly] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "测试促进条例" not in firefly["plain_text"]
    assert [v.name for v in env.library.versions()] == ["0001"] and env.assistant.version == "0001"
    assert not list(env.root.glob("data/versions/.build-*"))
    assert TOKEN not in caplog.text


# ---------------------------------------------------------------- rollback, removal, reload


async def test_rollback_restores_the_previous_answers(env):
    async with running_bot(env) as (stub, _app):
        preview = await upload(stub, ADMIN, "test_rules.md", firefly_rules().encode())
        await press(stub, ADMIN, preview, "确认")
        [cited] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert first_citation(cited).startswith("《测试促进条例》第三条")

        [rolled] = await send(stub, ADMIN, "/rollback")
        assert rolled["plain_text"] == (
            "已回退到版本 0001（原版本 0002）。\n撤销了：\n• 新增《测试促进条例》 编号 test_rules：5 条"
        )
        [answer] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "测试促进条例" not in answer["plain_text"]
        [gone] = await send(stub, OWNER, "/article test_rules 3")
        assert "没有找到名为“test_rules”的文件" in gone["plain_text"]
        [loan] = await send(stub, OWNER, LOAN_QUESTION)
        assert first_citation(loan).startswith(LOAN_CITATION)

        [again] = await send(stub, ADMIN, "/rollback")
        assert again["plain_text"] == "没有保留更早的版本，无法回退。"
        [corpus] = await send(stub, ADMIN, "/corpus")
        assert corpus["plain_text"].startswith("正在服务：版本 0001")
        assert "管理员 7 从版本 0002 回退到 0001" in corpus["plain_text"]
    assert env.library.current_name() == "0001"
    assert [(h["action"], h["version"]) for h in env.library.history()][-1] == ("rollback", "0001")
    restarted = Assistant(env.config)  # after a restart the rollback holds
    assert restarted.version == "0001"
    restarted.store.close()


async def test_remove_asks_first_and_reload_reingests_the_folder(env):
    async with running_bot(env) as (stub, _app):
        [usage] = await send(stub, ADMIN, "/remove")
        assert usage["plain_text"].startswith("用法：/remove 文件编号")
        [unknown] = await send(stub, ADMIN, "/remove nosuch")
        assert "没有编号为 nosuch 的文件" in unknown["plain_text"]

        [ask] = await send(stub, ADMIN, "/remove payment")
        assert ask["plain_text"].startswith("确认删除《保障中小企业款项支付条例》？\n编号 payment；37 条")
        assert "/reload 会重新收录" in ask["plain_text"]
        assert (await press(stub, ADMIN, ask, "取消"))["plain_text"].startswith("已取消")
        [still] = await send(stub, OWNER, "/article payment 1")
        assert still["plain_text"].startswith("《保障中小企业款项支付条例》第一条")

        [ask] = await send(stub, ADMIN, "/remove payment")
        done = await press(stub, ADMIN, ask, "确认")
        assert done["plain_text"] == "已发布版本 0002（原版本 0001），现在按新版本回答：\n• 删除 编号 payment"
        [gone] = await send(stub, OWNER, "/article payment 1")
        assert "没有找到名为“payment”的文件" in gone["plain_text"]
        stub.press_button(ADMIN, ask, stub.button_data(ask, "确认"), check=False)  # an old button
        await stub.wait_for(lambda: any("已经处理过" in (a["text"] or "") for a in stub.callback_answers))

        # an upload, then /reload: the folder's payment.md comes back, the upload stays,
        # a changed file is replaced and a file that does not parse is reported, not served
        preview = await upload(stub, ADMIN, "test_rules.md", firefly_rules().encode())
        await press(stub, ADMIN, preview, "确认")
        law = env.documents / "sme_law.md"
        law.write_text(
            law.read_text(encoding="utf-8").replace("第一条 为了", "第一条 （修改后）为了"), encoding="utf-8"
        )
        (env.documents / "broken.md").write_text("# 草稿\n\n还没有写条文。\n", encoding="utf-8")
        [reloaded] = await send(stub, ADMIN, "/reload")
        text = reloaded["plain_text"]
        assert text.startswith("已发布版本 0004（原版本 0003），现在按新版本回答：")
        assert "• 新增《保障中小企业款项支付条例》 编号 payment：37 条" in text
        assert "• 修改《中小企业促进法》 编号 sme_law：61 条" in text
        assert "test_rules" not in text
        assert "以下文件有问题，未收录" in text and "broken.md" in text
        [sme] = await send(stub, OWNER, "/article sme_law 1")
        assert "（修改后）" in sme["plain_text"]
        [cited] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert first_citation(cited).startswith("《测试促进条例》第三条")

        [unchanged] = await send(stub, ADMIN, "/reload")
        assert unchanged["plain_text"].startswith("没有变化，仍在使用版本 0004。")
    notes = [(h["version"], h.get("note")) for h in env.library.history()]
    assert notes[1:] == [("0002", "remove payment"), ("0003", "upload test_rules"), ("0004", "reload")]


FAIR_QUESTION = "我们县的小企业想抱团去外地参展，有人组织吗"
FAIR_EXAMPLE = {"doc": "hunan", "article": 25, "questions": ["小企业一起去外地参加展会，政府会不会组织？"]}
FAIR_ARTICLE = "《湖南省实施〈中小企业促进法〉办法》第二十五条"  # 支持中小企业参加境内外展览展销


async def test_reload_picks_up_edited_example_questions(env):
    """Staff add an owner's wording to policy_corpus/examples and send /reload: no document changed, but the
    index is rebuilt with the new example, and the question it describes now cites that article first."""
    examples = env.root / "examples"
    shutil.copytree(PROJECT / "policy_corpus" / "examples", examples)
    env.config.search.examples = str(examples)  # the same questions: the serving index stays current
    async with running_bot(env) as (stub, _app):
        [before] = await send(stub, OWNER, FAIR_QUESTION)
        assert not first_citation(before).startswith(FAIR_ARTICLE)
        [unchanged] = await send(stub, ADMIN, "/reload")
        assert unchanged["plain_text"].startswith("没有变化，仍在使用版本 0001。")

        with (examples / "hunan.jsonl").open("a", encoding="utf-8") as lines:
            lines.write(json.dumps(FAIR_EXAMPLE, ensure_ascii=False) + "\n")
        [reloaded] = await send(stub, ADMIN, "/reload")
        assert reloaded["plain_text"] == (
            "已发布版本 0002（原版本 0001），现在按新版本回答：\n"
            "• 文件没有变化；示例问题或检索设置有更新，检索索引已重建"
        )
        [after] = await send(stub, OWNER, FAIR_QUESTION)
        assert first_citation(after).startswith(FAIR_ARTICLE)


# ---------------------------------------------------------------- safety


async def test_questions_are_answered_while_a_refresh_runs(env):
    """A /reload whose index build is held open: questions go on being answered from the old
    version, a second /reload is told to wait, and no reply fails."""
    from embeddings.build import make_index_builder

    real_build = make_index_builder(env.config)
    building, release = threading.Event(), threading.Event()

    def held_build(store, folder):
        building.set()
        assert release.wait(60), "the test never released the build"
        real_build(store, folder)

    law = env.documents / "payment.md"
    law.write_text(
        law.read_text(encoding="utf-8").replace("第三十七条 本条例自", "第三十七条 本条例（修订后）自"),
        encoding="utf-8",
    )
    questions = [LOAN_QUESTION, "大企业拖欠我们的货款怎么办？", "政府采购有没有给小企业预留份额？"]
    async with running_bot(env, build_index=held_build) as (stub, _app):
        stub.send_text(ADMIN, "/reload")
        await stub.wait_for(building.is_set, timeout=30)

        owners = [OWNER + n for n in range(6)]
        for owner, question in zip(owners, questions * 2):
            stub.send_text(owner, question)
        replies = {owner: (await stub.wait_for_replies(1, chat_id=owner, timeout=30))[0] for owner in owners}
        [busy] = await send(stub, ADMIN, "/reload")
        assert busy["plain_text"] == BUSY_TEXT
        [lookup] = await send(stub, OWNER, "/article payment 37")
        assert "（修订后）" not in lookup["plain_text"]
        assert env.assistant.version == "0001" and not release.is_set()

        release.set()
        [done] = await stub.wait_for_replies(1, chat_id=ADMIN, since=1, timeout=60)
        assert done["plain_text"].startswith("已发布版本 0002（原版本 0001）")
        assert "• 修改《保障中小企业款项支付条例》 编号 payment：37 条" in done["plain_text"]
        [lookup] = await send(stub, OWNER, "/article payment 37")
        assert "（修订后）" in lookup["plain_text"]
        [after] = await send(stub, OWNER + 1, questions[1])

    for owner, question in zip(owners, questions * 2):
        assert replies[owner]["plain_text"].startswith(f"问：{question}\n《"), replies[owner]["plain_text"]
    assert all(ERROR_TEXT not in m["plain_text"] for m in stub.sent_messages())
    assert after["plain_text"].startswith(f"问：{questions[1]}\n《")
    with QuestionLog(env.config.data_path / QUESTIONS_FILE) as log:
        versions = [log.question(n).corpus_version for n in range(1, len(owners) + 2)]
    assert versions == ["0001"] * len(owners) + ["0002"]


def test_a_question_in_flight_finishes_on_the_old_version(env):
    """The switch retires the old version's store only when the last call using it is done."""
    from embeddings.build import make_index_builder
    from policy_corpus.parser import parse_document

    searcher = env.assistant.searcher
    entered, proceed = threading.Event(), threading.Event()
    real_search = searcher.search

    def slow_search(question, top_k=3, mode="hybrid", previous=None, document=None):
        entered.set()
        proceed.wait(30)
        return real_search(question, top_k, mode, previous, document)  # reads articles from the old store

    searcher.search = slow_search
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault("answer", env.assistant.ask(LOAN_QUESTION)))
    thread.start()
    assert entered.wait(10)
    doc = parse_document(firefly_rules(), "test_rules", "telegram:test_rules.md")
    env.library.publish_update([doc], (), make_index_builder(env.config), published_by="7")
    assert env.assistant.refresh() and env.assistant.version == "0002"
    proceed.set()
    thread.join(30)
    answer = result["answer"]
    assert answer.corpus_version == "0001" and answer.citations[0].reference.startswith(LOAN_CITATION)
    assert env.assistant.ask(FIREFLY_QUESTION).citations[0].doc_id == "test_rules"


KILLED_PUBLISH = """
import os, sys, time
from pathlib import Path
from policy_corpus.library import Library
from policy_corpus.parser import parse_document

data, point = Path(sys.argv[1]), sys.argv[2]
text = sys.stdin.read()

def half_built(store, folder):
    (folder / "index.faiss").write_bytes(b"IxF2" + bytes(100))  # a few bytes of a large file
    if point == "building":
        print("READY", flush=True)
        time.sleep(120)

library = Library(data)
if point == "switching":
    def stop_before_switch(name):
        print("READY", flush=True)
        time.sleep(120)
    library._point_to = stop_before_switch
library.publish_update([parse_document(text, "test_rules", "telegram:x.md")], (), half_built, published_by="7")
"""


def kill_publish_half_way(data: Path, point: str) -> None:
    """Run a publish in another process and SIGKILL it while building or just before the switch."""
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISH, str(data), point],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=PROJECT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    process.stdin.write(firefly_rules())
    process.stdin.close()
    assert process.stdout.readline().strip() == "READY"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    process.stdout.close()


@pytest.mark.parametrize("point", ["building", "switching"])
async def test_a_refresh_killed_half_way_leaves_the_last_version_serving(env, point):
    env.assistant.store.close()  # "the bot" stops; a publish is killed; then the bot starts again
    await asyncio.to_thread(kill_publish_half_way, env.config.data_path, point)
    versions = env.config.data_path / "versions"
    left = ".build-0002" if point == "building" else "0002"
    assert (versions / left / "index.faiss").stat().st_size == 104  # half-written, never served
    # and a pointer update cut short: its temp file is half written
    (env.config.data_path / ".CURRENT.tmp").write_text("00", encoding="utf-8")

    restarted = Assistant(env.config)
    env.assistant = restarted
    assert restarted.version == "0001"
    async with running_bot(env) as (stub, _app):
        [answer] = await send(stub, OWNER, LOAN_QUESTION)
        assert first_citation(answer).startswith(LOAN_CITATION)
        [firefly] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert "测试促进条例" not in firefly["plain_text"]
        # the next refresh publishes over the wreck and serves it
        preview = await upload(stub, ADMIN, "test_rules.md", firefly_rules().encode())
        done = await press(stub, ADMIN, preview, "确认")
        assert done["plain_text"].startswith("已发布版本 000")
        [cited] = await send(stub, OWNER, FIREFLY_QUESTION)
        assert first_citation(cited).startswith("《测试促进条例》第三条")
        # a rollback returns to what was serving (0001), not to the version that never served
        [rolled] = await send(stub, ADMIN, "/rollback")
        assert "已回退到版本 0001" in rolled["plain_text"]
    assert not list(versions.glob(".build-*"))


# ---------------------------------------------------------------- statistics


async def test_stats_count_the_questions_asked(env):
    answerable = [LOAN_QUESTION, "大企业拖欠我们的货款怎么办？", "政府采购有没有给小企业预留份额？"]
    async with running_bot(env) as (stub, _app):
        [empty] = await send(stub, ADMIN, "/stats")
        assert empty["plain_text"] == "最近 7 天的提问\n这段时间没有人提问。"
        answers = [(await send(stub, OWNER + n, q))[0] for n, q in enumerate(answerable)]
        for owner in (OWNER + 10, OWNER + 11):
            [abstained] = await send(stub, owner, OFF_TOPIC)
            assert abstained["plain_text"].endswith(BEYOND_THE_LAW_TEXT)
        await send(stub, OWNER, "/article 11")  # a lookup is not a question
        stub.press_button(OWNER, answers[0], stub.button_data(answers[0], "👍"))
        stub.press_button(OWNER + 1, answers[1], stub.button_data(answers[1], "👎"))
        await stub.wait_for(lambda: len(stub.callback_answers) == 2)

        [stats] = await send(stub, ADMIN, "/stats")
        text = stats["plain_text"]
        assert text.startswith("最近 7 天的提问\n共 5 个问题：已回答 3 个（60%），未覆盖 2 个（40%）\n反馈：👍 1  👎 1")
        assert "：5 个（未覆盖 2）" in text
        assert f"未能回答、最常被问的问题（可考虑补充到语料）：\n1. {OFF_TOPIC}（2 次）" in text
        [month] = await send(stub, ADMIN, "/stats 30")
        assert month["plain_text"].startswith("最近 30 天的提问\n共 5 个问题")
        for bad in ("/stats abc", "/stats 0", "/stats 9999"):
            [usage] = await send(stub, ADMIN, bad)
            assert usage["plain_text"].startswith("用法：/stats")


def docx_with_body(*chunks: bytes, repeat: int = 1) -> bytes:
    """A real .docx whose word/document.xml is replaced by `chunks` (the middle one repeated), streamed into the
    zip so that a 1 GB body never sits in memory."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(docx_bytes("第一条 示例。")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            if member.filename != "word/document.xml":
                target.writestr(member, source.read(member))
                continue
            with target.open(member.filename, "w", force_zip64=True) as body:
                for number, chunk in enumerate(chunks):
                    for _ in range(repeat if number == len(chunks) // 2 else 1):
                        body.write(chunk)
    return buffer.getvalue()


# Reading the upload in a process whose memory is capped at 600 MB: unpacking the bomb would not fit.
READ_BOMB = """
import resource, sys
from policy_corpus.errors import DocumentTooLargeError
from policy_corpus.reader import decode_document
data = open(sys.argv[1], "rb").read()
resource.setrlimit(resource.RLIMIT_AS, (600 * 1024 * 1024, resource.RLIM_INFINITY))
try:
    decode_document(data, "bomb.docx")
except DocumentTooLargeError:
    print("refused")
"""


async def test_hostile_uploads_get_their_reason_and_the_corpus_keeps_answering(env, caplog, tmp_path):
    import subprocess
    import sys

    bomb = docx_with_body(b"<w:document>", b" " * (1 << 20), b"</w:document>", repeat=1024)  # 1 GB of spaces
    assert len(bomb) < 2 * 1024 * 1024
    async with running_bot(env) as (stub, _app):
        with caplog.at_level(logging.WARNING):
            reply = await upload(stub, ADMIN, "bomb.docx", bomb, caption="bomb_rules")
            assert "解压后过大" in reply["plain_text"]
            broken = await upload(stub, ADMIN, "broken.docx", docx_with_body(b"<w:document><unclosed>"))
            assert "损坏的 Word 文件" in broken["plain_text"]
            for lookalike in ("hunan\u200b", "hu\u202enan", "ｈｕｎａｎ\u200d"):
                refused = await upload(stub, ADMIN, "x.md", firefly_rules().encode(), caption=lookalike)
                assert "看不见的格式字符" in refused["plain_text"], lookalike
            since = len(stub.sent_messages(ADMIN))
            stub.send_document(ADMIN, "line.txt", ("无条文" * 350_000).encode(), caption="one_line")
            await stub.wait_for_replies(1, chat_id=ADMIN, since=since, timeout=60)
            await stub.wait_until_idle()
            assert len(stub.sent_messages(ADMIN)) - since <= 3  # a 1 MB line is not echoed in full
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
        [answer] = await send(stub, OWNER, "银行贷款到期了，能不能不还本金直接续贷？")
        assert "第十一条" in answer["plain_text"]
    (tmp_path / "bomb.docx").write_bytes(bomb)  # what reading the upload costs, in a process of its own
    read = subprocess.run(  # noqa: ASYNC221 -- after the bot stopped
        [sys.executable, "-c", READ_BOMB, str(tmp_path / "bomb.docx")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.strip() == "refused"  # within 600 MB: refused from the zip directory, never unpacked
