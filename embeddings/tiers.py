"""Two tiers: the policy documents, and national law beside them.

Beside national law the policy documents are also searched on their own, over their few hundred unit vectors
kept here: FAISS' candidates from the whole corpus may not include them. When they answer, their best articles
lead the ranking (embeddings/search.py); this module decides how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from policy_corpus.store import DocumentInfo

from .fusion import CANDIDATES, Scored

Found = tuple[np.ndarray, np.ndarray]  # FAISS' (cosines, unit indices) for one question, best first (-1: none)

RAW_CANDIDATES = 50  # units of the unadapted question looked at when comparing policy documents with national law
PRIMARY_LEAD = 3  # policy-document articles put first when they answer on their own: as many as an answer cites
# ... of which a question on its own keeps their best two: its third citation is the best of the rest of the ranking,
# often the general law that states the rule the owner asks about (a follow-up's two readings keep all three, or a
# national article third in both would overtake the policy documents' first of one when they are merged)
ANSWER_LEAD = 2
# ... and their best one at least when the question is worded like theirs (the policy gate, search.policy_gate_above)
# and one of their articles is close, however much better national law matches: 管委会让我自己掏钱做地质灾害评估
# (优化营商环境条例第四十二条) is the documents' though 地质灾害防治条例 holds its words; national law's answer follows
THEIRS_LEAD = 1
# ... but only their best one when national law matches clearly better on both sides: its best cosine is this much
# higher, and the documents' best BM25 is below this share of national law's (the cosine differences here are on the
# tuned encoder's scale: 0.05, 0.06 and 0.04 on the shipped model's, whose cosines spread 2.07 times less)
WEAKER_COSINE = 0.104
WEAKER_LEXICAL = 0.8
# ... and none when national law matches far better on both
FAR_WEAKER_COSINE = 0.124
FAR_WEAKER_LEXICAL = 0.7
# ... or when their best stands out little among themselves (fused z-score), national law is closer in meaning, and
# the whole corpus's ranking puts a national article clearly ahead of their best (员工旷工偷拿货能不能开除)
WEAK_PRIMARY_FUSED = 2.6
WEAK_CLOSER_COSINE = 0.083
WEAK_BEHIND_FUSED = 0.5


@dataclass
class Tiers:
    """Which articles and units are the policy documents'."""

    is_primary: np.ndarray  # per article
    boost: np.ndarray  # per article: search.primary_boost for the policy documents', added to the fused score
    articles: np.ndarray | None = None  # the policy documents' articles, only when national law is beside them
    units: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their units
    vectors: np.ndarray = field(default_factory=lambda: np.zeros(0))  # their unit vectors
    unit_is_primary: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per unit of the corpus
    partial: bool = False  # some national-law articles have no vector yet (a quick build): words decide
    whole: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per policy unit: a whole article
    national_split: bool = True  # national law has paragraph and item units too (embeddings.split_national)

    @classmethod
    def split(
        cls,
        article_keys: Sequence[tuple[str, int, int]],
        documents: Sequence[DocumentInfo],
        unit_article: np.ndarray,
        unit_paragraph: np.ndarray,
        index: faiss.Index,
        primary_boost: float,
    ) -> Tiers:
        """The tiers of a corpus whose articles are `article_keys` and whose units' articles are `unit_article`."""
        primary = {info.id for info in documents if info.primary}
        is_primary = np.array([doc_id in primary for doc_id, _, _ in article_keys], dtype=bool)
        tiers = cls(is_primary, primary_boost * is_primary.astype(np.float32))
        if 0 < is_primary.sum() < len(is_primary):
            tiers.articles = np.flatnonzero(is_primary)
            tiers.unit_is_primary = is_primary[unit_article]
            tiers.units = np.flatnonzero(tiers.unit_is_primary)
            tiers.vectors = index.reconstruct_batch(tiers.units)
            tiers.whole = unit_paragraph[tiers.units] < 0
            tiers.national_split = bool((unit_paragraph[~tiers.unit_is_primary] >= 0).any())
        return tiers

    def behind(self, whole: Scored) -> float:
        """How far the policy documents' best article is behind the first of the whole corpus's ranking (fused);
        the whole candidate list's spread when none of theirs is among the candidates."""
        theirs = self.is_primary[whole.articles]
        if not theirs.any():
            return float(whole.fused[0] - whole.fused[-1]) if len(whole.fused) else 0.0
        return float(whole.fused[0] - whole.fused[int(np.argmax(theirs))])

    def search_units(self, vector: np.ndarray) -> Found:
        """The policy documents' best units for one question vector, as FAISS would return them if they were all it
        held: (cosines, unit indices), best first."""
        cosines = self.vectors @ vector[0]
        best = np.argsort(-cosines, kind="stable")[:CANDIDATES]
        return cosines[best], self.units[best]

    def lead(
        self,
        primary: Scored,
        whole: Scored,
        found_raw: Found,
        lexical: np.ndarray,
        vector: np.ndarray,
    ) -> int:
        """How many of the policy documents' articles lead, when they answer on their own (`primary`: their own
        ranking, `whole`: the whole corpus's, `found_raw`: the unadapted question's units, `vector`: the question's).

        As many as an answer cites when they match about as well as national law, in meaning or in words; only
        their best when national law matches clearly better on both (客户欠款两年了还能起诉吗: 诉讼时效), so the
        national answer is among the three an answer cites; none when it matches far better on both (员工试用期
        最长多久: 劳动合同法), so the law that states the rule comes first. Meaning is compared unit for like unit:
        whole articles only, when national law has no paragraph units. Before national law has all its vectors (a
        quick build), the words alone decide.
        """
        scores, units = found_raw
        national = [
            score
            for score, unit in zip(scores[:RAW_CANDIDATES], units[:RAW_CANDIDATES])
            if unit >= 0 and not self.unit_is_primary[unit]
        ]
        closeness = primary.closeness
        if not self.national_split and self.whole.any():
            closeness = float((self.vectors[self.whole] @ vector[0]).max())
        if self.partial:
            gap = FAR_WEAKER_COSINE  # national law's vectors are not all there: its words are compared alone
        else:
            gap = max(national) - closeness if national else -1.0
        best_national = float(lexical[~self.is_primary].max(initial=0.0))
        share = float(lexical[self.articles].max(initial=0.0)) / best_national if best_national > 0 else 1.0
        if gap >= FAR_WEAKER_COSINE and share < FAR_WEAKER_LEXICAL:
            return 0
        if (
            gap > WEAK_CLOSER_COSINE
            and primary.fused[0] < WEAK_PRIMARY_FUSED
            and self.behind(whole) > WEAK_BEHIND_FUSED
        ):
            return 0
        if gap >= WEAKER_COSINE and share < WEAKER_LEXICAL:
            return 1
        return PRIMARY_LEAD
