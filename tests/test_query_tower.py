"""The query tower: the encoder tuned for questions against the frozen vectors of a real index, shipped as low-rank
differences, rebuilt into a model folder and loaded like any encoder (embeddings/query_tower.py)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from embeddings.adapter import QueryAdapter
from embeddings.encoder import Encoder, resolve_model
from embeddings.learned import Learned, get_query_tower
from embeddings.query_tower import QueryTower, fit_tower, tower_encoder
from embeddings.train import CorpusVectors
from embeddings.units import query_text
from policy_corpus.config import load_config
from policy_corpus.library import Library

from .conftest import DEV_QUESTIONS, PROJECT


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def _rows(corpus: CorpusVectors) -> list[dict]:
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if len(corpus.gold_units(row))][:24]


def test_a_tuned_tower_brings_its_questions_to_the_articles_that_answer_them(indexed_config, cache):
    """Tuned on owners' questions against the real index, saved (float16, low rank), loaded back through a model
    folder: the questions find their articles first more often than with the shipped model."""
    corpus = CorpusVectors(Library(indexed_config.data_path).current_dir())
    rows = _rows(corpus)
    questions = [query_text(row["question"]) for row in rows]
    settings = indexed_config.embeddings.model_copy(update={"backend": "torch"})
    tower = fit_tower(
        resolve_model(settings.model),
        settings.model,
        questions,
        [corpus.gold_units(row) for row in rows],
        corpus.vectors,
        epochs=4,
        learning_rate=3e-4,
        batch_size=8,
    )
    tower.save(cache / "tower.npz")
    assert (cache / "tower.npz").stat().st_size < 15_000_000  # int8 differences, not a copy of the 96 MB model
    encoder = tower_encoder(cache / "tower.npz", settings)
    assert encoder is not None and encoder.name.startswith(str(cache / "cache"))
    shipped = Encoder(settings.model, settings.max_seq_length, settings.batch_size, settings.threads, backend="torch")
    base = corpus.dense_recall(shipped.encode(questions), rows)["recall_at_1"]
    tuned = corpus.dense_recall(encoder.encode(questions), rows)["recall_at_1"]
    assert tuned > base + 0.1, (base, tuned)
    # beside an adapter, national law is searched with the mean of the two (here an adapter that moves nothing)
    learned = Learned(QueryAdapter(settings.model, np.zeros((512, 512), dtype=np.float32)), tower=encoder)
    raw, both = learned.vectors(questions[0], shipped)
    mean = encoder.encode(questions[:1]) + raw
    assert np.allclose(both, mean / np.linalg.norm(mean), atol=1e-5)


def test_a_tower_tuned_from_another_model_is_not_used(tmp_path, caplog):
    tower = QueryTower("BAAI/bge-small-zh-v1.5", {"layer.0.bias": np.zeros(4, dtype=np.float32)})
    tower.save(tmp_path / "tower.npz")
    settings = load_config(PROJECT / "config.yaml", environ={}).embeddings
    with caplog.at_level(logging.WARNING):
        assert tower_encoder(tmp_path / "tower.npz", settings) is None
    assert "make train-tower" in caplog.text


def test_an_unreadable_tower_leaves_search_without_it(tmp_path, caplog):
    (tmp_path / "tower.npz").write_bytes(b"not a tower")
    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_QUERY_TOWER": str(tmp_path / "tower.npz")})
    with caplog.at_level(logging.WARNING):
        assert get_query_tower(config) is None
    assert "cannot be read" in caplog.text
    assert get_query_tower(load_config(PROJECT / "config.yaml", environ={})) is None  # off by default


def test_a_saved_tower_keeps_its_differences(tmp_path):
    rng = np.random.default_rng(0)
    shift, matrix = rng.normal(size=6).astype(np.float32), 1e-3 * rng.normal(size=(8, 6)).astype(np.float32)
    QueryTower("m3e-small", {"b": shift, "m": matrix}, {"epochs": 5}).save(tmp_path / "t.npz")
    loaded = QueryTower.load(tmp_path / "t.npz")
    assert loaded.model == "m3e-small" and loaded.info == {"epochs": 5}
    assert np.allclose(loaded.shifts["b"], shift, atol=1e-2)
    # a matrix's rows are stored as int8 with a scale each: within half a step of the largest value of the row
    step = np.abs(matrix).max(axis=1, keepdims=True) / 127
    assert (np.abs(loaded.shifts["m"] - matrix) <= step / 2 + 1e-9).all()
