"""When not to answer: nothing in the corpus is close in meaning, other law matches far better, or the question
asks for a figure that none of the provisions an answer would cite states."""

from __future__ import annotations

import enum
import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import faiss
import numpy as np

from policy_corpus.config import SearchSettings

from .encoder import Encoder
from .fusion import Scored
from .lexical import BM25, names_a_topic, top_mean
from .units import letters, query_text

# Things people say to a bot that no law answers. How close they come to a corpus sets its floor for "nothing is
# close in meaning": the more units a corpus has, the closer everything comes (best cosine of these: ~0.67 over the
# four policy documents, ~0.74 beside the national collection, where real questions start at ~0.75).
OFF_TOPIC = (
    "您好，请问有人吗",
    "非常感谢你的帮助",
    "今晚的月亮真圆啊",
    "给我讲一个有趣的故事",
    "这首歌叫什么名字",
    "明天早上几点起床比较好",
    "西红柿炒鸡蛋先放哪个",
    "最近有什么好看的电视剧",
    "我想去海边旅游",
    "你喜欢什么颜色",
    "篮球比赛几点开始",
    "外面风好大",
    "帮我翻译一下这句英文",
    "今天星期几",
    "我有点困了",
    "小狗为什么摇尾巴",
    "这个周末天气好吗",
    "你叫什么名字",
    "哈哈好的",
    "晚安",
    "我想学弹吉他",
    "地球离太阳有多远",
    "咖啡和茶哪个好",
    "路上堵车了",
)
# from the median off-topic best cosine: the tuned encoder (embeddings/tuned_encoder.py) spreads cosines wider than
# the shipped model did (chatter's median best 0.72 → 0.55), and owners' questions a law answers come nearer that
# median than they did; at -0.04 the floor declines no more answerable development questions than before
# (the scope gate and the small-talk rules decline what no law answers)
OFF_TOPIC_MARGIN = -0.04
# A question asking for a figure or a list of papers (注册商标要多久、交多少钱; 要准备哪些材料), not whether one applies
# (罚多少没个标准吗). Documents that mention a topic without its specifics (商标, 许可, 担保贷款) do not answer it.
NUMBER_ASKED = re.compile(r"多少|(?<![这那近前头后了])几(?:年|个月|天|倍|成|次|个工作日)|多久|多长时间|税率|征收率")
FIGURE_ASKED = re.compile(f"{NUMBER_ASKED.pattern}|哪些材料|什么材料")
# A question asking for business advice rather than a rule: a recommendation or ranking (哪家最便宜, 哪个牌子好,
# 推荐一下), an opinion (你觉得…好吗, 好听吗), whether a trade or a place pays (还赚钱吗, 哪儿生意更好), the price of
# goods (多少钱一斤), a forecast (明年会涨到多少), or marketing know-how (怎么提高销量, 文案). No provision answers
# it, however close its words come to one (银行, 招聘).
ASKS_FOR_ADVICE = re.compile(
    r"哪家.{0,12}(?:便宜|靠谱|划算|最(?:低|好|省|实惠|快))|哪个.{0,6}(?:牌子|品牌|平台).{0,6}(?:好|最)|推荐(?:一下|一个|个|几个|一款)"
    r"|你觉得.{0,12}(?:好|行|怎么样)|好听吗|好看吗|(?:还)?赚钱吗|能赚多少|多少钱?一(?:斤|个|件|平)|生意更好"
    r"|(?:明年|以后|将来).{0,12}会(?:涨|降)到?多少"
    r"|怎么(?:才能)?(?:提高|提升|增加|吸引|做好|做大|引流|起号|涨粉|打广告)|营销(?:技巧|方案|策略)|文案|转化率"
    # forecasts, whether a business is worth it, either-or business choices, the assistant's opinion
    r"|会不会(?:再)?(?:涨|跌|降)|行情(?:怎么样|如何|好不好)|有(?:没有)?前途|前景(?:怎么样|如何)|入场晚不晚|往里扔钱"
    r"|值得(?:继续)?(?:做|干|开|投|加盟|入手)|你(?:觉得|看|认为).{0,16}值得|值不值得?[？?！!。\s]*$|能回本"
    r"|(?:开在|选址?)[^。？?！!]{1,14}好还是|要不要(?:现在)?囤|要不要(?:再)?开(?:一家|个|家)?分店"
    r"|要不要上.{0,4}(?:外卖|平台|美团|抖音)|哪个.{0,6}(?:走量|好做|赚钱|划算|利润|卖得|更能|效果(?:更|最)?好)"
    r"|你(?:建议|怎么看)|帮我分析"
    r"|(?:还)?好做吗|能(?:挣|赚)回来|怎么(?:才能)?(?:多来|多卖|招揽|拉到|跟[^，。？?]{0,4}竞争)|拉到回头客|效果好不好"
    # what a service or a deal costs on the market (加盟费一般多少, 代账一个月收多少算合理, 请律师一般要多少钱)
    r"|(?:加盟费?|转让费|代账|代理记账|律师|装修|中介费|推广费|设计费)[^，。？?！!]{0,10}"
    r"(?:一般|大概|大约|通常|行情)[^，。？?！!]{0,4}(?:要|收|得|花)?多少|收多少[^，。？?！!]{0,3}(?:算|才)?合理"
    r"|(?:价钱|价格|价位|这个价)[^，。？?！!]{0,4}(?:贵不贵|合不合理|算贵吗)"
)
# A question that asks what the law says (法律上有啥区别, 这合法吗, 有没有规定) or what tax is owed (一个月挣多少才开始
# 交税: tax laws state who pays, on what, from what amount): the provisions nearest answer it, however much else in it
# reads like business advice or small talk about money (签劳动合同好还是签劳务协议好)
ASKS_THE_LAW = re.compile(r"法律|法规|规定|合法|违法|犯法|条例|法条|依法|交税|缴税|纳税|个税|起征点")
# An office's phone number, address or hours (永州市中小企业服务中心电话是多少, 雨花区政务服务中心几点下班): no law
# states them
ASKS_FOR_OFFICE_DETAILS = re.compile(
    r"电话(?:号码)?(?:是)?多少|地址在哪|地址是(?:多少|啥|什么)|哪个大厅"
    r"|(?:局|所|中心|大厅|窗口|办事处|银行|医院)[^，。？?]{0,6}(?:几点(?:上|下)班|几点(?:开|关)门|(?:周六|周日|周末)上班)"
)
# Where an app's or a website's button is (电子税务局的申报按钮在哪儿, 个税APP里点哪个): no provision says where to click
# (not 弹窗广告没有关闭按钮违法吗, which asks what 广告法 says)
ASKS_FOR_BUTTONS = re.compile(r"按钮在哪|哪个按钮|点哪(?:个|里|儿)|哪(?:里|儿)点")
# Another country's own rules (在日本开拉面店要办哪些证, 马来西亚的工作签证怎么办, 英国公司报税一年几次): no provision of
# Chinese law states them. Not where China is part of it (出口到日本, 外国人来华, 在新加坡注册的公司跟我们做生意算不算外国企业)
# nor where help to go abroad is asked for (在国外注册商标有人帮忙吗: the SME documents offer it)
FOREIGN_PLACES = (
    "日本|韩国|朝鲜|美国|英国|德国|法国|意大利|西班牙|葡萄牙|荷兰|瑞士|瑞典|俄罗斯|乌克兰|加拿大|澳大利亚|澳洲|新西兰|新加坡|马来西亚|"
    "泰国|越南|印尼|印度尼西亚|印度|菲律宾|柬埔寨|老挝|缅甸|蒙古|哈萨克斯坦|迪拜|阿联酋|沙特|土耳其|以色列|埃及|巴西|阿根廷|墨西哥|智利|"
    "南非|尼日利亚|肯尼亚|非洲|欧洲|欧盟|北美|南美|东南亚|中东|国外|海外"
)
ASKS_FOREIGN_RULES = re.compile(
    rf"(?:{FOREIGN_PLACES})(?:(?:开|办|注册|设立|成立|投资|建)[^，,。？?\s]{{0,5}}(?:公司|店|厂|企业|餐厅|馆|铺|工作室|办事处)"
    r"|的?(?:工作|商务|旅游|留学)?签证|(?:公司|企业)?的?(?:报税|交税|纳税|税率|个税|增值税|年审|注册)"
    r"|的?(?:劳动法|法律|法规|规定|政策))"
)
CHINA_OR_SUPPORT = re.compile(
    r"中国|国内|我国|境内|来华|在华|进口|出口|外贸|报关|海关|外商|外资|外国人|跨境|涉外|回国|大陆|内地"
    r"|帮忙|帮助|咨询|支持|扶持|服务|补贴|资助|政府|商标|跟我们|算不算"
)
YES_NO_ENDING = re.compile(r"吗[？?！!。.\s]*$")
FIGURE_STATED = re.compile(
    r"[0-9０-９]|[一二三四五六七八九十百千万两]+\s*(?:日|天|个月|年|倍|元|万元|个工作日|％|%)"
    r"|百分之|千分之|万分之"
)
# How long or how often: a frequency (每年, 定期) answers it, and so does a time limit the law sets and has published
# (在规定的时限内确定并公开具体办理时间): the owner learns where the figure is fixed. Not for amounts (补贴多少钱).
TIME_ASKED = re.compile(r"多久|多长时间|几(?:年|个月|天|次|个工作日)|多少(?:天|年|次|个月|时间)")
TIME_STATED = re.compile(r"每(?:年|季度?|半年|月)|定期|时限|办理时间")
SUPPORT = re.compile(r"补贴|补助|奖补|资助|贴息|扶持资金")  # money a government hands out
# ... where a text grants it: not the 津贴和补贴 of a wage (关于工资总额组成的规定第八条)
GRANTED = re.compile(r"财政|政府|给予|专项资金|扶持")


HAN = re.compile(r"[\u3400-\u9fff]")
# A whole message that greets or announces a question without asking it (你好, 在吗, 我想咨询一下), or thanks or
# acknowledges an answer (谢谢, 好的, 明白了): no provision is looked for
SAY_HELLO = re.compile(
    r"(?:你好|您好|你们好|在吗|在不在|有人吗|哈喽|嗨|hello|hi|早上好|下午好|晚上好|老师好)*"
    r"(?:请问一?下?|(?:我)?(?:想|要)?(?:问|咨询|请教)(?:一?下|个事儿?|个问题|点事儿?)?|有个问题(?:想问一?下)?|打扰一?下)?",
    re.IGNORECASE,
)
SAY_THANKS = re.compile(
    r"(?:好的?|嗯+|哦+|噢+|ok|okay|谢谢(?:你|您)?|多谢|感谢|谢了|明白了?|知道了|懂了|收到|了解了?|行|可以)+(?:啦|了|哈|呀)?",
    re.IGNORECASE,
)
# ... or is chit-chat (今天天气怎么样, 今天星期几, 你是谁): the national collection has laws on weather and working days
# close enough to pass the floor, and after a question it would be read together with that question
CHITCHAT = re.compile(
    r"(?:今天|明天|后天|这几天|最近|这周末|周末|外面)?的?天气(?:怎么样|如何|好吗|好不好|咋样|怎样)?"
    r"|(?:今天|明天|后天)?(?:会|要)?下[雨雪](?:吗|了吗|了)?"
    r"|(?:今天|现在)?是?(?:星期|礼拜|周)几了?|现在几点了?"
    r"|你(?:是谁|叫什么(?:名字)?|是机器人吗|是真人吗|是人吗)"
    r"|(?:给我)?讲个?(?:笑话|故事)吧?|我?[好很真]?无聊啊?|聊聊天?吧?|你?吃(?:饭)?了吗|晚安|早安|午安"
)
# A short account of the owner's situation that asks nothing yet (我开了个小饭馆, 招了个服务员): owners type in
# several messages, and the question comes next
ASKS_SOMETHING = re.compile(
    r"[？?]|吗|呢|么|怎|咋|啥|什么|哪|谁|多少|多久|多长|几|能不能|可不可以|是不是|有没有|要不要|会不会|行不行|算不算|"
    r"该不该|如何|为何|吧|可否|是否|能否|嘛|还是|请|帮我|给我"
)
TELLS = re.compile(r"我|咱|俺|了")
# ... of which one that only says what business the owner runs (我开了个小饭馆, 我们是做外贸的公司, 我在长沙开了家小超市)
# states nothing a provision could answer, however close its words come to one
INTRODUCES_BUSINESS = re.compile(
    r"(我|我们|俺|咱)(家)?(在\w{1,8})?(开了|开的|开|做|干|是)(一)?(个|家|间)?\w{0,10}?"
    r"(店|馆|厂|公司|超市|摊|作坊|工作室|门面|铺子|民宿|网店|个体户|生意|买卖)(的)?(呢|哈|啊|呀)?"
    r"|(我|我们|俺|咱)(家)?(是)?(做|干|搞)\w{1,8}的(呢|哈|啊|呀)?"
)
TELLS_UP_TO = 20  # letters


def asks_foreign_rules(question: str) -> bool:
    """Whether the question asks about another country's rules, with nothing of China in it."""
    return bool(ASKS_FOREIGN_RULES.search(question)) and not CHINA_OR_SUPPORT.search(question)


def has_words(question: str) -> bool:
    """Whether there is anything to search: a message of punctuation, symbols or emoji alone has nothing."""
    return any(ch.isalnum() for ch in question)


def small_talk_of(message: str) -> Declined | None:
    """HELLO, THANKS or CHITCHAT for a whole message that only greets, announces, thanks or chats; None for anything
    else."""
    said = letters(message)
    if not said:
        return None
    if SAY_HELLO.fullmatch(said):
        return Declined.HELLO
    if SAY_THANKS.fullmatch(said):
        return Declined.THANKS
    if CHITCHAT.fullmatch(said):
        return Declined.CHITCHAT
    return None


def tells_only(message: str) -> bool:
    """Whether the message is a short account of the situation that asks nothing yet (我开了个小饭馆)."""
    return len(letters(message)) <= TELLS_UP_TO and bool(TELLS.search(message)) and not ASKS_SOMETHING.search(message)


def not_covered(message: str) -> Declined:
    """NOT_COVERED, or STATEMENT for a short account of the situation that asks nothing yet."""
    return Declined.STATEMENT if tells_only(message) else Declined.NOT_COVERED


def asks_for_figure(question: str, papers: bool = True) -> bool:
    """Whether the question asks for a figure, duration or (`papers`) list of papers, and is not a yes-or-no
    question."""
    match = (FIGURE_ASKED if papers else NUMBER_ASKED).search(question)
    return match is not None and not YES_NO_ENDING.search(question[match.end() :])


def speaks_of_support(text: str) -> bool:
    """Whether a provision speaks of support a government grants (财政给予补贴, 贴息), not of a wage's 补贴."""
    return bool(SUPPORT.search(text) and GRANTED.search(text))


def states_figure(text: str, question: str) -> bool:
    """Whether `text` states the kind of figure `question` asks for: a number, or for how long or how often also a
    frequency or a time limit the law sets (TIME_STATED)."""
    return bool(FIGURE_STATED.search(text) or (TIME_ASKED.search(question) and TIME_STATED.search(text)))


@functools.cache
def off_topic_vectors(encoder: Encoder) -> np.ndarray:
    """OFF_TOPIC encoded, once per encoder: every corpus version the process loads (each refresh) measures them."""
    return encoder.encode([query_text(text) for text in OFF_TOPIC])


def off_topic_floor(abstain_below: float, off_topic_best: np.ndarray) -> float:
    """The best cosine below which nothing counts as close in meaning: `abstain_below`, or higher in a corpus
    where off-topic chatter comes closer."""
    return max(abstain_below, float(np.median(off_topic_best)) + OFF_TOPIC_MARGIN)


# A question whose closest provision is only a little below the floor in meaning is still covered when the first
# article matches its words well (BM25, its example questions' words included): owners' words for a rule stated in
# the law's terms (散装辣椒酱容器上要标什么 → 食品安全法第六十八条, 找人刷单刷好评 → 反不正当竞争法第八条) come less
# close than chatter does to anything. Since the scope gate declines what no law answers, 0.03 (not 0.015) costs no
# unanswerable development line.
NEAR_FLOOR = 0.062  # 0.03 on the shipped model's scale (the tuned encoder's cosine differences are 2.07 times as wide)
WORDS_MATCH = 30.0


class Declined(str, enum.Enum):
    """Why a question is not answered."""

    NOTHING = "nothing"  # no words, or no candidate at all
    NOT_COVERED = "not_covered"  # nothing close in meaning, or other law matches far better
    NO_FIGURE = "no_figure"  # the provisions on the topic state no figure of the kind asked for
    ADVICE = "advice"  # a request for business advice (行情, 值不值, 选哪个), not a question about the law
    BEYOND_THE_LAW = "beyond_the_law"  # like what no law answers: advice, an office's hours, an app's buttons
    NOT_CHINESE = "not_chinese"  # no Chinese at all (a question in English, a link): the texts are all Chinese
    STATEMENT = "statement"  # an account of the situation that asks nothing yet (我开了个小饭馆): go on
    HELLO = "hello"  # a greeting, or a question announced but not asked (你好, 我想咨询一下)
    CHITCHAT = "chitchat"  # 今天天气怎么样, 你是谁: not about the law, whatever words of a law it shares
    THANKS = "thanks"  # thanks or an acknowledgement of the answer (谢谢, 好的)

    @property
    def not_a_question(self) -> bool:
        """Whether the message asked nothing (a greeting, thanks, an account to go on from): nothing to log or to
        vote on."""
        return self in (Declined.HELLO, Declined.THANKS, Declined.STATEMENT, Declined.CHITCHAT)

    @property
    def whatever_it_follows(self) -> bool:
        """Whether the reason holds for a follow-up too, whatever the question before it."""
        return self in (Declined.ADVICE, Declined.NOT_CHINESE, Declined.HELLO, Declined.THANKS, Declined.CHITCHAT)


@dataclass
class Abstention:
    """Decides, for one corpus version, when a question is not answered."""

    settings: SearchSettings
    floor: float  # of the whole corpus
    primary_floor: float  # of the policy documents searched on their own
    background: BM25 | None = None
    corpus_on_background_scale: BM25 | None = None
    is_primary: np.ndarray | None = None  # per article, when national law is served beside the policy documents
    _last: tuple[str, float, np.ndarray] | None = field(default=None, repr=False)
    _last_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def measure(
        cls,
        settings: SearchSettings,
        encoder: Encoder,
        index: faiss.Index,
        primary_vectors: np.ndarray | None = None,
        background: BM25 | None = None,
        corpus_on_background_scale: BM25 | None = None,
        is_primary: np.ndarray | None = None,
    ) -> Abstention:
        """Floors from how close off-topic chatter comes, to the whole corpus and to the policy documents alone
        (their unit vectors, when national law is beside them; `is_primary`: per article, then)."""
        off_topic = off_topic_vectors(encoder)
        floor = primary_floor = off_topic_floor(settings.abstain_below, index.search(off_topic, 1)[0][:, 0])
        if primary_vectors is not None:
            primary_floor = off_topic_floor(settings.abstain_below, (off_topic @ primary_vectors.T).max(axis=1))
        return cls(settings, floor, primary_floor, background, corpus_on_background_scale, is_primary)

    def decline(self, scored: Scored, question: str, article_text: Callable[[int], str]) -> Declined | None:
        """Why not to answer, or None: nothing to search, nothing close in meaning or other law matching the
        question far better, or a figure asked for that none of the provisions an answer would cite states
        (`article_text`: by index)."""
        if len(scored.articles) == 0 or not has_words(question):
            return Declined.NOTHING
        # greetings, thanks and chit-chat are told apart before anything is searched (Searcher.judge)
        if not HAN.search(question):
            # its vector lands somewhere in the corpus, close enough to pass: evidence of nothing
            return Declined.NOT_CHINESE
        if scored.named:
            return None
        if ASKS_FOR_ADVICE.search(question):
            return Declined.ADVICE
        # an account that asks nothing yet is one to go on from unless a provision is close in meaning (and what
        # business the owner runs never is): the policy documents leading (开了个小超市 → 湖南办法) or a word matching
        # well says nothing of what the owner will ask
        if tells_only(question) and (
            scored.closeness < self.floor or INTRODUCES_BUSINESS.fullmatch(letters(question)) is not None
        ):
            return Declined.STATEMENT
        # the policy documents lead when they answer on their own (embeddings/tiers.py): covered, but they may still
        # not state the figure asked for
        if not scored.lead and self.uncovered(scored, question) and not self.matched_in_words(scored, question):
            return not_covered(question)
        return self.figure_missing(scored, question, article_text)

    def matched_in_words(self, scored: Scored, question: str) -> bool:
        """Nearly close enough in meaning, and the first article matches the question's words well."""
        return (
            scored.closeness >= self.floor - NEAR_FLOOR
            and float(scored.lexical[0]) >= WORDS_MATCH
            and self.background_ratio(question) >= self.settings.abstain_ratio
        )

    def decline_follow_up(
        self,
        alone: Scored,
        together: Scored,
        merged: Scored,
        message: str,
        both: str,
        article_text: Callable[[int], str],
    ) -> Declined | None:
        """Why not to answer a follow-up, or None: it declines as not covered only when the message alone and the
        two questions together (`both`) both would. The figure and advice rules read the message itself: a figure
        the earlier question asked for is not asked again, a figure it asks for must be stated by what the answer
        would cite (`merged`), and a request for advice is one whatever it follows."""
        declined = self.decline(alone, message, article_text)
        if declined is not None and declined.whatever_it_follows:
            return declined
        missing = self.figure_missing(merged, message, article_text) if len(merged.articles) else None
        if missing is not None:
            return missing
        if declined is None:
            return None
        if len(together.articles) == 0:
            return Declined.NOTHING
        if (
            together.named
            or together.lead
            or not self.uncovered(together, both)
            or self.matched_in_words(together, both)
        ):
            return None
        return not_covered(message)

    def figure_missing(self, scored: Scored, question: str, article_text: Callable[[int], str]) -> Declined | None:
        """NO_FIGURE when the question asks for a figure and none of the articles an answer cites states one; for an
        amount of support (补贴能领多少), none states one where it speaks of support, and when none of them speaks of
        support at all the question is NOT_COVERED (naming 劳动合同法第四十七条 as "on the topic" would mislead)."""
        if not asks_for_figure(question):
            return None
        cited = scored.articles[: self.settings.top_k]
        if asks_for_figure(question, papers=False) and SUPPORT.search(question):
            # subsidies are set by local, yearly policies: an article with a figure on something else (一个月工资,
            # 出口补贴) does not answer how much of one an owner gets
            on_support = [text for text in (article_text(int(index)) for index in cited) if speaks_of_support(text)]
            if not on_support:
                return Declined.NOT_COVERED
            return None if any(FIGURE_STATED.search(text) for text in on_support) else Declined.NO_FIGURE
        if self.is_primary is not None and not self.is_primary[int(scored.articles[0])]:
            # national law states its rule in words as often as in numbers (按照实际借款数额, 每年): the rule is for
            # policy documents that name a topic (商标, 许可, 担保贷款) without any specifics
            return None
        first, *rest = (article_text(int(index)) for index in cited)
        # a frequency or time limit counts in the first only: 企业开办时限 elsewhere says nothing of a trademark's
        stated = states_figure(first, question) or any(FIGURE_STATED.search(text) for text in rest)
        return None if stated else Declined.NO_FIGURE

    def uncovered(
        self,
        scored: Scored,
        question: str,
        articles: np.ndarray | None = None,
        floor: float | None = None,
        words_too: bool = True,
    ) -> bool:
        """Nothing in `scored` is close in meaning, the question has no words to search (呃？？, 啊啊啊), or
        (`words_too`) the background matches far better than `articles` do."""
        if scored.closeness < (self.floor if floor is None else floor):
            return True
        if not names_a_topic(question):
            # its vector is that of its punctuation and interjections: close to whatever, evidence of nothing
            return True
        return words_too and self.background_ratio(question, articles) < self.settings.abstain_ratio

    def background_ratio(self, question: str, articles: np.ndarray | None = None) -> float:
        """Best corpus matches (among `articles`, if given) over best background matches, on one BM25 scale.

        inf without a background.
        """
        if self.background is None or self.corpus_on_background_scale is None or not question:
            return float("inf")
        background, corpus = self._lexical(question)
        if background <= 0:
            return float("inf")
        return top_mean(corpus if articles is None else corpus[articles]) / background

    def _lexical(self, question: str) -> tuple[float, np.ndarray]:
        """The background's best matches and the corpus on its scale, for one question: the policy documents' gate
        and the whole corpus' ask for them in turn (the last question's are kept)."""
        with self._last_lock:
            if self._last is not None and self._last[0] == question:
                return self._last[1], self._last[2]
        background = top_mean(self.background.scores(question))
        corpus = self.corpus_on_background_scale.scores(question)
        with self._last_lock:
            self._last = (question, background, corpus)
        return background, corpus
