"""Lexical search: BM25 over Chinese character unigrams and bigrams (no dictionary needed)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

CJK_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+")
# Function words that carry no topic; dropping them keeps questions' filler from matching everything.
STOP_CHARS = set("的了是在和与或及等之其把被对于为以而所也都就这那么吗呢啊吧我你他她它们个")
# ... and interjections, which name no topic either (呃, 嗯嗯, 哈哈) but stay in the index: 额 is also 金额's
NO_TOPIC_CHARS = STOP_CHARS | set("呃嗯哦噢哈嘿诶额喂唉哎呀啦嘛哇")


def tokenize(text: str) -> list[str]:
    """Character unigrams (minus stop characters) and bigrams of each CJK run; ASCII words whole."""
    tokens: list[str] = []
    for run in CJK_RUN.findall(text.lower()):
        if not ("\u4e00" <= run[0] <= "\u9fff"):
            tokens.append(run)
            continue
        tokens.extend(ch for ch in run if ch not in STOP_CHARS)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def names_a_topic(text: str) -> bool:
    """Whether `text` has a word beyond function words and interjections (啊吧？？ has none)."""
    return any(ch not in NO_TOPIC_CHARS for token in tokenize(text) for ch in token)


@dataclass
class Statistics:
    """What BM25 learns from a collection: the vocabulary, each token's IDF and the mean length."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    average_length: float
    k1: float = 1.2
    b: float = 0.75


class BM25:
    """Okapi BM25 with the per-document term weights precomputed in a sparse (CSC) matrix."""

    def __init__(self, weights: sparse.csc_matrix, stats: Statistics) -> None:
        self.weights = weights
        self.stats = stats

    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75, stats: Statistics | None = None) -> BM25:
        """Index `texts`; with `stats`, score them on another collection's scale (tokens it lacks are dropped)."""
        vocabulary: dict[str, int] = dict(stats.vocabulary) if stats else {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            for token, count in Counter(tokens).items():
                if stats is not None and token not in vocabulary:
                    continue
                rows.append(row)
                cols.append(vocabulary.setdefault(token, len(vocabulary)))
                counts.append(count)
        if stats is None:
            df = np.bincount(np.array(cols, dtype=np.int64), minlength=len(vocabulary)).astype(np.float32)
            idf = np.log(1 + (len(texts) - df + 0.5) / (df + 0.5)).astype(np.float32)
            stats = Statistics(vocabulary, idf, float(lengths.mean()) if len(texts) else 1.0, k1, b)
        norm = stats.k1 * (1 - stats.b + stats.b * lengths / max(stats.average_length, 1.0))
        tf = np.array(counts, dtype=np.float32)
        rows_array, cols_array = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        values = tf * (stats.k1 + 1) / (tf + norm[rows_array]) * stats.idf[cols_array]
        weights = sparse.csc_matrix(
            (values.astype(np.float32), (rows_array, cols_array)), shape=(len(texts), len(stats.vocabulary))
        )
        return cls(weights, stats)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zeros where nothing matches)."""
        ids = [self.stats.vocabulary[t] for t in set(tokenize(query)) if t in self.stats.vocabulary]
        if not ids:
            return np.zeros(self.weights.shape[0], dtype=np.float32)
        return np.asarray(self.weights[:, ids].sum(axis=1)).ravel()

    def token_share(self, query: str) -> np.ndarray:
        """Per document, the share of the query's distinct tokens (those the collection knows) it holds at all."""
        ids = [self.stats.vocabulary[t] for t in set(tokenize(query)) if t in self.stats.vocabulary]
        if not ids:
            return np.zeros(self.weights.shape[0])
        return np.bincount(self.weights[:, ids].indices, minlength=self.weights.shape[0]) / len(ids)

    def save(self, folder: Path, name: str = "bm25") -> None:
        """Uncompressed arrays, so that loading can memory-map them."""
        folder.mkdir(parents=True, exist_ok=True)
        for part in ("data", "indices", "indptr"):
            np.save(folder / f"{name}.{part}.npy", getattr(self.weights, part))
        np.save(folder / f"{name}.idf.npy", self.stats.idf)
        meta = {
            "shape": self.weights.shape,
            "average_length": self.stats.average_length,
            "k1": self.stats.k1,
            "b": self.stats.b,
            "vocabulary": self.stats.vocabulary,
        }
        (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, name: str = "bm25") -> BM25:
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        parts = [np.load(folder / f"{name}.{part}.npy", mmap_mode="r") for part in ("data", "indices", "indptr")]
        weights = sparse.csc_matrix(tuple(parts), shape=tuple(meta["shape"]))
        stats = Statistics(
            meta["vocabulary"], np.load(folder / f"{name}.idf.npy"), meta["average_length"], meta["k1"], meta["b"]
        )
        return cls(weights, stats)


def score_tokens(texts: list[list[str]], query: str, stats: Statistics, b: float | None = None) -> np.ndarray:
    """BM25 of a few tokenized texts (an article's paragraphs) for the query, on a collection's scale (`stats`; `b`:
    another length normalisation); in plain Python, without building an index: for a handful of short texts that is
    many times faster."""
    b = stats.b if b is None else b
    wanted = {token: stats.idf[stats.vocabulary[token]] for token in set(tokenize(query)) if token in stats.vocabulary}
    scores = np.zeros(len(texts), dtype=np.float32)
    if not wanted:
        return scores
    for row, tokens in enumerate(texts):
        norm = stats.k1 * (1 - b + b * len(tokens) / max(stats.average_length, 1.0))
        counts = Counter(token for token in tokens if token in wanted)
        scores[row] = sum(wanted[t] * tf * (stats.k1 + 1) / (tf + norm) for t, tf in counts.items())
    return scores


def top_k_indices(values: np.ndarray, k: int) -> np.ndarray:
    """The indices of the `k` largest values, largest first (a partial sort: the arrays span the whole corpus)."""
    if k >= len(values):
        return np.argsort(-values, kind="stable")
    top = np.argpartition(-values, k)[:k]
    return top[np.argsort(-values[top], kind="stable")]


def top_mean(scores: np.ndarray, k: int = 3) -> float:
    """Mean of the k highest scores (0 for an empty array)."""
    if len(scores) == 0:
        return 0.0
    k = min(k, len(scores))
    if len(scores) > 1000:
        # over a whole collection, partition only the scores near the best (fewer than k there: all of them)
        near = scores[scores >= scores.max() / 2]
        if len(near) >= k:
            scores = near
    return float(np.partition(scores, -k)[-k:].mean())
