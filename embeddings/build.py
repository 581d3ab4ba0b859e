"""Build a corpus version's search index: embeddings (cached), FAISS, BM25 and the unit list, saved through
embeddings/index_folder.py."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.config import Config
from policy_corpus.model import Version
from policy_corpus.store import Store, article_from_row

from .background import background_path, load_background
from .cache import EmbeddingCache, encode_cached
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
from .learned import get_adapter
from .lexical import BM25
from .progress import Progress
from .units import article_heading, article_units, query_text

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
PROGRESS_ABOVE = 5000  # units from which a first ingest shows its progress (a bar, or log lines)


def make_index_builder(config: Config, progress: bool | None = None):
    """The function `Library.publish` calls to index a new version's store."""

    def build(store: Store, folder: Path) -> None:
        build_index(store, folder, config, progress)

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


def corpus_examples(config: Config, keys: list[list]) -> tuple[list[int], list[str]]:
    """The configured example questions of the articles in `keys`: (article index, text as the dense side reads
    it) each. Examples of articles the corpus does not have are left out."""
    position = {tuple(key): index for index, key in enumerate(keys)}
    articles, texts = [], []
    skipped = 0
    for example in read_examples(config.examples_path):
        index = position.get(example.article_key)
        if index is None:
            skipped += 1
            continue
        articles.append(index)
        texts.append(query_text(example.question))
    if skipped:
        logger.info("%d example questions name articles the corpus does not have: left out", skipped)
    return articles, texts


def build_index(store: Store, folder: Path, config: Config, progress: bool | None = None) -> dict:
    """Index the current articles of `store` into `folder`; returns the index metadata.

    `progress`: show a progress bar while embedding (None: on a terminal, for large corpora).
    """
    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        seconds[stage] = round(now - since, 3)
        return now

    titles = {info.id: info.cite_title for info in store.documents()}
    rows = store.article_rows(Version.CURRENT)
    keys, units, lexical_texts = [], [], []
    for index, row in enumerate(rows):
        article = article_from_row(row)
        keys.append([row["doc_id"], row["number"], row["sub"]])
        units.extend(article_units(index, titles[row["doc_id"]], article))
        lexical_texts.append(f"{article_heading(titles[row['doc_id']], article)}\n{article.text}")
    example_articles, example_texts = corpus_examples(config, keys)
    now = lap("units", started)
    encoder = get_encoder(config)
    now = lap("model", now)
    cache = EmbeddingCache(Path(config.data_path) / "embedding_cache.db")
    try:
        vectors, embedded = embed_texts(encoder, cache, [u.text for u in units] + example_texts, progress)
    finally:
        cache.close()
    now = lap("embed", now)
    faiss.omp_set_num_threads(max(1, config.embeddings.threads))
    index = build_faiss(vectors[: len(units)], config.search.index, config.search.hnsw_above)
    examples = (
        build_faiss(vectors[len(units) :], config.search.index, config.search.hnsw_above) if example_texts else None
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
    save_units(folder, keys, units, example_articles)
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
        seconds=round(time.perf_counter() - started, 2),
        stages=seconds,
    )
    logger.info(
        "indexed %d articles (%d units, %d newly embedded) in %.1fs", len(keys), len(units), embedded, meta["seconds"]
    )
    return meta
