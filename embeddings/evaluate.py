"""Measure search on a JSONL question set: recall@k, MRR@10, abstention, and where lines carry them,
follow-ups (`turns`, replayed through one conversation, the last scored) and the cited 款/项 (`pinpoint`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from policy_corpus.model import normal_id

from .followup import Resolved, resolve
from .search import Searcher

RECALL_AT = (1, 3, 5, 10, 100)


@dataclass
class Question:
    question: str  # the last turn of a conversation
    gold: list[tuple[str, int]]
    turns: list[str] = field(default_factory=list)  # the conversation, the last being `question` (or none)
    pinpoint: list[tuple[str, int, int, int | None]] = field(default_factory=list)  # (doc, article, 款, 项)

    def resolved(self, searcher: Searcher) -> Resolved:
        """The last turn with the question it leans on, the earlier turns asked in order as a conversation asks
        them (bot/conversation.py): a follow-up nothing answers leaves the context as it was."""
        previous: str | None = None
        document: str | None = None
        for turn in self.turns[:-1]:
            resolved = resolve(turn, previous, document)
            result = searcher.search(resolved.message, 1, previous=resolved.previous, document=resolved.document)
            kept = resolved.remembered(result.declined, result.hits[0].doc_id if result.hits else None)
            if kept is not None:
                previous, document = kept
        return resolve(self.question, previous, document)


@dataclass
class EvalReport:
    n: int
    answerable: int
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    recall_at_10: float
    recall_at_100: float
    mrr_at_10: float
    abstain_unanswerable: float | None  # share of unanswerable questions on which it abstained
    abstain_answerable: float  # share of answerable questions on which it wrongly abstained
    pinpoint_at_1: float | None = None  # share of pinpointed questions whose first citation is a listed 款/项

    def as_dict(self) -> dict:
        return {key: (round(value, 4) if isinstance(value, float) else value) for key, value in asdict(self).items()}


def read_questions(path: str | Path) -> list[Question]:
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            turns = [str(turn) for turn in row.get("turns", [])]
            question = turns[-1] if turns else row["question"]
            # ids as a collection's paths spell them (…解释（一）) are served in their normal form (…解释(一))
            gold = [(normal_id(doc), int(num)) for doc, num in row["gold"]]
            pinpoint = [
                (normal_id(doc), int(a), int(p), None if i is None else int(i))
                for doc, a, p, i in row.get("pinpoint", [])
            ]
            questions.append(Question(question, gold, turns, pinpoint))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a question line ({error})") from None
    return questions


def evaluate(searcher: Searcher, questions: list[Question], mode: str = "hybrid") -> EvalReport:
    hits_at = {k: 0 for k in RECALL_AT}
    reciprocal = 0.0
    answerable = unanswerable = abstained_right = abstained_wrong = 0
    depth = max(RECALL_AT)
    pinpointed = pinpointed_right = 0
    for question in questions:
        resolved = question.resolved(searcher)
        scored, declined = searcher.judge(resolved.message, mode, resolved.previous, resolved.document)
        abstained = declined is not None
        if question.pinpoint:
            pinpointed += 1
            pinpointed_right += not abstained and _cites_a_pinpoint(
                searcher, scored, question.pinpoint, resolved.message
            )
        if not question.gold:
            unanswerable += 1
            abstained_right += abstained
            continue
        answerable += 1
        abstained_wrong += abstained
        gold = set(question.gold)
        ranked = [searcher.article_keys[int(a)] for a in scored.articles[:depth]]
        rank = next((r for r, (doc, number, sub) in enumerate(ranked, 1) if (doc, number) in gold and not sub), None)
        if rank is not None:
            for k in RECALL_AT:
                hits_at[k] += rank <= k
            if rank <= 10:
                reciprocal += 1 / rank
    share = (lambda count: count / answerable) if answerable else (lambda count: 0.0)
    return EvalReport(
        n=len(questions),
        answerable=answerable,
        recall_at_1=share(hits_at[1]),
        recall_at_3=share(hits_at[3]),
        recall_at_5=share(hits_at[5]),
        recall_at_10=share(hits_at[10]),
        recall_at_100=share(hits_at[100]),
        mrr_at_10=share(reciprocal),
        abstain_unanswerable=abstained_right / unanswerable if unanswerable else None,
        abstain_answerable=share(abstained_wrong),
        pinpoint_at_1=pinpointed_right / pinpointed if pinpointed else None,
    )


def _cites_a_pinpoint(
    searcher: Searcher, scored, pinpoint: list[tuple[str, int, int, int | None]], question: str
) -> bool:
    """Whether the first citation is a listed 款/项: its paragraph matches, and its item where one is listed. A
    whole-article citation misses, except for an article of one paragraph without items (cited as the article)."""
    if len(scored.articles) == 0:
        return False
    index = int(scored.articles[0])
    doc, number, sub = searcher.article_keys[index]
    paragraph, item = searcher.pinpoint(index, scored, question)
    if paragraph is None:
        article = searcher.article(index)
        if len(article.paragraphs) == 1 and not article.paragraphs[0].items:
            paragraph = 1
    for p_doc, p_article, p_paragraph, p_item in pinpoint:
        if (p_doc, p_article) == (doc, number) and not sub and p_paragraph == paragraph and p_item in (None, item):
            return True
    return False
