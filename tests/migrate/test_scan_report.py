"""The scan report: its JSON shape, its table, the command, and files it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from banjia.migrate.scan import main_scan, render_table, scan

APP = '''\
from openai import OpenAI

client = OpenAI()
r = client.chat.completions.create(model="gpt-4o", messages=[], stream=True, tools=[])
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-1\n")
    return tmp_path


def test_json_has_findings_and_a_summary(project: Path) -> None:
    data = scan(project).to_json()
    assert data["findings"] == [
        {"path": ".env", "line": 1, "kind": "env", "detail": "OPENAI_API_KEY"},
        {"path": "src/app.py", "line": 3, "kind": "client", "detail": "OpenAI(…)"},
        {"path": "src/app.py", "line": 4, "kind": "call", "detail": "chat.completions.create",
         "features": ["streaming", "tools"]},
        {"path": "src/app.py", "line": 4, "kind": "model", "detail": "gpt-4o"},
    ]
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["findings"] == 4
    assert summary["by_kind"] == {"client": 1, "call": 1, "model": 1, "env": 1, "endpoint": 0}
    assert summary["files_scanned"] == 2
    assert summary["files_with_findings"] == 2
    assert summary["skipped"] == []


def test_a_target_marks_what_it_cannot_serve(project: Path) -> None:
    (project / "src" / "vision.py").write_text(
        'client.chat.completions.create(model=m, messages=[{"content": '
        '[{"type": "image_url", "image_url": {"url": u}}]}], tools=t)\n')
    report = scan(project, target="deepseek")
    supports = {f.path: f.to_json("deepseek").get("support") for f in report.findings
                if f.kind == "call"}
    assert supports["src/vision.py"] == {"tools": "supported", "vision": "unsupported"}
    assert supports["src/app.py"] == {"streaming": "supported", "tools": "supported"}
    assert report.summary()["calls_with_unsupported_features"] == 1


def test_local_target_serves_no_tools(project: Path) -> None:
    call = next(f for f in scan(project, target="local").findings if f.kind == "call")
    assert call.to_json("local")["support"] == {"streaming": "supported",
                                                 "tools": "unsupported"}


def test_an_unknown_target_is_unknown(project: Path) -> None:
    call = next(f for f in scan(project, target="acme-llm").findings if f.kind == "call")
    assert call.to_json("acme-llm")["support"] == {"streaming": "unknown", "tools": "unknown"}


def test_unparsable_files_are_skipped_not_fatal(project: Path) -> None:
    (project / "py2.py").write_text('print "hello gpt-4o"\n')
    (project / "chart.yaml").write_text("a: {{ .Values.model }}\n  b: [\n")
    (project / "bad.json").write_text('{"model": "gpt-4o",,}')
    (project / "bad.toml").write_text('model = "gpt-4o\n')
    (project / "binary.py").write_bytes(b"\xff\xfe\x00gpt-4o")
    report = scan(project)
    assert sorted(s.path for s in report.skipped) == [
        "bad.json", "bad.toml", "binary.py", "chart.yaml", "py2.py"]
    assert report.files_scanned == 2
    assert len(report.findings) == 4


def test_vendored_and_built_folders_are_skipped(project: Path) -> None:
    for folder in ("node_modules/openai", ".git", ".venv/lib", "venv", "__pycache__", "dist",
                   "build"):
        (project / folder).mkdir(parents=True, exist_ok=True)
        (project / folder / "x.py").write_text('MODEL = "gpt-4o"\n')
    assert scan(project).files_scanned == 2


def test_a_single_file_can_be_scanned(project: Path) -> None:
    report = scan(project / "src" / "app.py")
    assert {f.path for f in report.findings} == {"app.py"}


def test_table_lists_every_finding_and_the_totals(project: Path) -> None:
    console = Console(record=True, width=160)
    render_table(scan(project, target="deepseek"), console)
    out = console.export_text()
    assert "src/app.py:4" in out
    assert "chat.completions.create" in out
    assert "4 findings (1 client, 1 call, 1 model, 1 env, 0 endpoint) in 2 of 2 files" in out
    assert "0 calls use features deepseek does not serve" in out


def test_main_scan_prints_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_scan(str(project), fmt="json", target="dashscope") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["target"] == "dashscope"
    assert len(data["findings"]) == 4


def test_main_scan_prints_a_table(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_scan(str(project)) == 0
    assert "OpenAI usage in" in capsys.readouterr().out


def test_main_scan_rejects_bad_arguments(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main_scan(str(project / "missing")) == 2
    assert main_scan(str(project), fmt="xml") == 2
    assert "unknown format" in capsys.readouterr().err
