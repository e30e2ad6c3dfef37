"""Config: ${VAR} substitution and validation messages that name the bad key; the provider
types checked by banjia.settings, and the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from banjia.config import load_config, parse_config
from banjia.errors import ConfigError
from banjia.settings import check_providers, load_settings


def test_variables_are_substituted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DS_KEY", "sk-123")
    cfg = parse_config({"providers": {"q": {"type": "dashscope", "api_key": "${DS_KEY}"}}})
    assert cfg.providers["q"].api_key == "sk-123"


def test_default_values_in_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    cfg = parse_config({"server": {"host": "${NOPE:-0.0.0.0}"}})
    assert cfg.server.host == "0.0.0.0"


def test_unset_credential_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"providers\.qwen\.api_key: .*DASHSCOPE_API_KEY"):
        check_providers(
            parse_config({"providers": {"qwen": {"type": "dashscope", "api_key": "${DASHSCOPE_API_KEY}"}}})
        )


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"providers\.qwen\.apikey: unknown key"):
        parse_config({"providers": {"qwen": {"type": "dashscope", "apikey": "x"}}})


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"providers\.x\.type: unknown provider type 'nope' \(known: .*deepseek"
    ):
        check_providers(parse_config({"providers": {"x": {"type": "nope"}}}))


def test_alias_to_a_missing_provider() -> None:
    with pytest.raises(ConfigError, match=r"models\.gpt-4o\[0\]: no provider named 'qwen'"):
        parse_config({"models": {"gpt-4o": ["qwen/qwen-plus"]}})


def test_alias_may_be_a_single_string() -> None:
    cfg = parse_config({"providers": {"l": {"type": "local"}}, "models": {"gpt-4o": "l/default"}})
    assert cfg.models["gpt-4o"] == ["l/default"]


def test_openai_type_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match=r"providers\.mine\.base_url: required"):
        check_providers(parse_config({"providers": {"mine": {"type": "openai", "api_key": "x"}}}))


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("server: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_embedded_defaults_enable_vendors_whose_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANJIA_CONFIG", raising=False)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-ds")
    cfg = load_settings(None)
    assert cfg.providers["local"].type == "local"
    assert cfg.providers["deepseek"].api_key == "sk-ds"
    assert cfg.models["gpt-4o"][0] == "deepseek/deepseek-v4-pro"  # the catalog's deepseek flagship preset
    assert cfg.models["gpt-4o-mini"][-1] == "local/default"
