"""The answer composer: from search hits (Citations) to what an owner reads. No Telegram imports.

An Answer holds structured citations; `bot.render` turns it into HTML for Telegram or plain text
for the terminal, so the bot, `policybot chat` and `policybot ask` say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from embeddings.abstention import Declined
from policy_corpus.citation import Citation

__all__ = ["Answer", "Citation"]


@dataclass
class Answer:
    """What the assistant says to one question."""

    question: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)  # best first; shown
    more: list[Citation] = field(default_factory=list)  # the next hits, for 更多相关条款
    corpus_version: str | None = None  # the corpus version that answered
    context_topic: str | None = None  # set when the previous question's context changed the reading
    declined: Declined | None = None  # why, when abstained (NO_FIGURE: more holds the provisions on the topic)

    @property
    def figure_missing(self) -> bool:
        return self.declined is Declined.NO_FIGURE

    @property
    def best(self) -> Citation | None:
        return self.citations[0] if self.citations else None
