"""A query adapter: a learned linear map applied to question vectors only.

    vector' = normalise(vector + vector @ W)

People ask "老板拖了三个月工资不给怎么办"; statutes say "用人单位未及时足额支付劳动报酬". The adapter moves
the vector of a loosely worded question towards the vectors of the articles such questions are answered
by. It is fitted (`fit`, run by `make train`, see embeddings/train.py) on real questions from the public
against the frozen article vectors of the national collection, so the corpus keeps its vectors: an index
built without the adapter is searched with it, and nothing is re-embedded when it changes. The file is
half a megabyte and ships with the project.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


@dataclass
class QueryAdapter:
    model: str  # the encoder the adapter was fitted for: it means nothing for another
    weight: np.ndarray  # (dimension, dimension)
    info: dict = field(default_factory=dict)  # how it was fitted, for people

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Adapted, normalised copies of question vectors (rows)."""
        moved = vectors + vectors @ self.weight
        return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"model": self.model, **self.info}, ensure_ascii=False)
        # float16 halves the file; the rounding moves no ranking measurably
        with path.open("wb") as out:
            np.savez(out, weight=self.weight.astype(np.float16), meta=np.array(meta))

    @classmethod
    def load(cls, path: Path) -> QueryAdapter:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            weight = data["weight"].astype(np.float32)
        return cls(meta.pop("model"), weight, meta)


def load_adapter(path: Path, model: str, dimension: int) -> QueryAdapter | None:
    """The adapter at `path` if it was fitted for `model`; None (with a warning) when it cannot be used."""
    try:
        adapter = QueryAdapter.load(path)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("query adapter %s cannot be read (%s): questions are searched without it", path, error)
        return None
    if adapter.model != model or adapter.weight.shape != (dimension, dimension):
        logger.warning(
            "query adapter %s was fitted for %s, not %s: questions are searched without it "
            "(run `make train` to fit one for this model)",
            path,
            adapter.model,
            model,
        )
        return None
    return adapter


def fit(
    questions: np.ndarray,
    gold_units: list[np.ndarray],
    units: np.ndarray,
    epochs: int = 8,
    temperature: float = 0.03,
    l2: float = 0.01,
    learning_rate: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """W such that each adapted question is closer to its gold units than to every other unit of the corpus.

    `questions` (n, d) and `units` (m, d) are normalised vectors; `gold_units[i]` are the rows of `units`
    that answer question i. The loss is a softmax over all m units (cheap: the units are frozen), the gold
    units counting together, plus an L2 pull of W towards zero (the unadapted encoder).
    """
    import torch

    torch.manual_seed(seed)
    corpus = torch.from_numpy(np.ascontiguousarray(units, dtype=np.float32))
    queries = torch.from_numpy(np.ascontiguousarray(questions, dtype=np.float32))
    weight = torch.zeros(units.shape[1], units.shape[1], requires_grad=True)
    optimiser = torch.optim.Adam([weight], lr=learning_rate)
    answerable = np.array([i for i, gold in enumerate(gold_units) if len(gold)])
    for epoch in range(epochs):
        order = np.random.RandomState(seed + epoch).permutation(answerable)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            moved = queries[batch] + queries[batch] @ weight
            logits = (moved / moved.norm(dim=1, keepdim=True)) @ corpus.T / temperature
            loss = gold_loss(logits, [gold_units[i] for i in batch]) + l2 * (weight**2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        logger.info("epoch %d/%d: loss %.3f", epoch + 1, epochs, loss.item())
    return weight.detach().numpy()


def gold_loss(logits, gold: list[np.ndarray]):
    """The mean over rows of −log(the softmax's share on the row's gold columns): a question's gold units count
    together. `logits` is a (rows, units) torch tensor; `gold[row]` holds that row's gold columns."""
    import torch

    mask = torch.zeros_like(logits, dtype=torch.bool)
    for row, columns in enumerate(gold):
        mask[row, torch.from_numpy(columns)] = True
    return (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~mask, -1e9), 1)).mean()
