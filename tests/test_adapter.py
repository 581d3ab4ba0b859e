"""What `make train` learns from public questions: the query adapter (fitted on question vectors against
frozen article vectors, used only where it was fitted for), the law prior and the reranker."""

from __future__ import annotations

import json
import logging

import numpy as np

from embeddings.adapter import QueryAdapter, fit, load_adapter
from embeddings.fusion import Scored
from embeddings.lawprior import LawPrior, fit_law_prior
from embeddings.rerank import FEATURES, fit_reranker, load_reranker, reorder

from .conftest import DEV_QUESTIONS


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _top1(questions: np.ndarray, units: np.ndarray, gold: list[np.ndarray]) -> float:
    best = (questions @ units.T).argmax(axis=1)
    return float(np.mean([b in g for b, g in zip(best, gold)]))


def test_fit_moves_questions_to_the_articles_that_answer_them():
    """Questions worded in a systematically different way (a fixed distortion) are brought back."""
    rng = np.random.default_rng(0)
    units = _normalise(rng.normal(size=(300, 32)))
    distortion = np.eye(32) + 2.5 * rng.normal(size=(32, 32)) / np.sqrt(32)
    answers = rng.integers(0, 300, size=400)
    questions = _normalise(units[answers] @ distortion + 0.05 * rng.normal(size=(400, 32)))
    gold = [np.array([a]) for a in answers]
    train, test = slice(0, 300), slice(300, 400)
    weight = fit(questions[train], gold[train], units, epochs=40, temperature=0.05, l2=0.0, learning_rate=1e-2)
    adapter = QueryAdapter("test-model", weight)
    before, after = _top1(questions[test], units, gold[test]), _top1(adapter.apply(questions[test]), units, gold[test])
    assert before < 0.5 and after > 0.9, (before, after)


def test_saved_adapter_maps_like_the_fitted_one(tmp_path):
    rng = np.random.default_rng(1)
    adapter = QueryAdapter("m3e-small", 0.1 * rng.normal(size=(16, 16)).astype(np.float32), {"epochs": 8})
    adapter.save(tmp_path / "a.npz")
    loaded = QueryAdapter.load(tmp_path / "a.npz")
    assert loaded.model == "m3e-small" and loaded.info == {"epochs": 8}
    questions = _normalise(rng.normal(size=(5, 16)))
    moved = loaded.apply(questions)
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-5)
    assert np.allclose(moved, adapter.apply(questions), atol=2e-3)  # stored as float16


def test_adapter_for_another_model_is_not_used(tmp_path, caplog):
    QueryAdapter("m3e-small", np.zeros((16, 16), dtype=np.float32)).save(tmp_path / "a.npz")
    with caplog.at_level(logging.WARNING):
        assert load_adapter(tmp_path / "a.npz", "BAAI/bge-small-zh-v1.5", 16) is None
    assert "make train" in caplog.text
    assert load_adapter(tmp_path / "a.npz", "m3e-small", 16) is not None


def test_unreadable_adapter_is_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "a.npz").write_bytes(b"not an adapter")
    with caplog.at_level(logging.WARNING):
        assert load_adapter(tmp_path / "a.npz", "m3e-small", 16) is None
    assert "cannot be read" in caplog.text


def full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_make_train_fits_an_adapter_from_a_published_index(indexed_config, tmp_path, capsys):
    """embeddings.train end to end on the default corpus' real index: split, fit, save, report. The questions'
    gold ids are written in full width, as a collection's paths spell some (…解释（一）): they are the same laws."""
    from embeddings.train import main

    questions = tmp_path / DEV_QUESTIONS.name
    rows = [json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["gold"] = [[full_width(doc), number] for doc, number in row["gold"]]
    questions.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "adapters" / "a.npz"
    main(
        [
            "--data",
            str(indexed_config.data_path),
            "--questions",
            str(questions),
            "--out",
            str(out),
            "--law-out",
            str(tmp_path / "laws.npz"),
            "--gate-out",
            str(tmp_path / "gate.npz"),
            "--scope-out",
            str(tmp_path / "scope.npz"),
        ]
    )
    adapter = load_adapter(out, "m3e-small", 512)
    assert {"中小企业促进法", "保障中小企业款项支付条例"} <= set(LawPrior.load(tmp_path / "laws.npz").laws)
    assert adapter is not None and adapter.info["epochs"] == 8
    train = (out.parent / "splits" / "dev_questions.train.jsonl").read_text(encoding="utf-8").splitlines()
    held = (out.parent / "splits" / "dev_questions.heldout.jsonl").read_text(encoding="utf-8").splitlines()
    assert train and held and not set(train) & set(held)
    assert "held-out dense recall with adapter" in capsys.readouterr().out
    assert LawPrior.load(tmp_path / "gate.npz").laws == ["national", "policy"]
    assert LawPrior.load(tmp_path / "scope.npz").laws == ["beyond", "law"]


LABOUR = [
    "员工工资被拖欠怎么办",
    "公司辞退员工要给补偿吗",
    "试用期工资怎么算",
    "加班工资不给怎么办",
    "员工辞职要提前多久",
    "公司不签劳动合同怎么办",
]
LENDING = [
    "朋友借钱不还有欠条",
    "借款利息最高多少",
    "欠条过了三年还有效吗",
    "借钱给别人没写借条怎么办",
    "民间借贷利息怎么算",
    "借款人跑了怎么办",
]


def test_law_prior_learns_which_law_such_questions_go_to(tmp_path):
    prior = fit_law_prior(LABOUR + LENDING, [{"劳动合同法"}] * len(LABOUR) + [{"民间借贷规定"}] * len(LENDING))
    assert prior.laws == ["劳动合同法", "民间借贷规定"]
    new = {"老板拖欠工资，员工可以辞职吗": "劳动合同法", "借条丢了还能要回借款吗": "民间借贷规定"}
    for question, law in new.items():
        assert prior.laws[int(prior.probabilities(question).argmax())] == law, question
    prior.save(tmp_path / "laws.npz")
    loaded = LawPrior.load(tmp_path / "laws.npz")
    for question in new:
        assert np.allclose(loaded.probabilities(question), prior.probabilities(question), atol=1e-3)


def test_reranker_learns_what_the_fused_score_misses_and_round_trips(tmp_path, caplog):
    """Candidates whose answer is often second by the fused score but holds all of the question's words: fitted, the
    reranker puts such an answer first, and reads back the same from its file."""
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(60):
        rows = rng.normal(size=(10, len(FEATURES)))
        rows[:, FEATURES.index("rank")] = np.log1p(np.arange(10))
        answer = int(rng.integers(0, 3))
        rows[answer, FEATURES.index("cover_tok")] += 3.0
        groups.append((rows, np.arange(10) == answer))
    reranker = fit_reranker(groups)
    firsts = [int(np.argmax(reranker.score(rows))) == int(np.argmax(gold)) for rows, gold in groups]
    assert np.mean(firsts) > 0.9
    reranker.save(tmp_path / "reranker.json")
    loaded = load_reranker(tmp_path / "reranker.json")
    assert np.allclose(loaded.score(groups[0][0]), reranker.score(groups[0][0]))
    row = json.loads((tmp_path / "reranker.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps(row | {"features": row["features"][:-1]}))
    with caplog.at_level(logging.WARNING):
        assert load_reranker(tmp_path / "old.json") is None
    assert "make train" in caplog.text


def test_reorder_moves_only_the_positions_given_and_keeps_the_scores():
    scored = Scored(
        np.array([7, 3, 5, 9]), np.array([4.0, 3.0, 2.0, 1.0]), np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]), {}
    )
    moved = reorder(scored, np.array([1, 3]), np.array([0.0, 1.0]))
    assert moved.articles.tolist() == [7, 9, 5, 3]
    assert moved.fused.tolist() == [4.0, 3.0, 2.0, 1.0]
    assert moved.lexical.tolist() == [1.0, 4.0, 3.0, 2.0]  # each article keeps its own
