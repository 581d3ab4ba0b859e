"""What the assistant does with one message, shared by the Telegram bot and the terminal chat.

No Telegram imports: the front ends parse their input, call a method here, and render the result
with `bot.render` (HTML for Telegram, plain text for the terminal).
"""

from __future__ import annotations

from dataclasses import dataclass

from embeddings.abstention import Declined
from embeddings.followup import resolve
from policy_corpus.errors import UnknownArticleError, UnknownDocumentError
from policy_corpus.numerals import parse_article_ref
from policy_corpus.store import DocumentInfo

from .answer import Answer, Citation
from .assistant import ArticleView, Assistant, DiffView
from .context import Contexts
from .errors import ExpiredError, UsageError
from .questionlog import Forgotten, LoggedQuestion, QuestionLog
from .size_chat import SizeAnswer, SizeChat, SizeReply
from .texts import ANSWER_EXPIRED_TEXT, ARTICLE_USAGE, DIFF_USAGE


@dataclass
class Asked:
    """An answer and the id it was logged under (None when nothing is logged)."""

    answer: Answer
    question_id: int | None = None


class Conversation:
    """Questions, lookups and button actions on one Assistant, with an optional question log."""

    def __init__(self, assistant: Assistant, log: QuestionLog | None = None, contexts: Contexts | None = None) -> None:
        self.assistant = assistant
        self.log = log
        self.contexts = contexts or Contexts()
        self.sizes = SizeChat(assistant, self.contexts)  # 我们算小微企业吗: answered by the standard, facts asked for

    # ------------------------------------------------------------ questions

    def ask(
        self, question: str, user_id: int | None = None, top_k: int | None = None, chat_id: int | None = None
    ) -> Asked:
        """Answer a question, in the chat's context when it leans on the previous one, and log it."""
        question = question.strip()
        context = self.contexts.get(chat_id) if chat_id is not None else None
        if context is None:
            resolved = resolve(question, None)
        else:
            resolved = resolve(question, context.query, context.document)
        answer = self.assistant.ask(question, top_k, previous=resolved.previous, document=resolved.document)
        if resolved.with_context and not answer.abstained:
            answer.context_topic = context.topic
        kept = resolved.remembered(answer.declined, answer.best.doc_id if answer.best is not None else None)
        if chat_id is not None and kept is not None:
            query, document = kept
            # an account of the situation (我开了个小饭馆, 招了个服务员) leads up to the question: not a follow-up
            follow_up = resolved.with_context and answer.declined is not Declined.STATEMENT
            thread = context.topic if follow_up and context is not None else None
            self.contexts.remember(chat_id, query, topic_of(question, answer, thread), follow_up, document)
        if self.log is None or (answer.declined is not None and answer.declined.not_a_question):
            return Asked(answer)
        version = answer.corpus_version or self.assistant.version
        return Asked(answer, self.log.log_question(user_id, answer, version))

    def log_size(self, reply: SizeReply, user_id: int | None = None) -> None:
        """A size answer counts in /stats as an answered question (a question asking for a fact does not)."""
        if self.log is not None and isinstance(reply, SizeAnswer):
            version = self.assistant.version
            self.log.log_question(user_id, Answer(reply.question, False, corpus_version=version), version)

    def forget(self, user_id: int, chat_id: int | None = None) -> Forgotten:
        """/forget: delete the user's logged questions, votes and conversation context."""
        if chat_id is not None:
            self.contexts.forget(chat_id)
        return self.log.forget_user(user_id) if self.log is not None else Forgotten(0, 0)

    def held_about(self, user_id: int) -> Forgotten:
        return self.log.held_about(user_id) if self.log is not None else Forgotten(0, 0)

    def new_topic(self, chat_id: int) -> bool:
        """/new: the next message is a new question; True if there was a context to forget."""
        return self.contexts.forget(chat_id)

    def lookup(self, text: str) -> ArticleView | None:
        """A typed lookup (第十一条, 促进法第十九条) as the whole article; None if `text` is a question."""
        reference = self.assistant.parse_lookup(text)
        if reference is None:
            return None
        doc_id, number, sub = reference
        return self.assistant.article(doc_id, number, sub=sub)

    # ------------------------------------------------------------ commands

    def article(self, args: list[str]) -> ArticleView:
        """/article 11, /article sme_law 19, /article 促进法 第十九条, /article 促进法第十九条."""
        doc_id, number, sub = self._reference(args, ARTICLE_USAGE)
        return self.assistant.article(doc_id, number, sub=sub)

    def diff(self, args: list[str]) -> DiffView:
        """/diff 11 (the Hunan measures) or /diff hunan 11."""
        doc_id, number, sub = self._reference(args, DIFF_USAGE)
        return self.assistant.diff(doc_id, number, sub)

    def documents(self) -> list[DocumentInfo]:
        return self.assistant.documents()

    def _reference(self, args: list[str], usage: str) -> tuple[str, int, int]:
        """(doc_id, number, sub) from command arguments: [number] or [document…, number]."""
        if not args:
            raise UsageError(usage)
        try:
            number, sub = parse_article_ref(args[-1])
        except ValueError:  # perhaps written together: 促进法第十九条
            reference = self.assistant.parse_lookup("".join(args))
            if reference is None:
                raise UsageError(usage) from None
            return reference
        name = " ".join(args[:-1])
        doc_id = self.assistant.resolve_document(name, number) if name else self.assistant.default_document()
        return doc_id, number, sub

    # ------------------------------------------------------------ buttons under an answer

    def hit(self, question_id: int, index: int, user_id: int | None = None) -> ArticleView:
        """The whole article of hit `index` (shown hits first, then the further ones) of a logged question."""
        hits = self._logged(question_id, user_id).hits
        if not 0 <= index < len(hits):
            raise ExpiredError("找不到这条回答里的条文，请重新提问。")
        return self._view(hits[index])

    def more(self, question_id: int, user_id: int | None = None) -> list[tuple[int, Citation]]:
        """The further hits of a logged question (更多相关条款) with their index for `hit`.

        Hits whose document or article is no longer served are left out.
        """
        logged = self._logged(question_id, user_id)
        found = []
        for index, record in enumerate(logged.more, len(logged.citations)):
            try:
                view = self._view(record)
            except (UnknownArticleError, UnknownDocumentError):
                continue
            found.append((index, Citation.from_record(record, view.doc.cite_title, view.article)))
        return found

    def feedback(self, question_id: int, user_id: int, value: int) -> None:
        """Store 👍 (+1) / 👎 (-1) for an answer."""
        self._logged(question_id, user_id)
        assert self.log is not None
        self.log.log_feedback(question_id, user_id, value)

    def _logged(self, question_id: int, user_id: int | None = None) -> LoggedQuestion:
        """The logged question behind a button; a button pressed by someone other than who asked is expired (the
        buttons of an answer belong to it: no one reads or votes on another person's question)."""
        logged = self.log.question(question_id) if self.log is not None else None
        if logged is None or (user_id is not None and logged.user_id is not None and logged.user_id != user_id):
            raise ExpiredError(ANSWER_EXPIRED_TEXT)
        return logged

    def _view(self, record: dict) -> ArticleView:
        return self.assistant.article(record["doc"], record["article"], sub=record.get("sub", 0))


TOPIC_CHARS = 12


def topic_of(question: str, answer: Answer, thread: str | None = None) -> str:
    """A few words for what a question was about: its first provision's title (金融机构支持), else the topic of the
    question it follows up (`thread`: 员工试用期最长多久, not 那要是两年的合同呢), else its start."""
    best = answer.best
    if best is not None and best.article.title:
        return best.article.title
    if thread:
        return thread
    text = question.strip().rstrip("？?。！!")
    return text if len(text) <= TOPIC_CHARS else text[: TOPIC_CHARS - 1] + "…"
