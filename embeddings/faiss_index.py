"""FAISS over unit vectors: exact inner product for small corpora, HNSW for large ones."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

HNSW_NEIGHBOURS = 32
# Above the 300 candidates a search asks for: at 128 HNSW missed articles exact search finds (STARD
# recall@10 0.767 -> 0.783 on a split of the training questions at 512), for about 1 ms more per question.
HNSW_EF_SEARCH = 512
# ... but a search whose first few matter only (the best cosine, for closeness and the policy documents' lead) finds
# the same best unit at 192 (350 questions) in 0.75 ms instead of 1.2
HNSW_EF_SEARCH_FIRST = 256


def search_first(index: faiss.Index, vector: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`index.search` for a search whose first results matter most: a shallower HNSW search."""
    if isinstance(index, faiss.IndexHNSW):
        return index.search(vector, count, params=faiss.SearchParametersHNSW(efSearch=HNSW_EF_SEARCH_FIRST))
    return index.search(vector, count)


def build_faiss(vectors: np.ndarray, kind: str = "auto", hnsw_above: int = 20000) -> faiss.Index:
    """Inner product over normalised vectors = cosine similarity."""
    if kind not in ("auto", "flat", "hnsw"):
        raise ValueError(f"search.index must be auto, flat or hnsw, not {kind!r}")
    dimension = vectors.shape[1]
    if kind == "hnsw" or (kind == "auto" and len(vectors) > hnsw_above):
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    return index


def write_faiss(index: faiss.Index, path: Path) -> None:
    """Write to a temp file, check it reads back whole, then move it into place (HAZARDS.md)."""
    temp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(temp))
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    if faiss.read_index(str(temp)).ntotal != index.ntotal:
        raise RuntimeError(f"FAISS index {temp} did not read back whole")
    os.replace(temp, path)


def read_faiss(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
