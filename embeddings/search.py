"""Hybrid search: dense (FAISS) and lexical (BM25) rankings fused into one, with abstention.

The pieces live beside it: the index folder (index_folder.py), the adapter, law prior and reranker (learned.py,
rerank.py), fusion (fusion.py), the policy documents beside national law (tiers.py), abstention (abstention.py), and
article references (policy_corpus/references.py). `Searcher` ranks with them.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.citation import Citation
from policy_corpus.config import Config
from policy_corpus.model import Article
from policy_corpus.names import LawNames, name_before, narrow_by_article
from policy_corpus.references import find_references
from policy_corpus.size import RULES_ARTICLE, SIZE_DOCUMENT
from policy_corpus.size_question import is_size_question, read_figures
from policy_corpus.store import Store

from .abstention import (
    ASKS_FOR_BUTTONS,
    ASKS_FOR_OFFICE_DETAILS,
    ASKS_THE_LAW,
    Abstention,
    Declined,
    asks_for_figure,
    asks_foreign_rules,
    has_words,
    small_talk_of,
    states_figure,
)
from .background import background_path, load_background
from .encoder import get_encoder
from .faiss_index import search_first
from .followup import ASKS_CONSEQUENCE, points_back
from .fusion import (
    CANDIDATES,
    PREVIOUS_DOCUMENT_BONUS,
    SANCTION_BONUS,
    SANCTION_CANDIDATES,
    SANCTION_IN_DOCUMENT_BONUS,
    BestUnit,
    Scored,
    favour,
    fuse,
    lead_with,
    merge_rankings,
    put_first,
    standardise,
)
from .index_folder import IndexMismatchError, load_background_scale, load_index
from .learned import load_learned
from .lexical import names_a_topic, score_tokens, tokenize
from .place_examples import PlaceExamples
from .rerank import FEATURES, ArticleFacts, features, reorder
from .tiers import ANSWER_LEAD, PRIMARY_LEAD, RAW_CANDIDATES, THEIRS_LEAD, Found, Tiers
from .units import article_places, condensed, query_text

__all__ = ["MODES", "IndexMismatchError", "Scored", "SearchResult", "Searcher"]

MODES = ("hybrid", "dense", "lexical")
# How much the example questions written for a paragraph or item count, beside its own text, in choosing the 款/项
PLACE_EXAMPLE_WEIGHT = 2.0
# The chapters that state the sanctions: 第七章 法律责任, 第六章 罚 则
PENALTY_CHAPTER = re.compile(r"法律责任|罚\s*则")
RULE_BEFORE_PENALTY = 1.0  # z-units a penalty article of a named law falls behind its rules, unless a sanction is asked
# A chapter's or section's title (第四章 创业扶持 → 创业扶持)
CHAPTER_TITLE = re.compile(r"第[一二三四五六七八九十百零〇\d]+[编分章节]\s*([^\s第]{2,})")
# ... and the z-units by which a named law's articles in a chapter whose title the question holds (中小企业促进法关于创业
# 扶持是怎么规定的) come before its others: the title says what the chapter's articles are about, the question's few
# words may match an article of the general provisions as well (对小型微型企业实行积极扶持)
CHAPTER_NAMED = 1.0


def weigh_with_examples(own: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Per place of an article, how well its own text and its example questions match, each z-scored among the
    article's places: one rule for the documents' units (by meaning) and national law's places (by words)."""
    return standardise(own) + PLACE_EXAMPLE_WEIGHT * standardise(examples)


@dataclass
class SearchResult:
    question: str
    hits: list[Citation] = field(default_factory=list)  # best first
    declined: Declined | None = None  # why it is not answered; None when it is

    @property
    def abstained(self) -> bool:
        return self.declined is not None


class Searcher:
    """Searches one corpus version's index. Safe to share between threads for searching."""

    def __init__(self, folder: Path, config: Config, store: Store) -> None:
        self.index_folder = load_index(folder, config)
        self.encoder = get_encoder(config)
        self.settings = config.search
        self.store = store
        background = background_path(config)
        on_background_scale = None if background is None else load_background_scale(folder)
        self.article_keys = self.index_folder.article_keys
        self.documents = store.documents(in_force_only=True)
        self.titles = {info.id: info.cite_title for info in self.documents}
        self.article_index = {key: index for index, key in enumerate(self.article_keys)}
        self.law_names = LawNames(self.documents)
        self._article_doc = np.array([doc_id for doc_id, _, _ in self.article_keys], dtype=object)
        self.learned = load_learned(config, self.encoder, self.article_keys, self.documents)
        self.adapter, self.law_prior = self.learned.adapter, self.learned.law_prior
        self.reranker = self.learned.reranker
        self.tiers = Tiers.split(
            self.article_keys,
            self.documents,
            self.index_folder.unit_article,
            self.index_folder.unit_paragraph,
            self.index_folder.index,
            self.settings.primary_boost,
        )
        self.unembedded = self.index_folder.articles_without_vectors()
        self.tiers.partial = self.unembedded is not None
        self.abstention = Abstention.measure(
            self.settings,
            self.encoder,
            self.index_folder.index,
            primary_vectors=None if self.tiers.articles is None else self.tiers.vectors,
            background=None if on_background_scale is None else load_background(background, config.data_path),
            corpus_on_background_scale=on_background_scale,
            is_primary=None if self.tiers.articles is None else self.tiers.is_primary,
        )
        self._articles: dict[int, Article] = {}
        self._lock = threading.Lock()
        # each article's units, grouped: article i's are _units_by_article[_unit_range[i]:_unit_range[i + 1]]
        self._units_by_article = np.argsort(self.index_folder.unit_article, kind="stable")
        self._unit_range = np.searchsorted(
            self.index_folder.unit_article[self._units_by_article], np.arange(len(self.article_keys) + 1)
        )
        self._unit_examples = self._examples_by_place()
        self.place_examples = PlaceExamples.read(config.place_examples_path, self.article_index)
        # per searcher, not per class: a class-wide cache would keep every corpus version ever served in memory
        self._places_of = functools.lru_cache(maxsize=4096)(self._article_places)
        self._places_in_words = functools.lru_cache(maxsize=4096)(self._read_places)
        if self.reranker is not None:
            self.facts  # noqa: B018 (built now, not in the first answer)
        faiss.omp_set_num_threads(max(1, config.embeddings.threads))

    def _examples_by_place(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Article → (vectors, paragraphs, items) of its example questions that name a paragraph or item."""
        folder = self.index_folder
        placed = np.flatnonzero(folder.example_paragraph >= 0)
        if folder.examples is None or len(placed) == 0:
            return {}
        vectors = folder.examples.reconstruct_batch(placed)
        found: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for article in np.unique(folder.example_article[placed]).tolist():
            rows = folder.example_article[placed] == article
            found[article] = (vectors[rows], folder.example_paragraph[placed][rows], folder.example_item[placed][rows])
        return found

    @functools.cached_property
    def facts(self) -> ArticleFacts:
        """What the reranker reads of each article (built on first use: only corpora with national law rerank)."""
        has_examples = np.zeros(len(self.article_keys), dtype=bool)
        has_examples[self.index_folder.articles_with_examples] = True
        return ArticleFacts(self.article_keys, self.documents, has_examples)

    @classmethod
    def load(cls, folder: Path, config: Config, store: Store) -> Searcher:
        return cls(folder, config, store)

    @property
    def floor(self) -> float:
        """The best cosine below which nothing in the whole corpus counts as close in meaning."""
        return self.abstention.floor

    def search(
        self,
        question: str,
        top_k: int = 3,
        mode: str = "hybrid",
        previous: str | None = None,
        document: str | None = None,
    ) -> SearchResult:
        """The best `top_k` articles for `question`, or an abstention; `previous`: the question a follow-up leans
        on (embeddings/followup.py), searched together with it; `document`: the one its answer cited first."""
        if not has_words(question):
            return SearchResult(question, [], Declined.NOTHING)
        question = condensed(question)
        scored, declined = self.judge(question, mode, previous, document)
        hits = [
            self._hit(int(a), float(s), self.pinpoint(int(a), scored, question))
            for a, s in zip(scored.articles[:top_k], scored.fused[:top_k])
        ]
        return SearchResult(question, hits, declined)

    def judge(
        self, question: str, mode: str = "hybrid", previous: str | None = None, document: str | None = None
    ) -> tuple[Scored, Declined | None]:
        """The ranking, and why to decline (None: answer it)."""
        question = condensed(question)
        small_talk = small_talk_of(question)
        if small_talk is not None:
            # a greeting, thanks or chit-chat whatever it follows: nothing to search for
            return Scored.empty(), small_talk
        if previous:
            return self.score_follow_up(question, previous, mode, document)
        scored = self.score(question, mode)
        return scored, self._beyond_the_law(
            scored, question, self.abstention.decline(scored, question, self._article_text)
        )

    def score_follow_up(
        self, question: str, previous: str, mode: str = "hybrid", document: str | None = None
    ) -> tuple[Scored, Declined | None]:
        """A follow-up's ranking and why to decline it: the message alone and together with the question it leans on,
        merged by rank, the articles of `document` (the previous answer's first) a little ahead, and the penalty
        provisions ahead when it asks what happens (超了会被罚吗). It abstains only when both readings do; the
        figure rule reads the message itself (a figure the earlier question asked for is not asked again)."""
        both = f"{previous.strip()} {question.strip()}"
        # the gate reads the two together: 那他们的人会受啥处理 alone reads like nothing in particular
        alone = self.score(question, mode, PRIMARY_LEAD, read_as=both)
        if not points_back(question) and self.abstention.uncovered(alone, question):
            # short, but nothing in it points back and the corpus does not cover it: chatter, not a follow-up (美团
            # 外卖抽成多少 after a question on probation is beyond the law, not uncovered)
            declined = self.abstention.decline(alone, question, self._article_text)
            return alone, None if declined is None else self._beyond_the_law(alone, question, declined)
        together = self.score(both, mode, PRIMARY_LEAD)
        merged = merge_rankings(alone, together)
        if document is not None:
            merged = favour(merged, self._in_document(merged, document), PREVIOUS_DOCUMENT_BONUS)
        if ASKS_CONSEQUENCE.search(question):
            merged = self._favour_sanctions(merged, document)
        declined = self.abstention.decline_follow_up(alone, together, merged, question, both, self._article_text)
        return merged, self._beyond_the_law(merged, both, declined)

    def _beyond_the_law(self, scored: Scored, question: str, declined: Declined | None) -> Declined | None:
        """BEYOND_THE_LAW instead of answering, or of saying that nothing covers it, when the scope gate reads the
        question as one no law answers (美团外卖抽成多少, 员工上班老玩手机我该怎么跟他说, 钉钉怎么设置请假审批):
        provisions sharing its words (劳动合同法 for 员工) come close all the same; and for an office's phone
        number, address or hours, or another country's rules, which no provision states. Never for a question naming an
        article, asking what the law says (法律上有啥区别) or what size an enterprise is, or naming nothing at all (？？啊吧);
        other reasons to decline (a request for advice, a figure no provision on the topic states) stand."""
        if scored.named or declined not in (None, Declined.NOT_COVERED, Declined.NO_FIGURE):
            return declined
        if (
            ASKS_FOR_OFFICE_DETAILS.search(question)
            or ASKS_FOR_BUTTONS.search(question)
            or asks_foreign_rules(question)
        ):
            # no provision states a phone number (not a figure missing from one), an app's buttons or another
            # country's rules, even when the question asks what a law says (越南的劳动法对加班是怎么规定的)
            return Declined.BEYOND_THE_LAW
        if (
            declined is Declined.NO_FIGURE
            or ASKS_THE_LAW.search(question)
            or is_size_question(question)  # 个体工商户 怎么划分大中小微: the size standard answers it
            or not names_a_topic(question)
        ):
            return declined
        share = self.learned.beyond_share(question)
        if share is None or share < self.settings.scope_gate_above:
            return declined
        return Declined.BEYOND_THE_LAW

    def _favour_sanctions(self, scored: Scored, document: str | None) -> Scored:
        """`scored` with the penalty provisions among its first candidates ahead, those of `document` most."""
        in_document = self._in_document(scored, document)
        return favour(scored, self._penalties(scored), SANCTION_BONUS + SANCTION_IN_DOCUMENT_BONUS * in_document)

    def _penalties(self, scored: Scored) -> np.ndarray:
        """Per candidate of `scored`, whether it is among the first ones and in a chapter of sanctions (法律责任, 罚则)."""
        return self._first_in_chapter(scored, lambda chapter: bool(PENALTY_CHAPTER.search(chapter)))

    def _in_chapter_named(self, scored: Scored, question: str) -> np.ndarray:
        """Per candidate of `scored`, whether it is among the first ones and in a chapter or section whose title the
        question holds."""
        return self._first_in_chapter(
            scored, lambda chapter: any(title in question for title in CHAPTER_TITLE.findall(chapter))
        )

    def _first_in_chapter(self, scored: Scored, holds: Callable[[str], bool]) -> np.ndarray:
        """Per candidate of `scored`, whether it is among the first SANCTION_CANDIDATES and its chapter `holds`."""
        head = scored.articles[:SANCTION_CANDIDATES].tolist()
        flags = np.zeros(len(scored.articles), dtype=bool)
        flags[: len(head)] = [holds(self._article(int(a)).chapter) for a in head]
        return flags

    def _in_document(self, scored: Scored, document: str | None) -> np.ndarray:
        """Per candidate of `scored`, whether it is an article of `document`."""
        return np.array([self.article_keys[a][0] == document for a in scored.articles.tolist()], dtype=bool)

    def pinpoint(self, index: int, scored: Scored, question: str = "") -> tuple[int | None, int | None]:
        """The paragraph and item of article `index` that the question is closest to, among the article's paragraphs
        and items (not the whole article, whose text covers them all); (None, None) for a one-paragraph article.

        National-law articles are embedded whole only (embeddings.split_national): the words decide there, the
        places' example questions' too (embeddings/place_examples.py)."""
        units = self._split_units(index)
        if len(units) == 0 and question:
            return self._pinpoint_by_words(index, question)
        if len(units) == 0 or scored.vector is None:
            return scored.best_unit.get(index, (None, None))
        cosines = self.index_folder.index.reconstruct_batch(units) @ scored.vector[0]
        paragraphs, items = self.index_folder.unit_paragraph[units], self.index_folder.unit_item[units]
        if index in self._unit_examples:
            cosines = self._with_place_examples(cosines, paragraphs, items, *self._unit_examples[index], scored.vector)
        stating = self._places_stating_figure(index, question)
        if stating:
            states = np.array([(int(p), None if i < 0 else int(i)) in stating for p, i in zip(paragraphs, items)])
            cosines = np.where(states, cosines, -np.inf) if states.any() else cosines
        best = int(np.argmax(cosines))
        return int(paragraphs[best]), None if items[best] < 0 else int(items[best])

    def _places_stating_figure(self, index: int, question: str) -> set[tuple[int, int | None]]:
        """When the question asks for a number (多久, 多少) and only some places of article `index` state one (试用期不得
        超过一个月 beside 只能约定一次试用期), those places: the answer is among them. Else none."""
        if not question or not asks_for_figure(question, papers=False):
            return set()
        places = self._places_of(index)
        stating = {(p, i) for p, i, text in places if states_figure(text, question)}
        return stating if len(stating) < len(places) else set()

    @staticmethod
    def _with_place_examples(
        cosines: np.ndarray,
        paragraphs: np.ndarray,
        items: np.ndarray,
        vectors: np.ndarray,
        example_paragraphs: np.ndarray,
        example_items: np.ndarray,
        question: np.ndarray,
    ) -> np.ndarray:
        """Each unit's closeness to the question (z-scored among the article's units) plus, weighted, its closest
        example question's (z-scored likewise; a unit without one counts as no closer than the least close of the
        examples and of the units' own texts)."""
        closest = np.full(len(cosines), -1.0, dtype=np.float32)
        for row, score in enumerate((vectors @ question[0]).tolist()):
            place = (paragraphs == example_paragraphs[row]) & (items == example_items[row])
            closest[place] = np.maximum(closest[place], score)
        if (closest < 0).all():
            return cosines
        closest[closest < 0] = min(float(closest[closest >= 0].min()), float(cosines.min()))
        return weigh_with_examples(cosines, closest)

    def _pinpoint_by_words(self, index: int, question: str) -> tuple[int | None, int | None]:
        """The paragraph or item of article `index` whose words match the question best (BM25 on the corpus' scale),
        as its units would be; (None, None) when none matches or the article is one paragraph."""
        places, tokens = self._places_in_words(index)
        if not places:
            return None, None
        # without length normalisation: the paragraph that states the rule in full is not outscored by a short one
        # that repeats a word or two of it
        stats = self.index_folder.bm25.stats
        scores = score_tokens(tokens, question, stats, b=0.0)
        examples = self.place_examples.match(index, places, question, stats)
        if examples is not None:
            # the places' own words and their example questions' (weigh_with_examples, as the documents' units are
            # weighed with theirs); shifted positive, every place then counts as matched
            scores = weigh_with_examples(scores, examples)
            scores = scores - scores.min() + 1.0
        stating = self._places_stating_figure(index, question)
        if stating:
            among = np.where([place in stating for place in places], scores, -np.inf)
            scores = among if among.max() > 0 else scores
        best = int(np.argmax(scores))
        paragraph, item = places[best]
        return (paragraph, item) if scores[best] > 0 else (None, None)

    def _article_places(self, index: int) -> list[tuple[int, int | None, str]]:
        """The paragraphs and items of article `index` with their texts (embeddings.units.article_places)."""
        return article_places(self._article(index))

    def _read_places(self, index: int) -> tuple[list[tuple[int, int | None]], list[list[str]]]:
        """The paragraphs and items of article `index` a citation can point at, and the words of each: a paragraph
        with items by its lead-in alone (its full text holds every item's words, so it would always outscore the
        one item that answers)."""
        article = self._article(index)
        lead_ins = {paragraph.number: paragraph.text for paragraph in article.paragraphs if paragraph.items}
        places = self._places_of(index)
        texts = [lead_ins[p] if i is None and p in lead_ins else text for p, i, text in places]
        return [(p, i) for p, i, _ in places], [tokenize(text) for text in texts]

    def _split_units(self, index: int) -> np.ndarray:
        """The paragraph and item units of article `index` (none for an article indexed whole only)."""
        start, end = self._unit_range[index], self._unit_range[index + 1]
        units = self._units_by_article[start:end]
        return units[self.index_folder.unit_paragraph[units] >= 0]

    def article(self, index: int) -> Article:
        """The current wording of the article at `index` of the index's articles."""
        return self._article(index)

    # ------------------------------------------------------------ scoring

    def score(
        self, question: str, mode: str = "hybrid", lead_at_most: int = ANSWER_LEAD, read_as: str | None = None
    ) -> Scored:
        """The ranking of `question`: at most `lead_at_most` of the policy documents' articles lead it when they
        answer on their own (embeddings/tiers.py); `read_as`: the text the policy gate reads (a follow-up with the
        question before it), if not the question."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        lexical = self.index_folder.bm25.scores(question)
        example_words = self._example_words(question)
        law = self.learned.law_probabilities(question)
        share = self.learned.policy_share(read_as or question)
        text = query_text(question)
        raw, tuned = self.learned.vectors(text, self.encoder)
        # the question as it is too, for closeness (abstain_below is on that scale) and for the policy documents' gate
        found, found_raw = self._search_units(raw, tuned)
        dense, best_unit = self._best_per_article(*found)
        ranked_lexical = lexical
        if tuned is None:
            self._add_examples(dense, raw)
            ranked_lexical = self._with_example_words(lexical, example_words)
        else:
            # beside national law the policy documents' examples count in their own search (_lead_with_primary);
            # national law's count here by their words only: their vectors (question to question) are not on the
            # adapted question's scale, and pulled public questions to the few articles that have examples
            ranked_lexical = self._with_example_words(lexical, example_words, among=~self.tiers.is_primary)
        scored = fuse(
            dense,
            best_unit,
            ranked_lexical,
            mode,
            self.settings.dense_weight,
            bonus=self._bonus(law, share),
            unembedded=self.unembedded,
        )
        scored.closeness = float(found_raw[0][0]) if len(found_raw[0]) else 0.0
        if self.tiers.articles is not None:
            scored = self._lead_with_primary(
                question, raw, found_raw, lexical, example_words, mode, scored, lead_at_most, share
            )
        scored = put_first(self.references(question), scored)
        if not scored.named:
            scored = self._lead_with_named_law(question, mode, scored)
        scored.vector = raw
        if self.reranker is not None and mode == "hybrid":
            scored = self._rerank(question, scored, lexical, example_words, law)
        return scored

    def _rerank(
        self, question: str, scored: Scored, lexical: np.ndarray, example_words: np.ndarray, law: np.ndarray | None
    ) -> Scored:
        """National law's first candidates reordered by the reranker (embeddings/rerank.py), the articles the
        question names and the policy documents' lead staying first and the policy documents where they are."""
        movable, rows = self._rerank_rows(question, scored, self.reranker.depth, lexical, example_words, law)
        return reorder(scored, movable, self.reranker.score(rows))

    def rerank_rows(self, question: str, scored: Scored, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """The positions among `scored`'s first `depth` that the reranker may move, and their feature rows (for
        fitting it: embeddings/train_reranker.py)."""
        law = self.learned.law_probabilities(question)
        lexical = self.index_folder.bm25.scores(question)
        return self._rerank_rows(question, scored, depth, lexical, self._example_words(question), law)

    def _rerank_rows(
        self,
        question: str,
        scored: Scored,
        depth: int,
        lexical: np.ndarray,
        example_words: np.ndarray,
        law: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        positions = np.arange(min(depth, len(scored.articles)))
        movable = positions[
            (positions >= max(scored.named, scored.lead)) & ~self.tiers.is_primary[scored.articles[positions]]
        ]
        if len(movable) == 0:
            return movable, np.zeros((0, len(FEATURES)))
        rows = features(question, scored, movable, lexical, example_words, law, self.facts, self.index_folder.bm25)
        return movable, rows

    def _bonus(self, law: np.ndarray | None, share: float | None) -> np.ndarray:
        """Per article, added to the fused score of the whole corpus: the policy documents' boost, unless the
        question reads as national law's (`share`: the policy gate's), and national law's share of the law prior
        (`law`: per article, the probability of its law)."""
        boost = self.tiers.boost * np.float32(not self._reads_as_national(share))
        if law is None:
            return boost
        return boost + np.float32(self.settings.law_prior_weight) * law

    def _reads_as_national(self, share: float | None) -> bool:
        """Worded like the questions written for national law (员工旷工能开除吗, 店长拿着公章赊的货要还吗): 公司, 店 or
        货款 in an owner's question are not evidence that a provincial measure answers it, so the policy documents
        neither lead it nor get their boost."""
        return share is not None and share < self.settings.policy_gate_below

    def _lead_with_primary(
        self,
        question: str,
        raw: np.ndarray,
        found_raw: Found,
        lexical: np.ndarray,
        example_words: np.ndarray,
        mode: str,
        scored: Scored,
        lead_at_most: int,
        share: float | None,
    ) -> Scored:
        """The policy documents searched as if they were served alone; if they answer, their best (`lead_at_most`
        at most) come first (`share`: how likely the question is theirs, by the policy gate; None without one).

        Among ~58,000 national articles theirs often miss the candidates, and z-scores over national law do not
        tell a provincial measure that answers the question exactly from general law that touches on it. When
        they do not answer, the ranking and abstention are those of the whole corpus. They are searched with the
        question as it is (`raw`), not adapted.
        """
        dense, best_unit = self._best_per_article(*self.tiers.search_units(raw))
        closeness = max(dense.values(), default=0.0)
        self._add_examples(dense, raw, among=self.tiers.is_primary)
        primary = fuse(
            dense,
            best_unit,
            self._with_example_words(lexical, example_words),
            mode,
            self.settings.dense_weight,
            pool=self.tiers.articles,
        )
        primary.closeness = closeness
        # worded like the questions written for the documents (镇里让每家厂出钱修路, 区长换了补贴不算数): that national
        # law shares more of its words does not make them uncovered, as long as one of their articles is close
        theirs = share is not None and share >= self.settings.policy_gate_above
        if len(primary.articles) == 0 or self.abstention.uncovered(
            primary, question, self.tiers.articles, self.abstention.primary_floor, words_too=not theirs
        ):
            return scored
        lead = min(self.tiers.lead(primary, scored, found_raw, lexical, raw), lead_at_most)
        if theirs:
            lead = max(lead, min(THEIRS_LEAD, lead_at_most))
        if self._reads_as_national(share):
            lead = 0
        return lead_with(primary, scored, lead) if lead else scored

    def _lead_with_named_law(self, question: str, mode: str, scored: Scored) -> Scored:
        """`scored` led by the best articles of the law the question names without an article number (劳动合同法对试用期
        是怎么规定的, 中小企业促进法关于融资担保), searched with the rest of the question: the name's words would pull its
        first article (为了优化营商环境，制定本条例) and other laws' penalty articles citing it. Unchanged when the
        question names none, or nothing in the law is close to the rest."""
        named, rest = self.law_names.find(question)
        if not named or not has_words(rest):
            return scored
        in_law = np.isin(self._article_doc, list(named))
        units = np.flatnonzero(in_law[self.index_folder.unit_article])
        if len(units) == 0:
            return scored
        pool = np.flatnonzero(in_law)
        raw, tuned = self.learned.vectors(query_text(rest), self.encoder)
        vectors = self.index_folder.index.reconstruct_batch(units)
        cosines = vectors @ raw[0]
        unit_article = self.index_folder.unit_article[units]
        # national law is searched with the adapted vector, as in the whole corpus; closeness stays on the raw scale
        searched = (
            cosines if tuned is None else np.where(self.tiers.is_primary[unit_article], cosines, vectors @ tuned[0])
        )
        order = np.argsort(-searched, kind="stable")
        dense, best_unit = self._best_per_article(searched[order], units[order])
        self._add_examples(dense, raw, among=in_law)
        lexical = self._with_example_words(self.index_folder.bm25.scores(rest), self._example_words(rest))
        within = fuse(dense, best_unit, lexical, mode, self.settings.dense_weight, pool=pool)
        within.closeness = float(cosines.max())
        if not ASKS_CONSEQUENCE.search(question):
            # 劳动合同法对试用期是怎么规定的: the rule (第十九条) before the penalty for breaking it (第八十三条), which
            # repeats the rule's words
            within = favour(within, self._penalties(within), -RULE_BEFORE_PENALTY)
        within = favour(within, self._in_chapter_named(within, rest), CHAPTER_NAMED)
        if self.abstention.uncovered(within, rest, words_too=False):
            return scored
        return lead_with(within, scored, PRIMARY_LEAD)

    def references(self, question: str) -> list[int]:
        """Articles the question names outright (促进法第十九条, 湖南办法第九条), or that answer it by its form: the
        size standard's rules (划型标准第四条) for an owner who gives the figures and asks what size that is (做零售的
        十二个人 一年卖两百多万 算小型还是微型), as the chat's size exchange answers it (bot/size_chat.py)."""
        found = []
        rules = self.article_index.get((SIZE_DOCUMENT, RULES_ARTICLE, 0))
        if rules is not None and is_size_question(question) and read_figures(question).figures:
            found.append(rules)
        for reference in find_references(question):
            docs = narrow_by_article(
                name_before(question[: reference.start], self.documents),
                reference.number,
                lambda doc_id, n, sub=reference.sub: (doc_id, n, sub) in self.article_index,
            )
            if len(docs) != 1:
                continue
            index = self.article_index.get((docs[0].id, reference.number, reference.sub))
            if index is not None:
                found.append(index)
        return found

    def _search_units(self, raw: np.ndarray, tuned: np.ndarray | None) -> tuple[Found, Found]:
        """FAISS' best units, (cosines, unit indices) best first (-1: none): CANDIDATES for the adapted question
        (`tuned`, or `raw` without an adapter) and RAW_CANDIDATES for the question as it is.

        One search per vector: a batch of two would use both cores, but waking FAISS' OpenMP threads between
        questions costs more than the second search."""
        index = self.index_folder.index
        scores, units = index.search(raw if tuned is None else tuned, min(CANDIDATES, index.ntotal))
        found = scores[0], units[0]
        if tuned is None:
            return found, found
        scores, units = search_first(index, raw, min(RAW_CANDIDATES, index.ntotal))
        return found, (scores[0], units[0])

    def _example_words(self, question: str) -> np.ndarray:
        """Per article, the BM25 of its example questions' words (zero for an article without examples)."""
        scores = np.zeros(len(self.article_keys), dtype=np.float32)
        if self.index_folder.example_words is not None:
            scores[self.index_folder.articles_with_examples] = self.index_folder.example_words.scores(question)
        return scores

    def _with_example_words(
        self, lexical: np.ndarray, example_words: np.ndarray, among: np.ndarray | None = None
    ) -> np.ndarray:
        """Each article's BM25 plus its example questions' (a second field of the article, weighted lower: the
        examples paraphrase what the law says in its own words); only for the articles `among` marks, if given."""
        added = self.settings.example_words_weight * example_words
        return lexical + (added if among is None else added * among)

    def _add_examples(
        self, dense_by_article: dict[int, float], vector: np.ndarray, among: np.ndarray | None = None
    ) -> None:
        """Raise each article's dense score (of those `among` is True for, if given) to its closest example
        question's, where that is closer.

        The question itself (`vector`, not adapted) is compared: examples are questions too. Closeness, and so
        abstention, stays with the law's own text: an example close to a question says little about whether the
        law answers it.
        """
        examples = self.index_folder.examples
        if examples is None:
            return
        scores, found = examples.search(vector, min(CANDIDATES, examples.ntotal))
        for score, example in zip(scores[0], found[0]):
            if example < 0:
                continue
            article = int(self.index_folder.example_article[example])
            if (among is None or among[article]) and score > dense_by_article.get(article, -1.0):
                dense_by_article[article] = float(score)

    def _best_per_article(self, scores: np.ndarray, units: np.ndarray) -> tuple[dict[int, float], BestUnit]:
        """Each article's score and (paragraph, item) from its best unit; `units` come best first (-1: none)."""
        found = units >= 0
        scores, units = scores[found], units[found]
        # results come best first: the first unit of an article wins
        _, first = np.unique(self.index_folder.unit_article[units], return_index=True)
        first.sort()
        best = units[first]
        articles = self.index_folder.unit_article[best].tolist()
        paragraphs = self.index_folder.unit_paragraph[best].tolist()
        items = self.index_folder.unit_item[best].tolist()
        by_article = dict(zip(articles, scores[first].tolist()))
        best_unit: BestUnit = {
            article: (None if paragraph < 0 else paragraph, None if item < 0 else item)
            for article, paragraph, item in zip(articles, paragraphs, items)
        }
        return by_article, best_unit

    # ------------------------------------------------------------ abstention

    def _uncovered(
        self, scored: Scored, question: str, articles: np.ndarray | None = None, floor: float | None = None
    ) -> bool:
        """Nothing in `scored` is close in meaning, or the background matches far better than `articles` do."""
        return self.abstention.uncovered(scored, question, articles, floor)

    def background_ratio(self, question: str, articles: np.ndarray | None = None) -> float:
        """Best corpus matches (among `articles`, if given) over best background matches, on one BM25 scale."""
        return self.abstention.background_ratio(question, articles)

    # ------------------------------------------------------------ hits

    def _hit(self, index: int, score: float, unit: tuple[int | None, int | None]) -> Citation:
        doc_id = self.article_keys[index][0]
        article = self._article(index)
        return Citation(doc_id, self.titles[doc_id], article, *unit, score)

    def _article_text(self, index: int) -> str:
        return self._article(index).text

    def _article(self, index: int) -> Article:
        with self._lock:
            if index not in self._articles:
                doc_id, number, sub = self.article_keys[index]
                self._articles[index] = self.store.indexed_article(doc_id, number, sub)
            return self._articles[index]
