"""Follow-ups and the cited 款/项: when a message leans on the previous one, the chat's memory of it, and
`policybot eval` on conversations (turns) and pinpointed questions."""

from __future__ import annotations

import json

from bot.context import Contexts
from embeddings.evaluate import evaluate, read_questions
from embeddings.followup import leans_on_previous, points_back, resolve

LOAN_QUESTION = "银行贷款到期了，能不能不还本金直接续贷？"


def test_what_leans_on_the_previous_question():
    for message in ("那担保呢？", "要是欠钱的是政府呢", "这个要多久", "他也一样吗", "可他们总拖着不给怎么办", "罚吗"):
        assert leans_on_previous(message), message
    # what was just discussed, unnamed: 这批货, 拖这么久, X了以后, (我)要是…, 也要…？
    for message in (
        "这批货退回去的运费该由谁来出",
        "拖这么久给我造成的损失能要回来吗",
        "签了以后发现条款不对能反悔吗",
        "我要是不干了 押金能退吗",
        "才几十块钱的东西 也要赔这么多？",
        # nobody and nothing named: the one just discussed
        "我自己先垫钱修好了 能从房租里扣吗",
        "一个月最多能加多少个小时",
    ):
        assert leans_on_previous(message), message
    # asks whether one may, of nothing named: not chatter, however little it matches alone
    for message in ("能涨吗", "要给补偿吗", "会罚吗", "向谁提啊", "找谁呀"):
        assert points_back(message), message
    assert not points_back("今天天气怎么样")
    for message in ("", "。。。", LOAN_QUESTION, "换个事，我们的外观专利被别人抄了，到底应该去哪个部门投诉维权"):
        assert not leans_on_previous(message), message
    assert resolve("那担保呢？", None).previous is None  # nothing to lean on
    assert resolve("那担保呢？", LOAN_QUESTION).query == f"{LOAN_QUESTION} 那担保呢？"


def test_a_message_that_changes_the_subject_stands_on_its_own():
    """换个事 / 问个别的 open a new question; after 对了 / 再问个 / 另外问下 the rest decides."""
    for message in (
        "问个别的 大企业付款能约定等他们甲方付了再给我们吗",
        "换个事 那担保呢",
        "再问个 银行开户的收费标准在哪查",
        "另外 店里的收银员下班路上被车撞了算不算工伤",
        "另外想问 注册下来的商标能用多少年",
    ):
        assert not leans_on_previous(message), message
    for message in ("再问一下，那担保呢", "对了，这个要多久", "另外问下 他们也一样吗"):
        assert leans_on_previous(message), message


def test_a_chat_context_expires_with_time_turns_and_room():
    now = [0.0]
    contexts = Contexts(seconds=600, turns=2, most=2, clock=lambda: now[0])
    contexts.remember(1, "q1", "t1", follow_up=False)
    assert contexts.get(1).query == "q1"
    now[0] = 601
    assert contexts.get(1) is None  # ten minutes later it is a new conversation
    contexts.remember(1, "q", "t", follow_up=False)
    contexts.remember(1, "q f1", "t", follow_up=True)
    assert contexts.get(1) is not None
    contexts.remember(1, "q f1 f2", "t", follow_up=True)
    assert contexts.get(1) is None  # two follow-ups in a row: let go
    for chat in (2, 3, 4):
        contexts.remember(chat, "q", "t", follow_up=False)
    assert len(contexts) == 2 and contexts.get(2) is None  # the least recent chat made room
    assert contexts.forget(4) and not contexts.forget(4)


def write(tmp_path, name, rows):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_eval_replays_turns_and_scores_the_last(searcher, tmp_path):
    turns = write(tmp_path, "turns", [{"turns": [LOAN_QUESTION, "那担保呢？"], "gold": [["hunan", 14]]}])
    alone = write(tmp_path, "alone", [{"question": "那担保呢？", "gold": [["hunan", 14]]}])
    in_context = evaluate(searcher, read_questions(turns))
    assert in_context.recall_at_1 == 1.0 and in_context.abstain_answerable == 0.0
    assert evaluate(searcher, read_questions(alone)).recall_at_1 == 0.0  # the same words alone go elsewhere


def test_eval_scores_the_cited_paragraph_and_item(searcher, tmp_path):
    question = LOAN_QUESTION
    right = write(
        tmp_path, "right", [{"question": question, "gold": [["hunan", 11]], "pinpoint": [["hunan", 11, 1, 7]]}]
    )
    wrong = write(
        tmp_path, "wrong", [{"question": question, "gold": [["hunan", 11]], "pinpoint": [["hunan", 11, 1, 5]]}]
    )
    plain = write(tmp_path, "plain", [{"question": question, "gold": [["hunan", 11]]}])
    assert evaluate(searcher, read_questions(right)).pinpoint_at_1 == 1.0
    assert evaluate(searcher, read_questions(wrong)).pinpoint_at_1 == 0.0
    assert evaluate(searcher, read_questions(plain)).pinpoint_at_1 is None


def test_eval_reads_ids_as_a_collection_spells_them(searcher, assistant, tmp_path):
    """A collection's paths have full-width brackets (…解释（一）(2020-12-29)) where the served id has the normal
    form (…解释(一)(2020-12-29)); a gold written either way is the same document, as is an id typed in full width."""
    question = LOAN_QUESTION
    wide = write(
        tmp_path, "wide", [{"question": question, "gold": [["ｈｕｎａｎ", 11]], "pinpoint": [["ｈｕｎａｎ", 11, 1, 7]]}]
    )
    report = evaluate(searcher, read_questions(wide))
    assert report.recall_at_1 == 1.0 and report.pinpoint_at_1 == 1.0
    assert assistant.article("ｈｕｎａｎ", 11).doc.id == "hunan"


def test_chatter_after_a_question_is_not_taken_for_a_follow_up(assistant):
    from bot.conversation import Conversation

    conversation = Conversation(assistant)
    conversation.ask(LOAN_QUESTION, chat_id=9)
    chatter = conversation.ask("今天天气怎么样", chat_id=9).answer
    assert chatter.abstained and chatter.context_topic is None
    follow_up = conversation.ask("那担保呢？", chat_id=9).answer
    assert not follow_up.abstained and follow_up.context_topic == "金融机构支持"


def test_a_request_for_advice_is_declined_and_not_taken_as_the_question_to_follow(assistant):
    from bot.conversation import Conversation

    conversation = Conversation(assistant)
    conversation.ask(LOAN_QUESTION, chat_id=10)
    assert conversation.ask("推荐一个好用的记账软件", chat_id=10).answer.abstained
    follow_up = conversation.ask("那担保呢？", chat_id=10).answer
    assert not follow_up.abstained and follow_up.context_topic == "金融机构支持"
    assert conversation.ask("哪家银行利息最低", chat_id=10).answer.abstained  # advice, whatever it follows


def test_a_figure_the_documents_do_not_state_is_declined_naming_the_nearest_provisions(assistant):
    from bot.render import plain_answer

    answer = assistant.ask("创业担保贷款最多能贷多少")
    assert answer.abstained and answer.figure_missing
    text = plain_answer(answer)
    assert text.startswith("抱歉，现有文件提到了这个事项，但没有规定您问的具体数字") and "《" in text
    assert not assistant.ask("今天天气怎么样，推荐一部电影").figure_missing


def test_greetings_and_thanks_are_not_logged_and_do_not_count_as_unanswered(assistant, tmp_path):
    from bot.conversation import Conversation
    from bot.questionlog import QuestionLog

    log = QuestionLog(tmp_path / "questions.db")
    conversation = Conversation(assistant, log)
    assert conversation.ask("您好，在吗", user_id=1, chat_id=12).question_id is None
    assert conversation.ask(LOAN_QUESTION, user_id=1, chat_id=12).question_id is not None
    assert conversation.ask("谢谢！", user_id=1, chat_id=12).question_id is None
    stats = log.stats()
    assert (stats.questions, stats.abstained) == (1, 0)


def test_a_follow_up_stays_with_the_document_just_cited(searcher, assistant):
    """「那价格上有优惠吗」 after a question the Hunan measures answered: read alone with it, the promotion law's
    procurement article would come first; the conversation stays with the measures' article that was just cited."""
    from bot.conversation import Conversation

    first, follow_up = "湖南的政府采购对小企业有什么照顾", "那价格上有优惠吗"
    without = searcher.search(follow_up, 3, previous=first)
    assert without.hits[0].doc_id != "hunan"
    conversation = Conversation(assistant)
    assert conversation.ask(first, chat_id=5).answer.best.doc_id == "hunan"
    answer = conversation.ask(follow_up, chat_id=5).answer
    assert not answer.abstained and answer.context_topic is not None
    assert (answer.best.doc_id, answer.best.article.number) == ("hunan", 26)
