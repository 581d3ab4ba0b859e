"""The encoder's backends: the ONNX export gives torch's vectors; int8 stays close and is cached apart."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from embeddings.encoder import Encoder, ModelNotFoundError, encoder_name, onnx_available

from .conftest import DOCUMENTS

TEXTS = [
    "银行贷款到期了，能不能不还本金直接续贷？",
    "续贷",
    "保障中小企业款项支付条例 第十五条 机关、事业单位和大型企业迟延支付中小企业款项的，应当支付逾期利息。" * 4,
]

needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime and onnx are not installed")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-exports")


@pytest.fixture(scope="module")
def torch_vectors():
    return Encoder("m3e-small", backend="torch").encode(TEXTS)


@needs_onnx
def test_onnx_export_gives_torch_vectors(export_dir, torch_vectors):
    encoder = Encoder("m3e-small", backend="onnx", cache_dir=export_dir)
    vectors = encoder.encode(TEXTS)
    assert encoder.backend == "onnx" and encoder.cache_name == "m3e-small" and encoder.dimension == 512
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.9999
    single = encoder.encode(TEXTS[:1])  # alone, without padding, the same vector
    assert float(single[0] @ vectors[0]) > 0.9999


def law_sentences(count: int = 120) -> list[str]:
    """Paragraphs of the default documents, short and long, as the index embeds them."""
    lines = [
        line.strip()
        for path in sorted(DOCUMENTS.glob("*.md"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    lines = [line for line in lines if len(line) > 8 and not line.startswith(("#", "<!--"))]
    return lines[:: max(1, len(lines) // count)][:count]


@needs_onnx
def test_int8_is_close_on_law_text_and_cached_under_its_own_name(export_dir, torch_vectors, caplog):
    with caplog.at_level(logging.WARNING):
        encoder = Encoder("m3e-small", backend="onnx-int8", cache_dir=export_dir)
    assert encoder.backend == "onnx-int8" and "using the torch backend" not in caplog.text  # no silent fallback
    assert encoder.cache_name == "m3e-small+int8-7bit" and encoder.name == "m3e-small"
    vectors = encoder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * torch_vectors).sum(axis=1).min() >= 0.99
    texts = law_sentences()
    exact = Encoder("m3e-small", backend="onnx", cache_dir=export_dir).encode(texts)
    assert (encoder.encode(texts) * exact).sum(axis=1).min() >= 0.99


def test_without_onnxruntime_onnx_falls_back_and_int8_says_how_to_install(monkeypatch):
    monkeypatch.setattr("embeddings.encoder.onnx_available", lambda: False)
    assert Encoder("m3e-small", backend="onnx").backend == "torch"
    with pytest.raises(ModelNotFoundError, match="pip install"):
        Encoder("m3e-small", backend="onnx-int8")
    with pytest.raises(ValueError, match="backend"):
        Encoder("m3e-small", backend="tensorrt")


def test_switching_to_int8_makes_the_index_stale(tmp_path):
    from embeddings.build import INDEX_FORMAT, INDEX_META, examples_fingerprint, index_is_current
    from policy_corpus.config import load_config

    from .conftest import PROJECT

    config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_DATA_DIR": str(tmp_path)})
    (tmp_path / INDEX_META).write_text(
        json.dumps(
            {
                "format": INDEX_FORMAT,
                "model": encoder_name(config),
                "backend": "onnx",
                "examples_sha": examples_fingerprint(config),
            }
        )
    )
    config.embeddings.backend = "torch"
    assert index_is_current(tmp_path, config)  # same vectors: no rebuild
    config.embeddings.backend = "onnx-int8"
    assert not index_is_current(tmp_path, config)
