"""A query tower: the encoder fine-tuned for questions only, against the frozen vectors of the corpus.

The query adapter (adapter.py) moves a question's vector by one linear map; the tower tunes the encoder's
layers themselves on the same questions and the same loss (a softmax over every unit vector of the national
collection), so it can read 老板拖工资 the way statutes say 拖欠劳动报酬. The articles keep the shipped model's
vectors: nothing is re-embedded, and an index built without the tower is searched with it.

It ships as the differences from the shipped model's layer weights, each matrix's rows stored as int8 with a scale
(13 MB instead of the model's 96; cutting them to 64 singular directions instead lost 0.03-0.11 held-out dense
R@1), and is rebuilt into a model folder in the cache on first use, where the encoder loads it with any backend
(embeddings/encoder.py exports it to ONNX as usual).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from policy_corpus.config import EmbeddingSettings

from .encoder import Encoder, default_cache_dir, resolve_model

logger = logging.getLogger(__name__)

RANK = None  # singular directions kept of each tuned matrix (None: all, stored as int8 rows)
WEIGHTS_FILE = "pytorch_model.bin"
# measured on the held-out public questions and the owners' sets: 4-5 epochs at 1e-4 (2e-5 learns too slowly)
SETTINGS = {"epochs": 5, "learning_rate": 1e-4, "temperature": 0.02, "batch_size": 32, "max_length": 96}


@dataclass
class QueryTower:
    model: str  # the encoder the tower was tuned from: it means nothing for another
    factors: dict[str, tuple[np.ndarray, np.ndarray]]  # weight name → (left, right): delta = left @ right
    shifts: dict[str, np.ndarray]  # weight name → delta, kept whole
    info: dict = field(default_factory=dict)  # how it was tuned, for people

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"left:{name}": left.astype(np.float16) for name, (left, _) in self.factors.items()}
        arrays |= {f"right:{name}": right.astype(np.float16) for name, (_, right) in self.factors.items()}
        for name, shift in self.shifts.items():
            if shift.ndim == 2:  # a matrix: int8 rows, each with its scale
                scale = np.abs(shift).max(axis=1, keepdims=True) / 127 + 1e-12
                arrays[f"rows:{name}"] = np.round(shift / scale).astype(np.int8)
                arrays[f"scale:{name}"] = scale.astype(np.float32)
            else:
                arrays[f"shift:{name}"] = shift.astype(np.float16)
        meta = json.dumps({"model": self.model, **self.info}, ensure_ascii=False)
        with path.open("wb") as out:
            np.savez_compressed(out, meta=np.array(meta), **arrays)

    @classmethod
    def load(cls, path: Path) -> QueryTower:
        factors: dict[str, list] = {}
        shifts = {}
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            for key in data.files:
                kind, _, name = key.partition(":")
                if kind == "shift":
                    shifts[name] = data[key].astype(np.float32)
                elif kind == "rows":
                    shifts[name] = data[key].astype(np.float32) * data[f"scale:{name}"]
                elif kind in ("left", "right"):
                    factors.setdefault(name, [None, None])[kind == "right"] = data[key].astype(np.float32)
        return cls(meta.pop("model"), {name: (pair[0], pair[1]) for name, pair in factors.items()}, shifts, meta)

    def tuned(self, base: dict) -> dict:
        """The tuned weights: the base model's state dict (name → tensor) with the differences added."""
        import torch

        weights = dict(base)
        for name, (left, right) in self.factors.items():
            weights[name] = base[name] + torch.from_numpy(left @ right)
        for name, shift in self.shifts.items():
            weights[name] = base[name] + torch.from_numpy(shift)
        return weights

    def folder(self, base_path: str, cache_dir: Path, key: str) -> Path:
        """A model folder holding the tuned encoder (the base folder's files, tuned weights), made once per `key`."""
        target = cache_dir / f"tower-{key}"
        if (target / WEIGHTS_FILE).exists():
            return target
        import torch
        from transformers import AutoModel

        base = AutoModel.from_pretrained(base_path)
        staging = cache_dir / f".tower-{key}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(base_path, staging, ignore=shutil.ignore_patterns("*.bin", "*.safetensors", "onnx", ".*"))
        base.load_state_dict(self.tuned(base.state_dict()))
        torch.save(base.state_dict(), staging / WEIGHTS_FILE)
        staging.replace(target)
        return target


def file_key(path: Path) -> str:
    """A key that changes with the tower file's contents."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fit_tower(
    base_path: str,
    model: str,
    questions: list[str],
    gold_units: list[np.ndarray],
    units: np.ndarray,
    epochs: int = 5,
    learning_rate: float = 1e-4,
    temperature: float = 0.02,
    batch_size: int = 32,
    max_length: int = 96,
    rank: int | None = RANK,
    seed: int = 0,
) -> QueryTower:
    """Tune the encoder's layers so that each question is closer to its gold units than to every other unit.

    `units` (m, d) are the corpus' normalised vectors, frozen; `gold_units[i]` are the rows that answer question
    i. The word embeddings stay as they are (questions and articles share them); every transformer layer learns.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    encoder = AutoModel.from_pretrained(base_path)
    base = {name: tensor.clone() for name, tensor in encoder.state_dict().items()}
    trained = [p for name, p in encoder.named_parameters() if ".layer." in name]
    for name, parameter in encoder.named_parameters():
        parameter.requires_grad = ".layer." in name
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=0.01)
    corpus = torch.from_numpy(np.ascontiguousarray(units, dtype=np.float32))
    answerable = np.array([i for i, gold in enumerate(gold_units) if len(gold)])
    encoder.train()
    for epoch in range(epochs):
        order = np.random.RandomState(seed + epoch).permutation(answerable)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            tokens = tokenizer(
                [questions[i] for i in batch], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            hidden = encoder(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).float()
            vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
            logits = vectors @ corpus.T / temperature
            gold = torch.zeros_like(logits, dtype=torch.bool)
            for row, i in enumerate(batch):
                gold[row, torch.from_numpy(gold_units[i])] = True
            loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~gold, -1e9), 1)).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        logger.info("epoch %d/%d: loss %.3f", epoch + 1, epochs, total / max(len(order), 1))
    return difference(model, base, encoder.state_dict(), rank)


def difference(model: str, base: dict, tuned: dict, rank: int | None = RANK) -> QueryTower:
    """The tower from a base and a tuned state dict: matrices' differences cut to `rank` singular directions (None:
    kept whole), the rest kept whole."""
    import torch

    factors, shifts = {}, {}
    for name, weight in tuned.items():
        delta = (weight.float() - base[name].float()).detach()
        if not delta.abs().max() > 0:
            continue
        if rank is not None and delta.ndim == 2 and min(delta.shape) > rank:
            left, singular, right = torch.linalg.svd(delta, full_matrices=False)
            factors[name] = ((left[:, :rank] * singular[:rank]).numpy(), right[:rank].numpy())
        else:
            shifts[name] = delta.numpy()
    return QueryTower(model, factors, shifts)


_encoders: dict[tuple, Encoder] = {}


def tower_encoder(path: Path, settings: EmbeddingSettings) -> Encoder | None:
    """The encoder of the tower at `path`, for `settings.model`; None (with a warning) when it cannot be used.

    One per tower file and settings for the process: a corpus reload reuses it."""
    try:
        key = file_key(path)
        tower = QueryTower.load(path)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("query tower %s cannot be read (%s): questions are searched without it", path, error)
        return None
    if tower.model != settings.model:
        logger.warning(
            "query tower %s was tuned from %s, not %s: questions are searched without it (run `make train-tower`)",
            path,
            tower.model,
            settings.model,
        )
        return None
    cache = (key, settings.max_seq_length, settings.batch_size, settings.threads, settings.backend)
    if cache not in _encoders:
        folder = tower.folder(resolve_model(settings.model), default_cache_dir().parent / "towers", key)
        _encoders[cache] = Encoder(
            str(folder), settings.max_seq_length, settings.batch_size, settings.threads, backend=settings.backend
        )
    return _encoders[cache]
