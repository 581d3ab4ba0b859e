"""Measure search on a JSONL question set: recall@k, MRR@10 and abstention."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .search import Searcher

RECALL_AT = (1, 3, 5, 10, 100)


@dataclass
class Question:
    question: str
    gold: list[tuple[str, int]]


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

    def as_dict(self) -> dict:
        return {key: (round(value, 4) if isinstance(value, float) else value) for key, value in asdict(self).items()}


def read_questions(path: str | Path) -> list[Question]:
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(Question(row["question"], [(doc, int(num)) for doc, num in row["gold"]]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a question line ({error})") from None
    return questions


def evaluate(searcher: Searcher, questions: list[Question], mode: str = "hybrid") -> EvalReport:
    hits_at = {k: 0 for k in RECALL_AT}
    reciprocal = 0.0
    answerable = unanswerable = abstained_right = abstained_wrong = 0
    depth = max(RECALL_AT)
    for question in questions:
        scored = searcher.score(question.question, mode)
        abstained = searcher.should_abstain(scored, mode, question.question)
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
    )
