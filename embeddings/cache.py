"""Embedding cache: vectors keyed by model and text hash, so a refresh re-embeds only new text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import sqlite_utils


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: str | Path) -> None:
        self.db = sqlite_utils.Database(path)
        self.db.execute("PRAGMA busy_timeout = 5000")
        if "vectors" not in self.db.table_names():
            self.db["vectors"].create({"model": str, "key": str, "vector": bytes}, pk=("model", "key"))

    def close(self) -> None:
        self.db.close()

    def get_many(self, model: str, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})", [model, *chunk]
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self.db.conn:
            self.db["vectors"].insert_all(
                (
                    {"model": model, "key": key, "vector": vector.astype(np.float32).tobytes()}
                    for key, vector in vectors.items()
                ),
                replace=True,
            )


def encode_cached(encoder, cache: EmbeddingCache, texts: list[str]) -> tuple[np.ndarray, int]:
    """Encode texts, taking what the cache has; returns (vectors, number newly embedded)."""
    keys = [text_key(t) for t in texts]
    model = getattr(encoder, "cache_name", encoder.name)  # int8 vectors are kept apart from float ones
    found = cache.get_many(model, sorted(set(keys)))
    missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
    if missing:
        # Sorting by length keeps batches of similar length, which wastes less padding.
        missing.sort(key=lambda pair: len(pair[1]))
        new = encoder.encode([t for _, t in missing])
        fresh = {k: v for (k, _), v in zip(missing, new)}
        cache.put_many(model, fresh)
        found.update(fresh)
    dimension = encoder.dimension
    matrix = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = found[key]
    return matrix, len(missing)
