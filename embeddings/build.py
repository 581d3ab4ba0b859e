"""Build a corpus version's search index: embeddings (cached), FAISS, BM25 and the unit list, saved through
embeddings/index_folder.py."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.config import Config
from policy_corpus.model import Version
from policy_corpus.store import DocumentInfo, Store, article_from_row

from .background import background_path, load_background
from .cache import EmbeddingCache, encode_cached, text_key
from .encoder import Encoder, get_encoder
from .examples import read_examples
from .faiss_index import build_faiss
from .index_folder import (
    INDEX_FORMAT,
    INDEX_META,
    examples_fingerprint,
    index_is_current,
    save_background_scale,
    save_meta,
    save_units,
    save_vectors,
    save_words,
    served_index_is_stale,
)
from .learned import get_adapter, get_law_prior
from .lexical import BM25
from .progress import Progress
from .units import Unit, article_heading, article_units, query_text

# with what bot/, tests/ and bench/ import from here, though it lives in index_folder.py, learned.py or encoder.py
__all__ = [
    "INDEX_FORMAT",
    "INDEX_META",
    "build_index",
    "corpus_examples",
    "embed_texts",
    "examples_fingerprint",
    "get_adapter",
    "get_encoder",
    "index_is_current",
    "make_index_builder",
    "served_index_is_stale",
]
logger = logging.getLogger(__name__)
EMBED_CHUNK = 4096  # texts looked up, embedded and cached at a time: a long first ingest keeps what it did
QUICK_CHUNK = 256  # texts embedded between two looks at the clock in a quick build
PROGRESS_ABOVE = 5000  # units from which a first ingest shows its progress (a bar, or log lines)


def make_index_builder(config: Config, progress: bool | None = None, budget_s: float | None = None):
    """The function `Library.publish` calls to index a new version's store (`budget_s`: a quick build)."""

    def build(store: Store, folder: Path) -> None:
        build_index(store, folder, config, progress, budget_s)

    return build


def embed_texts(
    encoder: Encoder, cache: EmbeddingCache, texts: list[str], progress: bool | None = None
) -> tuple[np.ndarray, int]:
    """`encode_cached` chunk by chunk, with progress; returns (vectors, number newly embedded).

    Each chunk is cached as soon as it is embedded, so an interrupted first ingest resumes where it
    stopped. Chunks keep the corpus order (the rate stays steady); the encoder sorts each by length.
    """
    vectors = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    show = progress if progress is not None else len(texts) >= PROGRESS_ABOVE
    embedded = 0
    with Progress(len(texts), "embedding", show=show) as counter:
        for start in range(0, len(texts), EMBED_CHUNK):
            chunk = texts[start : start + EMBED_CHUNK]
            vectors[start : start + len(chunk)], fresh = encode_cached(encoder, cache, chunk)
            embedded += fresh
            counter.update(len(chunk))
    return vectors, embedded


def embedding_order(
    primary: list[bool], unit_docs: list[str], infos: dict[str, DocumentInfo], config: Config
) -> list[int]:
    """Rows of a quick build's texts, first to embed first: the policy documents' units and example questions
    (`primary`), then national law's, the laws owners' questions are most often answered from first (the law
    prior's classes by their bias), the rest in corpus order. `unit_docs`: each unit row's document id."""
    prior = get_law_prior(config)
    laws = [] if prior is None else [prior.laws[i] for i in np.argsort(-prior.bias, kind="stable")]
    rank = {law: position for position, law in enumerate(laws)}

    def key(row: int) -> tuple[int, int, int]:
        if primary[row]:
            return (0, 0, row)
        return (1, rank.get(infos[unit_docs[row]].law, len(rank)), row)

    return sorted(range(len(primary)), key=key)


def embed_within(
    encoder: Encoder, cache: EmbeddingCache, texts: list[str], order: list[int], required: int, budget_s: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Vectors for what the cache holds of `texts`, the first `required` rows of `order`, and as many more rows in
    `order` as `budget_s` seconds allow; returns (vectors, which rows have one, number newly embedded)."""
    deadline = time.monotonic() + budget_s
    keys = [text_key(text) for text in texts]
    found = cache.get_many(getattr(encoder, "cache_name", encoder.name), sorted(set(keys)))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    done = np.zeros(len(texts), dtype=bool)
    for row, key in enumerate(keys):
        if key in found:
            vectors[row], done[row] = found[key], True
    must = set(order[:required])
    pending = [row for row in order if not done[row]]
    embedded = 0
    for start in range(0, len(pending), QUICK_CHUNK):
        rows = pending[start : start + QUICK_CHUNK]
        if time.monotonic() > deadline and not must.intersection(rows):
            break
        vectors[rows], fresh = encode_cached(encoder, cache, [texts[row] for row in rows])
        done[rows] = True
        embedded += fresh
    return vectors, done, embedded


def corpus_examples(config: Config, keys: list[list]) -> tuple[list[int], list[str], list[list[int | None]]]:
    """The configured example questions of the articles in `keys`: (article index, text as the dense side reads
    it, [paragraph, item] it is about or [None, None]) each. Examples of articles the corpus does not have are left
    out."""
    position = {tuple(key): index for index, key in enumerate(keys)}
    articles, texts, places = [], [], []
    skipped = 0
    for example in read_examples(config.examples_path):
        index = position.get(example.article_key)
        if index is None:
            skipped += 1
            continue
        articles.append(index)
        texts.append(query_text(example.question))
        places.append([example.paragraph, example.item])
    if skipped:
        logger.info("%d example questions name articles the corpus does not have: left out", skipped)
    return articles, texts, places


@dataclass
class CorpusUnits:
    """What a corpus version's index is built from: its current articles, their units and example questions."""

    infos: dict[str, DocumentInfo]
    keys: list[list]  # [doc_id, number, sub] per article
    units: list[Unit]
    lexical_texts: list[str]  # per article
    example_articles: list[int]
    example_texts: list[str]
    example_places: list[list[int | None]]  # [paragraph, item] per example question, [None, None]: the article

    @property
    def embedded_examples(self) -> list[int]:
        """The example questions that get a vector: the policy documents' (national law's count by their words)."""
        return [row for row, article in enumerate(self.example_articles) if self.infos[self.keys[article][0]].primary]

    @property
    def texts(self) -> list[str]:
        """Everything embedded: the units' texts, then the embedded example questions."""
        return [unit.text for unit in self.units] + [self.example_texts[row] for row in self.embedded_examples]


def corpus_units(store: Store, config: Config) -> CorpusUnits:
    """The units of `store`'s current articles: each article whole, and each paragraph and item of the policy
    documents' longer articles (of national law's too with `embeddings.split_national`)."""
    infos = {info.id: info for info in store.documents()}
    keys, units, lexical_texts = [], [], []
    for index, row in enumerate(store.article_rows(Version.CURRENT)):
        article = article_from_row(row)
        info = infos[row["doc_id"]]
        keys.append([row["doc_id"], row["number"], row["sub"]])
        split = info.primary or config.embeddings.split_national
        units.extend(article_units(index, info.cite_title, article, split=split))
        lexical_texts.append(f"{article_heading(info.cite_title, article)}\n{article.text}")
    return CorpusUnits(infos, keys, units, lexical_texts, *corpus_examples(config, keys))


def build_index(
    store: Store, folder: Path, config: Config, progress: bool | None = None, budget_s: float | None = None
) -> dict:
    """Index the current articles of `store` into `folder`; returns the index metadata.

    `progress`: show a progress bar while embedding (None: on a terminal, for large corpora).
    `budget_s`: a quick build (a first start): the policy documents are embedded whole, national law only for
    about this many seconds, the laws owners ask about most first (and whatever the cache already holds); the
    rest is searched by its words until a full build (embeddings/deferred.py) replaces the index.
    """
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        seconds[stage] = round(now - since, 3)
        return now

    corpus = corpus_units(store, config)
    infos, keys, units, lexical_texts = corpus.infos, corpus.keys, corpus.units, corpus.lexical_texts
    example_articles, example_texts = corpus.example_articles, corpus.example_texts
    now = lap("units", started)
    encoder = get_encoder(config)
    now = lap("model", now)
    cache = EmbeddingCache(Path(config.data_path) / "embedding_cache.db")
    texts = corpus.texts
    embedded_examples = corpus.embedded_examples
    total_units = len(units)
    try:
        if budget_s is None:
            vectors, embedded = embed_texts(encoder, cache, texts, progress)
        else:
            primary = [infos[keys[u.article][0]].primary for u in units] + [True] * len(embedded_examples)
            order = embedding_order(primary, [keys[u.article][0] for u in units], infos, config)
            vectors, done, embedded = embed_within(encoder, cache, texts, order, sum(primary), budget_s)
            units = [unit for unit, kept in zip(units, done) if kept]
            vectors = np.concatenate([vectors[:total_units][done[:total_units]], vectors[total_units:]])
    finally:
        cache.close()
    now = lap("embed", now)
    faiss.omp_set_num_threads(max(1, config.embeddings.threads))
    index = build_faiss(vectors[: len(units)], config.search.index, config.search.hnsw_above)
    examples = (
        build_faiss(vectors[len(units) :], config.search.index, config.search.hnsw_above) if embedded_examples else None
    )
    save_vectors(folder, index, examples)
    now = lap("faiss", now)
    example_words = None
    if example_texts:  # one row per article with examples, in article order (embeddings/search.py adds them up)
        questions: dict[int, list[str]] = {}
        for article, text in zip(example_articles, example_texts):
            questions.setdefault(article, []).append(text)
        example_words = BM25.build(["\n".join(questions[article]) for article in sorted(questions)])
    save_words(folder, BM25.build(lexical_texts), example_words)
    now = lap("bm25", now)
    background = background_path(config)
    if background is not None:
        # the corpus scored on the background's scale, for the abstention ratio
        stats = load_background(background, config.data_path).stats
        now = lap("background_load", now)
        save_background_scale(folder, BM25.build(lexical_texts, stats=stats))
        now = lap("bm25_background_scale", now)
    save_units(
        folder,
        keys,
        units,
        [example_articles[row] for row in embedded_examples],
        sorted(set(example_articles)),
        [corpus.example_places[row] for row in embedded_examples],
    )
    lap("units_json", now)
    meta = save_meta(
        folder,
        config,
        encoder,
        index,
        articles=len(keys),
        units=len(units),
        examples=len(example_texts),
        embedded=embedded,
        units_total=total_units,
        seconds=round(time.perf_counter() - started, 2),
        stages=seconds,
    )
    logger.info(
        "indexed %d articles (%d units, %d newly embedded) in %.1fs", len(keys), len(units), embedded, meta["seconds"]
    )
    return meta
