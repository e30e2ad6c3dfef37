"""scan, rewrite and migrate on public apps (tests/migrate/apps: trimmed copies, their licences,
their sources, and an answer key each), and the small apps answering through banjia afterwards."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import shutil
import sys
import tomllib
import types
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from dotenv import dotenv_values

from banjia.migrate._scan_config import json_tokens, parse_env
from banjia.migrate._scan_files import mask_vue, vue_dialect
from banjia.migrate._scan_js import dialect_for, parse_js
from banjia.migrate.migrate import MigrateOptions, migrate
from banjia.migrate.rewrite import apply_changes, plan, rewrite_project
from banjia.migrate.scan import ScanReport, file_type, scan
from tests.conftest import gateway_config
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

APPS_DIR = Path(__file__).parent / "apps"
APPS = sorted(p.name.removesuffix(".key.json") for p in APPS_DIR.glob("*.key.json"))
Row = tuple[str, int, str]


@cache
def report(app: str) -> ScanReport:
    return scan(APPS_DIR / app)


@cache
def key(app: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((APPS_DIR / f"{app}.key.json").read_text())
    return data


def found(app: str) -> set[Row]:
    return {(f.path, f.line, f.kind) for f in report(app).findings}


def expected(app: str) -> set[Row]:
    return {(p, n, k) for p, n, k in key(app)["findings"]}


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


# -- the corpus ----------------------------------------------------------------------------------
def test_the_corpus_holds_at_least_eight_permissively_licensed_public_apps() -> None:
    assert len(APPS) >= 8
    for app in APPS:
        source = (APPS_DIR / app / "SOURCE.md").read_text()
        assert re.search(r"https://github\.com/[\w.-]+/[\w.-]+", source), app
        assert re.search(r"`[0-9a-f]{40}`", source), app
        licence = (APPS_DIR / app / "LICENSE").read_text()
        assert re.search(r"MIT License|Permission is hereby granted|Apache License|BSD", licence)


# -- scan ----------------------------------------------------------------------------------------
def test_scan_recall_and_precision_on_call_sites_and_on_all_findings(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = [f"{'app':22} {'calls P':>8} {'calls R':>8} {'all P':>7} {'all R':>7}"]
    worst = 1.0
    for app in APPS:
        got, want = found(app), expected(app)
        calls_got = {r for r in got if r[2] == "call"}
        calls_want = {r for r in want if r[2] == "call"}
        ratios = (_ratio(len(calls_got & calls_want), len(calls_got)),
                  _ratio(len(calls_got & calls_want), len(calls_want)),
                  _ratio(len(got & want), len(got)), _ratio(len(got & want), len(want)))
        worst = min(worst, *ratios)
        lines.append(f"{app:22} " + " ".join(f"{r:>{w}.3f}" for r, w in zip(
            ratios, (8, 8, 7, 7), strict=True)))
    with capsys.disabled():  # shown even when pytest captures output
        print("\n" + "\n".join(lines))
    assert worst >= 0.95


@pytest.mark.parametrize("app", APPS)
def test_scan_finds_each_apps_answer_key(app: str) -> None:
    assert sorted(found(app) - expected(app)) == [], "reported but not in the key"
    assert sorted(expected(app) - found(app)) == [], "in the key but not reported"
    assert report(app).skipped == [] and report(app).recovered == []


# -- rewrite -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rewritten(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each app copied and rewritten onto the default gateway address."""
    out = {}
    for app in APPS:
        root = tmp_path_factory.mktemp("apps") / app
        shutil.copytree(APPS_DIR / app, root)
        apply_changes(root, rewrite_project(root)[0])
        out[app] = root
    return out


@pytest.mark.parametrize("app", APPS)
def test_rewrite_changes_the_files_the_key_names(app: str) -> None:
    assert sorted(c.path for c in plan(APPS_DIR / app)) == key(app)["changed_files"]


def _parses(path: Path) -> None:
    """Raises when a file does not parse with its language's parser."""
    text = path.read_text("utf-8")
    kind = file_type(path)
    if kind == "python":
        ast.parse(text)
    elif kind == "js":
        dialect = dialect_for(path.suffix.lower())
        assert dialect is not None
        assert not parse_js(text.encode(), dialect).root_node.has_error, path
    elif kind == "vue":
        data = text.encode()
        assert not parse_js(mask_vue(data), vue_dialect(data)).root_node.has_error, path
    elif kind == "yaml":
        list(yaml.safe_load_all(text))
    elif kind in ("json", "notebook"):
        json_tokens(text)
    elif kind == "toml":
        tomllib.loads(text)
    elif kind == "env":
        parse_env(text)
    elif path.name.startswith("requirements"):
        for line in text.splitlines():
            assert not line.strip() or re.match(r"[A-Za-z0-9_.\[\]-]+\s*([<>=!~]=?.*)?$|#", line)


@pytest.mark.parametrize("app", APPS)
def test_every_rewritten_file_parses(app: str, rewritten: dict[str, Path]) -> None:
    for path in key(app)["changed_files"]:
        _parses(rewritten[app] / path)


@pytest.mark.parametrize("app", APPS)
def test_a_second_rewrite_changes_nothing(app: str, rewritten: dict[str, Path]) -> None:
    assert plan(rewritten[app]) == []


# -- migrate -------------------------------------------------------------------------------------
@pytest.mark.parametrize("app", APPS)
def test_migrate_names_each_step_a_person_must_take(app: str, tmp_path: Path) -> None:
    result = migrate(MigrateOptions(path=APPS_DIR / app, report=tmp_path / "report.md"))
    assert [[s.path, s.line, s.what] for s in result.steps] == key(app)["needs_human"]
    for step in result.steps:
        # a step names what to set: the setting in its title appears in its reason
        setting = re.match(r"(?:set|a banjia key in) (\S+)", step.what)
        assert setting is None or setting.group(1) in step.reason
    report_text = (tmp_path / "report.md").read_text()
    assert all(s.reason in report_text for s in result.steps)


# -- the runnable apps, through banjia over a fake upstream -----------------------------------
@pytest.fixture(scope="module")
def gateway(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cfg = gateway_config(fake, tmp_path_factory.mktemp("apps-gw"))
    del cfg["providers"]["local"]  # every model here is the fake's
    cfg["models"] = {"gpt-3.5-turbo": ["fake/echo"], "gpt-4o": ["fake/echo"],
                     "text-embedding-3-small": ["fake/embed"]}
    g = Gateway(cfg)
    yield g
    g.stop()


@pytest.fixture
def app_on(gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        Any]:
    """Copies an app, rewrites it onto ``gateway`` (``--apply``) and makes it importable; the
    app's modules and its changes to the ``openai`` module are undone afterwards."""
    before = set(sys.modules)
    for name in ("api_key", "organization", "base_url", "api_type", "api_version",
                 "http_client", "_client"):
        monkeypatch.setattr(openai, name, getattr(openai, name))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)

    def copy(app: str, sub: str = "") -> Path:
        root = tmp_path / app
        shutil.copytree(APPS_DIR / app, root)
        assert migrate(MigrateOptions(path=root, apply=True, base_url=gateway.base_url,
                                      report=tmp_path / "report.md")).applied
        monkeypatch.syspath_prepend(str(root / sub))
        monkeypatch.chdir(root)
        return root

    yield copy
    # only the app's own modules: dropping a library module imported meanwhile (openai's,
    # httpx's) would leave later tests with two copies of its exception classes
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_chatgpt_on_wechat_v0_bot_answers_through_banjia_after_the_rewrite(
        app_on: Any, gateway: Gateway) -> None:
    root = app_on("chatgpt_on_wechat")
    # the steps migrate names: the app's own settings open_ai_api_base and open_ai_api_key
    (root / "config.json").write_text(json.dumps({
        "open_ai_api_base": gateway.base_url, "open_ai_api_key": MASTER_KEY,
        "model": "gpt-3.5-turbo", "rate_limit_chatgpt": 0, "rate_limit_dalle": 0}))
    config = __import__("config")
    config.load_config()
    from bot.chatgpt.chat_gpt_bot import ChatGPTBot  # type: ignore[import-not-found]
    from bot.chatgpt.chat_gpt_session import ChatGPTSession  # type: ignore[import-not-found]

    session = ChatGPTSession("s1", system_prompt="You are a bot.", model="gpt-3.5-turbo")
    session.add_query("hello banjia")
    reply = ChatGPTBot().reply_text(session)
    assert reply["content"] == "echo: hello banjia"
    assert reply["completion_tokens"] > 0


def _fake_flask() -> types.ModuleType:
    """Just enough of Flask for the quickstart's module to import and its routes to run."""
    flask = types.ModuleType("flask")

    class Flask:
        def __init__(self, name: str) -> None:
            self.name = name

        def route(self, *_a: Any, **_k: Any) -> Any:
            return lambda fn: fn

    class Response:
        def __init__(self, body: Any, mimetype: str = "") -> None:
            self.body, self.mimetype = body, mimetype

    flask.Flask = Flask  # type: ignore[attr-defined]
    flask.Response = Response  # type: ignore[attr-defined]
    flask.render_template = lambda *a, **k: ""  # type: ignore[attr-defined]
    flask.jsonify = lambda **k: k  # type: ignore[attr-defined]
    flask.stream_with_context = lambda gen: gen  # type: ignore[attr-defined]
    flask.request = types.SimpleNamespace(json={})  # type: ignore[attr-defined]
    return flask


def test_quickstart_python_chat_streams_through_banjia_after_the_rewrite(
        app_on: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = app_on("quickstart_python", "examples/chat-basic")
    env = dotenv_values(root / ".env.example")  # as rewritten: it now sets OPENAI_BASE_URL
    monkeypatch.setenv("OPENAI_BASE_URL", str(env["OPENAI_BASE_URL"]))
    monkeypatch.setenv("OPENAI_API_KEY", MASTER_KEY)  # the step: a banjia key
    monkeypatch.setitem(sys.modules, "flask", _fake_flask())
    app = __import__("app")
    app.chat_history.append({"role": "user", "content": "hello banjia"})
    events = list(app.stream().body)
    assert "".join(e.removeprefix("data: ").strip() + " " for e in events).split() == [
        "echo:", "hello", "banjia"]
    assert app.chat_history[-1]["role"] == "assistant"


def test_gpt_researcher_langchain_models_answer_through_banjia_after_the_rewrite(
        app_on: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = app_on("gpt_researcher")
    env = dotenv_values(root / ".env.example")
    monkeypatch.setenv("OPENAI_BASE_URL", str(env["OPENAI_BASE_URL"]))
    monkeypatch.setenv("OPENAI_API_KEY", MASTER_KEY)
    colorama = types.ModuleType("colorama")
    colorama.Fore = types.SimpleNamespace(GREEN="", RED="")  # type: ignore[attr-defined]
    colorama.Style = types.SimpleNamespace(RESET_ALL="")  # type: ignore[attr-defined]
    colorama.init = lambda **k: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "colorama", colorama)
    from gpt_researcher.llm_provider import GenericLLMProvider  # type: ignore[import-not-found]

    messages = [{"role": "user", "content": "hello banjia"}]

    async def answers() -> list[str]:
        # the Azure provider was rewritten to the plain one: both answer through the gateway
        out = [await GenericLLMProvider.from_provider(p, model="gpt-3.5-turbo").get_chat_response(
            messages, stream=False) for p in ("openai", "azure_openai")]
        streamed = GenericLLMProvider.from_provider("openai", model="gpt-4o")
        return [*out, await streamed.get_chat_response(messages, stream=True)]

    assert asyncio.run(answers()) == ["echo: hello banjia"] * 3
