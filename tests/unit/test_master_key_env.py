"""BANJIA_MASTER_KEY is the master key whenever the config does not name one."""

from __future__ import annotations

from pathlib import Path

import pytest

from banjia.config import load_config


def test_the_variable_is_the_master_key_of_a_config_file_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "banjia.yaml"
    path.write_text("server:\n  port: 9000\n")
    monkeypatch.setenv("BANJIA_MASTER_KEY", "sk-from-the-environment-0001")
    assert load_config(path).server.master_key == "sk-from-the-environment-0001"


def test_a_master_key_in_the_config_file_wins_over_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "banjia.yaml"
    path.write_text("server:\n  master_key: sk-written-in-the-file-0002\n")
    monkeypatch.setenv("BANJIA_MASTER_KEY", "sk-from-the-environment-0001")
    assert load_config(path).server.master_key == "sk-written-in-the-file-0002"
