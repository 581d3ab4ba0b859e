"""Hybrid search: dense (FAISS) and lexical (BM25) rankings fused into one, with abstention."""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.config import Config
from policy_corpus.model import Article, Version
from policy_corpus.names import name_before, narrow_by_article
from policy_corpus.numerals import NUMERAL_RE, cn_to_int
from policy_corpus.sources import from_collection
from policy_corpus.store import Store

from .background import load_background
from .build import (
    INDEX_FORMAT,
    INDEX_META,
    background_path,
    get_adapter,
    get_encoder,
    get_law_prior,
)
from .encoder import Encoder
from .faiss_index import read_faiss
from .lexical import BM25, top_mean
from .units import query_text

MODES = ("hybrid", "dense", "lexical")
CANDIDATES = 300  # units fetched from FAISS and articles kept from BM25 before fusion
RAW_CANDIDATES = 50  # units of the unadapted question looked at when comparing policy documents with national law
PRIMARY_LEAD = 3  # policy-document articles put first when they answer on their own: as many as an answer cites
# ... but only their best one when national law matches clearly better on both sides: its best cosine is this much
# higher, and the documents' best BM25 is below this share of national law's
WEAKER_COSINE = 0.05
WEAKER_LEXICAL = 0.8
# Things people say to a bot that no law answers. How close they come to a corpus sets its floor for "nothing is
# close in meaning": the more units a corpus has, the closer everything comes (best cosine of these: ~0.67 over the
# four policy documents, ~0.74 beside the national collection, where real questions start at ~0.75).
OFF_TOPIC = (
    "您好，请问有人吗",
    "非常感谢你的帮助",
    "今晚的月亮真圆啊",
    "给我讲一个有趣的故事",
    "这首歌叫什么名字",
    "明天早上几点起床比较好",
    "西红柿炒鸡蛋先放哪个",
    "最近有什么好看的电视剧",
    "我想去海边旅游",
    "你喜欢什么颜色",
    "篮球比赛几点开始",
    "外面风好大",
    "帮我翻译一下这句英文",
    "今天星期几",
    "我有点困了",
    "小狗为什么摇尾巴",
    "这个周末天气好吗",
    "你叫什么名字",
    "哈哈好的",
    "晚安",
    "我想学弹吉他",
    "地球离太阳有多远",
    "咖啡和茶哪个好",
    "路上堵车了",
)
OFF_TOPIC_MARGIN = 0.02  # above the median off-topic best cosine
ARTICLE_REFERENCE = re.compile(rf"第\s*({NUMERAL_RE}|\d+)\s*条(?:之({NUMERAL_RE}))?")
# A question asking for a figure or a list of papers (注册商标要多久、交多少钱; 要准备哪些材料), not whether one applies
# (罚多少没个标准吗). Documents that mention a topic without its specifics (商标, 许可, 担保贷款) do not answer it.
FIGURE_ASKED = re.compile(r"多少|几(?:年|个月|天|倍|成|次|个工作日)|多久|多长时间|税率|征收率|哪些材料|什么材料")
YES_NO_ENDING = re.compile(r"吗[？?！!。.\s]*$")
FIGURE_STATED = re.compile(
    r"[0-9０-９]|[一二三四五六七八九十百千万两]+\s*(?:日|天|个月|年|倍|元|万元|个工作日|％|%)"
    r"|百分之|千分之|万分之"
)


def asks_for_figure(question: str) -> bool:
    """Whether the question asks for a figure, duration or list of papers (and is not a yes-or-no question)."""
    match = FIGURE_ASKED.search(question)
    return match is not None and not YES_NO_ENDING.search(question[match.end() :])


@functools.cache
def off_topic_vectors(encoder: Encoder) -> np.ndarray:
    """OFF_TOPIC encoded, once per encoder: every corpus version the process loads (each refresh) measures them."""
    return encoder.encode([query_text(text) for text in OFF_TOPIC])


class IndexMismatchError(Exception):
    """The index on disk was built with another model than the one configured."""


@dataclass
class Hit:
    """One article found for a question, with the paragraph or item that matched best."""

    doc_id: str
    doc_title: str
    article: Article
    score: float
    paragraph: int | None = None
    item: int | None = None


@dataclass
class SearchResult:
    question: str
    hits: list[Hit] = field(default_factory=list)
    abstained: bool = False


@dataclass
class Scored:
    """Scores of the candidate articles for one question, before they become Hits."""

    articles: np.ndarray  # article indices, best first
    fused: np.ndarray
    dense: np.ndarray  # best unit cosine per candidate article
    lexical: np.ndarray  # BM25 per candidate article
    best_unit: dict[int, tuple[int | None, int | None]]  # article → (paragraph, item) of its best unit
    named: int = 0  # how many leading articles the question named outright (促进法第十九条)
    closeness: float = 0.0  # the best cosine of the question itself (not adapted): is anything close in meaning?
    lead: int = 0  # how many leading articles the policy documents, searched on their own, answered with


class Searcher:
    """Searches one corpus version's index. Safe to share between threads for searching."""

    def __init__(self, folder: Path, config: Config, store: Store) -> None:
        try:
            meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        if meta.get("format") != INDEX_FORMAT:
            raise IndexMismatchError(
                f"the search index in {folder} is missing or from an older policybot: "
                "run `policybot ingest` again to rebuild it"
            )
        self.encoder = get_encoder(config)
        if meta["model"] != self.encoder.name or meta["dimension"] != self.encoder.dimension:
            raise IndexMismatchError(
                f"index in {folder} was built with {meta['model']} ({meta['dimension']}d) but the configured "
                f"model is {self.encoder.name}: run `policybot ingest` again to rebuild it"
            )
        self.settings = config.search
        self.store = store
        self.index = read_faiss(folder / "index.faiss")
        self.bm25 = BM25.load(folder)
        self.background: BM25 | None = None
        self.corpus_on_background_scale: BM25 | None = None
        background = background_path(config)
        if background is not None and (folder / "bm25_background_scale.json").exists():
            self.background = load_background(background, config.data_path)
            self.corpus_on_background_scale = BM25.load(folder, "bm25_background_scale")
        units = json.loads((folder / "units.json").read_text(encoding="utf-8"))
        self.article_keys = [tuple(key) for key in units["articles"]]
        unit_rows = np.array(
            [[a, -1 if p is None else p, -1 if i is None else i] for a, p, i in units["units"]], dtype=np.int64
        ).reshape(-1, 3)
        self.unit_article, self.unit_paragraph, self.unit_item = unit_rows.T
        self.example_article = np.array(units.get("examples", []), dtype=np.int64)
        self.examples = read_faiss(folder / "examples.faiss") if len(self.example_article) else None
        self.example_words = BM25.load(folder, "bm25_examples") if len(self.example_article) else None
        self.articles_with_examples = np.unique(self.example_article)  # the rows of example_words
        self.documents = store.documents(in_force_only=True)
        self.titles = {info.id: info.cite_title for info in self.documents}
        self.article_index = {key: index for index, key in enumerate(self.article_keys)}
        self._load_learned(config)
        self._keep_primary()
        self._set_floors()
        self._articles: dict[int, Article] = {}
        self._lock = threading.Lock()
        faiss.omp_set_num_threads(max(1, config.embeddings.threads))

    def _load_learned(self, config: Config) -> None:
        """The query adapter and the law prior, for corpora with national law (see embeddings/train.py).

        Both were fitted on questions answered from national law. Policy documents (flat files, not collection
        entries like 社会法/劳动合同法) are searched without them: the adapter cost SME questions 0.05-0.07 R@1.
        """
        from_collections = any(from_collection(doc_id) for doc_id, _, _ in self.article_keys)
        self.adapter = get_adapter(config, self.encoder) if from_collections else None
        self.law_prior = get_law_prior(config) if from_collections else None
        if self.law_prior is not None:  # each collection article points at its law's class (-1: none)
            classes = {law: i for i, law in enumerate(self.law_prior.laws)}
            law_of = {info.id: info.law for info in self.documents}
            self.law_class = np.array(
                [
                    classes.get(law_of.get(doc_id, ""), -1) if from_collection(doc_id) else -1
                    for doc_id, _, _ in self.article_keys
                ],
                dtype=np.int64,
            )

    def _keep_primary(self) -> None:
        """Beside national law the policy documents are also searched on their own (`_lead_with_primary`), over
        their few hundred unit vectors kept here: FAISS' candidates from the whole corpus may not include them."""
        primary = {info.id for info in self.documents if info.primary}
        self.is_primary = np.array([doc_id in primary for doc_id, _, _ in self.article_keys], dtype=bool)
        self.boost = self.settings.primary_boost * self.is_primary.astype(np.float32)
        self.primary_articles: np.ndarray | None = None
        self.primary_units = self.primary_vectors = np.zeros(0)
        if 0 < self.is_primary.sum() < len(self.is_primary):
            self.primary_articles = np.flatnonzero(self.is_primary)
            self.primary_units = np.flatnonzero(self.is_primary[self.unit_article])
            self.primary_vectors = self.index.reconstruct_batch(self.primary_units)

    def _set_floors(self) -> None:
        """How close off-topic chatter comes, to the whole corpus and to the policy documents alone."""
        off_topic = off_topic_vectors(self.encoder)
        self.floor = self.primary_floor = self._floor(self.index.search(off_topic, 1)[0][:, 0])
        if self.primary_articles is not None:
            self.primary_floor = self._floor((off_topic @ self.primary_vectors.T).max(axis=1))

    @classmethod
    def load(cls, folder: Path, config: Config, store: Store) -> Searcher:
        return cls(folder, config, store)

    def search(self, question: str, top_k: int = 3, mode: str = "hybrid") -> SearchResult:
        scored = self.score(question, mode)
        hits = [
            self._hit(int(a), float(s), scored.best_unit.get(int(a), (None, None)))
            for a, s in zip(scored.articles[:top_k], scored.fused[:top_k])
        ]
        return SearchResult(question, hits, self.should_abstain(scored, mode, question))

    # ------------------------------------------------------------ scoring

    def score(self, question: str, mode: str = "hybrid") -> Scored:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        lexical = self.bm25.scores(question)
        raw = self.encoder.encode([query_text(question)])
        found = self._search_units(raw if self.adapter is None else self.adapter.apply(raw), CANDIDATES)
        # the question as it is, for closeness (abstain_below is on that scale) and for the policy documents' gate
        found_raw = found if self.adapter is None else self._search_units(raw, RAW_CANDIDATES)
        dense, best_unit = self._best_per_article(*found)
        ranked_lexical = lexical
        # an adapted question is compared with statute text: the examples (questions) are not on that scale, and
        # the policy documents they belong to are searched with them on their own (_lead_with_primary)
        if self.adapter is None:
            self._add_examples(dense, raw)
            ranked_lexical = self._with_example_words(lexical, question)
        scored = self._fuse(dense, best_unit, ranked_lexical, mode, bonus=self._bonus(question))
        scored.closeness = float(found_raw[0][0]) if len(found_raw[0]) else 0.0
        if self.primary_articles is not None:
            scored = self._lead_with_primary(question, raw, found_raw, lexical, mode, scored)
        return self._put_references_first(question, scored)

    def _bonus(self, question: str) -> np.ndarray:
        """Per article, added to the fused score of the whole corpus: the policy documents' boost, and national
        law's share of the law prior."""
        if self.law_prior is None:
            return self.boost
        probabilities = np.append(self.law_prior.probabilities(question), 0.0)  # class -1 → 0
        return self.boost + self.settings.law_prior_weight * probabilities[self.law_class].astype(np.float32)

    def _fuse(
        self,
        dense_by_article: dict[int, float],
        best_unit: dict[int, tuple[int | None, int | None]],
        lexical_all: np.ndarray,
        mode: str,
        bonus: np.ndarray | None = None,
        pool: np.ndarray | None = None,
    ) -> Scored:
        """Rank the articles the dense side found and the best lexical matches (only those in `pool`, if given);
        in hybrid mode `bonus` (per article) is added to the fused score."""
        if pool is None:
            lexical_top = np.argsort(-lexical_all)[:CANDIDATES]
        else:
            lexical_top = pool[np.argsort(-lexical_all[pool])[:CANDIDATES]]
        lexical_top = lexical_top[lexical_all[lexical_top] > 0]
        candidates = np.array(sorted(set(dense_by_article) | set(lexical_top.tolist())), dtype=np.int64)
        if len(candidates) == 0:
            empty = np.zeros(0)
            return Scored(np.zeros(0, dtype=np.int64), empty, empty, empty, {})
        floor = min(dense_by_article.values()) if dense_by_article else 0.0
        dense = np.array([dense_by_article.get(int(a), floor) for a in candidates], dtype=np.float32)
        lexical = lexical_all[candidates]
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        else:
            weight = self.settings.dense_weight
            # BM25 scores are heavy-tailed: log1p keeps one long exact match from drowning the dense side
            fused = weight * _standardise(dense) + (1 - weight) * _standardise(np.log1p(lexical))
            if bonus is not None:
                fused = fused + bonus[candidates]
        order = np.argsort(-fused, kind="stable")
        return Scored(candidates[order], fused[order], dense[order], lexical[order], best_unit)

    def _lead_with_primary(
        self,
        question: str,
        raw: np.ndarray,
        found_raw: tuple[np.ndarray, np.ndarray],
        lexical: np.ndarray,
        mode: str,
        scored: Scored,
    ) -> Scored:
        """The policy documents searched as if they were served alone; if they answer, their best come first.

        Among ~58,000 national articles theirs often miss the candidates, and z-scores over national law do not
        tell a provincial measure that answers the question exactly from general law that touches on it. When
        they do not answer, the ranking and abstention are those of the whole corpus. They are searched with the
        question as it is (`raw`), not adapted.
        """
        dense, best_unit = self._primary_dense(raw)
        closeness = max(dense.values(), default=0.0)
        self._add_examples(dense, raw, among=self.is_primary)
        primary = self._fuse(
            dense, best_unit, self._with_example_words(lexical, question), mode, pool=self.primary_articles
        )
        primary.closeness = closeness
        if len(primary.articles) == 0 or self._uncovered(primary, question, self.primary_articles, self.primary_floor):
            return scored
        holds_up = self._primary_holds_up(primary, found_raw, lexical)
        return _lead_with(primary, scored, PRIMARY_LEAD if holds_up else 1)

    def _primary_holds_up(self, primary: Scored, found_raw: tuple[np.ndarray, np.ndarray], lexical: np.ndarray) -> bool:
        """Whether the documents match about as well as national law, in meaning or in words.

        When national law matches clearly better on both (客户欠款两年了还能起诉吗: 诉讼时效), the documents keep
        only their best article in front, so the national answer is among the three an answer cites.
        """
        scores, units = found_raw
        national = [
            score
            for score, unit in zip(scores[:RAW_CANDIDATES], units[:RAW_CANDIDATES])
            if unit >= 0 and not self.is_primary[self.unit_article[unit]]
        ]
        if not national or primary.closeness >= max(national) - WEAKER_COSINE:
            return True
        best_national = float(lexical[~self.is_primary].max(initial=0.0))
        return float(lexical[self.primary_articles].max(initial=0.0)) >= WEAKER_LEXICAL * best_national

    def references(self, question: str) -> list[int]:
        """Articles the question names outright: 促进法第十九条, 湖南办法第九条."""
        found = []
        for match in ARTICLE_REFERENCE.finditer(question):
            number = cn_to_int(match.group(1))
            sub = cn_to_int(match.group(2)) if match.group(2) else 0
            docs = narrow_by_article(
                name_before(question[: match.start()], self.documents),
                number,
                lambda doc_id, n, sub=sub: (doc_id, n, sub) in self.article_index,
            )
            if len(docs) != 1:
                continue
            index = self.article_index.get((docs[0].id, number, sub))
            if index is not None:
                found.append(index)
        return found

    def _put_references_first(self, question: str, scored: Scored) -> Scored:
        named = self.references(question)
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

    def _search_units(self, vector: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS' best `count` units for one question vector: (cosines, unit indices), best first (-1: none)."""
        scores, units = self.index.search(vector, min(count, self.index.ntotal))
        return scores[0], units[0]

    def _with_example_words(self, lexical: np.ndarray, question: str) -> np.ndarray:
        """Each article's BM25 plus its example questions' (a second field of the article, weighted lower: the
        examples paraphrase what the law says in its own words)."""
        if self.example_words is None:
            return lexical
        total = lexical.copy()
        total[self.articles_with_examples] += self.settings.example_words_weight * self.example_words.scores(question)
        return total

    def _add_examples(
        self, dense_by_article: dict[int, float], vector: np.ndarray, among: np.ndarray | None = None
    ) -> None:
        """Raise each article's dense score (of those `among` is True for, if given) to its closest example
        question's, where that is closer.

        The question itself (`vector`, not adapted) is compared: examples are questions too. Closeness, and so
        abstention, stays with the law's own text: an example close to a question says little about whether the
        law answers it.
        """
        if self.examples is None:
            return
        scores, found = self.examples.search(vector, min(CANDIDATES, self.examples.ntotal))
        for score, example in zip(scores[0], found[0]):
            if example < 0:
                continue
            article = int(self.example_article[example])
            if (among is None or among[article]) and score > dense_by_article.get(article, -1.0):
                dense_by_article[article] = float(score)

    def _primary_dense(self, vector: np.ndarray) -> tuple[dict[int, float], dict[int, tuple[int | None, int | None]]]:
        """`_search_units` over the policy documents' units only: the units FAISS would return if they were all it held."""
        cosines = self.primary_vectors @ vector[0]
        best = np.argsort(-cosines, kind="stable")[:CANDIDATES]
        return self._best_per_article(cosines[best], self.primary_units[best])

    def _best_per_article(
        self, scores: np.ndarray, units: np.ndarray
    ) -> tuple[dict[int, float], dict[int, tuple[int | None, int | None]]]:
        """Each article's score and (paragraph, item) from its best unit; `units` come best first (-1: none)."""
        by_article: dict[int, float] = {}
        best_unit: dict[int, tuple[int | None, int | None]] = {}
        for score, unit in zip(scores, units):
            if unit < 0:
                continue
            article = int(self.unit_article[unit])
            if article not in by_article:  # results come best first: the first unit of an article wins
                by_article[article] = float(score)
                paragraph, item = int(self.unit_paragraph[unit]), int(self.unit_item[unit])
                best_unit[article] = (None if paragraph < 0 else paragraph, None if item < 0 else item)
        return by_article, best_unit

    def should_abstain(self, scored: Scored, mode: str = "hybrid", question: str = "") -> bool:
        """Abstain when nothing is close in meaning, when other law matches the question far better, or when it
        asks for a figure that none of the provisions an answer would cite states."""
        if len(scored.articles) == 0:
            return True
        if scored.named or scored.lead:
            return False
        return self._uncovered(scored, question) or self._figure_not_stated(scored, question)

    def _figure_not_stated(self, scored: Scored, question: str) -> bool:
        if not asks_for_figure(question):
            return False
        cited = scored.articles[: self.settings.top_k]
        return not any(FIGURE_STATED.search(self._article(int(index)).text) for index in cited)

    def _floor(self, off_topic_best: np.ndarray) -> float:
        """The best cosine below which nothing counts as close in meaning: `abstain_below`, or higher in a corpus
        where off-topic chatter comes closer."""
        return max(self.settings.abstain_below, float(np.median(off_topic_best)) + OFF_TOPIC_MARGIN)

    def _uncovered(
        self, scored: Scored, question: str, articles: np.ndarray | None = None, floor: float | None = None
    ) -> bool:
        """Nothing in `scored` is close in meaning, or the background matches far better than `articles` do."""
        if scored.closeness < (self.floor if floor is None else floor):
            return True
        return self.background_ratio(question, articles) < self.settings.abstain_ratio

    def background_ratio(self, question: str, articles: np.ndarray | None = None) -> float:
        """Best corpus matches (among `articles`, if given) over best background matches, on one BM25 scale.

        inf without a background.
        """
        if self.background is None or self.corpus_on_background_scale is None or not question:
            return float("inf")
        background = top_mean(self.background.scores(question))
        if background <= 0:
            return float("inf")
        corpus = self.corpus_on_background_scale.scores(question)
        return top_mean(corpus if articles is None else corpus[articles]) / background

    # ------------------------------------------------------------ hits

    def _hit(self, index: int, score: float, unit: tuple[int | None, int | None]) -> Hit:
        doc_id = self.article_keys[index][0]
        article = self._article(index)
        return Hit(doc_id, self.titles[doc_id], article, score, *unit)

    def _article(self, index: int) -> Article:
        with self._lock:
            if index not in self._articles:
                doc_id, number, sub = self.article_keys[index]
                self._articles[index] = self.store.article(doc_id, number, Version.CURRENT, sub)
            return self._articles[index]


def _lead_with(lead: Scored, rest: Scored, count: int) -> Scored:
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


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    if spread < 1e-9:
        return np.zeros_like(values)
    return (values - float(values.mean())) / spread
