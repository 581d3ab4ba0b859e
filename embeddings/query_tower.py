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
import io
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from policy_corpus.config import EmbeddingSettings

from .adapter import gold_loss
from .encoder import Encoder, default_cache_dir, resolve_model

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "pytorch_model.bin"
# measured on the held-out public questions and the owners' sets: 4-5 epochs at 1e-4 (2e-5 learns too slowly)
SETTINGS = {"epochs": 5, "learning_rate": 1e-4, "temperature": 0.02, "batch_size": 32, "max_length": 96}


@dataclass
class QueryTower:
    model: str  # the encoder the tower was tuned from: it means nothing for another
    shifts: dict[str, np.ndarray]  # weight name → its difference from the base model's
    info: dict = field(default_factory=dict)  # how it was tuned, for people

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
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
    def load(cls, path: Path | io.BytesIO) -> QueryTower:
        shifts = {}
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            for key in data.files:
                kind, _, name = key.partition(":")
                if kind == "shift":
                    shifts[name] = data[key].astype(np.float32)
                elif kind == "rows":
                    shifts[name] = data[key].astype(np.float32) * data[f"scale:{name}"]
        return cls(meta.pop("model"), shifts, meta)

    def tuned(self, base: dict) -> dict:
        """The tuned weights: the base model's state dict (name → tensor) with the differences added."""
        import torch

        weights = dict(base)
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
    for name, parameter in encoder.named_parameters():
        parameter.requires_grad = ".layer." in name
    trained = [parameter for parameter in encoder.parameters() if parameter.requires_grad]
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
            loss = gold_loss(vectors @ corpus.T / temperature, [gold_units[i] for i in batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        logger.info("epoch %d/%d: loss %.3f", epoch + 1, epochs, total / max(len(order), 1))
    return difference(model, base, encoder.state_dict())


def difference(model: str, base: dict, tuned: dict) -> QueryTower:
    """The tower from a base and a tuned state dict: the weights that changed, as differences."""
    shifts = {}
    for name, weight in tuned.items():
        delta = (weight.float() - base[name].float()).detach()
        if delta.abs().max() > 0:
            shifts[name] = delta.numpy()
    return QueryTower(model, shifts)


_encoders: dict[tuple, Encoder] = {}


def tower_encoder(path: Path, settings: EmbeddingSettings) -> Encoder | None:
    """The encoder of the tower at `path`, for `settings.model`; None (with a warning) when it cannot be used.

    One per tower file and settings for the process: a corpus reload reuses it."""
    try:
        data = path.read_bytes()
        key = hashlib.sha256(data).hexdigest()[:16]  # changes with the file's contents
        cache = (key, settings.model, settings.max_seq_length, settings.batch_size, settings.threads, settings.backend)
        if cache in _encoders:
            return _encoders[cache]
        tower = QueryTower.load(io.BytesIO(data))
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
    folder = tower.folder(resolve_model(settings.model), default_cache_dir().parent / "towers", key)
    _encoders[cache] = Encoder(
        str(folder), settings.max_seq_length, settings.batch_size, settings.threads, backend=settings.backend
    )
    return _encoders[cache]
