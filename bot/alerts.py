"""Opt-in alerts: when staff publish, each chat with a subscription the change touches gets one message.

No Telegram imports. A subscription is one of the named topics (`texts.TOPICS`: 融资贷款, searched with a few
words) or an owner's keyword. An article a publish adds, changes or removes touches a subscription when the served
search (the one owners' questions go through) ranks it among the subscription's best and it shares the
subscription's words: added and changed wording is searched on the new version, removed and earlier wording on the
version published over. Matching runs in the staff's publish thread, so the confirmation says how many chats will
hear of it; the alerts wait in the outbox (bot/subscriptions.py) until the front end sends them.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from embeddings.abstention import has_words
from policy_corpus.citation import cite
from policy_corpus.errors import UnknownArticleError, UnknownDocumentError
from policy_corpus.model import Article, ChangeAction, Version
from policy_corpus.store import Store

from .admin import Refreshed
from .assistant import ArticleView, Assistant, Held
from .errors import ExpiredError, UsageError
from .subscriptions import ArticleChange, Dropped, Subscription, SubscriptionKind, Subscriptions
from .texts import (
    ALERT_EXPIRED_TEXT,
    KEYWORD_BAD_TEXT,
    KEYWORD_TOO_LONG_TEXT,
    NOT_SUBSCRIBED_TEXT,
    SUBSCRIPTION_GONE_TEXT,
    TOO_MANY_SUBSCRIPTIONS_TEXT,
    TOPIC_EXPIRED_TEXT,
    TOPICS,
)

logger = logging.getLogger(__name__)

MATCH_TOP_K = 20  # a subscription matches among the best articles its search ranks…
MATCH_WORDS_SHARE = 0.25  # …that share its words: BM25 at least this share of the best of them
MAX_KEYWORD_CHARS = 20
MAX_SUBSCRIPTIONS = 20  # per chat

ArticleKey = tuple[str, int, int]  # (doc_id, number, sub), as the search index keys articles


@dataclass
class Subscribed:
    label: str
    new: bool  # False: the chat had this subscription already


@dataclass
class Notified:
    """A staff publish and how many chats an alert was queued for."""

    refreshed: Refreshed
    chats: int = 0


class Alerts:
    """Subscriptions of owners' chats, and the alerts a staff publish queues for them; thread-safe."""

    def __init__(self, assistant: Assistant, store: Subscriptions) -> None:
        self.assistant = assistant
        self.store = store

    # ------------------------------------------------------------ owners

    def subscribe(self, chat_id: int, text: str) -> Subscribed:
        """/subscribe 融资: a named topic when `text` is one, else a keyword."""
        label = keyword(text)
        kind = SubscriptionKind.TOPIC if label in TOPICS else SubscriptionKind.KEYWORD
        return self._add(chat_id, kind, label)

    def subscribe_topic(self, chat_id: int, index: int) -> Subscribed:
        """A topic button under /subscribe."""
        names = list(TOPICS)
        if not 0 <= index < len(names):
            raise ExpiredError(TOPIC_EXPIRED_TEXT)
        return self._add(chat_id, SubscriptionKind.TOPIC, names[index])

    def _add(self, chat_id: int, kind: SubscriptionKind, label: str) -> Subscribed:
        if self.store.count(chat_id) >= MAX_SUBSCRIPTIONS and label not in {s.label for s in self.of_chat(chat_id)}:
            raise UsageError(TOO_MANY_SUBSCRIPTIONS_TEXT.format(limit=MAX_SUBSCRIPTIONS))
        return Subscribed(label, self.store.add(chat_id, kind, label))

    def of_chat(self, chat_id: int) -> list[Subscription]:
        return self.store.of_chat(chat_id)

    def unsubscribe(self, chat_id: int, text: str) -> str:
        """/unsubscribe 融资: cancel the subscription with that label."""
        label = " ".join(text.split())
        if not self.store.remove_label(chat_id, label):
            raise UsageError(NOT_SUBSCRIBED_TEXT.format(label=label[:MAX_KEYWORD_CHARS]))
        return label

    def unsubscribe_id(self, chat_id: int, subscription_id: int) -> str:
        """A button under /unsubscribe; an old one (already cancelled) is expired."""
        removed = self.store.remove(chat_id, subscription_id)
        if removed is None:
            raise ExpiredError(SUBSCRIPTION_GONE_TEXT)
        return removed.label

    def unsubscribe_all(self, chat_id: int) -> int:
        return self.store.remove_chat(chat_id).subscriptions

    def forget(self, chat_id: int) -> Dropped:
        """/forget: the chat's subscriptions and its alerts not yet sent."""
        return self.store.remove_chat(chat_id)

    def held_about(self, chat_id: int) -> int:
        return self.store.count(chat_id)

    # ------------------------------------------------------------ staff

    def publish(self, run: Callable[[], Refreshed]) -> Notified:
        """Run a staff publish (an upload or removal confirmed, /reload, /rollback) and queue the alerts it calls
        for. The version published over is kept open meanwhile, to search its wording."""
        with self.assistant.held() as before:
            refreshed = run()
            if not refreshed.published or before is None:
                return Notified(refreshed)
            with self.assistant.held() as after:
                if after is None or after.version == before.version:
                    return Notified(refreshed)
                try:
                    chats = self.queue_alerts(before, after)
                except Exception:  # the publish stands; staff are told it, owners hear nothing of this one
                    logger.exception("alerts for version %s were not queued", after.version)
                    chats = 0
        if chats:
            logger.info("version %s: alerts queued for %d chats", after.version, chats)
        return Notified(refreshed, chats)

    def queue_alerts(self, before: Held, after: Held) -> int:
        """Queue one alert per chat whose subscriptions the changes from `before` to `after` touch; returns how
        many chats."""
        subscriptions = self.store.all()
        if not subscriptions:
            return 0
        changes = article_changes(before.store, after.store)
        if not changes:
            return 0
        added_or_changed = {c.key for c in changes if c.action != ChangeAction.REMOVED}
        removed_or_changed = {c.key for c in changes if c.action != ChangeAction.ADDED}
        touched: dict[str, set[ArticleKey]] = {}
        for query in dict.fromkeys(query_of(s) for s in subscriptions):
            keys = set()
            if added_or_changed:
                keys |= matching(after.searcher(), query) & added_or_changed
            if removed_or_changed:
                keys |= matching(before.searcher(), query) & removed_or_changed
            touched[query] = keys
        chats: dict[int, tuple[list[str], set[ArticleKey]]] = {}
        for subscription in subscriptions:
            keys = touched[query_of(subscription)]
            if keys:
                labels, chat_keys = chats.setdefault(subscription.chat_id, ([], set()))
                labels.append(subscription.label)
                chat_keys |= keys
        if not chats:
            return 0
        wanted = set().union(*(keys for _, keys in chats.values()))
        listed = [c for c in changes if c.key in wanted]
        ids = dict(zip((c.key for c in listed), self.store.save_changes(listed)))
        self.store.queue(
            [(chat, labels, [ids[c.key] for c in listed if c.key in keys]) for chat, (labels, keys) in chats.items()]
        )
        return len(chats)

    # ------------------------------------------------------------ an alert's buttons

    def change(self, change_id: int) -> ArticleChange:
        change = self.store.change(change_id)
        if change is None:
            raise ExpiredError(ALERT_EXPIRED_TEXT)
        return change

    def current(self, change: ArticleChange) -> ArticleView | None:
        """The article as served now; None when it was removed or is no longer served."""
        if change.action == ChangeAction.REMOVED:
            return None
        try:
            return self.assistant.article(change.doc_id, change.number, sub=change.sub)
        except (UnknownArticleError, UnknownDocumentError):
            return None


def keyword(text: str) -> str:
    """A subscription's label from what an owner typed, or a one-line refusal."""
    label = " ".join(text.split())
    if any(unicodedata.category(ch).startswith("C") for ch in label) or not has_words(label):
        raise UsageError(KEYWORD_BAD_TEXT)
    if len(label) > MAX_KEYWORD_CHARS:
        raise UsageError(KEYWORD_TOO_LONG_TEXT.format(chars=len(label), limit=MAX_KEYWORD_CHARS))
    return label


def query_of(subscription: Subscription) -> str:
    """What a subscription is searched with: a topic's words, or the keyword itself."""
    if subscription.kind == SubscriptionKind.TOPIC:
        return TOPICS.get(subscription.label, subscription.label)
    return subscription.label


def matching(searcher: Any, query: str) -> set[ArticleKey]:
    """The articles `query` touches in one version: among the best MATCH_TOP_K its search ranks, those sharing
    its words; none when the search declines it (nothing in the corpus is about it)."""
    scored, declined = searcher.judge(query)
    if declined:
        return set()
    top = min(MATCH_TOP_K, len(scored.articles))
    best = float(scored.lexical[:top].max(initial=0.0))
    return {
        tuple(searcher.article_keys[int(scored.articles[i])])
        for i in range(top)
        if scored.lexical[i] > 0 and scored.lexical[i] >= MATCH_WORDS_SHARE * best
    }


def article_changes(before: Store, after: Store) -> list[ArticleChange]:
    """The current-wording articles added, changed (text or 【title】) or removed from `before` to `after`, by
    document, in article order."""
    old_docs = {info.id: info for info in before.documents()}
    new_docs = {info.id: info for info in after.documents()}
    changes = []
    for doc_id in list(new_docs) + [doc_id for doc_id in old_docs if doc_id not in new_docs]:
        old, new = old_docs.get(doc_id), new_docs.get(doc_id)
        if old is not None and new is not None and old.content_hash == new.content_hash:
            continue
        title = (new or old).cite_title
        was = _keyed(before.articles(doc_id, Version.CURRENT)) if old is not None else {}
        now = _keyed(after.articles(doc_id, Version.CURRENT)) if new is not None else {}
        for key in sorted(was.keys() | now.keys()):
            a, b = was.get(key), now.get(key)
            if a is None:
                action = ChangeAction.ADDED
            elif b is None:
                action = ChangeAction.REMOVED
            elif (a.text, a.title) != (b.text, b.title):
                action = ChangeAction.CHANGED
            else:
                continue
            article = b or a
            changes.append(
                ArticleChange(
                    doc_id,
                    title,
                    article.number,
                    article.sub,
                    article.label,
                    action,
                    cite(title, article),
                    a.text if a else "",
                    b.text if b else "",
                )
            )
    return changes


def _keyed(articles: list[Article]) -> dict[tuple[int, int], Article]:
    return {(a.number, a.sub): a for a in articles}
