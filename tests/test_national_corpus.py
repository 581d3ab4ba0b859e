"""National law beside the default documents: ids, versions in force, 民法典 parts, names people use."""

from __future__ import annotations

import dataclasses

import pytest

from bot.assistant import Assistant
from bot.conversation import Conversation
from bot.render import plain_answer
from bot.texts import ABSTAIN_TEXT, ADVICE_TEXT, BEYOND_THE_LAW_TEXT, STATEMENT_TEXT
from embeddings.abstention import ASKS_FOR_ADVICE, NEAR_FLOOR, Declined, speaks_of_support
from embeddings.build import get_adapter, get_encoder, make_index_builder
from policy_corpus.config import load_config
from policy_corpus.errors import UnknownArticleError, UnknownDocumentError
from policy_corpus.library import Library
from policy_corpus.names import name_before
from policy_corpus.sources import load_sources

from .conftest import DOCUMENTS, PROJECT, extract_laws

POLICY_DOCUMENTS = {"hunan", "payment", "sme_law", "bizenv", "sme_size"}
SUBSET = [
    "民法商法/公司法(2018-10-26).md",
    "民法商法/公司法(2023-12-29).md",
    "社会法/劳动合同法(2012-12-28).md",
    "社会法/就业促进法(2015-04-24).md",
    "民法典/继承编.md",
    "民法典/婚姻家庭编.md",
    "民法典/_index.md",
    "经济法/_index.md",
]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """An assistant serving the default documents plus a few real laws from the national collection."""
    root = tmp_path_factory.mktemp("national")
    collection = root / "collection"
    extract_laws(SUBSET, collection)
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(root / "data")})
    Library(config.data_path).publish(load_sources([DOCUMENTS, collection]).documents, make_index_builder(config))
    return Assistant(config)


def test_ids_are_paths_inside_the_collection(national):
    ids = {info.id for info in national.documents()}
    assert {"hunan", "sme_law", "payment", "bizenv"} <= ids
    assert {
        "民法商法/公司法(2023-12-29)",
        "民法商法/公司法(2018-10-26)",
        "社会法/劳动合同法(2012-12-28)",
        "民法典/继承编",
        "民法典/婚姻家庭编",
    } <= ids
    assert not any(doc_id.endswith("_index") for doc_id in ids)


def test_latest_version_is_in_force(national):
    infos = {info.id: info for info in national.documents()}
    assert infos["民法商法/公司法(2023-12-29)"].in_force
    assert not infos["民法商法/公司法(2018-10-26)"].in_force
    assert infos["民法商法/公司法(2023-12-29)"].version_date == "2023-12-29"


def test_superseded_version_is_never_cited(national):
    for question in ("有限责任公司股东认缴的出资多少年内要缴足？", "公司股东滥用股东权利给公司造成损失怎么办"):
        answer = national.ask(question)
        docs = {c.doc_id for c in answer.citations + answer.more}
        assert "民法商法/公司法(2018-10-26)" not in docs


def test_old_version_is_reachable_by_id(national):
    view = national.article("民法商法/公司法(2018-10-26)", 20)
    assert "滥用股东权利" in view.article.text


def test_a_figure_the_leading_policy_documents_do_not_state_is_declined(national):
    """The documents lead on 创业补贴 (they answer on their own), but none states an amount: said plainly."""
    answer = national.ask("我们市今年小微企业创业补贴具体能拿多少钱")
    assert answer.abstained and answer.figure_missing


def test_an_article_no_part_of_a_law_has_is_said_so(national):
    """民法典 is served in parts (编): a number none of them has is 'no such article', not 'which part do you mean'."""
    with pytest.raises(UnknownArticleError, match="^没有这一条"):
        national.resolve_document("民法典", 99999)
    assert national.resolve_document("民法典", 1123) == "民法典/继承编"


def test_a_short_name_owners_use_means_the_policy_document(national):
    """促进法 fits 中小企业促进法 and 就业促进法 alike: an owner of a small business means the former."""
    assert national.parse_lookup("促进法第十九条") == ("sme_law", 19, 0)
    answer = national.ask("促进法第五十三条讲的是什么？")
    assert (answer.citations[0].doc_id, answer.citations[0].article.number) == ("sme_law", 53)
    assert national.parse_lookup("就业促进法第十九条") == ("社会法/就业促进法(2015-04-24)", 19, 0)


def test_a_name_with_the_titles_words_in_another_order_means_that_document():
    """湖南中小企业促进法实施办法 for 湖南省实施《中华人民共和国中小企业促进法》办法: only its last word (办法) would
    match as written, and many national regulations end with it."""

    @dataclasses.dataclass
    class Named:
        id: str
        title: str
        cite_title: str

    hunan_title = "湖南省实施《中华人民共和国中小企业促进法》办法"
    hunan = Named("hunan", hunan_title, hunan_title)
    invoices = Named("行政法规/发票管理办法(2023-07-20)", "中华人民共和国发票管理办法", "中华人民共和国发票管理办法")
    assert name_before("请问湖南中小企业促进法实施办法", [hunan, invoices]) == [hunan]
    assert name_before("发票管理办法", [hunan, invoices]) == [invoices]
    assert name_before("湖南中小企业促进条例", [hunan, invoices]) == []


def test_civil_code_parts_are_cited_as_one_code(national):
    assert national.parse_lookup("民法典第一千一百二十三条") == ("民法典/继承编", 1123, 0)
    view = national.article("民法典/继承编", 1123)
    assert view.citation.reference.startswith("《民法典》第一千一百二十三条")
    assert national.parse_lookup("民法典第一千零四十六条")[0] == "民法典/婚姻家庭编"


def test_lookup_by_common_name_resolves_to_version_in_force(national):
    assert national.parse_lookup("劳动合同法第三十九条") == ("社会法/劳动合同法(2012-12-28)", 39, 0)
    assert national.parse_lookup("公司法第二十条") == ("民法商法/公司法(2023-12-29)", 20, 0)
    assert national.resolve_document("劳动合同法", 39) == "社会法/劳动合同法(2012-12-28)"
    assert national.parse_lookup("促进法第十九条") == ("sme_law", 19, 0)


def test_an_article_written_without_its_di_is_still_a_reference(national):
    """Owners type 劳动合同法39条 and 民法典1123条; a number of things (我们有3条建议) stays a number."""
    assert national.parse_lookup("劳动合同法39条") == ("社会法/劳动合同法(2012-12-28)", 39, 0)
    assert national.parse_lookup("民法典 1123 条") == ("民法典/继承编", 1123, 0)
    answer = national.ask("劳动合同法39条说的是啥")
    assert (answer.best.doc_id, answer.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 39)
    assert national.parse_lookup("我们有3条建议") is None


def test_unknown_or_ambiguous_name_lists_candidates(national):
    with pytest.raises(UnknownDocumentError, match="没有找到"):
        national.resolve_document("专利法", 1)
    with pytest.raises(UnknownDocumentError, match="可能指"):
        national.resolve_document("条例", 1)


def test_question_answered_from_the_right_law(national):
    answer = national.ask("员工严重违反公司规章制度，公司可以直接解除劳动合同吗？")
    assert not answer.abstained
    assert answer.best.doc_id == "社会法/劳动合同法(2012-12-28)"
    assert answer.best.article.number == 39


def test_national_law_cites_the_item_that_answers(national):
    """劳动合同法第三十八条 lists the employer's failings that let a worker quit; the one asked about is cited."""
    best = national.ask("公司一直没给我交社保，我能辞职吗").best
    assert (best.doc_id, best.article.number) == ("社会法/劳动合同法(2012-12-28)", 38)
    assert (best.paragraph, best.item) == (1, 3)


def test_national_law_cites_the_paragraph_its_example_questions_point_to(national):
    """劳动合同法第十九条: the first paragraph holds the question's words (试用期 three times), the third the answer
    (劳动合同期限不满三个月的，不得约定试用期); the places' example questions (policy_corpus/place_examples) tell them
    apart."""
    best = national.ask("临时请个帮工干六个礼拜就走，试用期能约吗").best
    assert (best.doc_id, best.article.number) == ("社会法/劳动合同法(2012-12-28)", 19)
    assert (best.paragraph, best.item) == (3, None)
    best = national.ask("员工签了一年合同，试用期最多能定多久").best
    assert (best.article.number, best.paragraph) == (19, 1)


def test_a_zero_width_line_before_a_heading_is_not_a_paragraph(national):
    """The collection puts a line holding only U+200B before some chapter headings (公司法第八十三条 ends one)."""
    article = national.article("民法商法/公司法(2023-12-29)", 83).article
    assert len(article.paragraphs) == 1
    assert "\u200b" not in article.text


def test_provincial_measure_still_answers_sme_questions(national):
    answer = national.ask("银行贷款到期了，能不能不还本金直接续贷？")
    assert (answer.best.doc_id, answer.best.article.number) == ("hunan", 11)


@pytest.mark.parametrize(
    "question, answers",
    [
        # 湖南办法第十一条第二款 (不得……借贷搭售) and 优化营商环境条例第二十六条第三款 (不得违规收取不合理费用) both state it
        ("银行放贷时非要我们搭售保险、还收一堆手续费，这合规吗？", {("hunan", 11), ("bizenv", 26)}),
        ("我们是小企业，想发行债券融资，政府有没有补助或者奖励？", {("hunan", 15)}),
    ],
)
def test_policy_document_that_answers_comes_before_national_law(national, question, answers):
    """The documents are searched as if served alone: national law on banking or bonds does not bury them."""
    answer = national.ask(question)
    assert not answer.abstained
    assert (answer.best.doc_id, answer.best.article.number) in answers


def test_labour_question_is_still_answered_from_national_law(national):
    answer = national.ask("员工患病医疗期满后不能从事原工作，公司可以辞退他吗？")
    assert not answer.abstained
    assert (answer.best.doc_id, answer.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 40)


def test_owner_worded_labour_question_is_not_captured_by_the_policy_documents(national):
    """公司、员工 and 补偿 are in the documents' words too, but only 劳动合同法 states the rule: it comes first."""
    answer = national.ask("公司不给员工交社保，员工能马上辞职还要补偿吗")
    assert not answer.abstained
    assert (answer.best.doc_id, answer.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 38)


def test_national_law_is_searched_with_the_query_adapter(national):
    assert national.searcher.adapter is not None and national.searcher.law_prior is not None
    assert national.searcher.reranker is not None
    answer = national.ask("老板让我试用期干了半年还不转正，合法吗？")
    assert not answer.abstained
    assert any(c.doc_id == "社会法/劳动合同法(2012-12-28)" and c.article.number == 19 for c in answer.citations)


def test_chit_chat_still_abstains_beside_national_law(national):
    assert national.ask("今天天气怎么样，晚饭吃什么好？").abstained


def test_a_long_run_of_one_character_is_declined_beside_national_law(national):
    assert national.ask("啊" * 5000).abstained


def test_query_adapter_can_be_turned_off_from_the_environment(national):
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_QUERY_ADAPTER": "off"})
    assert get_adapter(config, get_encoder(config)) is None
    assert get_adapter(load_config(PROJECT / "config.yaml", environ={}), get_encoder(config)) is not None


def test_the_reranker_leaves_named_articles_and_the_policy_documents_where_they_are(national):
    """It reorders national law's candidates among themselves: a named article stays first, and a policy document
    that leads keeps its place."""
    searcher, moved = national.searcher, 0
    for question in (
        "劳动合同法第三十条是怎么规定的",
        "银行贷款到期了，能不能不还本金直接续贷？",
        "员工离职要提前几天说",
    ):
        reranked = searcher.score(question)
        searcher.reranker, kept = None, searcher.reranker
        try:
            plain = searcher.score(question)
        finally:
            searcher.reranker = kept
        assert reranked.fused.tolist() == plain.fused.tolist()
        moved += reranked.articles[:40].tolist() != plain.articles[:40].tolist()
        primary = searcher.tiers.is_primary
        assert (primary[reranked.articles] == primary[plain.articles]).all()
        assert (reranked.articles[primary[reranked.articles]] == plain.articles[primary[plain.articles]]).all()
        assert (
            reranked.articles[: max(plain.named, plain.lead)].tolist()
            == plain.articles[: max(plain.named, plain.lead)].tolist()
        )
        assert sorted(reranked.articles[:40].tolist()) == sorted(plain.articles[:40].tolist())
    assert moved  # it did reorder national law somewhere
    assert searcher.article_keys[int(searcher.score("劳动合同法第三十条是怎么规定的").articles[0])][1] == 30


def test_national_law_that_matches_better_is_cited_beside_a_policy_document(national):
    """The documents answer (拖欠), but 劳动合同法 matches clearly better: it is among the three cited, not below them."""
    answer = national.ask("企业拖欠劳动报酬，劳动者可以申请支付令吗？")
    assert not answer.abstained
    assert ("社会法/劳动合同法(2012-12-28)", 30) in [(c.doc_id, c.article.number) for c in answer.citations[:3]]


def test_off_topic_floor_rises_with_national_law(national, searcher):
    """Beside ~1,000s more articles chatter comes closer to something; the floor for "nothing close" follows it."""
    assert national.searcher.floor > searcher.floor >= searcher.settings.abstain_below
    for chatter in ("你好", "谢谢", "讲个笑话吧"):
        assert national.ask(chatter).abstained, chatter


def test_a_question_a_little_below_the_floor_is_answered_when_its_words_match(national):
    """Owners' words for a rule in the law's terms come less close in meaning than chatter comes to anything: just
    below the floor, an article that matches the question's words well still answers; weak words do not."""
    searcher = national.searcher
    for question, answered in (
        ("厨师干了半年要走，说走就走，得提前多久说", True),
        ("员工在店里摔伤了，医药费谁出", False),
    ):
        scored = searcher.score(question)
        abstention = dataclasses.replace(searcher.abstention, floor=scored.closeness + NEAR_FLOOR / 2)
        declined = abstention.decline(scored, question, lambda index: searcher.article(index).text)
        assert (declined is None) == answered, question
        far_below = dataclasses.replace(abstention, floor=scored.closeness + 2 * NEAR_FLOOR)
        assert far_below.decline(scored, question, lambda index: searcher.article(index).text) is not None


def test_a_follow_up_a_little_below_the_floor_is_answered_when_the_two_together_match_in_words(national):
    """The same rule for a follow-up read with the question before it: just below the floor, the two together still
    answer when the first article matches their words well (the resignation article for 说走就走 … 提前多久)."""
    searcher = national.searcher
    previous, message = "员工干了半年说走就走", "他得提前多久通知我"
    both = f"{previous} {message}"
    together = searcher.score(both)
    alone = searcher.score(message)
    assert alone.closeness < together.closeness  # below the floor that together is just under, alone declines
    text = lambda index: searcher.article(index).text
    for floor, answered in ((together.closeness + NEAR_FLOOR / 2, True), (together.closeness + 2 * NEAR_FLOOR, False)):
        abstention = dataclasses.replace(searcher.abstention, floor=floor)
        declined = abstention.decline_follow_up(alone, together, together, message, both, text)
        assert (declined is None) == answered, floor


def test_a_question_of_which_court_is_not_taken_for_advice():
    """哪家…最 asks for a recommendation when it is about price or quality, not when it is about jurisdiction."""
    assert ASKS_FOR_ADVICE.search("哪家银行的贷款利息最低")
    assert not ASKS_FOR_ADVICE.search("合同纠纷，哪家法院管辖最合适")
    # what the law sets or decides is not a market price
    for question in ("律师费该谁出", "加盟费交了能退吗", "违约金约定多少算合理", "逾期罚款一般要交多少"):
        assert not ASKS_FOR_ADVICE.search(question), question


@pytest.mark.parametrize(
    "question",
    [
        "怎么才能吸引更多年轻顾客来店里",
        "公司想招人，哪个招聘平台最好用",
        "附近哪家律师事务所比较靠谱",
        "推荐一个好用的记账软件",
        "哪家物流公司发大件最省钱",
        "奶茶店开在商场里还是街边生意更好",
        "明年店面房租会涨到多少",
        "明年鸡蛋会不会涨价，要不要多进点",
        "开洗衣店选写字楼旁边好还是居民区好",
        "开火锅店选址，商场里面好还是临街铺面好",
        "做外卖推广，饿了么和抖音哪个引流效果更好",
        "你觉得现在开服装店还值得吗",
        "这家店转让费要二十万，值不值",
        "卖烤肠和卖煎饼，哪个更赚钱",
        "水果店要不要上美团外卖",
        # what a service or a deal costs on the market
        "开个炸鸡加盟店，加盟费一般要交多少",
        "找代账公司做账，一个月收多少算合理",
        "打这种官司请律师大概要花多少",
        "装修队报价八万，这个价钱贵不贵",
        "哪家银行给个体户放贷最快",
    ],
)
def test_business_advice_is_declined(national, question):
    """Marketing know-how, a recommendation, a forecast, a business choice: no provision answers it, however close
    its words come to one (招人), and the reply says it is a business judgement, not a gap in the law."""
    answer = national.ask(question)
    assert answer.abstained
    assert plain_answer(answer) == ADVICE_TEXT


@pytest.mark.parametrize(
    "question",
    [
        "员工上班老玩手机 我该怎么跟他说",
        "新加坡开公司要交多少税",
        "公司年会的节目怎么排比较热闹",
        "店里的账用什么软件记比较方便",
        "岳麓区市场监管局的电话是多少",  # an office's phone number: no law states it
        "去泰国开个餐厅要办什么执照",  # another country's rules
        "日本的劳动法对加班是怎么规定的",  # ... even asked as what the law says
        "社保网上办事大厅的增员按钮在哪",  # where to click in an app or on a website
        "开票软件里作废发票点哪个",
    ],
)
def test_a_question_no_law_answers_is_declined_though_provisions_share_its_words(national, question):
    """Managing staff, a foreign country's tax, an app that fails: 劳动合同法 or 公司法 share the words (员工, 公司,
    营业执照) and come close in meaning, yet no provision answers; the reply says what the assistant can do."""
    answer = national.ask(question)
    assert answer.abstained
    assert plain_answer(answer) == BEYOND_THE_LAW_TEXT


def test_a_question_about_a_button_the_law_regulates_is_answered(national):
    """广告法 requires pop-up ads to close with one click: asking whether a missing close button is lawful is not asking
    where to click."""
    answer = national.ask("我们网站的弹窗广告没有关闭按钮，这样违法吗")
    assert answer.declined is not Declined.BEYOND_THE_LAW


def test_a_question_no_law_answers_after_a_legal_one_is_declined_as_such(national):
    first = national.ask("员工试用期没干满我就辞退，要不要给补偿")
    follow_up = national.ask("美团外卖抽成多少", previous=first.question, document=first.best.doc_id)
    assert follow_up.abstained and plain_answer(follow_up) == BEYOND_THE_LAW_TEXT


@pytest.mark.parametrize(
    "question",
    ["员工上班时间玩手机被开除了 要给补偿吗", "公司注册资本要多久内交齐", "外国人来中国开公司 注册资本要多久内交齐"],
)
def test_a_question_of_law_in_the_same_words_is_answered(national, question):
    assert not national.ask(question).abstained


def test_a_question_of_size_worded_like_advice_is_answered_from_the_size_standard(national):
    """怎么划分 reads like a request for advice to the scope gate; the size rules answer it all the same."""
    answer = national.ask("个体工商户 怎么划分大中小微")
    assert not answer.abstained
    assert {citation.doc_id for citation in answer.citations} & {"sme_size", "sme_law"}


def test_a_law_named_for_its_rule_is_answered_by_the_rule_not_the_penalty(national):
    """第八十三条 (the penalty for an unlawful probation) repeats 试用期 more often than 第十九条 states the rule."""
    best = national.ask("劳动合同法对试用期是怎么规定的").best
    assert (best.doc_id, best.article.number) == ("社会法/劳动合同法(2012-12-28)", 19)


def test_advice_after_a_legal_question_is_still_advice(national):
    first = national.ask("员工试用期没干满我就辞退，要不要给补偿")
    follow_up = national.ask("那你觉得现在开服装店还值得吗", previous=first.question, document=first.best.doc_id)
    assert follow_up.abstained and plain_answer(follow_up) == ADVICE_TEXT


@pytest.mark.parametrize("message", ["?? 啊啊啊", "\x00\udcff\udcfe 啊啊啊", "？？啊吧", "嗯嗯 呃"])
def test_punctuation_and_interjections_are_not_a_question(national, message):
    """Nothing to search in words (undecodable bytes arrive as lone surrogates): however close its vector comes to
    a policy document's, it is declined, on its own and after a question."""
    answer = national.ask(message)
    assert answer.abstained and plain_answer(answer) == ABSTAIN_TEXT
    first = national.ask("员工试用期没干满我就辞退，要不要给补偿")
    follow_up = national.ask(message, previous=first.question, document=first.best.doc_id)
    assert follow_up.abstained and plain_answer(follow_up) == ABSTAIN_TEXT


@pytest.mark.parametrize(
    "question", ["员工试用期没干满我就辞退，要不要给补偿", "签劳动合同好还是签劳务协议好，法律上有啥区别"]
)
def test_a_legal_question_worded_like_advice_is_answered(national, question):
    assert not national.ask(question).abstained


def test_the_law_stating_the_rule_is_cited_beside_the_policy_documents(national):
    """The Hunan measures lead 「创业的人开公司，注册资本有什么要求」 (start-up support), and the company law's rule on
    subscribed capital is cited third, where the measures' third-best article would otherwise be."""
    answer = national.ask("创业的人开公司，注册资本有什么要求")
    cited = [(c.doc_id, c.article.number) for c in answer.citations]
    assert cited[0][0] == "hunan"
    assert cited[2] == ("民法商法/公司法(2023-12-29)", 47)


@pytest.mark.parametrize(
    ("first", "follow_up"),
    [
        ("小企业想申请担保贷款，政府有没有支持", "担保费率一般是多少"),
        ("湖南对小微企业有没有专项资金扶持", "能拿到多少"),
    ],
)
def test_a_follow_up_asking_for_a_figure_the_documents_do_not_state_is_declined(national, first, follow_up):
    """The Hunan measures lead both readings, and none of the articles the answer would cite states a rate or an
    amount: it is declined naming them, not answered with them as if they did."""
    answer = national.ask(first)
    assert answer.best.doc_id == "hunan"
    declined = national.ask(follow_up, previous=first, document=answer.best.doc_id)
    assert declined.abstained and declined.figure_missing
    assert "没有规定您问的具体数字" in plain_answer(
        declined
    ) and "《湖南省实施〈中小企业促进法〉办法》" in plain_answer(declined)


def test_a_follow_up_asking_what_happens_cites_the_sanction(national):
    """「不给加班费会被怎么罚」 after the rule on overtime pay: the penalty of the law just cited (its 法律责任 chapter),
    not the rule again."""
    first = national.ask("员工加班费怎么算")
    assert (first.best.doc_id, first.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 31)
    follow_up = national.ask("不给加班费会被怎么罚", previous=first.question, document=first.best.doc_id)
    assert not follow_up.abstained
    assert (follow_up.best.doc_id, follow_up.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 85)


def test_an_account_in_several_messages_is_read_as_one_question(national):
    """Owners type their situation first and the question after: the account is acknowledged, not declined, and
    the question is read with it."""
    from bot.conversation import Conversation

    conversation = Conversation(national)
    told = conversation.ask("我开了个小饭馆", chat_id=21).answer
    assert told.abstained and plain_answer(told) == STATEMENT_TEXT
    answer = conversation.ask("干了三个月没签合同", chat_id=21).answer
    assert answer.context_topic is not None
    assert (answer.best.doc_id, answer.best.article.number) in {
        ("社会法/劳动合同法(2012-12-28)", 10),
        ("社会法/劳动合同法(2012-12-28)", 82),
    }


@pytest.mark.parametrize("told", ["我在长沙开了个小超市", "我们是做外贸的公司", "我做服装生意的"])
def test_saying_what_business_one_runs_is_acknowledged_whatever_it_resembles(national, told):
    """However close the documents' words come (湖南办法, 对外贸易法), an owner saying what business they run has asked
    nothing yet; an account of what happened is answered."""
    assert national.ask(told).declined is Declined.STATEMENT
    assert not national.ask("店里的员工干了三个月了还没签劳动合同").abstained


def test_a_labour_question_about_a_shop_is_still_answered(national):
    assert not national.ask("店里的员工在外面兼职影响工作，我能解除合同吗").abstained


def test_an_unknown_id_names_the_ids_that_contain_what_was_typed(national, monkeypatch):
    import policy_corpus.store

    with pytest.raises(UnknownDocumentError) as few:
        national.article("nosuch", 1)
    assert "没有编号为“nosuch”的文件。可用的文件：bizenv" in str(few.value)  # a few: all of them
    with pytest.raises(UnknownDocumentError) as blank:
        national.article(" ", 1)
    assert str(blank.value).startswith("没有给出文件编号。")
    monkeypatch.setattr(policy_corpus.store, "IDS_LISTED", 3)  # as many as a whole collection has, beyond it
    with pytest.raises(UnknownDocumentError) as many:
        national.article("劳动合同法", 19)
    assert "编号里有“劳动合同法”的：社会法/劳动合同法(2012-12-28)（共" in str(many.value)
    with pytest.raises(UnknownDocumentError) as none:
        national.article("nosuch", 1)
    assert str(none.value).startswith("没有编号为“nosuch”的文件。共有 ")


@pytest.mark.parametrize("question", ["招的服务员，试用期最长能约定多久", "试用期最长能约定多久"])
def test_asking_how_long_cites_the_paragraph_that_states_how_long(national, question):
    """第十九条's first paragraph states the limits (不得超过一个月…); its second (只能约定一次试用期) shares more of
    the question's words (约定) but no figure."""
    best = national.ask(question).best
    assert (best.doc_id, best.article.number, best.paragraph) == ("社会法/劳动合同法(2012-12-28)", 19, 1)


def test_an_owners_general_law_question_is_not_led_by_the_policy_documents(national):
    """Worded like the questions written for national law (the policy gate): the law that states the rule is cited
    first (劳动合同法第八十二条: 二倍的工资), not a provincial measure that shares the owner's words."""
    for question in (
        "开了个小饭店，招的服务员干了两个多月一直没签合同，她现在要我多给一倍工资，真要给吗？",
        "小面馆的服务员来了两个多月，合同一直没签，她说要我多付一倍的工资，这钱真得给？",
    ):
        best = national.ask(question).best
        assert (best.doc_id, best.article.number) == ("社会法/劳动合同法(2012-12-28)", 82)


def test_the_policy_documents_boost_does_not_lift_them_over_the_law_for_a_question_read_as_national(national):
    """Read as national law's by the policy gate, the documents get no primary_boost either: on it alone three Hunan
    articles (人才, 培训) were cited for a non-compete question that 劳动合同法第二十三条 (竞业限制) answers."""
    answer = national.ask("美容店技师离职了，我不想让她一年内去对面那家店干，这个要给她钱吗")
    assert (answer.best.doc_id, answer.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 23)
    assert not any(citation.doc_id == "hunan" for citation in answer.citations)


def test_the_policy_documents_still_lead_the_questions_they_answer(national):
    best = national.ask("银行说我贷款到期必须先还清才能再贷，我周转不过来").best
    assert (best.doc_id, best.article.number) == ("hunan", 11)


def test_a_question_worded_like_the_documents_own_is_theirs_however_national_law_matches_its_words(national):
    """Read as the policy documents' (the policy gate) and close to 优化营商环境条例第三十一条 (政府换届不得违约), it is
    answered from it, not declined because the national collection has more of its words (区, 房租, 补贴)."""
    answer = national.ask("区里招商时承诺给我们房租补贴，现在换了区长就不认账了，怎么办")
    assert not answer.abstained
    assert (answer.best.doc_id, answer.best.article.number) == ("bizenv", 31)


@pytest.fixture(scope="module")
def beside_geohazards(tmp_path_factory):
    """The default documents beside 地质灾害防治条例, which holds the words of questions about geohazard assessments;
    without the documents' primary_boost, which lifts them over one law but not over the ~58,000 articles of the whole
    collection (there 地质灾害防治条例第二十二条 came first for the question below)."""
    root = tmp_path_factory.mktemp("geohazards")
    extract_laws(["行政法规/地质灾害防治条例(2003-11-24).md"], root / "collection")
    environ = {"POLICYBOT_DATA_DIR": str(root / "data"), "POLICYBOT_SEARCH__PRIMARY_BOOST": "0"}
    config = load_config(PROJECT / "config.yaml", environ=environ)
    Library(config.data_path).publish(
        load_sources([DOCUMENTS, root / "collection"]).documents, make_index_builder(config)
    )
    return Assistant(config)


def test_a_question_worded_like_the_documents_own_leads_with_them_though_national_law_matches_better(
    beside_geohazards,
):
    """地质灾害防治条例 holds the question's words and comes closer in meaning, but who pays for an assessment the
    authorities ask for is what 优化营商环境条例第四十二条 answers: it comes first, the national law after it."""
    answer = beside_geohazards.ask("园区管委会要我们厂自己花钱请机构做地质灾害危险性评估，这合理吗？")
    assert (answer.best.doc_id, answer.best.article.number) == ("bizenv", 42)
    assert any(c.doc_id.startswith("行政法规/地质灾害防治条例") for c in answer.citations)


def test_how_much_support_an_owner_gets_is_declined_when_no_cited_article_states_it(national):
    """Subsidies are set by local, yearly policies: a figure on something else (经济补偿 of 一个月工资) is no answer."""
    answer = national.ask("今年我们这儿的稳岗补贴，一个员工能补多少钱")
    assert answer.abstained and answer.figure_missing
    # the provisions named as nearest speak of support granted; 经济补偿's 一个月工资 is another matter
    reply = plain_answer(answer)
    named = [c for c in answer.more if c.article_reference in reply]
    assert named and all(speaks_of_support(c.article.text) for c in named)
    assert "《劳动合同法》第四十七条" not in reply


def test_how_much_support_is_not_covered_when_no_cited_article_speaks_of_support(national):
    answer = national.ask("公司注册资本实缴了能拿多少补贴")
    assert answer.abstained and not answer.figure_missing
    assert plain_answer(answer) == ABSTAIN_TEXT


def test_a_chain_of_follow_ups_on_untitled_law_names_the_question_it_started_from(national):
    """National articles have no titles: the 「接着上一个问题（…）」 line names the question the thread started from,
    not the follow-up before (那要是两年的合同呢)."""
    conversation = Conversation(national)
    first = conversation.ask("新招的员工试用期最长能约定多久", chat_id=7).answer
    assert (first.best.doc_id, first.best.article.number) == ("社会法/劳动合同法(2012-12-28)", 19)
    second = conversation.ask("那要是两年的合同呢", chat_id=7).answer
    third = conversation.ask("那三年的呢", chat_id=7).answer
    assert second.context_topic == third.context_topic == "新招的员工试用期最长能…"


def test_the_policy_gate_reads_a_follow_up_with_the_question_before_it(national):
    """他们老让我们去开座谈会, after the question about reaching the government, is the documents' (优化营商环境条例第四十八条
    says such meetings must not disturb business): read with the question before, the documents keep their boost."""
    conversation = Conversation(national)
    conversation.ask("区里有没有什么渠道能跟政府反映我们的困难", chat_id=9)
    answer = conversation.ask("可他们老让我们去开座谈会 耽误做生意 能不去吗", chat_id=9).answer
    assert answer.context_topic is not None
    assert answer.best.doc_id in POLICY_DOCUMENTS
    assert ("bizenv", 48) in {(citation.doc_id, citation.article.number) for citation in answer.citations}
