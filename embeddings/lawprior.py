"""A law prior: which laws questions worded like this one are answered from.

    P(law | question) = softmax(W · tfidf(question) + b)

over the character unigrams and bigrams of the question. Fitted (`fit_law_prior`, run by `make train`)
on the same real questions from the public as the query adapter, with their gold articles' laws as
labels. The search adds `search.law_prior_weight × P(law)` to the fused score of each national-law
article (hybrid mode only), so 离职/工资 questions lean towards 劳动合同法 and 欠条/借钱 towards the
private-lending rules, while the articles themselves are still ranked by meaning and words.
Laws are keyed by title (`Document.law`), so a new version of a law inherits its prior.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPACE = re.compile(r"\s+")


def grams(text: str) -> list[str]:
    """Character unigrams and bigrams, whitespace dropped."""
    text = SPACE.sub("", text)
    return list(text) + [text[i : i + 2] for i in range(len(text) - 1)]


@dataclass
class LawPrior:
    laws: list[str]  # law keys (Document.law), one per class
    vocabulary: dict[str, int]
    idf: np.ndarray  # (features,)
    weight: np.ndarray  # (features, laws)
    bias: np.ndarray  # (laws,)
    info: dict = field(default_factory=dict)

    def features(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """Sublinear tf × idf, L2-normalised, at the question's known grams: (indices, values)."""
        counts = [(self.vocabulary.get(gram), count) for gram, count in Counter(grams(question)).items()]
        known = [(index, count) for index, count in counts if index is not None]
        indices = np.array([index for index, _ in known], dtype=np.int64)
        values = np.array([1.0 + math.log(count) for _, count in known], dtype=np.float32) * self.idf[indices]
        norm = float(np.linalg.norm(values))
        return indices, values / norm if norm else values

    def probabilities(self, question: str) -> np.ndarray:
        """P(law | question) for each of `laws`."""
        indices, values = self.features(question)
        # the question's few grams select their rows: a dense product over the whole vocabulary costs 3 times more
        logits = values @ self.weight[indices] + self.bias
        exp = np.exp(logits - logits.max())
        return exp / exp.sum()

    def share(self, question: str, label: str) -> float:
        """P(`label` | question): for a gate, how likely the question is of that class."""
        return float(self.probabilities(question)[self.laws.index(label)])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        grams_in_order = sorted(self.vocabulary, key=self.vocabulary.get)
        meta = json.dumps({"laws": self.laws, "grams": grams_in_order, **self.info}, ensure_ascii=False)
        with path.open("wb") as out:
            np.savez(
                out,
                idf=self.idf.astype(np.float32),
                weight=self.weight.astype(np.float16),
                bias=self.bias.astype(np.float32),
                meta=np.array(meta),
            )

    @classmethod
    def load(cls, path: Path) -> LawPrior:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            idf, weight, bias = data["idf"], data["weight"].astype(np.float32), data["bias"]
        laws, grams_in_order = meta.pop("laws"), meta.pop("grams")
        return cls(laws, {gram: i for i, gram in enumerate(grams_in_order)}, idf, weight, bias, meta)


def fit_law_prior(
    questions: list[str],
    laws: list[set[str]],
    min_questions: int = 2,
    l2: float = 3e-5,
    epochs: int = 300,
    learning_rate: float = 0.05,
    seed: int = 0,
) -> LawPrior:
    """Multinomial logistic regression from question n-grams (seen in ≥ `min_questions` questions) to law."""
    import torch

    torch.manual_seed(seed)
    seen = Counter(gram for question in set(questions) for gram in set(grams(question)))
    kept = sorted(gram for gram, count in seen.items() if count >= min_questions)
    total = len(set(questions))
    idf = np.array([math.log((1 + total) / (1 + seen[gram])) + 1 for gram in kept], dtype=np.float32)
    labels = sorted({law for row in laws for law in row})
    prior = LawPrior(
        labels,
        {gram: i for i, gram in enumerate(kept)},
        idf,
        np.zeros((len(kept), len(labels)), dtype=np.float32),
        np.zeros(len(labels), dtype=np.float32),
    )
    pairs = [(question, law) for question, row in zip(questions, laws) for law in sorted(row)]
    inputs = _sparse_rows([prior.features(question) for question, _ in pairs], len(kept))
    targets = torch.tensor([labels.index(law) for _, law in pairs])
    weight = torch.zeros(len(kept), len(labels), requires_grad=True)
    bias = torch.zeros(len(labels), requires_grad=True)
    optimiser = torch.optim.Adam([weight, bias], lr=learning_rate)
    for _ in range(epochs):  # full batch: a few thousand rows
        logits = torch.sparse.mm(inputs, weight) + bias
        loss = torch.nn.functional.cross_entropy(logits, targets) + l2 * (weight**2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    prior.weight, prior.bias = weight.detach().numpy(), bias.detach().numpy()
    return prior


def _sparse_rows(rows: list[tuple[np.ndarray, np.ndarray]], width: int):
    """Rows of (indices, values) as one sparse matrix: a question has a few dozen of the thousands of n-grams."""
    import torch

    row_of = np.concatenate([np.full(len(indices), row, dtype=np.int64) for row, (indices, _) in enumerate(rows)])
    columns = np.concatenate([indices for indices, _ in rows])
    values = np.concatenate([values for _, values in rows]).astype(np.float32)
    positions = torch.from_numpy(np.stack([row_of, columns]))
    shape = (len(rows), width)
    return torch.sparse_coo_tensor(positions, torch.from_numpy(values), shape, check_invariants=True).coalesce()
