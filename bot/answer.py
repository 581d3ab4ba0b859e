"""The answer composer: from search hits to the provisions an owner reads. No Telegram imports.

An Answer holds structured citations; `bot.render` turns it into HTML for Telegram or plain text
for the terminal, so the bot, `policybot chat` and `policybot ask` say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policy_corpus.citation import cite
from policy_corpus.model import Article

# An article this short is quoted whole; a longer one is cut to the paragraphs and items that match.
SHORT_ARTICLE_CHARS = 220


@dataclass
class Citation:
    """One provision in an answer: an article, narrowed to a paragraph or item where the hit was."""

    doc_id: str
    doc_title: str  # the title used in citations (the code's title for a part of a code)
    article: Article
    paragraph: int | None = None
    item: int | None = None
    score: float = 0.0  # for ranking and evaluation only; never shown to owners

    @property
    def reference(self) -> str:
        """《短名》第十一条第一款第（七）项【金融机构支持】."""
        return cite(self.doc_title, self.article, self.paragraph, self.item)

    @property
    def article_reference(self) -> str:
        return cite(self.doc_title, self.article)

    def quote(self) -> str:
        """The law text to show: the whole article if short, else the matching paragraph or item."""
        article = self.article
        if len(article.text) <= SHORT_ARTICLE_CHARS or self.paragraph is None:
            return article.text
        paragraph = next((p for p in article.paragraphs if p.number == self.paragraph), None)
        if paragraph is None:
            return article.text
        if self.item is not None:
            item = next((i for i in paragraph.items if i.number == self.item), None)
            if item is not None:
                return "\n".join(filter(None, [paragraph.text, item.text]))
        return paragraph.full_text

    @property
    def is_excerpt(self) -> bool:
        return self.quote() != self.article.text


@dataclass
class Answer:
    """What the assistant says to one question."""

    question: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)  # best first; shown
    more: list[Citation] = field(default_factory=list)  # the next hits, for 更多相关条款
    corpus_version: str | None = None  # the corpus version that answered
    context_topic: str | None = None  # set when the previous question's context changed the reading

    @property
    def best(self) -> Citation | None:
        return self.citations[0] if self.citations else None
