"""The shipped encoder fine-tuned on questions against the articles that answer them, for questions and articles
alike (embeddings.tuned_weights).

    python -m embeddings.tuned_encoder --data DIR [--out FILE]

m3e-small reads 老板拖工资 far from 拖欠劳动报酬; tuned on owners' and public questions against the texts of the
articles that answer them, it reads them closer. Every weight learns (the word vectors of the characters the texts
use, every layer), so the corpus is embedded with the tuned model too: unlike the query tower
(embeddings/query_tower.py), changing it means re-embedding, which `policybot ingest` does by itself (the index and
the embedding cache key vectors by the tuned weights' file).

Training questions: the public training split (never its held-out part) and the example questions written for the
articles (policy_corpus/examples), each against its article's text, with one hard negative from the ranking of the
model as shipped (`--data`: a data folder where the default install was ingested with embeddings.tuned_weights off;
`make train-encoder` does that first), and the other questions' articles in the batch. The result ships as the
differences from the shipped model's weights (embeddings/weight_shift.py). Measured (bench/README.md, session 17):
public held-out R@1 0.421 → 0.471, fresh owners' sets R@3 up; its cosines spread wider, which the cosine constants of
abstention.py and tiers.py are set for.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from policy_corpus.config import PROJECT_DIR, Config, load_config

from .encoder import resolve_model
from .examples import read_examples
from .units import article_units, query_text
from .weight_shift import difference, mean_pooled

if TYPE_CHECKING:
    from .search import Searcher

# Hard negatives are found by a search (FAISS) in a child process, and the model is tuned in this one: with FAISS
# loaded in the same process torch took 16 s a step, in a process of its own 11 (2 cores, 259 steps)

logger = logging.getLogger(__name__)
TUNED_WEIGHTS = PROJECT_DIR / "embeddings" / "adapters" / "m3e-small-tuned.npz"
# session 15's run: 1 epoch at 2e-5 moved the public held-out questions most without losing the owners' sets
SETTINGS = {
    "epochs": 1.0,
    "learning_rate": 2e-5,
    "temperature": 0.05,
    "batch_size": 32,
    "question_tokens": 64,
    "article_tokens": 256,
    "negatives_from": 6,  # a question's hard negative: one of the first this many articles that do not answer it
}
# word vectors that moved less than this are shipped unchanged (weight decay's rounding error): 13 MB, not 17
NEGLIGIBLE = 1e-4


def training_rows(config: Config, training_split: Path) -> list[dict]:
    """The public training questions and every example question, with their gold articles."""
    from .train import read_rows

    rows = read_rows(training_split)
    rows += [
        {"question": example.question, "gold": [[example.doc_id, example.number]]}
        for example in read_examples(config.examples_path)
        if not example.sub
    ]
    return rows


def with_negatives(searcher: Searcher, rows: list[dict], among: int) -> list[tuple[str, list[int], list[int]]]:
    """(question, its gold articles, the first `among` articles of the shipped model's ranking that are not gold),
    by the searcher's article indices; rows whose gold the corpus lacks are left out."""
    data = []
    for row in rows:
        found = (searcher.article_index.get((doc, int(number), 0)) for doc, number in row["gold"])
        gold = [index for index in found if index is not None]
        if not gold:
            continue
        ranked = searcher.score(row["question"]).articles[: among * 2]
        negatives = [int(a) for a in ranked if int(a) not in gold][:among]
        data.append((query_text(row["question"]), gold, negatives))
    return data


def article_texts(searcher: Searcher, data: list[tuple[str, list[int], list[int]]]) -> dict[int, str]:
    """The texts the model reads of every article `data` names (as embedded: its law's title, its number, its text)."""
    indices = {index for _, gold, negatives in data for index in gold + negatives}
    texts = {}
    for index in sorted(indices):
        doc = searcher.article_keys[index][0]
        texts[index] = article_units(index, searcher.titles.get(doc, doc), searcher.article(index), split=False)[0].text
    return texts


def tune(
    model_path: str,
    data: list[tuple[str, list[int], list[int]]],
    texts: dict[int, str],
    seed: int = 0,
    **settings,
) -> tuple[dict, dict]:
    """Fine-tune the model in `model_path` on `data` (`texts`: the articles' texts by index); (its state dict, the
    tuned one)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    settings = SETTINGS | settings
    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer, model = AutoTokenizer.from_pretrained(model_path), AutoModel.from_pretrained(model_path)
    base = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"], weight_decay=0.01)
    size = settings["batch_size"]
    steps = max(1, int(len(data) * settings["epochs"] / size))
    warm = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: min(1, (i + 1) / warm) * max(0.0, 1 - i / steps))

    order: list[int] = []
    while len(order) < steps * size:
        shuffled = list(range(len(data)))
        random.shuffle(shuffled)
        order += shuffled
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        batch = [data[i] for i in order[step * size : (step + 1) * size]]
        positives = [random.choice(gold) for _, gold, _ in batch]
        negatives = [random.choice(n) if n else random.choice(list(texts)) for _, _, n in batch]
        articles = positives + negatives
        logits = (
            mean_pooled(model, tokenizer, [question for question, _, _ in batch], settings["question_tokens"])
            @ mean_pooled(model, tokenizer, [texts[i] for i in articles], settings["article_tokens"]).T
            / settings["temperature"]
        )
        for row, (_, gold, _) in enumerate(batch):  # another question's article that answers this one is no negative
            for column, article in enumerate(articles):
                if column != row and article in gold:
                    logits[row, column] = -1e4
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 20 == 0:
            logger.info("step %d/%d: loss %.3f, %.0f s", step, steps, loss.item(), time.perf_counter() - started)
    return base, model.state_dict()


def mine(data_dir: Path, out: Path) -> None:
    """The training questions with their hard negatives and the articles' texts, written to `out` (JSON)."""
    from policy_corpus.library import Library

    from .search import Searcher
    from .train import ADAPTER, QUESTIONS

    shipped = {"POLICYBOT_EMBEDDINGS__TUNED_WEIGHTS": "off", "POLICYBOT_DATA_DIR": str(data_dir)}
    config = load_config(environ=dict(os.environ) | shipped)
    library = Library(data_dir)
    with library.open_store() as store:
        searcher = Searcher.load(library.current_dir(), config, store)
        rows = training_rows(config, ADAPTER.parent / "splits" / f"{QUESTIONS.stem}.train.jsonl")
        started = time.perf_counter()
        data = with_negatives(searcher, rows, SETTINGS["negatives_from"])
        logger.info("%d questions, negatives found in %.0f s", len(data), time.perf_counter() - started)
        texts = article_texts(searcher, data)
    out.write_text(json.dumps({"data": data, "texts": texts}, ensure_ascii=False), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="data folder of the default install, ingested with the model as shipped",
    )
    parser.add_argument("--out", type=Path, default=TUNED_WEIGHTS)
    parser.add_argument("--mine-to", type=Path, help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.mine_to is not None:
        mine(args.data.resolve(), args.mine_to)
        return
    with tempfile.TemporaryDirectory() as folder:
        mined = Path(folder) / "mined.json"
        command = [
            sys.executable,
            "-m",
            "embeddings.tuned_encoder",
            "--data",
            str(args.data.resolve()),
            "--mine-to",
            str(mined),
        ]
        subprocess.run(command, check=True, cwd=PROJECT_DIR)
        found = json.loads(mined.read_text(encoding="utf-8"))
    data = [(question, gold, negatives) for question, gold, negatives in found["data"]]
    texts = {int(index): text for index, text in found["texts"].items()}
    model = load_config().embeddings.model
    base, tuned = tune(resolve_model(model), data, texts)
    shift = difference(model, base, tuned, negligible=NEGLIGIBLE)
    shift.info = {"questions": len(data), "tuned": date.today().isoformat(), **SETTINGS}
    shift.save(args.out)
    print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); now `make train` refits what depends on it")


if __name__ == "__main__":
    main()
