"""The tuned encoder: the shipped model's weights tuned on questions against the texts of the articles that answer
them, shipped as differences, rebuilt into a model folder, and keyed apart from the shipped model's vectors
(embeddings/tuned_encoder.py, embeddings/weight_shift.py)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from embeddings.encoder import Encoder, ModelNotFoundError, encoder_name, get_encoder, resolve_model
from embeddings.index_folder import mismatch, read_meta
from embeddings.tuned_encoder import article_texts, tune, with_negatives
from embeddings.units import query_text
from embeddings.weight_shift import WeightShift, difference
from policy_corpus.config import load_config
from policy_corpus.library import Library

from .conftest import DEV_QUESTIONS, PROJECT


def _shipped(config) -> Encoder:
    settings = config.embeddings
    return Encoder(settings.model, settings.max_seq_length, settings.batch_size, settings.threads, backend="torch")


def test_the_default_encoder_reads_owners_words_closer_to_the_statutes(config):
    """Questions and articles are embedded by the tuned model, whose vectors are kept under their own name; an owner's
    words come closer to the provision that answers them than with the model as shipped."""
    encoder = get_encoder(config)
    assert encoder.name.startswith("m3e-small+tuned-") and encoder.name in encoder.cache_name
    pairs = [
        (
            "老板拖着工资好几个月不发怎么办",
            "用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。用人单位拖欠或者未足额支付劳动报酬的，劳动者可以依法向当地人民法院申请支付令",
        ),
        (
            "员工干了不到一年就走了要不要给补偿",
            "经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。六个月以上不满一年的，按一年计算",
        ),
    ]
    questions = [query_text(question) for question, _ in pairs]
    texts = [text for _, text in pairs]
    margins = []
    for reader in (encoder, _shipped(config)):
        asked, stated = reader.encode(questions), reader.encode(texts)
        # the tuned model spreads cosines wider (unrelated texts come less close): compare each pair's closeness
        # with how close the same question comes to the other pair's text
        margins.append((asked * stated).sum(axis=1) - (asked * stated[::-1]).sum(axis=1))
    tuned_margin, shipped_margin = margins
    assert (tuned_margin > shipped_margin).all(), (tuned_margin, shipped_margin)


def test_an_index_of_the_shipped_models_vectors_is_rebuilt_for_the_tuned_ones(indexed_config):
    folder = Library(indexed_config.data_path).current_dir()
    meta = read_meta(folder)
    assert meta["model"] == encoder_name(indexed_config) != "m3e-small"
    assert mismatch(meta, folder, indexed_config) is None
    shipped = load_config(
        PROJECT / "config.yaml",
        environ={"POLICYBOT_DATA_DIR": str(indexed_config.data_path), "POLICYBOT_EMBEDDINGS__TUNED_WEIGHTS": "off"},
    )
    assert encoder_name(shipped) == "m3e-small"
    assert "policybot ingest" in mismatch(meta, folder, shipped)


def test_weights_tuned_from_another_model_are_not_applied(tmp_path, caplog):
    WeightShift("BAAI/bge-small-zh-v1.5", {"pooler.dense.bias": np.zeros(4, dtype=np.float32)}).save(tmp_path / "t.npz")
    config = load_config(
        PROJECT / "config.yaml", environ={"POLICYBOT_EMBEDDINGS__TUNED_WEIGHTS": str(tmp_path / "t.npz")}
    )
    with caplog.at_level(logging.WARNING):
        assert encoder_name(config) == "m3e-small"
    assert "make train-encoder" in caplog.text


def test_unreadable_tuned_weights_stop_with_what_to_do(tmp_path):
    (tmp_path / "t.npz").write_bytes(b"not weights")
    for weights in (tmp_path / "t.npz", tmp_path / "missing.npz"):
        config = load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EMBEDDINGS__TUNED_WEIGHTS": str(weights)})
        with pytest.raises(ModelNotFoundError, match="tuned_weights: off"):
            encoder_name(config)


def test_tuning_brings_questions_closer_to_the_articles_that_answer_them(searcher, tmp_path):
    """A few steps on owners' questions against their articles' texts, with hard negatives from the real index's
    ranking; the weights saved as differences and rebuilt into a model folder rank the questions' articles higher
    among the articles than the shipped model does."""
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = with_negatives(searcher, [row for row in rows if row["gold"]][:24], among=4)
    assert len(data) == 24 and all(negatives for _, _, negatives in data)
    path = resolve_model("m3e-small")
    base, tuned = tune(
        path, data, article_texts(searcher, data), epochs=3, learning_rate=1e-4, batch_size=8, article_tokens=128
    )
    difference("m3e-small", base, tuned, negligible=1e-4).save(tmp_path / "tuned.npz")
    folder = WeightShift.load(tmp_path / "tuned.npz").folder(path, tmp_path / "models", "tuned")
    texts = [searcher.titles[key[0]] + searcher.article(index).text for index, key in enumerate(searcher.article_keys)]

    def mean_rank(encoder: Encoder) -> float:
        cosines = encoder.encode([question for question, _, _ in data]) @ encoder.encode(texts).T
        return float(np.mean([(row > row[gold].max()).sum() for row, (_, gold, _) in zip(cosines, data)]))

    shipped = Encoder(path, backend="torch")
    assert mean_rank(Encoder(str(folder), backend="torch")) < mean_rank(shipped) - 1
