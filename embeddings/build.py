"""Build a corpus version's search index: embeddings (cached), FAISS, BM25 and the unit list."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from policy_corpus.config import Config
from policy_corpus.model import Version
from policy_corpus.store import Store, article_from_row

from .cache import EmbeddingCache, encode_cached
from .encoder import Encoder
from .faiss_index import build_faiss, write_faiss
from .background import load_background
from .lexical import BM25
from .units import article_heading, article_units

logger = logging.getLogger(__name__)
INDEX_META = "index.json"
INDEX_FORMAT = 2  # bump when the files an index is made of change; older indexes are rebuilt
_encoders: dict[tuple, Encoder] = {}


def get_encoder(config: Config) -> Encoder:
    """One encoder per model for the process: loading it takes seconds."""
    settings = config.embeddings
    key = (settings.model, settings.max_seq_length, settings.batch_size, settings.threads)
    if key not in _encoders:
        _encoders[key] = Encoder(settings.model, settings.max_seq_length, settings.batch_size, settings.threads)
    return _encoders[key]


def index_is_current(folder: Path, config: Config) -> bool:
    """Whether `folder` holds an index this version of policybot can load, built with the configured model."""
    try:
        meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("format") == INDEX_FORMAT and meta.get("model") == config.embeddings.model


def background_path(config: Config) -> Path | None:
    """The background collection for abstention, if configured and present."""
    if not config.search.background:
        return None
    path = (config.base_dir / config.search.background).resolve()
    if not path.exists():
        logger.warning("background collection %s is missing: abstention uses the dense floor only", path)
        return None
    return path


def make_index_builder(config: Config):
    """The function `Library.publish` calls to index a new version's store."""

    def build(store: Store, folder: Path) -> None:
        build_index(store, folder, config)

    return build


def build_index(store: Store, folder: Path, config: Config) -> dict:
    """Index the current articles of `store` into `folder`; returns the index metadata."""
    started = time.perf_counter()
    titles = {info.id: info.cite_title for info in store.documents()}
    rows = store.article_rows(Version.CURRENT)
    keys, units, lexical_texts = [], [], []
    for index, row in enumerate(rows):
        article = article_from_row(row)
        keys.append([row["doc_id"], row["number"], row["sub"]])
        units.extend(article_units(index, titles[row["doc_id"]], article))
        lexical_texts.append(f"{article_heading(titles[row['doc_id']], article)}\n{article.text}")
    encoder = get_encoder(config)
    cache = EmbeddingCache(Path(config.data_path) / "embedding_cache.db")
    try:
        vectors, embedded = encode_cached(encoder, cache, [u.text for u in units])
    finally:
        cache.close()
    index = build_faiss(vectors, config.search.index, config.search.hnsw_above)
    write_faiss(index, folder / "index.faiss")
    BM25.build(lexical_texts).save(folder)
    background = background_path(config)
    if background is not None:
        # the corpus scored on the background's scale, for the abstention ratio
        stats = load_background(background, config.data_path).stats
        BM25.build(lexical_texts, stats=stats).save(folder, "bm25_background_scale")
    (folder / "units.json").write_text(json.dumps(
        {"articles": keys, "units": [[u.article, u.paragraph, u.item] for u in units]}, ensure_ascii=False),
        encoding="utf-8")
    meta = {"format": INDEX_FORMAT, "model": encoder.name, "dimension": encoder.dimension, "metric": "inner_product",
            "index_type": type(index).__name__, "articles": len(keys), "units": len(units),
            "embedded": embedded, "seconds": round(time.perf_counter() - started, 2)}
    (folder / INDEX_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    logger.info("indexed %d articles (%d units, %d newly embedded) in %.1fs",
                len(keys), len(units), embedded, meta["seconds"])
    return meta
