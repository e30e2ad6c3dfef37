"""The scanner against the corpus of sample projects and its hand-written answer key."""

from __future__ import annotations

import json
from functools import cache

import pytest

from banjia.migrate.scan import ScanReport, scan
from tests.migrate.conftest import CORPUS


@cache
def corpus_report() -> ScanReport:
    return scan(CORPUS)


def answer_key() -> set[tuple[str, int, str]]:
    rows = json.loads((CORPUS / "expected.json").read_text())
    return {(path, line, kind) for path, line, kind in rows}


def test_scan_finds_exactly_the_answer_key(capsys: pytest.CaptureFixture[str]) -> None:
    found = {(f.path, f.line, f.kind) for f in corpus_report().findings}
    expected = answer_key()
    hits = len(found & expected)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(expected)
    with capsys.disabled():  # shown even when pytest captures output
        print(f"\nscan precision {precision:.3f} recall {recall:.3f} ({len(found)} findings)")
    assert sorted(found - expected) == [], "reported but not in the key"
    assert sorted(expected - found) == [], "in the key but not reported"
    assert precision == 1.0
    assert recall == 1.0


def test_corpus_files_all_parse() -> None:
    report = corpus_report()
    assert report.skipped == []
    assert report.recovered == []


def test_distractor_files_have_no_findings() -> None:
    paths = {f.path for f in corpus_report().findings}
    for quiet in ("py_distractors/vendors.py", "py_distractors/models.py",
                  "py_v1_sync/app/store.py", "node_v3/aws.js", "py_langchain/critic.py"):
        assert quiet not in paths


def test_prose_and_dependency_files_are_not_scanned() -> None:
    paths = {f.path for f in corpus_report().findings}
    assert not any(p.endswith((".md", ".txt", "package.json")) for p in paths)


@pytest.mark.parametrize(("path", "line", "features"), [
    ("py_v1_sync/app/llm.py", 30, ("tools",)),
    ("py_v1_sync/app/llm.py", 39, ("streaming",)),
    ("py_v1_sync/app/llm.py", 49, ("json_object",)),
    ("py_v1_sync/app/llm.py", 59, ("logprobs", "vision")),
    ("py_v1_async/service.py", 31, ("n",)),
    ("py_v1_async/service.py", 52, ("json_schema",)),
    ("py_v1_async/service.py", 60, ("responses",)),
    ("py_v1_async/agents.py", 7, ("tools", "assistants")),
    ("py_v1_async/service.py", 86, ("batch",)),
    ("py_legacy/bot.py", 30, ("streaming",)),
    ("node_v4/src/client.ts", 44, ("json_schema", "responses")),
    ("ts_web/src/api.ts", 10, ("streaming", "json_object")),
    ("ts_web/src/api.ts", 24, ("embeddings",)),
    ("node_v3/index.js", 19, ("logprobs", "completions")),
])
def test_calls_report_the_features_they_use(path: str, line: int,
                                            features: tuple[str, ...]) -> None:
    call = next(f for f in corpus_report().findings
                if (f.path, f.line, f.kind) == (path, line, "call"))
    assert call.features == features
