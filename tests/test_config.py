"""Settings: every setting is in config.yaml with a comment; environment overrides work."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policy_corpus.config import ConfigError, load_config, setting_names, settings_table

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
    config = load_config(
        PROJECT / "config.yaml",
        environ={
            "POLICYBOT_DATA_DIR": str(tmp_path / "d"),
            "POLICYBOT_CORPUS_DIR": str(tmp_path / "c"),
            "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
            "POLICYBOT_ADMIN_IDS": "7, 42",
        },
    )
    assert config.data_path == tmp_path / "d"
    assert config.corpus_path == tmp_path / "c"
    assert config.telegram.base_url == "http://127.0.0.1:9/bot"
    assert config.admin.user_ids == [7, 42]


def test_example_questions_setting(tmp_path, monkeypatch):
    shipped = load_config(PROJECT / "config.yaml", environ={})
    assert shipped.examples_path == PROJECT / "policy_corpus" / "examples"
    assert load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EXAMPLES": "off"}).examples_path is None
    monkeypatch.chdir(tmp_path)  # a relative folder in the environment is read from where the command runs
    assert (
        load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EXAMPLES": "mine"}).examples_path == tmp_path / "mine"
    )


def test_unknown_key_is_an_error(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("search:\n  topk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="search.topk"):
        load_config(bad, environ={})


def test_wrong_type_names_the_key_and_the_file(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("search:\n  top_k: three\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(bad, environ={})
    message = str(caught.value)
    assert "search.top_k" in message and str(bad) in message and "integer" in message
    assert "\n" not in message


def test_every_setting_can_come_from_the_environment(tmp_path):
    config = load_config(
        PROJECT / "config.yaml",
        environ={
            "POLICYBOT_SEARCH__TOP_K": "5",
            "POLICYBOT_EMBEDDINGS__BACKEND": "torch",
            "POLICYBOT_ADMIN__USER_IDS": "1,2",
            "POLICYBOT_CORPUS__SOURCES": "a,b",
        },
    )
    assert config.search.top_k == 5
    assert config.embeddings.backend == "torch"
    assert config.admin.user_ids == [1, 2]
    assert [Path(s).name for s in config.corpus.sources] == ["a", "b"]


def test_a_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="POLICYBOT_SEARCH__TOP_K"):
        load_config(PROJECT / "config.yaml", environ={"POLICYBOT_SEARCH__TOP_K": "many"})
    with pytest.raises(ConfigError, match="POLICYBOT_SEARCH__TOPK"):
        load_config(PROJECT / "config.yaml", environ={"POLICYBOT_SEARCH__TOPK": "5"})
    with pytest.raises(ConfigError, match="embeddings.backend"):
        load_config(PROJECT / "config.yaml", environ={"POLICYBOT_EMBEDDINGS__BACKEND": "gpu"})


def test_every_setting_has_help_and_its_default_in_config_yaml():
    raw = yaml.safe_load((PROJECT / "config.yaml").read_text(encoding="utf-8"))
    for name, _type, default, help_text in settings_table():
        assert help_text, f"{name} has no help line"
        value = raw
        for key in name.split("."):
            value = value[key]
        assert value == default, f"config.yaml gives {name} = {value!r}, the table {default!r}"
