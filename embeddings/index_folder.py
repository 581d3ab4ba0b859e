"""A corpus version's search index folder: its layout, saving, loading, and the one check of its metadata.

embeddings/build.py computes what goes in and saves it here; the search loads it from here. An index built by
another policybot or with another model is refused with a message that says to re-ingest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple, dataclass
from pathlib import Path

import faiss
import numpy as np

from policy_corpus.config import Config
from policy_corpus.library import Library

from .encoder import Encoder, encoder_name, get_encoder
from .examples import read_examples
from .faiss_index import read_faiss, write_faiss
from .lexical import BM25
from .units import Unit

INDEX_FORMAT = 5  # bump when the files an index is made of change; older indexes are rebuilt
INDEX_META = "index.json"  # what built the index, compared by `mismatch`
VECTORS = "index.faiss"  # one vector per unit
EXAMPLE_VECTORS = "examples.faiss"  # one vector per example question, when there are any
UNITS = "units.json"  # the article keys, each unit's (article, paragraph, item), each example's article
# BM25 files are named after these: bm25.json, bm25.data.npy, …
WORDS = "bm25"  # one row per article
EXAMPLE_WORDS = "bm25_examples"  # one row per article with examples, in article order
BACKGROUND_SCALE = "bm25_background_scale"  # the articles on the background collection's BM25 scale


class IndexMismatchError(Exception):
    """The index on disk is from an older policybot, or was built with another model than the one configured."""


@dataclass
class IndexFolder:
    """A loaded index folder."""

    meta: dict
    index: faiss.Index  # unit vectors
    bm25: BM25
    article_keys: list[tuple[str, int, int]]
    unit_article: np.ndarray
    unit_paragraph: np.ndarray  # -1: the whole article
    unit_item: np.ndarray  # -1: not an item
    example_article: np.ndarray  # the article of each embedded example question (the policy documents')
    example_paragraph: np.ndarray  # the paragraph it is about, -1: the article
    example_item: np.ndarray  # the item it is about, -1: none
    examples: faiss.Index | None  # example question vectors
    example_words: BM25 | None
    articles_with_examples: np.ndarray  # the articles that have example questions: the rows of `example_words`

    def articles_without_vectors(self) -> np.ndarray | None:
        """Per article, whether none of its units has a vector yet (a quick build); None when the index is whole."""
        if self.meta.get("dense_ready", True):
            return None
        missing = np.ones(len(self.article_keys), dtype=bool)
        missing[self.unit_article] = False
        return missing


# ------------------------------------------------------------ the check


def read_meta(folder: Path) -> dict:
    """The index's metadata; empty when missing or unreadable."""
    try:
        return json.loads((folder / INDEX_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def examples_fingerprint(config: Config) -> str:
    """A hash of the configured example questions: an index built with others is rebuilt by `policybot ingest`."""
    digest = hashlib.sha256()
    for example in read_examples(config.examples_path):
        fields = astuple(example)
        if example.paragraph is None:  # as before lines could name one: indexes built then stay current
            fields = fields[:4]
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def mismatch(meta: dict, folder: Path, config: Config, load_model: bool = False) -> str | None:
    """Why the index in `folder` (metadata `meta`) cannot be searched with the configured model; None if it can.

    `load_model`: also compare the model's dimension, loading the model (once per process) after the format check.
    """
    if meta.get("format") != INDEX_FORMAT:
        return (
            f"the search index in {folder} is missing or from an older policybot: "
            "run `policybot ingest` again to rebuild it"
        )
    model = encoder_name(config)
    # without the model loaded (it takes seconds), its dimension is taken to be the one recorded
    dimension = get_encoder(config).dimension if load_model else meta.get("dimension")
    if meta.get("model") != model or meta.get("dimension") != dimension:
        return (
            f"index in {folder} was built with {meta.get('model')} ({meta.get('dimension')}d) but the configured "
            f"model is {model}: run `policybot ingest` again to rebuild it"
        )
    return None


def index_is_current(folder: Path, config: Config) -> bool:
    """Whether `folder` holds an index that loads with the configured model and is what `policybot ingest` would
    build now: with the same backend's vectors and the same example questions."""
    meta = read_meta(folder)
    int8 = config.embeddings.backend == "onnx-int8"  # its vectors differ a little from the float backends'
    return (
        mismatch(meta, folder, config) is None
        and (meta.get("backend", "torch") == "onnx-int8") == int8
        and meta.get("examples_sha") == examples_fingerprint(config)
    )


def served_index_is_stale(library: Library, config: Config) -> bool:
    """Whether the version being served has an index from an older policybot, another model or other example
    questions: publishing rebuilds it even when no document changed."""
    return library.current_name() is not None and not index_is_current(library.current_dir(), config)


# ------------------------------------------------------------ loading


def read_units(folder: Path) -> dict:
    """units.json: {"articles": [[doc_id, number, sub]], "units": [[article, paragraph, item]], "examples": [article],
    "example_places": [[paragraph, item]], "example_words": [article]}."""
    return json.loads((folder / UNITS).read_text(encoding="utf-8"))


def load_index(folder: Path, config: Config) -> IndexFolder:
    """The index in `folder`, refused (IndexMismatchError) when another policybot or model built it."""
    meta = read_meta(folder)
    problem = mismatch(meta, folder, config, load_model=True)
    if problem is not None:
        raise IndexMismatchError(problem)
    index = read_faiss(folder / VECTORS)
    bm25 = BM25.load(folder, WORDS)
    units = read_units(folder)
    unit_rows = np.array(
        [[a, -1 if p is None else p, -1 if i is None else i] for a, p, i in units["units"]], dtype=np.int64
    ).reshape(-1, 3)
    unit_article, unit_paragraph, unit_item = unit_rows.T
    example_article = np.array(units.get("examples", []), dtype=np.int64)
    places = units.get("example_places") or [[None, None]] * len(example_article)
    example_places = np.array(
        [[-1 if p is None else p, -1 if i is None else i] for p, i in places], dtype=np.int64
    ).reshape(-1, 2)
    with_examples = np.array(units.get("example_words", []), dtype=np.int64)
    return IndexFolder(
        meta=meta,
        index=index,
        bm25=bm25,
        article_keys=[tuple(key) for key in units["articles"]],
        unit_article=unit_article,
        unit_paragraph=unit_paragraph,
        unit_item=unit_item,
        example_article=example_article,
        example_paragraph=example_places[:, 0],
        example_item=example_places[:, 1],
        examples=read_faiss(folder / EXAMPLE_VECTORS) if len(example_article) else None,
        example_words=BM25.load(folder, EXAMPLE_WORDS) if len(with_examples) else None,
        articles_with_examples=with_examples,
    )


def load_background_scale(folder: Path) -> BM25 | None:
    """The articles on the background collection's BM25 scale; None when the index was built without it."""
    if not (folder / f"{BACKGROUND_SCALE}.json").exists():
        return None
    return BM25.load(folder, BACKGROUND_SCALE)


# ------------------------------------------------------------ saving


def save_vectors(folder: Path, index: faiss.Index, examples: faiss.Index | None = None) -> None:
    """The unit vectors, and the example questions' if any."""
    write_faiss(index, folder / VECTORS)
    if examples is not None:
        write_faiss(examples, folder / EXAMPLE_VECTORS)


def save_words(folder: Path, bm25: BM25, example_words: BM25 | None = None) -> None:
    """BM25 over the articles, and over their example questions (one row per article with examples) if any."""
    bm25.save(folder, WORDS)
    if example_words is not None:
        example_words.save(folder, EXAMPLE_WORDS)


def save_background_scale(folder: Path, bm25: BM25) -> None:
    """BM25 over the articles with the background collection's statistics."""
    bm25.save(folder, BACKGROUND_SCALE)


def save_units(
    folder: Path,
    keys: list[list],
    units: list[Unit],
    example_articles: list[int],
    example_words: list[int],
    example_places: list[list[int | None]] | None = None,
) -> None:
    """Which article each unit and each embedded example question belongs to (and the paragraph and item the
    question is about, where its line names one), and the articles with examples."""
    (folder / UNITS).write_text(
        json.dumps(
            {
                "articles": keys,
                "units": [[u.article, u.paragraph, u.item] for u in units],
                "examples": example_articles,
                "example_places": example_places or [[None, None]] * len(example_articles),
                "example_words": example_words,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def save_meta(
    folder: Path,
    config: Config,
    encoder: Encoder,
    index: faiss.Index,
    *,
    articles: int,
    units: int,
    examples: int,
    embedded: int,
    units_total: int | None = None,
    seconds: float,
    stages: dict[str, float],
) -> dict:
    """Write index.json: what `mismatch` and `index_is_current` compare, and what the build did."""
    meta = {
        "format": INDEX_FORMAT,
        "model": encoder.name,
        "backend": encoder.backend,
        "dimension": encoder.dimension,
        "metric": "inner_product",
        "index_type": type(index).__name__,
        "articles": articles,
        "units": units,
        "examples": examples,
        "examples_sha": examples_fingerprint(config),
        "embedded": embedded,
        # a quick build holds vectors for only some of the units: `units` of `units_total`
        "units_total": units if units_total is None else units_total,
        "dense_ready": units_total is None or units >= units_total,
        "seconds": seconds,
        "stages": stages,
    }
    (folder / INDEX_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta
