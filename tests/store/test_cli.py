"""``banjia keys``, ``banjia usage`` and ``banjia db upgrade`` against a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from banjia.cli import main
from banjia.store import open_store
from banjia.store.keys import KEY_PREFIX
from tests.store.conftest import blocking, config_for, ctx_for, finish


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "banjia.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": db_url}}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_create_list_grant_revoke(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config_file)
    code, out, _ = run(capsys, "keys", "create", "--name", "ci", "--quota-tokens", "1000",
                       "--models", "gpt-4o,gpt-4o-mini", "--rpm", "60", "--expires",
                       "2099-01-01T00:00:00Z", "--format", "json", "--config", cfg)
    assert code == 0
    created = json.loads(out)
    assert created["key"].startswith(KEY_PREFIX) and created["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert created["expires_at"] == "2099-01-01T00:00:00Z"
    code, out, _ = run(capsys, "keys", "list", "--config", cfg)
    assert code == 0 and created["id"] in out and created["key"] not in out and "0/1,000" in out
    code, out, _ = run(capsys, "keys", "grant", created["id"], "--tokens", "500", "--note", "gift",
                       "--config", cfg)
    assert code == 0 and "0/1,500" in out
    code, out, _ = run(capsys, "keys", "revoke", created["id"], "--config", cfg)
    assert code == 0
    code, out, _ = run(capsys, "keys", "list", "--active", "--format", "json", "--config", cfg)
    assert json.loads(out)["data"] == []
    code, _, err = run(capsys, "keys", "revoke", "key_nope", "--config", cfg)
    assert code == 1 and "no key" in err


def test_keys_create_prints_the_key_on_its_own_line(config_file: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "keys", "create", "--name", "x", "--config", str(config_file))
    lines = out.splitlines()
    assert code == 0 and lines[1].startswith(KEY_PREFIX) and "only this once" in err


def test_invalid_options_are_reported_not_raised(config_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "keys", "create", "--name", "x", "--rpm", "0", "--config",
                       str(config_file))
    assert code == 1 and "rpm" in err


def test_usage_json_has_the_admin_api_shape(db_url: str, config_file: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    async def traffic() -> None:
        store = await open_store(config_for(db_url))
        _, k = await store.keys.create(name="app")
        key = await store.authenticator.authenticate(k)
        for _ in range(3):
            store.accounting.record(finish(ctx_for(key), prompt=100, completion=50))
        await store.aclose()

    blocking(traffic())
    code, out, _ = run(capsys, "usage", "--by", "provider", "--since", "2000-01-01",
                       "--format", "json", "--config", str(config_file))
    report = json.loads(out)
    assert code == 0 and report["by"] == "provider" and report["since"] == "2000-01-01T00:00:00Z"
    [row] = report["rows"]
    assert {"group", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_cny",
            "openai_cost_cny", "saving_cny", "saving_pct"} <= set(row)
    assert (row["group"], row["requests"], row["total_tokens"]) == ("qwen", 3, 450)
    code, out, _ = run(capsys, "usage", "--config", str(config_file))
    assert code == 0 and "saving" in out


def test_db_upgrade_through_the_installed_command(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": f"sqlite:///{tmp_path / 'fresh.db'}"}}))
    done = subprocess.run([sys.executable, "-m", "banjia", "db", "upgrade", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fresh.db").exists()
    again = subprocess.run([sys.executable, "-m", "banjia", "db", "upgrade"], capture_output=True,
                           text=True, timeout=60, env={"BANJIA_CONFIG": str(path), "PATH": ""})
    assert again.returncode == 0, again.stderr
