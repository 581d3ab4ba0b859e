"""Fit the query adapter (embeddings/adapter.py) and the law prior (embeddings/lawprior.py) on real
questions from the public (STARD).

    python -m embeddings.train --data data/national [--questions FILE] [--out FILE] [--law-out FILE]
                               [--tower-out FILE]

`--data` is a data folder where the national collection has been ingested (`make train` does that
first): the article vectors are read back from its index, so nothing is embedded here but the questions.
A fixed share of the questions, chosen by a hash of the question, is held out and never trained on; the
dense recall on it is printed before and after, and the split is written beside the output for
`policybot eval`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from datetime import date
from pathlib import Path

import numpy as np

from policy_corpus.config import PROJECT_DIR, Config, load_config
from policy_corpus.library import Library
from policy_corpus.model import normal_id
from policy_corpus.sources import from_collection

from .adapter import QueryAdapter, fit
from .encoder import get_encoder
from .examples import read_examples
from .faiss_index import read_faiss
from .index_folder import VECTORS, read_units
from .lawprior import LawPrior, fit_law_prior
from .learned import BEYOND, LAW, NATIONAL, POLICY
from .query_tower import SETTINGS as TOWER_SETTINGS
from .query_tower import QueryTower, fit_tower, tower_encoder
from .units import query_text

logger = logging.getLogger(__name__)
HELD_OUT_SHARE = 0.2
QUESTIONS = PROJECT_DIR / "embeddings" / "training" / "stard_train.jsonl"
ADAPTER = PROJECT_DIR / "embeddings" / "adapters" / "m3e-small-stard.npz"
LAW_PRIOR = PROJECT_DIR / "embeddings" / "adapters" / "stard-laws.npz"
POLICY_GATE = PROJECT_DIR / "embeddings" / "adapters" / "policy-gate.npz"
SCOPE_GATE = PROJECT_DIR / "embeddings" / "adapters" / "scope-gate.npz"
# owners' questions no law answers (business advice, a place's office hours, platform fees, apps, personal matters,
# foreign law, forecasts), written by people who never saw the evaluation sets: the scope gate's other class
BEYOND_THE_LAW = PROJECT_DIR / "embeddings" / "training" / "beyond_the_law.jsonl"
# ... and owners' questions the law does answer, worded like advice, worries or stories (要不要给兼职交社保, 欠款两年多了
# 还能要吗, 楼上说我油烟大要告我): the law's side beside the example and public questions, so the gate does not take
# the wording for the topic
WITHIN_THE_LAW = PROJECT_DIR / "embeddings" / "training" / "within_the_law.jsonl"
GATE_EPOCHS = 200
# chosen on a split of the training questions (not the held-out ones): temperature 0.02-0.05, l2 0.001-0.1, 3-16 epochs
SETTINGS = {"epochs": 8, "temperature": 0.02, "l2": 0.01, "learning_rate": 1e-3, "batch_size": 64}


def held_out(question: str) -> bool:
    """Whether a question belongs to the held-out split (stable across runs and machines)."""
    digest = hashlib.sha256(question.encode("utf-8")).digest()
    return digest[0] / 256 < HELD_OUT_SHARE


def split_questions(path: Path, out_dir: Path) -> tuple[Path, Path]:
    """Write the train and held-out parts of a JSONL question file; returns their paths."""
    train, test = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            (test if held_out(json.loads(line)["question"]) else train).append(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / f"{path.stem}.train.jsonl", out_dir / f"{path.stem}.heldout.jsonl"
    for target, lines in zip(paths, (train, test)):
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


class CorpusVectors:
    """The unit vectors of a published corpus version, and which article each unit belongs to."""

    def __init__(self, folder: Path) -> None:
        index = read_faiss(folder / VECTORS)
        self.vectors = index.reconstruct_n(0, index.ntotal)
        units = read_units(folder)
        self.unit_article = np.array([article for article, _, _ in units["units"]], dtype=np.int64)
        self.article_of = {(doc, number): i for i, (doc, number, sub) in enumerate(units["articles"]) if not sub}

    def gold_articles(self, row: dict) -> np.ndarray:
        keys = ((doc, int(number)) for doc, number in row["gold"])
        return np.array([self.article_of[key] for key in keys if key in self.article_of], dtype=np.int64)

    def gold_units(self, row: dict) -> np.ndarray:
        return np.flatnonzero(np.isin(self.unit_article, self.gold_articles(row)))

    def dense_recall(self, questions: np.ndarray, rows: list[dict], ks: tuple[int, ...] = (1, 3, 10, 100)) -> dict:
        """Recall@k of exact dense search, an article scoring as its best unit (units come in article order)."""
        starts = np.r_[0, np.flatnonzero(np.diff(self.unit_article)) + 1]
        hits, answerable = dict.fromkeys(ks, 0), 0
        for vector, row in zip(questions, rows):
            gold = self.gold_articles(row)
            if not len(gold):
                continue
            answerable += 1
            by_article = np.maximum.reduceat(self.vectors @ vector, starts)
            rank = int((by_article > by_article[gold].max()).sum())
            for k in ks:
                hits[k] += rank < k
        return {f"recall_at_{k}": round(hits[k] / max(answerable, 1), 3) for k in ks}


def example_rows(config, corpus: CorpusVectors) -> list[dict]:
    """The configured example questions of national-law articles the corpus holds, as training rows (questions
    owners would ask, written for the articles: what the adapter and the prior should learn to map)."""
    return [
        {"question": example.question, "gold": [[example.doc_id, example.number]]}
        for example in read_examples(config.examples_path)
        if from_collection(example.doc_id) and not example.sub and (example.doc_id, example.number) in corpus.article_of
    ]


def fit_policy_gate(config: Config, public: list[str]) -> LawPrior:
    """How likely a question is one the policy documents answer: a prior over two classes, fitted on the example
    questions written for their articles and for national law's, and on the public training questions (`public`),
    all national law's (embeddings.learned reads it).

    Without the public questions, formal ones about land, trademarks or property services (什么是有追索权的保理？)
    read like the documents' formal examples: 16% of the held-out public questions were at least 0.5 theirs, 2% with."""
    examples = read_examples(config.examples_path)
    questions = [example.question for example in examples] + public
    labels = [{NATIONAL if from_collection(example.doc_id) else POLICY} for example in examples]
    labels += [{NATIONAL}] * len(public)
    gate = fit_law_prior(questions, labels, epochs=GATE_EPOCHS)
    gate.info = {
        "questions": len(questions),
        "examples": len(examples),
        "public": len(public),
        "fitted": date.today().isoformat(),
    }
    return gate


def fit_scope_gate(config: Config, public: list[str]) -> LawPrior:
    """How likely a question is one no law answers: a prior over two classes, fitted on the example questions
    written for the articles, the public training questions (`public`) and WITHIN_THE_LAW's as the law's, and on
    BEYOND_THE_LAW's questions (美团外卖抽成多少, 员工上班老玩手机我该怎么跟他说, 钉钉怎么设置请假审批) as not."""
    law = (
        [example.question for example in read_examples(config.examples_path)]
        + public
        + read_question_texts(WITHIN_THE_LAW)
    )
    beyond = read_question_texts(BEYOND_THE_LAW)
    gate = fit_law_prior(law + beyond, [{LAW}] * len(law) + [{BEYOND}] * len(beyond), epochs=GATE_EPOCHS)
    gate.info = {"law": len(law), "beyond": len(beyond), "fitted": date.today().isoformat()}
    return gate


def read_question_texts(path: Path) -> list[str]:
    """The questions of a JSONL file of {"question", "kind"} lines."""
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_rows(path: Path) -> list[dict]:
    """Question rows, their gold ids in the form documents are served under (…解释（一） → …解释(一))."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["gold"] = [[normal_id(doc), number] for doc, number in row["gold"]]
    return rows


def tune_tower(config: Config, corpus: CorpusVectors, rows: list[dict]) -> QueryTower:
    """A query tower for the configured model, tuned on `rows` against the corpus' vectors."""
    model = config.embeddings.model
    questions = [query_text(row["question"]) for row in rows]
    gold = [corpus.gold_units(row) for row in rows]
    return fit_tower(get_encoder(config).path, model, questions, gold, corpus.vectors, **TOWER_SETTINGS)


def fit_and_save_tower(
    config: Config, corpus: CorpusVectors, train_rows: list[dict], heldout_rows: list[dict], out: Path
) -> None:
    """Tune the query tower on the training rows, save it, and print its held-out dense recall."""
    started = time.perf_counter()
    tower = tune_tower(config, corpus, train_rows)
    tower.info = {"questions": len(train_rows), "fitted": date.today().isoformat(), **TOWER_SETTINGS}
    tower.save(out)
    logger.info("tower tuned in %.0f s, saved %s", time.perf_counter() - started, out)
    encoder = tower_encoder(out, config.embeddings, get_encoder(config).path)
    if encoder is not None:
        vectors = encoder.encode([query_text(row["question"]) for row in heldout_rows])
        print("held-out dense recall with the tower:  ", corpus.dense_recall(vectors, heldout_rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="data folder with the national collection ingested")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml) for the encoder settings")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, default=ADAPTER)
    parser.add_argument("--law-out", type=Path, default=LAW_PRIOR)
    parser.add_argument("--gate-out", type=Path, default=POLICY_GATE)
    parser.add_argument("--scope-out", type=Path, default=SCOPE_GATE)
    parser.add_argument(
        "--tower-out",
        type=Path,
        help="also tune a query tower (embeddings/query_tower.py, ~15 min on 2 cores) and write it here",
    )
    parser.add_argument(
        "--no-examples",
        action="store_true",
        help="fit on the public questions only, not also on the example questions written for national-law articles",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    config = load_config(args.config)
    library = Library(args.data.resolve())
    corpus = CorpusVectors(library.current_dir())
    with library.open_store() as store:
        law_of = {info.id: info.law for info in store.documents()}
    train_path, heldout_path = split_questions(args.questions, args.out.parent / "splits")
    train_rows, heldout_rows = read_rows(train_path), read_rows(heldout_path)
    public = [row["question"] for row in train_rows]
    if not args.no_examples:
        examples = example_rows(config, corpus)
        logger.info("%d example questions of national-law articles trained on too", len(examples))
        train_rows += examples
    encoder = get_encoder(config)
    train_vectors = encoder.encode([query_text(row["question"]) for row in train_rows])
    heldout_vectors = encoder.encode([query_text(row["question"]) for row in heldout_rows])
    started = time.perf_counter()
    weight = fit(train_vectors, [corpus.gold_units(row) for row in train_rows], corpus.vectors, **SETTINGS)
    adapter = QueryAdapter(
        config.embeddings.model,
        weight,
        {
            "questions": f"{args.questions.name}: {len(train_rows)} trained on, {len(heldout_rows)} held out",
            "units": len(corpus.vectors),
            "fitted": date.today().isoformat(),
            **SETTINGS,
        },
    )
    adapter.save(args.out)
    logger.info("fitted in %.0f s, saved %s", time.perf_counter() - started, args.out)
    print("held-out dense recall without adapter:", corpus.dense_recall(heldout_vectors, heldout_rows))
    print("held-out dense recall with adapter:   ", corpus.dense_recall(adapter.apply(heldout_vectors), heldout_rows))
    if args.tower_out is not None:
        fit_and_save_tower(config, corpus, train_rows, heldout_rows, args.tower_out)
    laws = [{law_of[doc] for doc, _ in row["gold"] if doc in law_of} for row in train_rows]
    prior = fit_law_prior([row["question"] for row in train_rows], laws)
    prior.info = {"questions": len(train_rows), "fitted": date.today().isoformat()}
    prior.save(args.law_out)
    top = [prior.laws[int(np.argmax(prior.probabilities(row["question"])))] for row in heldout_rows]
    right = np.mean([law in {law_of.get(doc) for doc, _ in row["gold"]} for law, row in zip(top, heldout_rows)])
    print(f"law prior: {len(prior.laws)} laws, {len(prior.vocabulary)} n-grams; held-out top law right: {right:.3f}")
    gate = fit_policy_gate(config, public)
    gate.save(args.gate_out)
    print(
        f"policy gate: {gate.info['examples']} example and {gate.info['public']} public questions, saved {args.gate_out}"
    )
    scope = fit_scope_gate(config, public)
    scope.save(args.scope_out)
    print(f"scope gate: {scope.info['law']} law and {scope.info['beyond']} other questions, saved {args.scope_out}")
    print(f"evaluate the full search with: policybot eval {heldout_path}")


if __name__ == "__main__":
    main()
