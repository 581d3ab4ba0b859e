"""Fit the reranker (embeddings/rerank.py) on questions answered from national law.

    python -m embeddings.train_reranker --data data/national [--out FILE]

Run after embeddings.train (`make train` runs both): it reads the split that wrote. The reranker weighs the fused
score against features such as the law prior, so it must not learn from questions the adapter and the prior were
fitted on: their scores are better on those than on new questions. The training part of the public questions is
therefore cross-fitted: in each of FOLDS folds, an adapter (and, where embeddings.query_tower is set, a query
tower: ~17 min a fold) and a prior are fitted on the other folds (and the example questions) and the fold's
questions are ranked with them. The owners' development sets, which none was fitted on, are ranked with the shipped
ones. The held-out part is never used; `policybot eval` measures on it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from policy_corpus.config import PROJECT_DIR, load_config
from policy_corpus.library import Library

from .adapter import QueryAdapter, fit
from .encoder import get_encoder
from .lawprior import fit_law_prior
from .learned import Learned, learned_file
from .query_tower import tower_encoder
from .rerank import fit_reranker
from .search import Searcher
from .train import ADAPTER, QUESTIONS, SETTINGS, CorpusVectors, example_rows, read_rows, tune_tower
from .units import query_text

logger = logging.getLogger(__name__)
FOLDS = 4
OUT = PROJECT_DIR / "embeddings" / "adapters" / "reranker.json"
# Owner-voice questions over national law written from the law texts (their validation parts are never used here)
OWNER_SETS = tuple(
    PROJECT_DIR / "bench" / name
    for name in ("national_owner_dev.jsonl", "national_owner2_dev.jsonl", "pinpoint_national_dev.jsonl")
)
# chosen on the cross-fitted training part and the owners' development sets: l2 0.1-30 and depth 10-40 differ little
L2, DEPTH = 1.0, 40


def fold_of(question: str) -> int:
    """The fold a training question belongs to (stable across runs; independent of the held-out split)."""
    return hashlib.sha256(question.encode("utf-8")).digest()[1] % FOLDS


def candidate_groups(searcher: Searcher, rows: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per question whose answer is among the candidates the reranker may move: their feature rows, and which
    of them answer."""
    groups = []
    for row in rows:
        gold = {(doc, int(number)) for doc, number in row["gold"]}
        scored = searcher.score(row["question"])
        movable, features = searcher.rerank_rows(row["question"], scored, DEPTH)
        keys = [searcher.article_keys[int(a)] for a in scored.articles[movable]]
        answers = np.array([(doc, number) in gold and not sub for doc, number, sub in keys], dtype=bool)
        if answers.any():
            groups.append((features, answers))
    return groups


def use(searcher: Searcher, learned: Learned) -> None:
    searcher.learned, searcher.adapter, searcher.law_prior = learned, learned.adapter, learned.law_prior


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="data folder with the national collection ingested")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = load_config(args.config)
    library = Library(args.data.resolve())
    corpus = CorpusVectors(library.current_dir())
    started = time.perf_counter()
    with library.open_store() as store:
        searcher = Searcher.load(library.current_dir(), config, store)
        searcher.reranker = None  # ranked as the reranker will find them
        shipped = searcher.learned
        groups = [group for path in OWNER_SETS for group in candidate_groups(searcher, read_rows(path))]
        logger.info("%d owner questions with their answer among the candidates", len(groups))
        law_of = {info.id: info.law for info in store.documents()}
        training = read_rows(ADAPTER.parent / "splits" / f"{QUESTIONS.stem}.train.jsonl")
        examples = example_rows(config, corpus)
        encoder = get_encoder(config)
        towers = learned_file(config, config.embeddings.query_tower) is not None
        folder = tempfile.TemporaryDirectory()
        for fold in range(FOLDS):
            rows = [row for row in training if fold_of(row["question"]) != fold] + examples
            questions = [query_text(row["question"]) for row in rows]
            laws = [{law_of[doc] for doc, _ in row["gold"] if doc in law_of} for row in rows]
            prior = fit_law_prior([row["question"] for row in rows], laws)
            vectors = encoder.encode(questions)
            weight = fit(vectors, [corpus.gold_units(row) for row in rows], corpus.vectors, **SETTINGS)
            adapter, tower = QueryAdapter(config.embeddings.model, weight, {}), None
            if towers:
                tune_tower(config, corpus, rows).save(Path(folder.name) / f"tower-{fold}.npz")
                tower = tower_encoder(Path(folder.name) / f"tower-{fold}.npz", config.embeddings, encoder.path)
            use(searcher, Learned.for_corpus(adapter, prior, None, searcher.article_keys, searcher.documents, tower))
            held = [row for row in training if fold_of(row["question"]) == fold]
            groups += candidate_groups(searcher, held)
            logger.info("fold %d: %d questions ranked, %.0f s so far", fold, len(held), time.perf_counter() - started)
        use(searcher, shipped)
        folder.cleanup()
    reranker = fit_reranker(groups, L2, DEPTH)
    reranker.info = {"questions": len(groups), "l2": L2, "folds": FOLDS, "fitted": date.today().isoformat()}
    reranker.save(args.out)
    logger.info("fitted on %d questions in %.0f s, saved %s", len(groups), time.perf_counter() - started, args.out)
    print(
        "evaluate on the held-out split with: policybot eval",
        ADAPTER.parent / "splits" / f"{QUESTIONS.stem}.heldout.jsonl",
    )


if __name__ == "__main__":
    main()
