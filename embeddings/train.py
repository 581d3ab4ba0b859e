"""Fine-tune the encoder on real questions from the public (STARD) so loose questions meet statute text.

    python -m embeddings.train --questions embeddings/training/stard_train.jsonl --out models/m3e-small-law

Pairs each question with the text of its gold articles, adds the best BM25 article that is not gold as
a hard negative, and trains with in-batch negatives (multiple-negatives ranking loss) in a plain
PyTorch loop, so no training framework beyond sentence-transformers is needed. A fixed share of the
questions (chosen by a hash of the question) is held out and never trained on, for evaluation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from policy_corpus.model import Version
from policy_corpus.sources import load_sources

from .encoder import resolve_model
from .lexical import BM25
from .units import article_heading

logger = logging.getLogger(__name__)
HELD_OUT_SHARE = 0.2


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


@dataclass
class Example:
    question: str
    positive: str
    negative: str


def article_texts(collection: Path) -> dict[tuple[str, int], str]:
    """(doc id, article number) → the text the index embeds for a whole article, every version included."""
    texts = {}
    for doc in load_sources([collection]).documents:
        for article in doc.articles:
            if article.version is Version.CURRENT and not article.sub:
                texts[(doc.id, article.number)] = f"{article_heading(doc.cite_title, article)}\n{article.text}"
    return texts


def make_examples(questions: list[dict], texts: dict[tuple[str, int], str], seed: int = 0) -> list[Example]:
    keys = list(texts)
    bm25 = BM25.build([texts[k] for k in keys])
    rng = random.Random(seed)
    examples = []
    for row in questions:
        gold = [(doc, int(number)) for doc, number in row["gold"] if (doc, int(number)) in texts]
        if not gold:
            continue
        scores = bm25.scores(row["question"])
        gold_set = set(gold)
        negative = next(keys[i] for i in np.argsort(-scores)[:50] if keys[i] not in gold_set)
        # several versions of one law can both be gold: train on each distinct text once
        for text in dict.fromkeys(texts[g] for g in gold):
            examples.append(Example(row["question"], text, texts[negative]))
    rng.shuffle(examples)
    return examples


def train(model_name: str, examples: list[Example], out: Path, epochs: int = 2, batch_size: int = 16,
          learning_rate: float = 2e-5, max_seq_length: int = 256, scale: float = 20.0) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(resolve_model(model_name), device="cpu")
    model.max_seq_length = max_seq_length
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    steps = epochs * ((len(examples) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, (step + 1) / (0.1 * steps)))
    model.train()
    started, step = time.perf_counter(), 0
    for epoch in range(epochs):
        random.Random(epoch).shuffle(examples)
        for start in range(0, len(examples), batch_size):
            batch = examples[start:start + batch_size]
            queries = _embed(model, [e.question for e in batch])
            documents = _embed(model, [e.positive for e in batch] + [e.negative for e in batch])
            scores = queries @ documents.T * scale
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 10 == 0:
                logger.info("epoch %d step %d/%d loss %.3f (%.0fs)", epoch + 1, step, steps, loss.item(),
                            time.perf_counter() - started)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))


def _embed(model, texts: list[str]):
    import torch

    features = model.tokenize(texts)
    embeddings = model(features)["sentence_embedding"]
    return torch.nn.functional.normalize(embeddings, dim=-1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=Path("embeddings/training/stard_train.jsonl"))
    parser.add_argument("--collection", type=Path, default=Path("policy_corpus/national/lawrefbook-national.tar.gz"))
    parser.add_argument("--base", default="m3e-small")
    parser.add_argument("--out", type=Path, default=Path("models/m3e-small-law"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train_path, heldout_path = split_questions(args.questions, args.out.parent / "splits")
    questions = [json.loads(line) for line in train_path.read_text(encoding="utf-8").splitlines() if line]
    texts = article_texts(args.collection)
    examples = make_examples(questions, texts)
    logger.info("%d training pairs from %d questions; held out: %s", len(examples), len(questions), heldout_path)
    train(args.base, examples, args.out, args.epochs, args.batch_size, args.learning_rate)
    logger.info("saved %s", args.out)


if __name__ == "__main__":
    main()
