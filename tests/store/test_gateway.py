"""End to end through a real banjia server and the fake upstream, on SQLite and PostgreSQL:
the admin API, quota refusal before any provider, and an exact ledger under streaming load with
clients that hang up mid-stream."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from banjia.store import Store, open_store
from banjia.store.schema import ledger
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import config_for, store_settings

WORDS = " ".join(f"w{i}" for i in range(24))  # the fake echoes them back, one chunk per word


def store_gateway_config(fake: FakeOpenAI, db_url: str, **store: Any) -> dict[str, Any]:
    return {
        "server": {"master_key": MASTER_KEY},
        "store": {**store_settings(db_url), **store},
        "providers": {"fake": fake_provider(fake)},
        "models": {"gpt-4o": ["fake/echo"], "slow-stream": ["fake/slowchunks:0.02"],
                   "text-embedding-3-small": ["fake/embed"]},
    }


@pytest.fixture
def gw(fake: FakeOpenAI, db_url: str) -> Iterator[Gateway]:
    g = Gateway(store_gateway_config(fake, db_url))
    yield g
    g.stop()


@pytest.fixture
async def reader(db_url: str) -> Any:
    """A store on the gateway's database, for reading what it wrote."""
    s = await open_store(config_for(db_url), background=False)
    yield s
    await s.aclose()


def admin(g: Gateway, method: str, path: str, key: str | None = MASTER_KEY,
          **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, g.root + path, headers=headers, timeout=30, **kw)


def create_key(g: Gateway, **body: Any) -> dict[str, Any]:
    r = admin(g, "POST", "/admin/keys", json={"name": "app", **body})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


# -- admin API -------------------------------------------------------------------------------------
def test_admin_api_needs_the_master_key(gw: Gateway) -> None:
    assert admin(gw, "GET", "/admin/keys", key=None).status_code == 401
    r = admin(gw, "GET", "/admin/keys", key="sk-banjia-wrong")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    virtual = create_key(gw)["key"]
    for method, path in (("GET", "/admin/keys"), ("POST", "/admin/keys"),
                         ("DELETE", "/admin/keys/x"), ("GET", "/admin/usage")):
        r = admin(gw, method, path, key=virtual, json={"name": "x"})
        assert r.status_code == 403, (method, path)
        assert r.json()["error"]["type"] == "permission_error"


def test_admin_key_lifecycle(gw: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = create_key(gw, quota_tokens=1000, quota_cny=2.5, models=["gpt-4o"], rpm=10,
                         tpm=5000, expires_at="2099-01-01T00:00:00Z")
    assert isinstance(created["id"], str) and created["key"].startswith("sk-banjia-")
    assert (created["quota_tokens"], created["quota_cny"], created["models"], created["rpm"],
            created["tpm"]) == (1000, 2.5, ["gpt-4o"], 10, 5000)
    listed = admin(gw, "GET", "/admin/keys").json()["data"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and mine["prefix"] == created["prefix"]
    r = admin(gw, "POST", f"/admin/keys/{created['id']}/grants",
              json={"tokens": 22_000_000, "note": "free grant"})
    assert r.status_code == 201 and r.json()["key"]["quota_tokens"] == 22_001_000
    client = openai.OpenAI(base_url=gw.base_url, api_key=created["key"], max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert admin(gw, "DELETE", f"/admin/keys/{created['id']}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert admin(gw, "DELETE", "/admin/keys/key_nope").status_code == 404
    assert admin(gw, "POST", "/admin/keys/key_nope/grants", json={"tokens": 1}).status_code == 404
    secret = created["key"][len("sk-banjia-"):]
    assert caplog.records and not any(secret in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "rpm": -1},
                                  {"name": "x", "expires_at": "soon"},
                                  {"name": "x", "colour": "red"}])
def test_bad_key_requests_are_400_in_openai_shape(gw: Gateway, body: dict[str, Any]) -> None:
    r = admin(gw, "POST", "/admin/keys", json=body)
    assert r.status_code == 400
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_allowlist_is_enforced_by_the_gateway(gw: Gateway) -> None:
    key = create_key(gw, models=["text-embedding-3-small"])["key"]
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    client.embeddings.create(model="text-embedding-3-small", input="x")


def test_usage_report_over_http(gw: Gateway) -> None:
    created = create_key(gw)
    client = openai.OpenAI(base_url=gw.base_url, api_key=created["key"], max_retries=0)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o",
                                       messages=[{"role": "user", "content": "a b c"}])
    r = admin(gw, "GET", "/admin/usage", params={"by": "key", "since": "1h"})
    assert r.status_code == 200
    report = r.json()
    assert report["by"] == "key" and report["since"].endswith("Z")
    row = next(x for x in report["rows"] if x["group"] == created["id"])
    # the fake counts words: prompt 3, answer "echo: a b c" 4
    assert (row["requests"], row["prompt_tokens"], row["completion_tokens"]) == (3, 9, 12)
    assert row["saving_cny"] == pytest.approx(row["openai_cost_cny"] - row["cost_cny"])
    assert admin(gw, "GET", "/admin/usage", params={"by": "colour"}).status_code == 400


# -- quotas and limits through the gateway -----------------------------------------------------------
def test_quota_refusal_happens_before_the_provider(gw: Gateway, fake: FakeOpenAI) -> None:
    key = create_key(gw, quota_tokens=50)["key"]
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)
    before = len(fake.state.requests)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="gpt-4o", max_tokens=100,
                                       messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "insufficient_quota"
    assert len(fake.state.requests) == before  # no provider was called
    client.chat.completions.create(model="gpt-4o", max_tokens=20,
                                   messages=[{"role": "user", "content": "x"}])
    assert len(fake.state.requests) == before + 1


def test_rpm_through_the_gateway_answers_retry_after(gw: Gateway) -> None:
    key = create_key(gw, rpm=2)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    codes = [httpx.post(gw.base_url + "/chat/completions", json=body, headers=headers).status_code
             for _ in range(2)]
    r = httpx.post(gw.base_url + "/chat/completions", json=body, headers=headers)
    assert codes == [200, 200] and r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1 and r.json()["error"]["code"] == "rate_limit_exceeded"


# -- the ledger under streaming load -----------------------------------------------------------------
async def _ledger_rows(reader: Store, key_id: str) -> list[dict[str, Any]]:
    async with reader.db.read() as conn:
        result = await conn.execute(select(ledger).where(ledger.c.key_id == key_id))
        return [dict(r._mapping) for r in result.all()]


async def test_streams_with_disconnects_are_billed_exactly(gw: Gateway, fake: FakeOpenAI,
                                                           reader: Store) -> None:
    n, quitters = 60, set(random.Random(7).sample(range(60), 6))  # 10% hang up mid-stream
    created = create_key(gw, quota_tokens=10_000_000)
    client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=created["key"], max_retries=0,
                                http_client=None)
    reported_before = len(fake.state.usage_sent)

    async def one(i: int) -> None:
        stream = await client.chat.completions.create(
            model="slow-stream", stream=True, messages=[{"role": "user", "content": WORDS}],
            stream_options={"include_usage": True} if i % 2 else None)  # type: ignore[arg-type]
        seen = 0
        async for _ in stream:
            seen += 1
            if i in quitters and seen == 3:
                await stream.close()  # the client goes away mid-answer
                return

    await asyncio.gather(*(one(i) for i in range(n)))
    deadline = time.monotonic() + 20
    while len(rows := await _ledger_rows(reader, created["id"])) < n:
        assert time.monotonic() < deadline, f"{len(rows)} of {n} rows"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    rows = await _ledger_rows(reader, created["id"])
    assert len(rows) == n == len({r["request_id"] for r in rows})
    reported = fake.state.usage_sent[reported_before:]
    exact = [r for r in rows if not r["usage_estimated"]]
    assert len(exact) == len(reported) == n - len(quitters)
    assert sum(r["prompt_tokens"] for r in exact) == sum(u["prompt"] for u in reported)
    assert sum(r["completion_tokens"] for r in exact) == sum(u["completion"] for u in reported)
    gone = [r for r in rows if r["client_disconnected"]]
    assert len(gone) == len(quitters)
    # billed for what was produced: something, but less than the whole answer
    assert all(0 < r["completion_tokens"] < 25 and r["usage_estimated"] for r in gone)
    assert all(r["stream"] and r["status"] == 200 for r in rows)
    key = await reader.keys.get(created["id"])
    assert key is not None and key.reserved_tokens == 0
    assert key.used_tokens == sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    await client.close()


async def test_concurrent_requests_cannot_overspend_a_small_quota(gw: Gateway,
                                                                  reader: Store) -> None:
    worst = 24 + 25  # the most one request can use: 24 prompt words, "echo:" and 24 words back
    created = create_key(gw, quota_tokens=400)
    client = openai.AsyncOpenAI(base_url=gw.base_url, api_key=created["key"], max_retries=0)

    async def one() -> int:
        try:
            await client.chat.completions.create(
                model="gpt-4o", max_tokens=30, messages=[{"role": "user", "content": WORDS}])
        except openai.RateLimitError as e:
            assert e.code == "insufficient_quota"
            return 0
        return 1

    served = sum(await asyncio.gather(*(one() for _ in range(40))))
    await client.close()
    assert 0 < served < 40
    assert admin(gw, "GET", "/admin/usage?by=key").status_code == 200  # flushes the ledger
    key = await reader.keys.get(created["id"])
    assert key is not None and key.used_tokens <= 400 + worst and key.reserved_tokens == 0
    rows = await _ledger_rows(reader, created["id"])
    assert len(rows) == 40

