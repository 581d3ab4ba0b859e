"""Example questions: how owners ask about an article, indexed beside its text.

Owners describe their situation (镇里让我们先垫钱干活); the law states a rule (不得要求中小企业垫资施工). Questions
written in the owners' words for each article bridge the two, the way doc2query expands documents with the
questions they answer. They live in JSON Lines files, any number per folder (`search.examples`), one line per
article:

    {"doc": "payment", "article": 8, "questions": ["镇里让我们先自己掏钱垫着干，这合规吗？", "..."]}

(`"sub": 1` for 第八条之一). A line may name the paragraph and item it is about (`"paragraph": 1, "item": 7`, 1-based,
item null for the paragraph itself): its questions then also choose which 款/项 of the article an answer cites. Lines
naming an article the corpus does not have are skipped when the index is built.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    doc_id: str
    number: int
    sub: int
    question: str
    paragraph: int | None = None  # the 款 (and 项) the question is about, where the line names one
    item: int | None = None

    @property
    def article_key(self) -> tuple[str, int, int]:
        return (self.doc_id, self.number, self.sub)


def read_examples(folder: Path | None) -> list[Example]:
    """Every example question in the folder's *.jsonl files, in file and line order; bad lines are logged."""
    if folder is None or not folder.is_dir():
        return []
    examples: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                examples.extend(_parse_line(line))
            except (ValueError, KeyError, TypeError) as error:
                logger.warning("%s line %d is not an example line (%s): skipped", path, number, error)
    return examples


def _parse_line(line: str) -> list[Example]:
    row = json.loads(line)
    doc_id, number, sub = str(row["doc"]), int(row["article"]), int(row.get("sub", 0))
    paragraph = None if row.get("paragraph") is None else int(row["paragraph"])
    item = None if paragraph is None or row.get("item") is None else int(row["item"])
    questions = row["questions"]
    if not isinstance(questions, list):
        raise TypeError("questions must be a list of strings")
    return [
        Example(doc_id, number, sub, text.strip(), paragraph, item)
        for text in questions
        if isinstance(text, str) and text.strip()
    ]
