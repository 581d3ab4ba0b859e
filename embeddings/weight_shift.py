"""A model's tuned weights, shipped as their differences from the shipped model's (embeddings/tuned_encoder.py,
embeddings/query_tower.py).

Each matrix's rows are stored as int8 with a scale each, vectors as float16: the tuned m3e-small ships in a few MB
instead of the model's 96, and is rebuilt into a model folder in the cache on first use, where the encoder loads it
with any backend (embeddings/encoder.py exports it to ONNX as usual).
"""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "pytorch_model.bin"


@dataclass
class WeightShift:
    model: str  # the model the weights were tuned from: they mean nothing for another
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
    def load(cls, path: Path | io.BytesIO) -> WeightShift:
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
        """A model folder holding the tuned model (the base folder's files, tuned weights), made once per `key`."""
        target = cache_dir / key
        if (target / WEIGHTS_FILE).exists():
            return target
        import torch
        from transformers import AutoModel

        base = AutoModel.from_pretrained(base_path)
        staging = cache_dir / f".{key}.{os.getpid()}.partial"  # processes starting together each make their own
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(base_path, staging, ignore=shutil.ignore_patterns("*.bin", "*.safetensors", "onnx", ".*"))
        base.load_state_dict(self.tuned(base.state_dict()))
        torch.save(base.state_dict(), staging / WEIGHTS_FILE)
        try:
            staging.replace(target)
        except OSError:  # another process made it first; its folder is as good
            shutil.rmtree(staging, ignore_errors=True)
        return target


def mean_pooled(model, tokenizer, texts: list[str], max_length: int):
    """The normalised mean of a transformers model's last hidden states over each text's tokens (as
    sentence-transformers pools m3e-small), with gradients: for tuning the model."""
    import torch

    tokens = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def difference(model: str, base: dict, tuned: dict, negligible: float = 0.0) -> WeightShift:
    """The weights that changed from a base to a tuned state dict, as differences. Rows of a matrix that moved by at
    most `negligible` are kept as they were: tuning all weights moves the word vectors of the few thousand
    characters its texts use, and weight decay nudges the rest by a rounding error."""
    shifts = {}
    for name, weight in tuned.items():
        delta = (weight.float() - base[name].float()).detach().numpy()
        if delta.ndim == 2 and negligible > 0:
            delta[np.abs(delta).max(axis=1) <= negligible] = 0.0
        if np.abs(delta).max() > 0:
            shifts[name] = delta
    return WeightShift(model, shifts)
