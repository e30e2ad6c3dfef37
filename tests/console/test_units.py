"""The console's parts that need no browser: ledger reads on SQLite and PostgreSQL, sessions and
CSRF tokens, the login limiter, the translations, latency quantiles."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from banjia.console._i18n import STRINGS, Translator, pick_lang
from banjia.console._login import _next
from banjia.console._providers import quantile
from banjia.console._queries import daily, last_errors, one_request
from banjia.console._security import LoginLimiter, Signer, _file_secret
from banjia.context import KeyInfo
from banjia.routing.telemetry import Histogram
from banjia.store import Store
from tests.store.conftest import ctx_for, finish

TEMPLATES = Path(__file__).parents[2] / "src" / "banjia" / "console" / "templates"
KEY = KeyInfo(id="key_a", name="a")


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def _record(store: Store, started: str, *, status: int = 200, model: str = "gpt-4o",
                  prompt: int = 10, completion: int = 5) -> str:
    ctx = ctx_for(KEY, model=model)
    ctx.started_at = _at(started)
    finish(ctx, prompt=prompt, completion=completion, status=status, provider="ds",
           provider_type="deepseek", upstream_model="deepseek-chat")
    store.accounting.record(ctx)
    await store.flush()
    return "req_" + ctx.request_id


async def test_days_are_beijing_calendar_days(store: Store) -> None:
    await _record(store, "2026-03-01T15:59:00+00:00")  # 23:59 in Beijing, 1 March
    await _record(store, "2026-03-01T16:01:00+00:00", status=503)  # 00:01 in Beijing, 2 March
    await _record(store, "2026-03-02T03:00:00+00:00", prompt=4, completion=6)
    days = await daily(store, 3, now=datetime.fromisoformat("2026-03-02T12:00:00+08:00"))
    assert [d.day for d in days] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    assert [(d.requests, d.errors) for d in days] == [(0, 0), (1, 0), (2, 1)]
    assert (days[2].prompt_tokens, days[2].completion_tokens) == (14, 11)
    assert days[1].cost_cny > 0 and days[1].openai_cost_cny > days[1].cost_cny
    assert days[1].saving_cny == pytest.approx(days[1].openai_cost_cny - days[1].cost_cny)


async def test_one_request_is_found_by_the_id_its_client_received(store: Store) -> None:
    rid = await _record(store, "2026-03-01T01:00:00+00:00", status=429)
    found = await one_request(store, rid)
    assert found is not None and found.request_id == rid
    assert (found.upstream, found.status) == ("ds/deepseek-chat", 429)
    assert found.created_at.tzinfo is not None
    assert await one_request(store, "req_nothing") is None


async def test_the_last_failure_of_each_provider_comes_from_the_ledger(store: Store) -> None:
    await _record(store, "2026-03-01T01:00:00+00:00", status=502)
    latest = await _record(store, "2026-03-01T02:00:00+00:00", status=429)
    await _record(store, "2026-03-01T03:00:00+00:00")
    assert {p: r.request_id for p, r in (await last_errors(store)).items()} == {"ds": latest}


def test_a_session_cookie_is_valid_until_it_expires_and_cannot_be_altered() -> None:
    signer = Signer(b"s" * 32, "sk-master")
    cookie, session = signer.issue("master")
    assert signer.verify(cookie) == session
    body, mac = cookie.split(".")
    assert signer.verify(body[:-2] + "xx." + mac) is None
    assert signer.verify(cookie + "x") is None
    assert Signer(b"s" * 32, "sk-another-master").verify(cookie) is None  # the master key changed
    expired, _ = signer.issue("master", ttl=-1)
    assert signer.verify(expired) is None
    assert signer.verify(None) is None and signer.verify("junk") is None


def test_a_csrf_token_belongs_to_its_session() -> None:
    signer = Signer(b"s" * 32, None)
    _, one = signer.issue("master")
    _, two = signer.issue("master")
    assert signer.csrf_ok(one.nonce, signer.csrf(one.nonce))
    assert not signer.csrf_ok(two.nonce, signer.csrf(one.nonce))
    assert not signer.csrf_ok(one.nonce, None) and not signer.csrf_ok(None, signer.csrf(one.nonce))


def test_the_login_limiter_counts_failures_per_client_and_forgets_after_success() -> None:
    limiter = LoginLimiter(failures=2, window=60)
    limiter.failed("a")
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    assert 0 < limiter.retry_after("a") <= 61
    assert limiter.retry_after("b") == 0
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_after_sign_in_only_a_console_path_is_followed() -> None:
    assert _next("/console/keys?x=1") == "/console/keys?x=1"
    for bad in ("https://evil.example/", "//evil.example/console/", "/console/\\evil", "/admin/keys",
                "/console/login", None):
        assert _next(bad) == "/console/"


def test_every_string_the_templates_use_is_translated() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        used.update(re.findall(r"""\bt\(["']([a-z0-9_]+)["']\)""", text))
        prefixes.update(re.findall(r"""\bt\(["']([a-z0-9_]+_)["'] \+""", text))
    missing = sorted(k for k in used if k not in STRINGS)
    assert missing == []
    for prefix in prefixes:  # t("window_" + name) and the like
        assert any(k.startswith(prefix) for k in STRINGS), prefix
    for key, (zh, en) in STRINGS.items():
        assert zh and en, key
        assert set(re.findall(r"\{\w+\}", zh)) == set(re.findall(r"\{\w+\}", en)), key


def test_chinese_is_the_default_and_english_is_asked_for_by_name() -> None:
    assert pick_lang(None, None) == "zh-CN"
    assert pick_lang("en", None) == "en"
    assert pick_lang(None, "en") == "en"
    assert pick_lang("fr", None) == "zh-CN"
    assert Translator("en")("overview") == "Overview"
    assert Translator("zh-CN")("no_such_string") == "no_such_string"


def test_latency_quantiles_come_from_the_histogram_buckets() -> None:
    h = Histogram()
    assert quantile(h, 0.5) is None
    for v in [0.02] * 90 + [0.4] * 10:
        h.observe(v)
    assert 10 < quantile(h, 0.5) <= 25  # type: ignore[operator]
    assert 250 < quantile(h, 0.95) <= 500  # type: ignore[operator]


def test_the_session_secret_file_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / ".banjia" / "console.secret"
    first = _file_secret(path)
    assert _file_secret(path) == first and len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["console.secret"]  # no temporary file left
