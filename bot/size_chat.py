"""Enterprise size in the conversation: "我们开饭馆的，15个人，一年营业额三百来万，算小微企业吗" → 小型企业, citing
《中小企业划型标准规定》第四条第（十）项 with its text. No Telegram imports.

The size is worked out from the served `sme_size` document's own 第四条 (policy_corpus/size.py), so a revised
standard is followed as soon as it is published. A fact the rule needs and the message lacks is asked for, and the
exchange waits in the chat's context (bot/context.py) for the next message: "20人", "营业额500万", an industry
button. Something else instead drops it and is answered as usual; /new forgets it. After an answer the exchange
stays a while, so "那要是30个人呢" is answered with the new figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from policy_corpus.citation import cite, short_title
from policy_corpus.errors import UnknownArticleError, UnknownDocumentError
from policy_corpus.model import Article
from policy_corpus.size import (
    REFERENCE_ARTICLE,
    RULES_ARTICLE,
    SIZE_DOCUMENT,
    IndustryRule,
    Metric,
    MissingFactError,
    Size,
    classify,
    industry_name,
    read_rules,
    sole_trader,
)
from policy_corpus.size_question import Figure, Reading, is_size_question, read_figures

from .assistant import Assistant
from .context import Contexts
from .errors import ExpiredError, UsageError
from .texts import BUTTON_EXPIRED_TEXT, SIZE_UNLISTED_NOTE, SIZE_UNREADABLE, SOLE_TRADER_NOTE

REPLY_REST_CHARS = 3  # a message continues the exchange when little but facts is left in it ("那要是30个人呢")
UNKNOWN_INDUSTRY_CHARS = 10  # a short reply to "哪个行业？" that names none we know ("开美甲店" is known; "卖菜")
FOLLOW_UP = re.compile(r"那|如果|要是|假如|换成|还")  # 那营业额2500万呢，还算小微企业吗: the same enterprise
ASKS_SOMETHING = re.compile(r"[吗么？?]|怎么|什么|如何|能不能|可不可以|有没有|哪些")
NOT_SERVED_TEXT = "现在没有收录《中小企业划型标准规定》，无法按标准划型。"


@dataclass
class Exchange:
    """A size question under way in one chat: what the owner has said so far."""

    question: str  # the message that asked it
    industry: str | None = None  # the standard's name (餐饮业)
    sole_trader: bool = False
    figures: dict[Metric, Figure] = field(default_factory=dict)
    asking: tuple[Metric, ...] = ()  # the figures last asked for
    unknown: str = ""  # words given for the industry that name none of the standard's

    def add(self, reading: Reading, industry: str | None, by_reference: bool) -> None:
        self.figures.update(reading.figures)
        if industry is not None:
            self.industry, self.unknown = industry, ""
        self.sole_trader = self.sole_trader or by_reference


@dataclass
class SizeAnswer:
    """The size, why (the figures used), the item of 第四条 it follows, quoted, and 第六条 when it applies."""

    question: str
    size: Size
    industry: str
    title: str  # the standard's short title
    figures: list[tuple[Metric, Figure]]  # the ones the rule uses, in its order
    citation: str  # 《中小企业划型标准规定》第四条第（十）项
    text: str  # the item's own text
    by_reference: bool = False  # 参照: a sole trader, or an industry the standard does not list
    reference: tuple[str, str, str] | None = None  # (note, citation, text) of 第六条
    borderline: list[str] = field(default_factory=list)  # the owner's rough words whose range crosses a line


@dataclass
class SizeAsk:
    """A fact is missing: the industry (with the standard's industries to choose from) or figures."""

    question: str
    known: list[tuple[Metric, Figure]]
    industries: list[tuple[int, str]] = field(default_factory=list)  # asking the industry: (item number, name)
    industry: str | None = None
    metrics: list[Metric] = field(default_factory=list)  # the rule's
    missing: list[Metric] = field(default_factory=list)
    unknown: str = ""
    sole_trader: bool = False


SizeReply = SizeAnswer | SizeAsk


@dataclass
class Standard:
    """The served 中小企业划型标准规定, read for sizing."""

    title: str  # for citations
    rules_article: Article
    rules: list[IndustryRule]
    unreadable: list[str]  # industries whose item of 第四条 does not parse (staff were told at publish)
    reference: Article | None  # 第六条

    def rule(self, name: str | None) -> IndustryRule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    @property
    def names(self) -> list[str]:
        return [rule.name for rule in self.rules] + self.unreadable


class SizeChat:
    """Size questions in a chat, on one Assistant, their pending exchange kept in `contexts`."""

    def __init__(self, assistant: Assistant, contexts: Contexts) -> None:
        self.assistant = assistant
        self.contexts = contexts

    def reply(self, text: str, chat_id: int) -> SizeReply | None:
        """The reply to a message when it is a size question or continues one; None: answer it as usual."""
        held: Exchange | None = self.contexts.held(chat_id)
        asks = is_size_question(text)
        if not asks and held is None:
            return None
        standard = self.standard()
        if standard is None:
            self.contexts.release(chat_id)
            return None
        reading = read_figures(text, held.asking if held is not None and not asks else ())
        industry, by_reference = self._industry(text, standard)
        if asks:
            exchange = Exchange(text)
            if held is not None and industry is None and not by_reference and FOLLOW_UP.match(text.strip()):
                exchange = replace(held, question=text, figures=dict(held.figures))
        elif reading.figures or industry is not None or by_reference:
            if len(reading.rest) > REPLY_REST_CHARS:  # facts, but with a question of its own: 开饭馆的，贷款能续吗
                self.contexts.release(chat_id)
                return None
            exchange = held
        elif held.industry is None and self._names_an_industry(text):
            held.unknown = text.strip()
            exchange = held
        else:
            self.contexts.release(chat_id)
            return None
        exchange.add(reading, industry, by_reference)
        return self._respond(exchange, standard, chat_id)

    def start(self, text: str, chat_id: int) -> SizeReply:
        """/size [words]: a new exchange, from what the words say (usually nothing yet: the industry is asked)."""
        standard = self.standard()
        if standard is None:
            raise UsageError(NOT_SERVED_TEXT)
        exchange = Exchange(text.strip())
        industry, by_reference = self._industry(text, standard)
        exchange.add(read_figures(text), industry, by_reference)
        return self._respond(exchange, standard, chat_id)

    def choose(self, chat_id: int, number: int) -> SizeReply:
        """An industry button: item `number` of 第四条, for the exchange under way (or a new one)."""
        standard = self.standard()
        rule = next((r for r in standard.rules if r.item.number == number), None) if standard else None
        if standard is None or rule is None:
            raise ExpiredError(BUTTON_EXPIRED_TEXT)
        exchange = self.contexts.held(chat_id) or Exchange("")
        exchange.industry, exchange.unknown = rule.name, ""
        return self._respond(exchange, standard, chat_id)

    def standard(self) -> Standard | None:
        """The served standard's rules, read afresh (a publish may have changed them); None when not served."""
        try:
            view = self.assistant.article(SIZE_DOCUMENT, RULES_ARTICLE)
        except (UnknownDocumentError, UnknownArticleError):
            return None
        rules, problems = read_rules(view.article)
        try:
            reference = self.assistant.article(SIZE_DOCUMENT, REFERENCE_ARTICLE).article
        except UnknownArticleError:
            reference = None
        unreadable = [problem.industry for problem in problems if problem.industry]
        return Standard(view.doc.cite_title, view.article, rules, unreadable, reference)

    # ------------------------------------------------------------ internals

    @staticmethod
    def _industry(text: str, standard: Standard) -> tuple[str | None, bool]:
        """The industry named (the standard's name for it) and whether the owner is a 个体工商户."""
        words, by_reference = sole_trader(text)
        return industry_name(words, standard.names), by_reference

    @staticmethod
    def _names_an_industry(text: str) -> bool:
        """A short answer to "哪个行业？" that is not a question of its own (卖菜的, 开美甲店)."""
        text = text.strip()
        return 0 < len(text) <= UNKNOWN_INDUSTRY_CHARS and not ASKS_SOMETHING.search(text) and not text.startswith("/")

    def _respond(self, exchange: Exchange, standard: Standard, chat_id: int) -> SizeReply:
        if exchange.industry in standard.unreadable:
            self.contexts.release(chat_id)
            raise UsageError(SIZE_UNREADABLE.format(industry=exchange.industry))
        rule = standard.rule(exchange.industry)
        known = list(exchange.figures.items())
        if rule is None:
            exchange.asking = ()
            self.contexts.hold(chat_id, exchange)
            industries = [(r.item.number, r.name) for r in standard.rules]
            return SizeAsk(exchange.question, known, industries, None, [], [], exchange.unknown, exchange.sole_trader)
        metrics = [metric for metric in Metric if metric in rule.metrics]
        try:
            size = classify(rule, *(self._value(exchange, metric) for metric in Metric))
        except MissingFactError:
            missing = [metric for metric in metrics if metric not in exchange.figures]
            exchange.asking = tuple(missing)
            self.contexts.hold(chat_id, exchange)
            used = [(m, exchange.figures[m]) for m in metrics if m in exchange.figures]
            return SizeAsk(exchange.question, used, [], rule.name, metrics, missing, "", exchange.sole_trader)
        exchange.asking = ()
        self.contexts.hold(chat_id, exchange)  # for "那要是30个人呢"
        return self._answer(exchange, standard, rule, size, metrics)

    def _answer(
        self, exchange: Exchange, standard: Standard, rule: IndustryRule, size: Size, metrics: list[Metric]
    ) -> SizeAnswer:
        article = standard.rules_article
        paragraph = next((p.number for p in article.paragraphs if rule.item in p.items), None)
        unlisted = "未列明" in rule.name
        reference = None
        if standard.reference is not None and (exchange.sole_trader or unlisted):
            note = SOLE_TRADER_NOTE if exchange.sole_trader else SIZE_UNLISTED_NOTE
            reference = (note, cite(standard.title, standard.reference), standard.reference.text)
        return SizeAnswer(
            exchange.question,
            size,
            rule.name,
            short_title(standard.title),
            [(metric, exchange.figures[metric]) for metric in metrics if metric in exchange.figures],
            cite(standard.title, article, paragraph, rule.item.number),
            rule.item.text,
            exchange.sole_trader or unlisted,
            reference,
            self._borderline(exchange, rule, size),
        )

    @staticmethod
    def _value(exchange: Exchange, metric: Metric, figure: Figure | None = None) -> float | None:
        figure = figure or exchange.figures.get(metric)
        return figure.value if figure is not None else None

    def _borderline(self, exchange: Exchange, rule: IndustryRule, size: Size) -> list[str]:
        """The owner's rough words (十几个, 三百来万) within whose range the size would change."""
        found = []
        for metric, figure in exchange.figures.items():
            if figure.low is None or figure.high is None or metric not in rule.metrics:
                continue
            for bound in (figure.low, figure.high):
                changed = replace(figure, value=bound)
                values = [self._value(exchange, m, changed if m is metric else None) for m in Metric]
                try:
                    other = classify(rule, *values)
                except MissingFactError:
                    other = None
                if other is not size:
                    found.append(figure.said)
                    break
        return found
