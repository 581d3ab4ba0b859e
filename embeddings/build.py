"""Build a corpus version's search index: embeddings (cached), FAISS, BM25 and the unit list."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import astuple
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.config import Config, switched_off
from policy_corpus.library import Library
from policy_corpus.model import Version
from policy_corpus.store import Store, article_from_row

from .adapter import QueryAdapter, load_adapter
from .background import load_background
from .cache import EmbeddingCache, encode_cached
from .encoder import Encoder
from .examples import read_examples
from .faiss_index import build_faiss, write_faiss
from .lawprior import LawPrior
from .lexical import BM25
from .progress import Progress
from .units import article_heading, article_units, query_text

logger = logging.getLogger(__name__)
INDEX_META = "index.json"
INDEX_FORMAT = 3  # bump when the files an index is made of change; older indexes are rebuilt
EMBED_CHUNK = 4096  # texts looked up, embedded and cached at a time: a long first ingest keeps what it did
PROGRESS_ABOVE = 5000  # units from which a first ingest shows its progress (a bar, or log lines)
_encoders: dict[tuple, Encoder] = {}


def get_encoder(config: Config) -> Encoder:
    """One encoder per model for the process: loading it takes seconds."""
    settings = config.embeddings
    key = (settings.model, settings.max_seq_length, settings.batch_size, settings.threads, settings.backend)
    if key not in _encoders:
        _encoders[key] = Encoder(
            settings.model, settings.max_seq_length, settings.batch_size, settings.threads, backend=settings.backend
        )
    return _encoders[key]


def learned_file(config: Config, setting: str) -> Path | None:
    """A file `make train` writes, as set in the config (resolved against its folder); None when "", off or none."""
    if switched_off(setting):
        return None
    return (config.base_dir / setting).resolve()


def get_adapter(config: Config, encoder: Encoder) -> QueryAdapter | None:
    """The configured query adapter, if set and fitted for this encoder's model."""
    path = learned_file(config, config.embeddings.query_adapter)
    return None if path is None else load_adapter(path, config.embeddings.model, encoder.dimension)


def get_law_prior(config: Config) -> LawPrior | None:
    """The configured law prior, if set and readable."""
    path = learned_file(config, config.search.law_prior)
    if path is None:
        return None
    try:
        return LawPrior.load(path)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("law prior %s cannot be read (%s): searching without it", path, error)
        return None


def index_is_current(folder: Path, config: Config) -> bool:
    """Whether `folder` holds an index this version of policybot can load, built with the configured model."""
    try:
        meta = json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    int8 = config.embeddings.backend == "onnx-int8"  # its vectors differ a little from the float backends'
    return (
        meta.get("format") == INDEX_FORMAT
        and meta.get("model") == config.embeddings.model
        and (meta.get("backend", "torch") == "onnx-int8") == int8
        and meta.get("examples_sha") == examples_fingerprint(config)
    )


def served_index_is_stale(library: Library, config: Config) -> bool:
    """Whether the version being served has an index from an older policybot, another model or other example
    questions: publishing rebuilds it even when no document changed."""
    return library.current_name() is not None and not index_is_current(library.current_dir(), config)


def examples_fingerprint(config: Config) -> str:
    """A hash of the configured example questions: an index built with others is rebuilt by `policybot ingest`."""
    digest = hashlib.sha256()
    for example in read_examples(config.examples_path):
        digest.update(json.dumps(astuple(example), ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def background_path(config: Config) -> Path | None:
    """The background collection for abstention, if configured and present."""
    if not config.search.background:
        return None
    path = (config.base_dir / config.search.background).resolve()
    if not path.exists():
        logger.warning("background collection %s is missing: abstention uses the dense floor only", path)
        return None
    return path


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
    write_faiss(index, folder / "index.faiss")
    if example_texts:
        write_faiss(
            build_faiss(vectors[len(units) :], config.search.index, config.search.hnsw_above), folder / "examples.faiss"
        )
    now = lap("faiss", now)
    BM25.build(lexical_texts).save(folder)
    if example_texts:  # one row per article with examples, in article order (embeddings/search.py adds them up)
        questions: dict[int, list[str]] = {}
        for article, text in zip(example_articles, example_texts):
            questions.setdefault(article, []).append(text)
        BM25.build(["\n".join(questions[article]) for article in sorted(questions)]).save(folder, "bm25_examples")
    now = lap("bm25", now)
    background = background_path(config)
    if background is not None:
        # the corpus scored on the background's scale, for the abstention ratio
        stats = load_background(background, config.data_path).stats
        now = lap("background_load", now)
        BM25.build(lexical_texts, stats=stats).save(folder, "bm25_background_scale")
        now = lap("bm25_background_scale", now)
    (folder / "units.json").write_text(
        json.dumps(
            {
                "articles": keys,
                "units": [[u.article, u.paragraph, u.item] for u in units],
                "examples": example_articles,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    lap("units_json", now)
    meta = {
        "format": INDEX_FORMAT,
        "model": encoder.name,
        "backend": encoder.backend,
        "dimension": encoder.dimension,
        "metric": "inner_product",
        "index_type": type(index).__name__,
        "articles": len(keys),
        "units": len(units),
        "examples": len(example_texts),
        "examples_sha": examples_fingerprint(config),
        "embedded": embedded,
        "seconds": round(time.perf_counter() - started, 2),
        "stages": seconds,
    }
    (folder / INDEX_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    logger.info(
        "indexed %d articles (%d units, %d newly embedded) in %.1fs", len(keys), len(units), embedded, meta["seconds"]
    )
    return meta
