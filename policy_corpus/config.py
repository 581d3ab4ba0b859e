"""Settings: one declared table (name, type, default, help), read from config.yaml plus the
environment once at start, validated by pydantic, and passed down as one object.

Every setting can be overridden from the environment as ``POLICYBOT_<SECTION>__<KEY>``
(``POLICYBOT_SEARCH__TOP_K=5``); the older names in ``ENVIRONMENT`` keep working.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DOCUMENTS = Path(__file__).resolve().parent / "documents"
PACKAGE_EXAMPLES = Path(__file__).resolve().parent / "examples"
PACKAGE_PLACE_EXAMPLES = Path(__file__).resolve().parent / "place_examples"
ENV_PREFIX = "POLICYBOT_"
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def setting(default: Any = None, help: str = "", *, path: bool = False, **constraints: Any) -> Any:
    """One row of the table: its default, its help line, and whether it names a file or folder
    (a relative path from the environment is then read from where the command runs)."""
    extra = {"path": True} if path else None
    if isinstance(default, list):
        return Field(default_factory=lambda: list(default), description=help, json_schema_extra=extra, **constraints)
    return Field(default, description=help, json_schema_extra=extra, **constraints)


class Section(BaseModel):
    # unknown keys are mistakes (a typo would otherwise be silently ignored)
    model_config = ConfigDict(extra="forbid")


class CorpusSettings(Section):
    dir: str = setting("policy_corpus/documents", "the default documents (POLICYBOT_CORPUS_DIR)", path=True)
    sources: list[str] = setting(
        ["policy_corpus/national/lawrefbook-national.tar.gz"],
        "national law and other folders or .tar.gz collections served alongside ([] = the documents alone)",
        path=True,
    )
    keep_versions: int = setting(5, "published versions kept for /rollback", ge=1)


class EmbeddingSettings(Section):
    model: str = setting(
        "m3e-small", "shipped m3e-small, any sentence-transformers id, or a local path (POLICYBOT_MODEL)"
    )
    batch_size: int = setting(32, "texts embedded per batch", ge=1)
    max_seq_length: int = setting(256, "tokens read of each text", ge=8, le=512)
    threads: int = setting(2, "CPU threads for embedding", ge=1)
    backend: Literal["onnx", "torch", "onnx-int8"] = setting(
        "onnx-int8", "onnx-int8 (quantised, fastest) | onnx (torch's vectors) | torch"
    )
    split_national: bool = setting(
        False, "also embed each paragraph and item of national-law articles (about 2.5x the vectors to embed)"
    )
    quick_start_seconds: float = setting(
        45.0,
        "a first start embeds national law for this long, serves, and embeds the rest in the background",
        ge=0,
    )
    tuned_weights: str = setting(
        "embeddings/adapters/m3e-small-tuned.npz",
        "the model fine-tuned on owners' and public questions against the articles' texts, for questions and articles "
        "alike (make train-encoder); off = the model as shipped",
        path=True,
    )
    query_adapter: str = setting(
        "embeddings/adapters/m3e-small-stard.npz",
        "learned from public questions (make train); off = none (POLICYBOT_QUERY_ADAPTER)",
        path=True,
    )
    query_tower: str = setting(
        "",
        'the encoder tuned for questions (make train-tower); averaged with the adapter\'s vector; "" = none '
        "(POLICYBOT_QUERY_TOWER)",
        path=True,
    )


class SearchSettings(Section):
    index: Literal["auto", "flat", "hnsw"] = setting(
        "auto", "flat (exact) | hnsw (approximate) | auto (hnsw above hnsw_above vectors)"
    )
    hnsw_above: int = setting(20000, "vectors above which auto uses hnsw", ge=0)
    top_k: int = setting(3, "provisions shown in an answer", ge=1, le=20)
    dense_weight: float = setting(0.4, "share of the dense score in the fused ranking", ge=0, le=1)
    abstain_below: float = setting(
        0.36,
        "best dense similarity below which the corpus does not cover a question (a floor: raised for large corpora)",
        ge=-1,
        le=1,
    )
    background: str = setting(
        "policy_corpus/national/lawrefbook-national.tar.gz",
        'other law, to tell uncovered questions ("" = off)',
        path=True,
    )
    primary_boost: float = setting(
        2.0, "fused-score bonus for the policy documents over national law served beside them"
    )
    abstain_ratio: float = setting(
        0.46, "abstain when the corpus' best lexical matches reach less than this share of the background's", ge=0
    )
    law_prior: str = setting(
        "embeddings/adapters/stard-laws.npz",
        "which laws questions like this are answered from (make train); off = none",
        path=True,
    )
    law_prior_weight: float = setting(1.0, "national-law articles get this × P(their law | question)", ge=0)
    policy_gate: str = setting(
        "embeddings/adapters/policy-gate.npz",
        "how likely a question is one the policy documents answer, from the example questions (make train); off = none",
        path=True,
    )
    policy_gate_below: float = setting(
        0.15,
        "beside national law the policy documents neither lead nor get primary_boost for a question less likely than this",
        ge=0,
        le=1,
    )
    policy_gate_above: float = setting(
        0.4,
        "... and answer one at least this likely whenever one of their articles is close, however national law matches: their best first",
        ge=0,
        le=1,
    )
    scope_gate: str = setting(
        "embeddings/adapters/scope-gate.npz",
        "how likely a question is one no law answers (business advice, a place's office hours, an app's buttons), by its words (make train); off = none",
        path=True,
    )
    scope_gate_above: float = setting(
        0.6,
        "decline a question at least this likely to be one no law answers, whatever provisions come close",
        ge=0,
        le=1,
    )
    reranker: str = setting(
        "embeddings/adapters/reranker.json",
        "reorders national law's first candidates by what the fused score does not weigh (make train); off = none",
        path=True,
    )
    examples: str = setting(
        "policy_corpus/examples",
        "owners' example questions per article, searched beside its text; off = none (POLICYBOT_EXAMPLES)",
        path=True,
    )
    example_words_weight: float = setting(0.5, "an article's BM25 adds its examples' BM25 × this", ge=0)
    place_examples: str = setting(
        "policy_corpus/place_examples",
        "owners' example questions per paragraph and item of national-law articles: which 款/项 is cited; off = none",
        path=True,
    )


class TelegramSettings(Section):
    base_url: str = setting("https://api.telegram.org/bot", "Bot API (TELEGRAM_BASE_URL)")
    base_file_url: str = setting("https://api.telegram.org/file/bot", "file downloads (TELEGRAM_BASE_FILE_URL)")
    mode: Literal["polling", "webhook"] = setting("polling", "polling | webhook")
    webhook_listen: str = setting("127.0.0.1", "address the webhook server listens on")
    webhook_port: int = setting(8443, "port the webhook server listens on (also GET /healthz)", ge=1, le=65535)
    webhook_url: str = setting("", "public HTTPS URL Telegram posts to (webhook mode)")
    webhook_secret: str = setting("", "1-256 of A-Za-z0-9_- (TELEGRAM_WEBHOOK_SECRET)")
    rate_limit_count: int = setting(4, "questions one user may ask ...", ge=1)
    rate_limit_seconds: float = setting(10.0, "... within this many seconds", gt=0)

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramSettings:
        if self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("webhook mode needs telegram.webhook_url (the public HTTPS URL)")
            if not WEBHOOK_SECRET.match(self.webhook_secret):
                raise ValueError(
                    "webhook mode needs telegram.webhook_secret (TELEGRAM_WEBHOOK_SECRET): "
                    "1-256 characters of A-Z a-z 0-9 _ -"
                )
        return self


class AdminSettings(Section):
    user_ids: list[int] = setting([], "Telegram user ids of staff (POLICYBOT_ADMIN_IDS, comma-separated)")
    max_upload_bytes: int = setting(5 * 1024 * 1024, "uploads above this are refused", ge=1)


class PrivacySettings(Section):
    retention_days: int = setting(180, "owners' questions and votes are deleted after this many days", ge=1)


class Config(Section):
    data_dir: str = setting("data", "store, index, caches, logs (POLICYBOT_DATA_DIR)", path=True)
    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    # relative paths in the file are resolved against its folder; not a setting
    base_dir: Path = Field(PROJECT_DIR, exclude=True)

    @property
    def data_path(self) -> Path:
        return (self.base_dir / self.data_dir).resolve()

    @property
    def corpus_path(self) -> Path:
        path = (self.base_dir / self.corpus.dir).resolve()
        default = CorpusSettings.model_fields["dir"].default
        return path if path.exists() or self.corpus.dir != default else PACKAGE_DOCUMENTS

    @property
    def examples_path(self) -> Path | None:
        """The example questions' folder; None when switched off."""
        return self._shipped_folder("examples", PACKAGE_EXAMPLES)

    @property
    def place_examples_path(self) -> Path | None:
        """The folder of national-law articles' example questions per 款/项; None when switched off."""
        return self._shipped_folder("place_examples", PACKAGE_PLACE_EXAMPLES)

    def _shipped_folder(self, key: str, packaged: Path) -> Path | None:
        """The folder search setting `key` names; None when switched off, the package's copy when it names the
        default and that is not there (policybot installed, run outside the project)."""
        value = getattr(self.search, key)
        if switched_off(value):
            return None
        path = (self.base_dir / value).resolve()
        return path if path.exists() or value != SearchSettings.model_fields[key].default else packaged

    @property
    def source_paths(self) -> list[Path]:
        """Where documents are read from: the documents folder, then any extra sources."""
        return [self.corpus_path] + [(self.base_dir / s).resolve() for s in self.corpus.sources]


# Older variable names, kept working beside POLICYBOT_<SECTION>__<KEY>.
ENVIRONMENT = {
    "POLICYBOT_DATA_DIR": ("data_dir",),
    "POLICYBOT_CORPUS_DIR": ("corpus", "dir"),
    "POLICYBOT_MODEL": ("embeddings", "model"),
    "POLICYBOT_QUERY_ADAPTER": ("embeddings", "query_adapter"),
    "POLICYBOT_QUERY_TOWER": ("embeddings", "query_tower"),
    "POLICYBOT_EXAMPLES": ("search", "examples"),
    "TELEGRAM_BASE_URL": ("telegram", "base_url"),
    "TELEGRAM_BASE_FILE_URL": ("telegram", "base_file_url"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "POLICYBOT_ADMIN_IDS": ("admin", "user_ids"),
}


def switched_off(value: str) -> bool:
    """Whether a file or folder setting says "none": "", off or none."""
    return value.strip().lower() in ("", "off", "none")


class ConfigError(Exception):
    """A setting that cannot work; the message names it and what is expected."""


def load_config(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read config.yaml (or `path`, or $POLICYBOT_CONFIG), apply environment overrides, validate."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(path or environ.get("POLICYBOT_CONFIG") or PROJECT_DIR / "config.yaml")
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{where}: not valid YAML; check the indentation and colons") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of sections (search:, telegram:, …)")
        if "base_dir" in raw:
            raise ConfigError(f"{path}: unknown setting base_dir; known ones are listed in config.yaml")
    elif path != PROJECT_DIR / "config.yaml":
        raise ConfigError(f"config file {path} does not exist")
    from_env: dict[tuple[str, ...], str] = {}
    for keys, name, value in environment_overrides(environ):
        _put(raw, keys, _env_value(keys, value, name))
        from_env[keys] = name
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(error, path, from_env)) from None
    config.base_dir = path.resolve().parent if path.exists() else PROJECT_DIR
    return config


def environment_overrides(environ: dict[str, str]) -> list[tuple[tuple[str, ...], str, str]]:
    """(setting keys, variable name, value) for each non-empty variable that sets a setting."""
    found = []
    for name, keys in ENVIRONMENT.items():
        if environ.get(name, "").strip():
            found.append((keys, name, environ[name]))
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name or not value.strip():
            continue
        keys = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if len(keys) != 2 or _field(keys) is None:
            raise ConfigError(
                f"{name}: no such setting; expected POLICYBOT_<SECTION>__<KEY>, e.g. "
                f"POLICYBOT_SEARCH__TOP_K (see config.yaml)"
            )
        found.append((keys, name, value))
    return found


def _field(keys: tuple[str, ...]):
    model: type[BaseModel] = Config
    for key in keys[:-1]:
        info = model.model_fields.get(key)
        if info is None or not (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
            return None
        model = info.annotation
    info = model.model_fields.get(keys[-1])
    if info is None or (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)):
        return None
    return info


def _env_value(keys: tuple[str, ...], value: str, name: str) -> Any:
    info = _field(keys)
    value = value.strip()
    if str(info.annotation).startswith("list"):
        if value.startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"{name}={value!r}: expected a JSON list or comma-separated values") from None
        return [part.strip() for part in value.split(",") if part.strip()]
    extra = info.json_schema_extra or {}
    if extra.get("path") and not switched_off(value) and not Path(value).is_absolute():
        return str(Path.cwd() / value)  # a relative path in the environment is read from where the command runs
    return value


def _put(raw: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    target = raw
    for key in keys[:-1]:
        section = target.get(key)
        if not isinstance(section, dict):
            section = target[key] = {} if section is None else section
        target = section
    target[keys[-1]] = value


def _describe(error: ValidationError, path: Path, from_env: dict[tuple[str, ...], str]) -> str:
    """One line: which setting, from where, what is expected."""
    first = error.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    name = ".".join(loc) or "top level"
    where = f"environment variable {from_env[loc]}" if loc in from_env else str(path)
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown setting {name}; known ones are listed in config.yaml"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    got_text = "" if isinstance(got, dict) or got is None else f", got {got!r}"
    return f"{where}: {name}: {message}{got_text}"


def save_config(config: Config, path: Path) -> None:
    """Write `config` where `load_config(path)` reads the same settings back (paths made absolute), for a child
    process; the telegram and admin sections (a webhook secret among them) are left out: it needs neither."""
    raw = config.model_dump(exclude={"telegram", "admin"})
    _absolute_paths(Config, raw, config.base_dir)
    path.write_text(json.dumps(raw, ensure_ascii=False, indent=1), encoding="utf-8")


def _absolute_paths(model: type[BaseModel], raw: dict[str, Any], base: Path) -> None:
    def resolve(value: str) -> str:
        return value if switched_off(value) or Path(value).is_absolute() else str((base / value).resolve())

    for key, info in model.model_fields.items():
        if key not in raw:
            continue
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            _absolute_paths(info.annotation, raw[key], base)
        elif (info.json_schema_extra or {}).get("path"):
            value = raw[key]
            raw[key] = [resolve(v) for v in value] if isinstance(value, list) else resolve(value)


def settings_table(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """(dotted name, type, default, help) for every setting: the declared table."""
    rows = []
    for key, info in model.model_fields.items():
        if info.exclude:
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += settings_table(annotation, f"{prefix}{key}.")
            continue
        default = info.get_default(call_default_factory=True)
        type_name = getattr(annotation, "__name__", str(annotation)).replace("typing.", "")
        rows.append((prefix + key, type_name, default, info.description or ""))
    return rows


def setting_names() -> list[str]:
    """Every setting's dotted name, e.g. 'telegram.base_url' (for the documentation test)."""
    return [row[0] for row in settings_table()]
