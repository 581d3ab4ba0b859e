"""Example questions for the paragraphs and items (款/项) of national-law articles: which one an answer cites.

National-law articles are embedded whole (embeddings.split_national), so their 款/项 is chosen by the question's
words (Searcher.pinpoint). Owners do not use the law's words: 招的人就干两个月 能先约个试用期吗 is answered by
劳动合同法第十九条第三款 (劳动合同期限不满三个月的，不得约定试用期) but shares more words with the first paragraph.
Questions written for each paragraph and item of the national articles owners ask about most, in their words and
turning on what sets that place apart from its siblings, add their match to the place's own.

They choose the place only. Searched as the articles' example questions as well (search.examples), they moved
national law's rankings both ways (bench/README.md, session 12). One line per place, as in the example files
(embeddings/examples.py):

    {"doc": "社会法/劳动合同法(2012-12-28)", "article": 19, "paragraph": 3, "item": null, "questions": ["…", "…"]}
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .examples import read_examples
from .lexical import Statistics, score_tokens, tokenize

Place = tuple[int, int | None]  # (paragraph, item); item None: the paragraph itself


@dataclass
class PlaceExamples:
    """Per article (its index in the index folder's articles), per place, its example questions."""

    questions: dict[int, dict[Place, list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # words are read when an article is first cited: all of them at once would take a second and 50 MB at every
        # corpus reload
        self._words = functools.lru_cache(maxsize=4096)(self._read_words)

    @classmethod
    def read(cls, folder: Path | None, article_index: Mapping[tuple[str, int, int], int]) -> PlaceExamples:
        """The lines of the folder's *.jsonl files that name a place of an article the corpus has (others are
        left out: a law not served, an article renumbered)."""
        questions: dict[int, dict[Place, list[str]]] = {}
        for example in read_examples(folder):
            index = article_index.get(example.article_key)
            if index is None or example.paragraph is None:
                continue
            place = (example.paragraph, example.item)
            questions.setdefault(index, {}).setdefault(place, []).append(example.question)
        return cls(questions)

    def __len__(self) -> int:
        return len(self.questions)

    def match(self, index: int, places: Sequence[Place], question: str, stats: Statistics) -> np.ndarray | None:
        """Per place of article `index`, the best BM25 of its example questions for `question` (0 for a place
        without any); None when the article has none or none matches."""
        if index not in self.questions:
            return None
        rows, words = self._words(index)
        best: dict[Place, float] = {}
        # all the article's questions scored in one call: the question is tokenized once, not once per place
        for place, score in zip(rows, score_tokens(words, question, stats).tolist()):
            best[place] = max(best.get(place, 0.0), score)
        scores = np.array([best.get(place, 0.0) for place in places], dtype=np.float32)
        return scores if scores.max() > 0 else None

    def _read_words(self, index: int) -> tuple[list[Place], list[list[str]]]:
        """The article's example questions tokenized, one row each, and the place each belongs to."""
        rows = [(place, tokenize(text)) for place, texts in self.questions[index].items() for text in texts]
        return [place for place, _ in rows], [words for _, words in rows]
