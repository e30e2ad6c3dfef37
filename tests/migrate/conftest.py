"""Fixtures for the migrate tests. `corpus/` and `golden/` hold sample projects, not tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from banjia.migrate.scan import Finding, scan

collect_ignore_glob = ["corpus/*", "golden/*", "apps/*"]

CORPUS = Path(__file__).parent / "corpus"
GOLDEN = Path(__file__).parent / "golden"

Triples = set[tuple[int, str]]


@pytest.fixture
def scan_text(tmp_path: Path) -> Callable[[str, str], Triples]:
    """Scan one file with the given name and (dedented) text: its {(line, kind)} findings."""
    def run(name: str, text: str) -> Triples:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        report = scan(tmp_path)
        assert not report.skipped, report.skipped
        return {(f.line, f.kind) for f in report.findings if f.path == name}
    return run


@pytest.fixture
def scan_findings(tmp_path: Path) -> Callable[[str, str], list[Finding]]:
    def run(name: str, text: str) -> list[Finding]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return [f for f in scan(tmp_path).findings if f.path == name]
    return run
