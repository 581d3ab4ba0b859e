"""A query tower: the encoder fine-tuned for questions only, against the frozen vectors of the corpus.

The query adapter (adapter.py) moves a question's vector by one linear map; the tower tunes the encoder's
layers themselves on the same questions and the same loss (a softmax over every unit vector of the national
collection), so it can read 老板拖工资 the way statutes say 拖欠劳动报酬. The articles keep the shipped model's
vectors: nothing is re-embedded, and an index built without the tower is searched with it.

It ships as the differences from the encoder's layer weights (embeddings/weight_shift.py: 13 MB instead of the
model's 96; cutting them to 64 singular directions instead lost 0.03-0.11 held-out dense R@1), and is rebuilt into a
model folder in the cache on first use, where the encoder loads it with any backend.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

import numpy as np

from policy_corpus.config import EmbeddingSettings

from .adapter import gold_loss
from .encoder import Encoder, default_cache_dir, resolve_model
from .weight_shift import WeightShift, difference, mean_pooled

logger = logging.getLogger(__name__)

QueryTower = WeightShift  # a tower's file: its layers' differences from the encoder's, applied to questions only
# measured on the held-out public questions and the owners' sets: 4-5 epochs at 1e-4 (2e-5 learns too slowly)
SETTINGS = {"epochs": 5, "learning_rate": 1e-4, "temperature": 0.02, "batch_size": 32, "max_length": 96}


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
            vectors = mean_pooled(encoder, tokenizer, [questions[i] for i in batch], max_length)
            loss = gold_loss(vectors @ corpus.T / temperature, [gold_units[i] for i in batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        logger.info("epoch %d/%d: loss %.3f", epoch + 1, epochs, total / max(len(order), 1))
    return difference(model, base, encoder.state_dict())


_encoders: dict[tuple, Encoder] = {}


def tower_encoder(path: Path, settings: EmbeddingSettings, base: str | None = None) -> Encoder | None:
    """The encoder of the tower at `path`, for `settings.model` (`base`: the folder of the encoder it applies to,
    the model's as shipped by default); None (with a warning) when it cannot be used.

    One per tower file and settings for the process: a corpus reload reuses it."""
    base = base or resolve_model(settings.model)
    try:
        data = path.read_bytes()
        key = hashlib.sha256(data + base.encode()).hexdigest()[:16]  # changes with the file's contents
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
    folder = tower.folder(base, default_cache_dir().parent / "towers", f"tower-{key}")
    _encoders[cache] = Encoder(
        str(folder), settings.max_seq_length, settings.batch_size, settings.threads, backend=settings.backend
    )
    return _encoders[cache]
