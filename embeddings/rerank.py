"""A reranker over national law's best candidates: a linear model of what the fused score does not weigh well.

The fused ranking adds dense and BM25 z-scores with fixed weights. Questions answered from national law show more:
which kind of law an article is (a judicial interpretation, a regulation), where it stands in its law (第一条 states
a purpose, the last ones dates), whether the question names the law, how many of the question's words the article
holds at all, the law prior, its example questions' words. `make train` fits a conditional logit over the first
`depth` candidates (embeddings/train_reranker.py); the search reorders the national-law articles among them by it,
keeping the policy documents' places and the fused scores where they stand (so abstention and the policy
documents' lead read the same numbers).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from policy_corpus.store import DocumentInfo

from .fusion import Scored
from .lexical import BM25

logger = logging.getLogger(__name__)

# The first part of a collection id says which kind of law it is: 司法解释/…, 行政法规/…
KINDS = ("司法解释", "行政法规", "部门规章", "民法典")
FEATURES = (
    "rank",
    "fused",
    "dense",
    "lex",
    "text_bm",
    "exw",
    "has_ex",
    "prior",
    *(f"cat_{kind}" for kind in KINDS),
    "first",
    "lognum",
    "rel",
    "tcover",
    "title_in",
    "cover_tok",
)
NOT_CJK = re.compile(r"[^\u4e00-\u9fff]")
TITLE_NOISE = re.compile(r"^中华人民共和国|（.*?）|\(.*?\)")


def bigrams(text: str) -> set[str]:
    """The character bigrams of the Chinese in `text`."""
    text = NOT_CJK.sub("", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def short_law_title(cite_title: str) -> str:
    """劳动合同法 for 《中华人民共和国劳动合同法》: the words an owner would use for the law."""
    return TITLE_NOISE.sub("", cite_title.strip("《》"))


@dataclass
class Reranker:
    """Feature means and scales (of the training rows) and the linear weights over them."""

    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    depth: int = 40
    info: dict = field(default_factory=dict)

    def score(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weights

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        row = {
            "features": list(FEATURES),
            "weights": self.weights.round(6).tolist(),
            "mean": self.mean.round(6).tolist(),
            "scale": self.scale.round(6).tolist(),
            "depth": self.depth,
            **self.info,
        }
        path.write_text(json.dumps(row, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Reranker:
        row = json.loads(path.read_text(encoding="utf-8"))
        if row.pop("features") != list(FEATURES):
            raise ValueError("fitted on other features than this version computes (run `make train`)")
        arrays = {key: np.array(row.pop(key), dtype=np.float64) for key in ("weights", "mean", "scale")}
        return cls(**arrays, depth=int(row.pop("depth")), info=row)


class ArticleFacts:
    """What the reranker knows of each article without reading it: its kind of law, number, place, title."""

    def __init__(
        self,
        article_keys: Sequence[tuple[str, int, int]],
        documents: Sequence[DocumentInfo],
        has_examples: np.ndarray,
    ) -> None:
        info = {doc.id: doc for doc in documents}
        count = len(article_keys)
        self.static = np.zeros((count, 4 + len(KINDS)), dtype=np.float64)  # has_ex, kinds…, first, lognum, rel
        self.document = np.zeros(count, dtype=np.int64)
        documents_in_order = list(dict.fromkeys(doc_id for doc_id, _, _ in article_keys))
        number_of = {doc_id: i for i, doc_id in enumerate(documents_in_order)}
        for row, (doc_id, number, _) in enumerate(article_keys):
            kind = doc_id.split("/", 1)[0]
            articles = info[doc_id].current_count if doc_id in info else 0
            self.static[row] = [
                float(has_examples[row]),
                *(float(kind == k) for k in KINDS),
                float(number <= 2),
                np.log1p(number),
                number / max(1, articles),
            ]
            self.document[row] = number_of[doc_id]
        self.titles = [
            short_law_title(info[doc_id].cite_title) if doc_id in info else "" for doc_id in documents_in_order
        ]
        self.title_bigrams = [bigrams(title) for title in self.titles]


def features(
    question: str,
    scored: Scored,
    rows: np.ndarray,
    text_bm25: np.ndarray,
    example_bm25: np.ndarray,
    prior: np.ndarray | None,
    facts: ArticleFacts,
    bm25: BM25,
) -> np.ndarray:
    """The feature rows (FEATURES, in order) of `scored`'s candidates at positions `rows`; `text_bm25`,
    `example_bm25` and `prior` are per article of the corpus."""
    articles = scored.articles[rows]
    asked = bigrams(question)
    titles: dict[int, tuple[float, float]] = {}
    for document in set(facts.document[articles].tolist()):
        title, title_bigrams = facts.titles[document], facts.title_bigrams[document]
        titles[document] = (
            len(asked & title_bigrams) / max(1, len(title_bigrams)),
            float(len(title) >= 2 and title[:4] in question),
        )
    by_title = np.array([titles[document] for document in facts.document[articles].tolist()]).reshape(-1, 2)
    return np.column_stack(
        [
            np.log1p(rows),
            scored.fused[rows] - float(scored.fused[0]),
            scored.dense[rows],
            np.log1p(scored.lexical[rows]),
            np.log1p(text_bm25[articles]),
            np.log1p(example_bm25[articles]),
            facts.static[articles, 0],
            np.zeros(len(rows)) if prior is None else prior[articles],
            facts.static[articles, 1:],
            by_title,
            bm25.token_share(question)[articles],
        ]
    ).astype(np.float64)


def reorder(scored: Scored, movable: np.ndarray, scores: np.ndarray) -> Scored:
    """`scored` with the candidates at positions `movable` reordered among themselves by `scores` (best first);
    every position keeps its fused score."""
    if len(movable) < 2:
        return scored
    order = np.arange(len(scored.articles))
    order[movable] = movable[np.argsort(-scores, kind="stable")]
    return replace(scored, articles=scored.articles[order], dense=scored.dense[order], lexical=scored.lexical[order])


def fit_reranker(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 1.0, depth: int = 40) -> Reranker:
    """A conditional logit: for each question, a softmax over its candidates' feature rows (`groups`: rows and
    which of them answer), fitted to put the answering ones first, with an L2 pull of the weights to zero."""
    from scipy.optimize import minimize

    groups = [(rows, gold) for rows, gold in groups if gold.any() and len(gold) > 1]
    stacked = np.vstack([rows for rows, _ in groups])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    groups = [((rows - mean) / scale, gold / gold.sum()) for rows, gold in groups]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = l2 * float(weights @ weights), 2 * l2 * weights
        for rows, target in groups:
            logits = rows @ weights
            logits -= logits.max()
            probabilities = np.exp(logits) / np.exp(logits).sum()
            total -= float(target @ np.log(probabilities + 1e-12))
            gradient -= rows.T @ (target - probabilities)
        return total, gradient

    weights = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return Reranker(weights, mean, scale, depth)


def load_reranker(path: Path | None) -> Reranker | None:
    """The reranker at `path`, or None (with a warning when it cannot be read)."""
    if path is None:
        return None
    try:
        return Reranker.load(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("reranker %s cannot be used (%s): national law is ranked without it", path, error)
        return None
