"""Settings: every setting is in config.yaml with a comment; environment overrides work."""

from __future__ import annotations

import pytest
import yaml

from policy_corpus.config import ConfigError, load_config, setting_names

from .conftest import PROJECT


def flatten(mapping, prefix=""):
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def test_every_setting_is_in_config_yaml():
    raw = yaml.safe_load((PROJECT / "config.yaml").read_text(encoding="utf-8"))
    assert sorted(flatten(raw)) == sorted(setting_names())


def test_environment_overrides(tmp_path):
    config = load_config(PROJECT / "config.yaml", environ={
        "POLICYBOT_DATA_DIR": str(tmp_path / "d"), "POLICYBOT_CORPUS_DIR": str(tmp_path / "c"),
        "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot", "POLICYBOT_ADMIN_IDS": "7, 42"})
    assert config.data_path == tmp_path / "d"
    assert config.corpus_path == tmp_path / "c"
    assert config.telegram.base_url == "http://127.0.0.1:9/bot"
    assert config.admin.user_ids == [7, 42]


def test_example_questions_setting(tmp_path, monkeypatch):
    shipped = load_config(PROJECT / "config.yaml", environ={})
    assert shipped.examples_path == PROJECT / "policy_corpus" / "examples"
    assert load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EXAMPLES": "off"}).examples_path is None
    monkeypatch.chdir(tmp_path)  # a relative folder in the environment is read from where the command runs
    assert load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EXAMPLES": "mine"}).examples_path == tmp_path / "mine"


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("search:\n  topk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="search.topk"):
        load_config(bad, environ={})
