"""Follow-up messages: an owner asks, reads the answer, and goes on ("那担保呢？", "要是欠钱的是政府呢").

A message that leans on the previous one is searched together with it; one that stands on its own
(a new, complete question) is searched alone. Pure functions on text: the per-chat memory of what
was asked lives with the conversation (bot/context.py), and `policybot eval` replays turns the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .abstention import Declined
from .units import letters

# Openings that point back: 那/那么/那要是, 还有, (我)要是/如果 (a changed circumstance), 这个/那个 (the thing just
# discussed), 冻了以后 (what was just done, unnamed)
POINTS_BACK = re.compile(
    r"^(?:那么?|那要是|那如果|那万一|可是?|但是?|不过|还有|再问一下|再问|(?:我们?)?(?:要是|如果|假如|万一)|换成|换了|"
    r"这个|这种|这样|那个|那种|它|他们|对方|上面|刚才|[^\s，,。？?]{1,3}了(?:以后|之后))"
)
# Words that stand for something said before: 他也一样吗, 这事谁管, 这笔利息, 拖这么久, 两个能一起要吗 (not 店里的那个
# 服务员, which describes someone new)
REFERS_BACK = re.compile(
    r"他们?|她们?|它们?|(?<!的)(?:这个|那个|这种|那种)|这些|那些|这事|那事|这样的?|上述|同样|这笔|那笔|这批|那批|这钱|那钱|这么久|"
    r"两个能|这两样|这俩|还来得及"
)
# Endings of a question that only makes sense with what came before: 呢, 也…吗, 也要赔五百？
ASKS_ABOUT_IT = re.compile(r"(?:呢|也[^，。？?]{0,4}吗|也要[^，。？?]{0,8}[？?])[？?。！!～~\s]*$")
# ... or that asks only how long, how much, who or where, in a few words (这个要多久, 找谁): its subject came before
ASKS_ONLY = re.compile(
    r"(?:怎么办|怎么算|怎么弄|要多久|多久|多长时间|多少钱|找谁|(?:向|跟|找)谁(?:提|说|反映|投诉|举报|申请|要)|去哪儿?|哪里办|"
    r"行不行|可以吗|能行吗|算吗)(?:啊|呀|哇|吧|哈)?[？?。！!～~\s]*$"
)
ASKS_ONLY_UP_TO = 14  # letters
# ... or that asks whether one may, must or will, of nothing named (能涨吗, 要给补偿吗, 会罚吗): its subject came before
ASKS_IF_ONE_MAY = re.compile(
    r"^(?:能不能|能|可以|会不会|会|要不要|要|得|该|用不用|用)[^\s，,。？?]{1,4}(?:吗|么)?[？?。！!～~\s]*$"
)
# Who or what a question is about, named in it: then it stands on its own
HAS_SUBJECT = re.compile(
    r"企业|公司|单位|银行|政府|部门|机关|客户|老板|员工|工人|个体户|店|厂|合同|货款|贷款|税|执照|许可"
)
# Openings that say the subject changes (换个事, 问个别的): a new question
NEW_SUBJECT = re.compile(
    r"^(?:[哦噢啊嗯]\s*)?(?:换个事儿?|换件事|换个问题|换个话题|问个别的|问点别的|另外一个问题|还有一个问题)"
)
# Openings that may or may not (另外, 另外想问, 对了, 再问个): what follows is judged as if they were not there ("再问一下，
# 那担保呢" leans on the question before; "再问个 银行开户收费标准在哪查" does not); so is a filler before a pause
# (那个，…), which is not "that" as in 那个合同呢
MAY_CHANGE_SUBJECT = re.compile(
    r"^(?:(?:[哦噢啊嗯]\s*)?(?:另外(?:还?想问|问)?一?下?|还有个事儿?|顺便问一?下|对了|再问一?个|再问一下|再问)[，,。.:：！!\s]*"
    r"|(?:那个|这个|嗯|呃|额)[，,、…\s]+)"
)
# Asks what happens, after something was described: 超了会被罚吗, 不签会咋样, 被查到呢会没收吗
ASKS_CONSEQUENCE = re.compile(r"罚|后果|会[咋怎](?:样|么样)|没收|吊销|坐牢|判刑|追究|追责|问责|处分|处理|查处")
ALONE_FROM = 26  # letters from which a message is taken as a question of its own, whatever it starts with
SHORT = 10  # letters up to which a message leans on the previous one even without a marker


@dataclass
class Resolved:
    """A message and the question it leans on (None when it stands on its own), with the document that question's
    answer cited first: a follow-up usually stays with it ("那政府机关呢" after 《保障中小企业款项支付条例》第九条)."""

    message: str
    previous: str | None
    document: str | None = None

    @property
    def with_context(self) -> bool:
        return self.previous is not None

    def remembered(self, declined: Declined | None, document: str | None) -> tuple[str, str | None] | None:
        """What the conversation keeps once this message is answered (`declined`: why not, if it was not): the text
        searched and the document the answer cited first (`document`); None when a follow-up nothing answers, a
        request for advice or a message in another language leaves the context as it was. An account of the
        situation that asks nothing yet adds to it."""
        if declined is Declined.STATEMENT:
            # the owner's account so far (我开了个小饭馆 招了个服务员): the question it leads to comes next
            return self.query, self.document
        if declined is not None and (self.with_context or declined.whatever_it_follows):
            # a request for business advice is not a question about the law: the next message does not lean on it
            return None
        return self.query, None if declined is not None else document

    @property
    def query(self) -> str:
        """The two together: what the conversation remembers as this turn's question."""
        return self.message if self.previous is None else f"{self.previous.strip()} {self.message.strip()}"


def size(text: str) -> int:
    """Letters and digits, without spaces and punctuation."""
    return len(letters(text))


def leans_on_previous(message: str) -> bool:
    """Whether a message cannot be understood without the question before it."""
    if NEW_SUBJECT.match(message.strip()):
        return False
    text, openers = MAY_CHANGE_SUBJECT.subn("", message.strip(), count=1)
    letters = size(text)
    if letters == 0 or letters >= ALONE_FROM:
        return False
    if letters <= SHORT or points_back(text):
        return True
    # 我想自己买下来 有优先吗, 每天喂奶的时间要给多少: nobody named, so the one just discussed (unless 另外… says otherwise)
    return not openers and not HAS_SUBJECT.search(text)


def points_back(message: str) -> bool:
    """Whether a message says that it leans on what came before (那…呢, 他也…吗, 这个要多久), beyond being short."""
    text = message.strip()
    if POINTS_BACK.match(text) or ASKS_ABOUT_IT.search(text) or REFERS_BACK.search(text) or ASKS_IF_ONE_MAY.match(text):
        return True
    return size(text) <= ASKS_ONLY_UP_TO and bool(ASKS_ONLY.search(text)) and not HAS_SUBJECT.search(text)


def resolve(message: str, previous: str | None, document: str | None = None) -> Resolved:
    """`message` with the previous question of the conversation (and the document its answer cited first), if it
    leans on it."""
    if not previous or not leans_on_previous(message) or message.strip() == previous.strip():
        return Resolved(message, None)
    return Resolved(message, previous, document)
