"""Owners ask "我们算小微企业吗？" in the conversation: end to end through the real Application and the stand-in Bot
API (answered, a missing fact asked for and then answered, /size, a revised standard uploaded by staff), in
`policybot chat`, and the reading of owners' words underneath."""

from __future__ import annotations

import io
import re

import pytest

from bot.cli import main
from bot.texts import NEW_TOPIC_TEXT
from policy_corpus.size import Metric
from policy_corpus.size_question import is_size_question, read_figures

from .conftest import DOCUMENTS
from .telegram_stub import ask, iter_button_data, labels, press
from .test_admin import ADMIN, OWNER, admin_base, env, send, upload
from .test_admin import press as admin_press
from .test_admin import running_bot as admin_bot
from .test_bot import LOAN_QUESTION, running_bot

STAFF_FIXTURES = (admin_base, env)  # test_admin's: a data folder of its own per test, version 0001 serving

RESTAURANT = "我们开饭馆的，15个人，一年营业额三百来万，算小微企业吗"
STANDARD = "《中小企业划型标准规定》"
ITEM_10 = f"{STANDARD}第四条第（十）项"
ITEM_10_TEXT = "（十）餐饮业。从业人员300人以下或营业收入10000万元以下的为中小微型企业。"
INDUSTRIES = [  # the served document's 第四条, in order
    "农、林、牧、渔业",
    "工业",
    "建筑业",
    "批发业",
    "零售业",
    "交通运输业",
    "仓储业",
    "邮政业",
    "住宿业",
    "餐饮业",
    "信息传输业",
    "软件和信息技术服务业",
    "房地产开发经营",
    "物业管理",
    "租赁和商务服务业",
    "其他未列明行业",
]


def text_of(reply: dict) -> str:
    return reply["plain_text"]


# ---------------------------------------------------------------- Telegram, owners


async def test_a_size_question_is_answered_with_the_size_and_the_item_quoted(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [reply] = await ask(stub, 301, RESTAURANT)
        text = text_of(reply)
        assert text.startswith(f"问：{RESTAURANT}\n按{STANDARD}，属于小型企业（餐饮业）。\n小型企业属于小微企业。")
        assert "依据：从业人员15人、营业收入300万元（“三百来万”按300万元算）。" in text
        assert f"{ITEM_10}\n{ITEM_10_TEXT}" in text
        assert "从业人员10人及以上，且营业收入100万元及以上的为小型企业" in text  # the item's own text, whole
        assert "参照" not in text and "第六条" not in text and "不构成法律意见" in text
        assert {"blockquote", "bold", "italic"} <= {e["type"] for e in reply["entities"]}
        assert labels(reply) == []

        # a policy question that mentions 小微企业 is searched as before
        [policy] = await ask(stub, 301, "小微企业贷款有什么优惠")
        assert "划型" not in text_of(policy) and labels(policy)[-2:] == ["👍", "👎"]

        # a sole trader: sized by reference, and 第六条 quoted
        [sole] = await ask(stub, 301, "我是个体户，开饭馆的，3个人，一年营业额五十万，算小微企业吗")
        text = text_of(sole)
        assert f"参照{STANDARD}，属于微型企业（餐饮业）。" in text and ITEM_10 in text
        assert f"{STANDARD}第六条\n本规定适用于" in text and "个体工商户和本规定以外的行业，参照本规定进行划型" in text


async def test_a_missing_fact_is_asked_for_then_answered_and_the_exchange_follows_the_chat(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        # no industry: the standard's industries as buttons
        [asked] = await ask(stub, 302, "我们公司15个人，一年营业额三百来万，算小微企业吗")
        assert "已记下：从业人员15人、营业收入300万元（“三百来万”按300万元算）。" in text_of(asked)
        assert "请问您的企业属于哪个行业？" in text_of(asked)
        assert labels(asked) == INDUSTRIES
        assert all(len(data.encode()) <= 64 for data in iter_button_data([asked]))
        [answer] = await press(stub, 302, asked, "餐饮业")
        assert "属于小型企业（餐饮业）" in text_of(answer) and ITEM_10 in text_of(answer)
        assert labels(stub.message(302, asked["message_id"])) == []  # chosen: the buttons go
        assert stub.unanswered_callbacks() == []

        # the same enterprise, another figure
        [bigger] = await ask(stub, 302, "那要是120个人，营业额2500万呢")
        assert "属于中型企业（餐饮业）" in text_of(bigger)
        assert "依据：从业人员120人、营业收入2500万元。" in text_of(bigger)

        # an industry in owners' words, figures asked for, given one by one
        [need] = await ask(stub, 302, "开饭馆的算小微企业吗")
        assert "餐饮业按从业人员、营业收入划型，还需要：从业人员人数、一年的营业收入。" in text_of(need)
        [one] = await ask(stub, 302, "20人")
        assert "已记下：从业人员20人。" in text_of(one) and "还需要：一年的营业收入" in text_of(one)
        [done] = await ask(stub, 302, "营业额八十万")
        assert "属于微型企业（餐饮业）" in text_of(done)  # 营业收入100万元以下: micro, however many people
        assert "依据：从业人员20人、营业收入80万元。" in text_of(done)


async def test_something_else_drops_the_exchange_and_new_clears_it(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        [need] = await ask(stub, 303, "开饭馆的算小微企业吗")
        assert "还需要" in text_of(need)
        [loan] = await ask(stub, 303, LOAN_QUESTION)  # the owner asks something else: answered as usual
        assert "第十一条" in text_of(loan).splitlines()[1]
        [later] = await ask(stub, 303, "15个人，营业额300万")
        assert labels(later)[-2:] == ["👍", "👎"]  # searched: no exchange was waiting

        [need] = await ask(stub, 303, "开饭馆的算小微企业吗")
        [new] = await ask(stub, 303, "/new")
        assert text_of(new) == NEW_TOPIC_TEXT
        [later] = await ask(stub, 303, "15个人，营业额300万")
        assert labels(later)[-2:] == ["👍", "👎"]  # searched: no exchange was waiting

        # facts with a question of their own are that question
        [need] = await ask(stub, 303, "开饭馆的算小微企业吗")
        [other] = await ask(stub, 303, "我们开饭馆的，银行贷款到期了能续贷吗")
        assert "还需要" not in text_of(other) and labels(other)[-2:] == ["👍", "👎"]


async def test_size_command_starts_the_exchange(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, _app):
        assert "size" in [c["command"] for c in stub.commands]
        [asked] = await ask(stub, 304, "/size")
        assert text_of(asked).startswith("请问您的企业属于哪个行业？")
        assert labels(asked) == INDUSTRIES
        [unknown] = await ask(stub, 304, "搞直播的")
        assert text_of(unknown).startswith("没认出“搞直播的”是标准里的哪个行业。") and labels(unknown) == INDUSTRIES
        [need] = await press(stub, 304, unknown, "软件和信息技术服务业")
        assert "软件和信息技术服务业按从业人员、营业收入划型，还需要：从业人员人数、一年的营业收入" in text_of(need)
        [answer] = await ask(stub, 304, "十几个人，八十万")
        text = text_of(answer)
        assert "属于小型企业（软件和信息技术服务业）" in text and f"{STANDARD}第四条第（十二）项" in text
        assert "依据：从业人员15人、营业收入80万元（“十几个人”按15人算）。" in text

        [sole] = await ask(stub, 304, "/size 个体户")
        assert text_of(sole).startswith("问：个体户\n个体工商户按所经营的行业参照划型。请问您做的是哪个行业？")
        [need] = await press(stub, 304, sole, "餐饮业")
        [answer] = await ask(stub, 304, "3个人，营业额50万")
        assert f"参照{STANDARD}，属于微型企业（餐饮业）" in text_of(answer) and "第六条" in text_of(answer)

        [rough] = await ask(stub, 304, "开厂的，二十来个工人，营业额一千万，算小微企业吗")
        assert "属于小型企业（工业）" in text_of(rough)
        assert "注意：“二十来个”处在划型的界线附近" in text_of(rough)  # 20人以下 is micro: ask for the exact figure

        [other] = await ask(stub, 304, "开美发店的，30个人，属于什么规模")
        text = text_of(other)
        assert f"参照{STANDARD}，属于小型企业（其他未列明行业）" in text and f"{STANDARD}第四条第（十六）项" in text
        assert "本规定以外的行业，参照本规定进行划型" in text
        assert stub.unanswered_callbacks() == []


def test_a_waiting_exchange_expires_like_the_chat_context(assistant):
    from bot.context import CONTEXT_SECONDS, Contexts
    from bot.size_chat import SizeAnswer, SizeAsk, SizeChat

    now = [0.0]
    sizes = SizeChat(assistant, Contexts(clock=lambda: now[0]))
    assert isinstance(sizes.reply("开饭馆的算小微企业吗", 1), SizeAsk)
    now[0] += CONTEXT_SECONDS - 1
    assert isinstance(sizes.reply("20人", 1), SizeAsk)  # still waiting for the revenue
    assert isinstance(sizes.reply("营业额300万", 1), SizeAnswer)
    now[0] += CONTEXT_SECONDS + 1
    assert sizes.reply("那要是30个人呢", 1) is None  # too late: a question of its own


# ---------------------------------------------------------------- Telegram, staff publish the standard


def revised_standard(old: str, new: str, item: str = "（十）餐饮业") -> bytes:
    """sme_size.md with `old` replaced by `new` in one item of 第四条."""
    text = (DOCUMENTS / "sme_size.md").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(item))
    assert old in line
    return text.replace(line, line.replace(old, new)).encode()


OWNER_QUESTION = "我们开饭馆的，15个人，一年营业额300万，算小微企业吗"


async def test_a_revised_standard_uploaded_by_staff_moves_a_borderline_case(env):
    """餐饮业 小型 from 10 to 20 people: 15 people are small by the 2011 standard and micro by the revision."""
    revised = revised_standard("从业人员10人", "从业人员20人")
    async with admin_bot(env) as (stub, _app):
        [before] = await send(stub, OWNER, OWNER_QUESTION)
        assert "属于小型企业（餐饮业）" in text_of(before)

        preview = await upload(stub, ADMIN, "sme_size.md", revised)
        text = text_of(preview)
        assert "编号 sme_size；将替换正在服务的《中小企业划型标准规定》" in text and "• 修改 1 条：第四条" in text
        assert "划型标准" not in text.split("相比：")[1]  # every item reads: no warning
        done = await admin_press(stub, ADMIN, preview, "确认")
        assert text_of(done).startswith("已发布版本 0002（原版本 0001）") and "⚠️" not in text_of(done)

        [after] = await send(stub, OWNER, OWNER_QUESTION)
        text = text_of(after)
        assert "属于微型企业（餐饮业）" in text and ITEM_10 in text
        assert "从业人员20人及以上，且营业收入100万元及以上的为小型企业；从业人员20人以下" in text  # quoted as revised
        [lodging] = await send(stub, OWNER, "开宾馆的，15个人，营业额300万，算小微企业吗")
        assert "属于小型企业（住宿业）" in text_of(lodging)  # 住宿业 kept its 10人


async def test_an_item_that_cannot_be_read_is_reported_at_publish_and_the_rest_still_serves(env):
    broken = revised_standard(
        "从业人员10人及以上，且营业收入100万元及以上", "从业人员十人及以上，且营业收入一百万元及以上"
    )
    async with admin_bot(env) as (stub, _app):
        preview = await upload(stub, ADMIN, "sme_size.md", broken)
        warning = "⚠️ 划型标准：第四条第（十）项（餐饮业）有一句读不出指标：从业人员十人及以上，且营业收入一百万元及以上"
        assert warning in text_of(preview) and labels(preview) == ["确认", "取消"]
        done = await admin_press(stub, ADMIN, preview, "确认")  # the publish proceeds, and says so again
        assert text_of(done).startswith("已发布版本 0002") and warning in text_of(done)

        [refused] = await send(stub, OWNER, OWNER_QUESTION)
        assert text_of(refused) == "抱歉，现行划型标准中“餐饮业”这一项暂时无法自动读取，请发送“第四条”查看原文。"
        [shop] = await send(stub, OWNER, "开超市的，15个人，营业额300万，算小微企业吗")
        assert "属于小型企业（零售业）" in text_of(shop) and "第四条第（五）项" in text_of(shop)
        [menu] = await send(stub, OWNER, "/size")
        assert labels(menu) == [name for name in INDUSTRIES if name != "餐饮业"]


async def test_reload_reports_an_item_of_the_standard_that_cannot_be_read(env):
    path = env.documents / "sme_size.md"
    path.write_bytes(
        revised_standard("营业收入300万元及以上，且资产总额300万元及以上", "营业收入和资产总额较大", "（三）建筑业")
    )
    async with admin_bot(env) as (stub, _app):
        [reloaded] = await send(stub, ADMIN, "/reload")
        text = text_of(reloaded)
        assert (
            text.startswith("已发布版本 0002（原版本 0001）") and "• 修改《中小企业划型标准规定》 编号 sme_size" in text
        )
        assert "⚠️ 划型标准：第四条第（三）项（建筑业）有一句读不出指标：营业收入和资产总额较大" in text


# ---------------------------------------------------------------- policybot chat


@pytest.fixture
def chat(served_config, assistant, monkeypatch, capsys):
    """`policybot chat` on the served corpus, reading `lines`; returns what it printed."""
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(served_config.data_path))
    monkeypatch.setattr("bot.cli.load_assistant", lambda config: assistant)

    def run(*lines: str) -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
        assert main(["chat"]) == 0
        return capsys.readouterr().out

    return run


def test_chat_asks_for_the_missing_figures_then_answers(chat):
    out = chat("开饭馆的算小微企业吗", "15个人，一年营业额三百来万", "/size", "做软件的", "/quit")
    assert "餐饮业按从业人员、营业收入划型，还需要：从业人员人数、一年的营业收入。" in out
    answer = out.split("还需要")[1]
    assert f"按{STANDARD}，属于小型企业（餐饮业）。" in answer
    assert f"{ITEM_10}\n{ITEM_10_TEXT}" in answer and "（“三百来万”按300万元算）" in answer
    # in the terminal the industries are listed, not buttons, and typed back
    assert "标准里的行业有：农、林、牧、渔业 / 工业 / 建筑业" in out
    assert out.rstrip().endswith(
        "软件和信息技术服务业按从业人员、营业收入划型，还需要：从业人员人数、一年的营业收入。直接回复即可，如“20人，营业额500万”。"
    )


# ---------------------------------------------------------------- owners' words


@pytest.mark.parametrize(
    "question",
    [
        RESTAURANT,
        "我们是不是小型企业",
        "个体户算小微企业吗？",
        "属于中小企业吗",
        "我们这样的算什么规模",
        "小微企业的划型标准是什么",
        "开超市，员工二十来个，够得上小微企业吗",
        "算小微吗",
        "开了个小饭馆，员工15个，去年营业额90万，这算小型企业还是微型企业啊？",
        "我们厂是中型还是小型",
    ],
)
def test_size_questions_are_recognised(question):
    assert is_size_question(question)


@pytest.mark.parametrize(
    "question",
    [
        "小微企业贷款有什么优惠",
        "我们是小微企业，贷款到期能续贷吗",
        "我们算小微企业，能享受什么税收优惠",
        "政府采购有没有给小企业预留份额？",
        "大企业拖欠我们的货款怎么办？",
        "小型微利企业所得税怎么算",
        LOAN_QUESTION,
    ],
)
def test_policy_questions_that_mention_size_are_not_size_questions(question):
    assert not is_size_question(question)


@pytest.mark.parametrize(
    ("words", "expect", "figures"),
    [
        (RESTAURANT, (), {"STAFF": (15, "15人", ""), "REVENUE": (300, "300万元", "三百来万")}),
        ("员工二十来个，营业额1.2亿", (), {"STAFF": (20, "20人", "二十来个"), "REVENUE": (12000, "12000万元", "")}),
        ("十几个人，八十万", (), {"STAFF": (15, "15人", "十几个人"), "REVENUE": (80, "80万元", "")}),
        (
            "年营业额500000元，资产总额两千多万",
            (),
            {"REVENUE": (50, "50万元", ""), "ASSETS": (2500, "2500万元", "两千多万")},
        ),
        ("１５人，营业额1,200万", (), {"STAFF": (15, "15人", ""), "REVENUE": (1200, "1200万元", "")}),
        ("七八个员工", (), {"STAFF": (8, "8人", "七八个")}),
        ("不到20人", (), {"STAFF": (19, "不到20人", "不到20人")}),
        ("三百五十万", (), {"REVENUE": (350, "350万元", "")}),
        ("一年三百五万", (), {"REVENUE": (350, "350万元", "")}),  # spoken: 三百五 is 350
        ("20", (Metric.STAFF,), {"STAFF": (20, "20人", "")}),
        ("300", (Metric.REVENUE,), {"REVENUE": (300, "300万元", "300")}),  # a bare number asked for: 万元, said so
        ("20个", (Metric.STAFF, Metric.REVENUE), {"STAFF": (20, "20人", "")}),
        ("注册资本100万，贷了50万，2023年开的，干了3个月", (), {}),  # none of these is a figure of size
        ("20", (Metric.STAFF, Metric.REVENUE), {}),  # a bare number when two figures are asked: which?
        # 零 of 零售 and 零食 is not a revenue of nothing
        (
            "我们做零售的 十二个人 一年卖两百多万",
            (),
            {"STAFF": (12, "12人", ""), "REVENUE": (250, "250万元", "两百多万")},
        ),
        ("卖零食的小店 3个人 一年流水80万", (), {"STAFF": (3, "3人", ""), "REVENUE": (80, "80万元", "")}),
    ],
)
def test_figures_are_read_from_owners_words(words, expect, figures):
    reading = read_figures(words, expect)
    found = {metric.name: (f.value, f.shown, f.said) for metric, f in reading.figures.items()}
    assert found == figures


def test_a_reply_of_only_facts_leaves_little_else():
    assert read_figures("那要是30个人呢").rest == ""
    assert read_figures("我们是做餐饮的，营业额大概三百万吧").rest == ""
    assert len(read_figures("我们开饭馆的，银行贷款到期了能续贷吗").rest) > 3
    assert re.fullmatch(r"\s*", read_figures("20人").rest)


async def test_a_size_answer_counts_in_the_statistics_and_a_question_for_a_fact_does_not(served_config, assistant):
    async with running_bot(served_config, assistant) as (stub, app):
        log = app.bot_data["conversation"].log
        before = log.stats(1)
        [asking] = await ask(stub, 309, "我们算小微企业吗")
        assert labels(asking) == INDUSTRIES  # a fact is missing: nothing answered yet
        assert log.stats(1).questions == before.questions
        [answer] = await ask(stub, 309, RESTAURANT)
        assert "属于小型企业" in text_of(answer)
        after = log.stats(1)
        assert (after.questions, after.answered) == (before.questions + 1, before.answered + 1)
