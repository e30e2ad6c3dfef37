"""banjia rewrite over the corpus: golden outputs, idempotence, and code that still runs."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import httpx
import pytest

from banjia.migrate.rewrite import FileChange, apply_changes, main_rewrite, plan, unified_diff
from tests.migrate.conftest import CORPUS, GOLDEN


@cache
def corpus_changes() -> tuple[FileChange, ...]:
    return tuple(plan(CORPUS))


@pytest.fixture
def rewritten(tmp_path: Path) -> Path:
    """A copy of the corpus with the rewrite applied."""
    root = tmp_path / "corpus"
    shutil.copytree(CORPUS, root)
    apply_changes(root, corpus_changes())
    return root


def golden_files() -> list[str]:
    return sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*")
                  if p.is_file() and p.name != "ruff.toml")


def test_rewrite_changes_exactly_the_files_with_golden_outputs() -> None:
    assert sorted(c.path for c in corpus_changes()) == golden_files()


@pytest.mark.parametrize("path", golden_files())
def test_rewrite_matches_the_golden_output(path: str) -> None:
    change = next(c for c in corpus_changes() if c.path == path)
    assert change.old == (CORPUS / path).read_text()
    assert change.new == (GOLDEN / path).read_text()


def test_a_second_rewrite_changes_nothing(rewritten: Path) -> None:
    assert plan(rewritten) == []


def test_rewritten_python_compiles() -> None:
    for change in corpus_changes():
        if change.path.endswith(".py"):
            compile(change.new, change.path, "exec")


@pytest.fixture
def importable(rewritten: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The rewritten corpus, importable; the samples' changes to `openai` are undone after."""
    import openai

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for name in ("api_key", "organization", "base_url", "api_type", "api_version",
                 "http_client", "_client"):
        monkeypatch.setattr(openai, name, getattr(openai, name))
    before = set(sys.modules)
    yield rewritten
    for name in set(sys.modules) - before:
        if name.startswith("sample_"):
            del sys.modules[name]


def load(root: Path, rel: str) -> object:
    name = "sample_" + rel.removesuffix(".py").replace("/", "_")
    spec = importlib.util.spec_from_file_location(name, root / rel)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("rel", [
    "py_legacy/bot.py", "py_azure/client.py", "py_azure/legacy_azure.py", "py_http/raw.py",
    "py_langchain/chain.py", "py_v1_sync/app/llm.py", "py_v1_async/service.py",
])
def test_rewritten_sample_apps_still_import(importable: Path, rel: str) -> None:
    load(importable, rel)


def test_rewritten_legacy_calls_run_on_openai_v1(importable: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import openai

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-3.5-turbo",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "hi from banjia"}}]})

    bot = load(importable, "py_legacy/bot.py")
    monkeypatch.setattr(openai, "http_client", httpx.Client(transport=httpx.MockTransport(answer)))
    assert bot.chat("hello") == "hi from banjia"  # type: ignore[attr-defined]
    assert str(seen[0].url) == "http://127.0.0.1:8000/v1/chat/completions"


def test_base_url_option_moves_every_url(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_BASE=https://api.openai.com/v1\n")
    (tmp_path / "app.py").write_text('c = OpenAI(base_url="https://api.openai.com/v1")\n')
    changes = {c.path: c.new for c in plan(tmp_path, base_url="http://gw.internal:9000/v1")}
    # the client names its base URL itself, so nothing reads OPENAI_BASE_URL: no rename
    assert changes == {
        ".env": "OPENAI_API_BASE=http://gw.internal:9000/v1\n",
        "app.py": 'c = OpenAI(base_url="http://gw.internal:9000/v1")\n',
    }


def test_model_names_stay_unless_mapped(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('r = c.chat.completions.create(model="gpt-4o")\n')
    (tmp_path / "app.ts").write_text('const m = "gpt-4o";\n')
    (tmp_path / ".env").write_text("OPENAI_MODEL=gpt-4o\n")
    assert plan(tmp_path) == []
    changes = {c.path: c.new for c in plan(tmp_path, model_map={"gpt-4o": "qwen-plus"})}
    assert changes == {
        ".env": "OPENAI_MODEL=qwen-plus\n",
        "app.py": 'r = c.chat.completions.create(model="qwen-plus")\n',
        "app.ts": 'const m = "qwen-plus";\n',
    }


def test_unparsable_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "py2.py").write_text('import openai\nprint "https://api.openai.com/v1"\n')
    (tmp_path / "bad.yaml").write_text("url: https://api.openai.com/v1\n  - [\n")
    assert plan(tmp_path) == []


def test_unified_diff_names_both_sides() -> None:
    diff = unified_diff([FileChange("a/.env", "X=1\nY=2\n", "X=1\nY=3\n")])
    assert diff == ("--- a/a/.env\n+++ b/a/.env\n@@ -1,2 +1,2 @@\n X=1\n-Y=2\n+Y=3\n")


def test_main_rewrite_prints_the_diff_without_writing(
        rewritten: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CORPUS / "py_legacy", tmp_path / "legacy")
    assert main_rewrite(str(tmp_path / "legacy")) == 0
    out = capsys.readouterr().out
    assert "+    response = openai.chat.completions.create(" in out
    assert "ChatCompletion" in (tmp_path / "legacy" / "bot.py").read_text()


def test_main_rewrite_apply_writes_the_files(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CORPUS / "py_legacy", tmp_path / "legacy")
    planned = {c.path: c.new for c in plan(tmp_path / "legacy")}
    assert main_rewrite(str(tmp_path / "legacy"), apply=True) == 0
    assert capsys.readouterr().out == "rewrote .env\nrewrote bot.py\n"
    assert (tmp_path / "legacy" / "bot.py").read_text() == planned["bot.py"]
    # alone, the bot reads OPENAI_API_BASE itself: it keeps the name, and so does its .env
    assert 'os.getenv("OPENAI_API_BASE"' in planned["bot.py"]
    assert "OPENAI_API_BASE=http://127.0.0.1:8000/v1" in planned[".env"]
    assert main_rewrite(str(tmp_path / "legacy")) == 0
    assert "nothing to change" in capsys.readouterr().err


def test_main_rewrite_hints_when_no_file_sets_the_base_url(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.py").write_text("from openai import OpenAI\nclient = OpenAI()\n")
    assert main_rewrite(str(tmp_path)) == 0
    assert "OPENAI_BASE_URL=http://127.0.0.1:8000/v1" in capsys.readouterr().err


def test_main_rewrite_rejects_bad_arguments(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main_rewrite(str(tmp_path / "missing")) == 2
    assert main_rewrite(str(tmp_path), model_map="gpt-4o") == 2
    assert "expected OLD=NEW" in capsys.readouterr().err
