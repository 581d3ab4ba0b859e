"""Settings: config.yaml plus environment overrides, read once and passed down as one object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DOCUMENTS = Path(__file__).resolve().parent / "documents"
PACKAGE_EXAMPLES = Path(__file__).resolve().parent / "examples"


@dataclass
class CorpusSettings:
    dir: str = "policy_corpus/documents"  # the default documents folder (env POLICYBOT_CORPUS_DIR)
    sources: list[str] = field(default_factory=list)  # extra folders or .tar.gz collections
    keep_versions: int = 5  # published corpus versions kept for rollback


@dataclass
class EmbeddingSettings:
    model: str = "m3e-small"  # "m3e-small" (shipped), a sentence-transformers id, or a local path
    batch_size: int = 32
    max_seq_length: int = 256
    threads: int = 2
    backend: str = "onnx"  # "onnx" (torch's vectors, faster), "torch", or "onnx-int8" (quantised, faster still)
    # moves question vectors towards the statute text that answers such questions ("" or "off": none; embeddings/adapter.py)
    query_adapter: str = "embeddings/adapters/m3e-small-stard.npz"


@dataclass
class SearchSettings:
    index: str = "auto"  # "flat" (exact), "hnsw" (approximate), or "auto": hnsw above hnsw_above vectors
    hnsw_above: int = 20000
    top_k: int = 3
    dense_weight: float = 0.4
    abstain_below: float = 0.66  # best dense cosine below which the search says the corpus does not cover it
    background: str = "policy_corpus/national/lawrefbook-national.tar.gz"  # other law, for abstention ("" = off)
    # beside national law, added to the policy documents' fused score in the ranking of the whole corpus, which
    # follows their own search's best (or stands alone when that search does not answer)
    primary_boost: float = 2.0
    abstain_ratio: float = 0.46  # abstain when the corpus' best matches score below this share of the background's
    law_prior: str = "embeddings/adapters/stard-laws.npz"  # which laws questions like this are answered from ("off")
    law_prior_weight: float = 1.0  # added to a national-law article's fused score × P(its law | question)
    # owners' example questions per article, searched beside its text (env POLICYBOT_EXAMPLES; "" or "off": none;
    # embeddings/examples.py)
    examples: str = "policy_corpus/examples"
    example_words_weight: float = 0.5  # an article's BM25 adds its example questions' BM25 × this


@dataclass
class TelegramSettings:
    base_url: str = "https://api.telegram.org/bot"  # env TELEGRAM_BASE_URL
    base_file_url: str = "https://api.telegram.org/file/bot"  # env TELEGRAM_BASE_FILE_URL
    mode: str = "polling"  # "polling" or "webhook"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_url: str = ""  # public URL Telegram posts to
    webhook_secret: str = ""  # env TELEGRAM_WEBHOOK_SECRET; 1-256 of A-Za-z0-9_-
    rate_limit_count: int = 4  # questions a user may ask …
    rate_limit_seconds: float = 10.0  # … within this many seconds


@dataclass
class AdminSettings:
    user_ids: list[int] = field(default_factory=list)  # env POLICYBOT_ADMIN_IDS (comma-separated)
    max_upload_bytes: int = 5 * 1024 * 1024


@dataclass
class Config:
    data_dir: str = "data"  # store, index, caches and logs (env POLICYBOT_DATA_DIR)
    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    embeddings: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    base_dir: Path = PROJECT_DIR  # relative paths are resolved against the config file's folder

    @property
    def data_path(self) -> Path:
        return (self.base_dir / self.data_dir).resolve()

    @property
    def corpus_path(self) -> Path:
        path = (self.base_dir / self.corpus.dir).resolve()
        return path if path.exists() or self.corpus.dir != CorpusSettings.dir else PACKAGE_DOCUMENTS

    @property
    def examples_path(self) -> Path | None:
        """The example questions' folder; None when switched off."""
        setting = self.search.examples
        if switched_off(setting):
            return None
        path = (self.base_dir / setting).resolve()
        return path if path.exists() or setting != SearchSettings.examples else PACKAGE_EXAMPLES

    @property
    def source_paths(self) -> list[Path]:
        """Where documents are read from: the documents folder, then any extra sources."""
        return [self.corpus_path] + [(self.base_dir / s).resolve() for s in self.corpus.sources]


ENVIRONMENT = {
    "POLICYBOT_DATA_DIR": ("data_dir",),
    "POLICYBOT_CORPUS_DIR": ("corpus", "dir"),
    "POLICYBOT_MODEL": ("embeddings", "model"),
    "POLICYBOT_QUERY_ADAPTER": ("embeddings", "query_adapter"),
    "POLICYBOT_EXAMPLES": ("search", "examples"),
    "TELEGRAM_BASE_URL": ("telegram", "base_url"),
    "TELEGRAM_BASE_FILE_URL": ("telegram", "base_file_url"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "POLICYBOT_ADMIN_IDS": ("admin", "user_ids"),
}


def switched_off(setting: str) -> bool:
    """Whether a file or folder setting says "none": "", off or none."""
    return setting.strip().lower() in ("", "off", "none")


class ConfigError(Exception):
    pass


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read config.yaml (or `path`, or $POLICYBOT_CONFIG), then apply environment overrides."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(path or environ.get("POLICYBOT_CONFIG") or PROJECT_DIR / "config.yaml")
    raw: dict[str, Any] = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    elif path != PROJECT_DIR / "config.yaml":
        raise ConfigError(f"config file {path} does not exist")
    config = _build(Config, raw, "")
    config.base_dir = path.resolve().parent if path.exists() else PROJECT_DIR
    for name, keys in ENVIRONMENT.items():
        if environ.get(name):
            _set(config, keys, environ[name], name)
    if Path(config.data_dir).is_absolute() is False and environ.get("POLICYBOT_DATA_DIR"):
        config.data_dir = str(Path.cwd() / config.data_dir)
    if environ.get("POLICYBOT_CORPUS_DIR") and not Path(config.corpus.dir).is_absolute():
        config.corpus.dir = str(Path.cwd() / config.corpus.dir)
    examples = environ.get("POLICYBOT_EXAMPLES", "")
    if examples and not switched_off(examples) and not Path(examples).is_absolute():
        config.search.examples = str(Path.cwd() / examples)
    return config


def _build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config section {prefix or 'top level'} must be a mapping")
    known = {f.name: f for f in fields(cls) if f.name != "base_dir"}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(prefix + k for k in sorted(unknown))}")
    values = {}
    for name, value in raw.items():
        default = getattr(cls(), name)
        if is_dataclass(default):
            values[name] = _build(type(default), value or {}, f"{prefix}{name}.")
        else:
            values[name] = value
    return cls(**values)


def _set(config: Config, keys: tuple[str, ...], value: str, env_name: str) -> None:
    target = config
    for key in keys[:-1]:
        target = getattr(target, key)
    current = getattr(target, keys[-1])
    try:
        if isinstance(current, list):
            parsed: Any = [int(v) for v in value.replace(" ", "").split(",") if v]
        elif isinstance(current, int):
            parsed = int(value)
        else:
            parsed = value
    except ValueError:
        raise ConfigError(f"{env_name}={value!r} is not valid: expected comma-separated numbers") from None
    setattr(target, keys[-1], parsed)


def setting_names(cls: type = Config, prefix: str = "") -> list[str]:
    """Every setting's dotted name, e.g. 'telegram.base_url' (for the documentation test)."""
    names = []
    for f in fields(cls):
        if f.name == "base_dir":
            continue
        default = getattr(cls(), f.name)
        if is_dataclass(default):
            names += setting_names(type(default), f"{prefix}{f.name}.")
        else:
            names.append(prefix + f.name)
    return names
