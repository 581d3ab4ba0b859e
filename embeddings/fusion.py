"""Fusing the dense and lexical rankings of one question into one, and putting chosen articles first."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .lexical import top_k_indices

CANDIDATES = 300  # units fetched from FAISS and articles kept from BM25 before fusion
BestUnit = dict[int, tuple[int | None, int | None]]  # article → (paragraph, item) of its best unit


@dataclass
class Scored:
    """Scores of the candidate articles for one question, before they become Hits."""

    articles: np.ndarray  # article indices, best first
    fused: np.ndarray
    dense: np.ndarray  # best unit cosine per candidate article
    lexical: np.ndarray  # BM25 per candidate article
    best_unit: BestUnit
    named: int = 0  # how many leading articles the question named outright (促进法第十九条)
    closeness: float = 0.0  # the best cosine of the question itself (not adapted): is anything close in meaning?
    lead: int = 0  # how many leading articles the policy documents, searched on their own, answered with
    vector: np.ndarray | None = None  # the question's own vector (not adapted), to pinpoint paragraphs and items

    @classmethod
    def empty(cls) -> Scored:
        """No candidates: nothing was searched or nothing was found."""
        none = np.zeros(0, dtype=np.float32)
        return cls(np.zeros(0, dtype=np.int64), none, none, none, {})


def standardise(values: np.ndarray) -> np.ndarray:
    """Z-scores; all zeros when the values do not spread."""
    spread = float(values.std())
    if spread < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / spread


def fuse(
    dense_by_article: dict[int, float],
    best_unit: BestUnit,
    lexical_all: np.ndarray,
    mode: str,
    dense_weight: float,
    bonus: np.ndarray | None = None,
    pool: np.ndarray | None = None,
    unembedded: np.ndarray | None = None,
) -> Scored:
    """Rank the articles the dense side found and the best lexical matches (only those in `pool`, if given);
    in hybrid mode `bonus` (per article) is added to the fused score. Articles `unembedded` marks (per article:
    no vector yet, in a quick build) get the candidates' mean dense score: their words rank them."""
    if pool is None:
        lexical_top = top_k_indices(lexical_all, CANDIDATES)
    else:
        lexical_top = pool[top_k_indices(lexical_all[pool], CANDIDATES)]
    lexical_top = lexical_top[lexical_all[lexical_top] > 0]
    candidates = np.array(sorted(set(dense_by_article) | set(lexical_top.tolist())), dtype=np.int64)
    if len(candidates) == 0:
        return Scored.empty()
    floor = min(dense_by_article.values()) if dense_by_article else 0.0
    dense = np.array([dense_by_article.get(int(a), floor) for a in candidates], dtype=np.float32)
    if unembedded is not None and dense_by_article:
        dense[unembedded[candidates]] = float(np.mean(list(dense_by_article.values())))
    lexical = lexical_all[candidates]
    if mode == "dense":
        fused = dense
    elif mode == "lexical":
        fused = lexical
    else:
        # BM25 scores are heavy-tailed: log1p keeps one long exact match from drowning the dense side
        fused = dense_weight * standardise(dense) + (1 - dense_weight) * standardise(np.log1p(lexical))
        if bonus is not None:
            fused = fused + bonus[candidates]
    order = np.argsort(-fused, kind="stable")
    return Scored(candidates[order], fused[order], dense[order], lexical[order], best_unit)


def lead_with(lead: Scored, rest: Scored, count: int) -> Scored:
    """`lead`'s first `count` articles, scored above all of `rest`, then the rest of `rest` in its order."""
    first = lead.articles[:count]
    keep = ~np.isin(rest.articles, first)
    top = float(rest.fused[keep][0]) if keep.any() else 0.0
    fused = lead.fused[:count] - float(lead.fused[:count].min()) + top + 1.0
    return Scored(
        np.concatenate([first, rest.articles[keep]]),
        np.concatenate([fused, rest.fused[keep]]),
        np.concatenate([lead.dense[:count], rest.dense[keep]]),
        np.concatenate([lead.lexical[:count], rest.lexical[keep]]),
        rest.best_unit | lead.best_unit,
        lead=len(first),
        closeness=max(lead.closeness, rest.closeness),
    )


def put_first(named: list[int], scored: Scored) -> Scored:
    """The `named` articles first, then the rest of `scored` in its order."""
    if not named:
        return scored
    top = float(scored.fused[0]) if len(scored.fused) else 0.0
    position = {int(a): i for i, a in enumerate(scored.articles)}
    rows = [position.get(a) for a in named]
    keep = [i for i in range(len(scored.articles)) if i not in rows]
    # a named article scores above everything else, so it comes first and is never abstained on
    articles = np.array(named + [int(scored.articles[i]) for i in keep], dtype=np.int64)
    fused = np.concatenate([np.full(len(named), top + 1.0), scored.fused[keep]])
    dense = np.concatenate([np.ones(len(named)), scored.dense[keep]])
    lexical = np.concatenate([np.full(len(named), float(scored.lexical.max(initial=0))), scored.lexical[keep]])
    return Scored(
        articles,
        fused,
        dense,
        lexical,
        scored.best_unit,
        named=len(named),
        lead=scored.lead,
        closeness=scored.closeness,
    )


RRF_K = 10  # reciprocal-rank fusion: 1 / (RRF_K + rank); small, so the first few ranks count most


# A follow-up's articles from the document its previous answer cited first gain this much (half the first rank of
# one reading): enough to stay with that document over a near tie, not over an article both readings prefer.
PREVIOUS_DOCUMENT_BONUS = 0.5 / RRF_K
# A follow-up that asks what happens (超了会被罚吗, 不签会咋样) asks for the sanction of what was just discussed: the
# penalty provisions (法律责任, 罚则) among its first candidates gain this much, and those of that document as much again
SANCTION_BONUS = 0.5 / RRF_K
SANCTION_IN_DOCUMENT_BONUS = 1.0 / RRF_K
SANCTION_CANDIDATES = 30


def favour(scored: Scored, favoured: np.ndarray, bonus: float | np.ndarray) -> Scored:
    """`scored` re-ranked with `bonus` (one for all, or one per candidate) added to the candidates where `favoured`
    (one flag per candidate) is set."""
    fused = scored.fused + np.where(favoured, np.float32(bonus), np.float32(0.0))
    order = np.argsort(-fused, kind="stable")
    return replace(
        scored,
        articles=scored.articles[order],
        fused=fused[order],
        dense=scored.dense[order],
        lexical=scored.lexical[order],
    )


def merge_rankings(first: Scored, second: Scored, depth: int = CANDIDATES) -> Scored:
    """Two rankings of the same question in two readings, merged by reciprocal rank (equal weight). An article's
    dense, lexical and best unit are taken from `first` where it has them."""
    score: dict[int, float] = {}
    for ranking in (first, second):
        for rank, article in enumerate(ranking.articles[:depth].tolist()):
            score[article] = score.get(article, 0.0) + 1.0 / (RRF_K + rank)
    order = sorted(score, key=lambda article: -score[article])
    rows = {int(a): (ranking, i) for ranking in (second, first) for i, a in enumerate(ranking.articles[:depth])}
    dense = np.array([rows[a][0].dense[rows[a][1]] for a in order], dtype=np.float32)
    lexical = np.array([rows[a][0].lexical[rows[a][1]] for a in order], dtype=np.float32)
    return Scored(
        np.array(order, dtype=np.int64),
        np.array([score[a] for a in order], dtype=np.float32),
        dense,
        lexical,
        second.best_unit | first.best_unit,
        named=max(first.named, second.named),
        closeness=max(first.closeness, second.closeness),
        lead=max(first.lead, second.lead),
        vector=first.vector,
    )
