"""``banjia migrate``: the guided path, its JSON (interface.md), its report, and output that an
80-column terminal or a pipe can read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from banjia.cli import main
from tests.migrate.conftest import CORPUS

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def wechat(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(APPS / "chatgpt_on_wechat", root)
    return root


def test_json_has_the_documented_shape(wechat: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "migration.md"
    assert main(["migrate", str(wechat), "--format", "json", "--report", str(report),
                 "--target", "deepseek"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"target", "files", "needs_human", "check", "report"} <= set(out)
    assert out["target"] == "deepseek" and out["report"] == str(report)
    assert out["check"] is None and "--check-model" in out["check_skipped"]
    assert all(set(f) == {"path", "changes"} and f["changes"] > 0 for f in out["files"])
    assert all(set(s) == {"path", "line", "reason", "what"} for s in out["needs_human"])
    assert {"path": "bot/chatgpt/chat_gpt_bot.py", "line": 27, "what": "set open_ai_api_base",
            "reason": "the app takes its OpenAI base URL from its own setting 'open_ai_api_base' "
                      "(openai.api_base = …), which lives outside the code: set it to "
                      "http://127.0.0.1:8000/v1"} in out["needs_human"]
    assert report.read_text().startswith(f"# Migrating `{wechat}` onto banjia")


def test_a_dry_run_writes_only_the_report_and_apply_writes_the_plan(
        wechat: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in wechat.rglob("*") if p.is_file()}
    assert main(["migrate", str(wechat), "--report", str(tmp_path / "r.md")]) == 0
    assert {p: p.read_bytes() for p in wechat.rglob("*") if p.is_file()} == before
    capsys.readouterr()
    assert main(["migrate", str(wechat), "--apply", "--report", str(tmp_path / "r.md"),
                 "--format", "json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert applied["applied"] is True
    assert "import openai.error" not in (wechat / "bot/chatgpt/chat_gpt_bot.py").read_text()
    assert (wechat / "requirements.txt").read_text().startswith("openai>=1.17")


def test_the_report_walks_through_every_step(wechat: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    assert main(["migrate", str(wechat), "--report", str(report)]) == 0
    text = report.read_text()
    for heading in ("## 1. Scan", "## 2. Plan per file", "## 3. What you must do by hand",
                    "## 4. Rewrite", "## 5. Compatibility check", "## 6. Model comparison"):
        assert heading in text
    assert "```diff" in text and "-import openai.error" in text
    assert "Not run: no endpoint to check" in text


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.strip()]


def test_scan_output_fits_80_columns_when_piped(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["scan", str(CORPUS / "py_http"), "--target", "deepseek"]) == 0
    lines = _lines(capsys.readouterr().out)
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("raw.py:") and " call " in line for line in lines)
    assert not any("│" in line for line in lines)  # a list, not a squeezed table


def test_migrate_output_fits_80_columns(wechat: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["migrate", str(wechat), "--report", str(tmp_path / "r.md")]) == 0
    lines = _lines(capsys.readouterr().out)
    assert max(len(line) for line in lines) <= 80
    assert any("open_ai_api_base" in line for line in lines)
