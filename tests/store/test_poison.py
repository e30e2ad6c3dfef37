"""One client's odd input cannot stop the ledger for everyone: control characters never reach
the database, a row the database refuses all the same is set aside (and its quota settled)
while the rows behind it are written, and an unreachable database loses nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from banjia.context import KeyInfo
from banjia.store import Store
from banjia.store._engine import Database, async_url
from banjia.store.ledger import LedgerWriter, ledger_row
from banjia.store.schema import ledger, ledger_rejected
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import ctx_for, finish, store_settings
from tests.store.test_gateway import admin, create_key


async def _key(store: Store, **quota: object) -> KeyInfo:
    _, plaintext = await store.keys.create(name="app", **quota)  # type: ignore[arg-type]
    info = await store.authenticator.authenticate(plaintext)
    assert info is not None
    return info


async def _rows(store: Store, table: Any = ledger) -> list[dict[str, Any]]:
    async with store.db.read() as conn:
        return [dict(r._mapping) for r in (await conn.execute(select(table))).all()]


# -- through the server ----------------------------------------------------------------------------
@pytest.fixture
def gw(fake: FakeOpenAI, db_url: str) -> Iterator[Gateway]:
    g = Gateway({"server": {"master_key": MASTER_KEY}, "store": store_settings(db_url),
                 "providers": {"fake": fake_provider(fake)},
                 "models": {"gpt-4o": ["fake/echo"], "odd-upstream": ["fake/nulcode"]}})
    yield g
    g.stop()


def test_a_nul_in_a_model_name_does_not_stop_billing(gw: Gateway) -> None:
    key = create_key(gw, quota_tokens=10_000)
    headers = {"Authorization": f"Bearer {key['key']}"}
    poisoned = {"model": "x\u0000", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=poisoned, headers=headers, timeout=30)
    assert 400 <= r.status_code < 500, r.text
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "one two"}]}
    for _ in range(3):
        r = httpx.post(gw.base_url + "/chat/completions", json=body, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
    usage = admin(gw, "GET", "/admin/usage", params={"by": "model"})
    assert usage.status_code == 200, usage.text
    by_model = {row["group"]: row for row in usage.json()["rows"]}
    assert by_model["gpt-4o"]["requests"] == 3 and by_model["gpt-4o"]["total_tokens"] == 3 * 5
    state = admin(gw, "GET", f"/admin/keys/{key['id']}").json()
    assert state["used_tokens"] == 15 and state["remaining_tokens"] == 10_000 - 15


def test_an_upstream_error_code_with_a_nul_does_not_stop_billing(gw: Gateway) -> None:
    key = create_key(gw, quota_tokens=10_000)
    headers = {"Authorization": f"Bearer {key['key']}"}
    odd = {"model": "odd-upstream", "messages": [{"role": "user", "content": "hi"}]}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "one two"}]}
    for request in (odd, body, odd, body):
        httpx.post(gw.base_url + "/chat/completions", json=request, headers=headers, timeout=30)
    usage = admin(gw, "GET", "/admin/usage", params={"by": "model"})
    assert usage.status_code == 200, usage.text
    by_model = {row["group"]: row for row in usage.json()["rows"]}
    assert by_model["gpt-4o"]["requests"] == 2 and by_model["odd-upstream"]["requests"] == 2
    state = admin(gw, "GET", f"/admin/keys/{key['id']}").json()
    assert state["used_tokens"] == 10 and state["remaining_tokens"] == 10_000 - 10
    rows = admin(gw, "GET", "/admin/requests", params={"model": "odd-upstream"}).json()["rows"]
    assert [r["error_code"] for r in rows] == ["bad\ufffdcode"] * 2


def test_control_characters_in_admin_text_are_a_400_naming_the_field(gw: Gateway) -> None:
    r = admin(gw, "POST", "/admin/keys", json={"name": "team\u0000a"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "name", r.text
    assert "control characters" in r.json()["error"]["message"]
    r = admin(gw, "POST", "/admin/keys", json={"name": "a", "models": ["gpt-4o\u0000"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "models"
    key = create_key(gw, quota_tokens=10)
    r = admin(gw, "POST", f"/admin/keys/{key['id']}/grants", json={"tokens": 5, "note": "\u0000"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "note"
    r = admin(gw, "POST", f"/admin/keys/{key['id']}/grants",
              json={"tokens": 5, "note": "line one\nline two"})
    assert r.status_code == 201 and r.json()["note"] == "line one\nline two"
    for method in ("GET", "DELETE"):
        assert admin(gw, method, "/admin/keys/key_%00x").status_code == 404
    r = admin(gw, "POST", "/admin/keys/key_%00x/grants", json={"tokens": 5})
    assert r.status_code == 404
    assert admin(gw, "GET", "/admin/usage", params={"since": "\u0000"}).status_code == 400


# -- the store on its own --------------------------------------------------------------------------
async def test_control_characters_in_a_ledger_row_are_cleaned(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    ctx = ctx_for(key, model="x\u0000y\ud800", prompt=10, max_out=90)
    await store.accounting.admit(ctx)
    finish(ctx, provider="p\u0000", upstream_model="m\x1b", error_code="e\u0000", status=200)
    store.accounting.record(ctx)
    await store.flush()
    [row] = await _rows(store)
    assert (row["model"], row["provider"], row["upstream_model"], row["error_code"]) == (
        "x\ufffdy\ufffd", "p\ufffd", "m\ufffd", "e\ufffd")
    after = await store.keys.get(key.id)
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (60, 0)


async def test_a_row_the_database_refuses_is_set_aside_and_the_rest_written(store: Store) -> None:
    key = await _key(store, quota_tokens=10_000)
    writer = LedgerWriter(store.db)
    contexts = []
    for i in range(5):
        ctx = ctx_for(key, prompt=10, max_out=90)
        await store.accounting.admit(ctx)
        contexts.append(finish(ctx, prompt=10, completion=40))
        row = ledger_row(ctx)
        if i == 2:  # a value no BIGINT column holds: both databases refuse the statement
            row["prompt_tokens"] = 2**64
        writer.put(row, reserved=True)
    await writer.flush()
    assert writer.pending == 0 and writer.rejected == 1
    written = {r["request_id"] for r in await _rows(store)}
    assert written == {c.request_id for i, c in enumerate(contexts) if i != 2}
    [kept] = await _rows(store, ledger_rejected)
    assert kept["request_id"] == contexts[2].request_id
    assert orjson.loads(kept["row"])["prompt_tokens"] == 2**64 and kept["error"]
    after = await store.keys.get(key.id)
    # every reservation is returned; the refused row's usage could not be counted (it was the
    # poison), the others' is
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (4 * 50, 0)


def _unreachable(db_url: str, tmp_path: Path) -> Database:
    if db_url.startswith("sqlite"):
        gone = tmp_path / "gone"
        gone.mkdir()
        engine = create_async_engine(async_url(f"sqlite:///{gone / 'x.db'}"))
        shutil.rmtree(gone)  # SQLite cannot open a file in a directory that is not there
        return Database(engine)
    return Database(create_async_engine(async_url("postgresql://postgres@127.0.0.1:1/none")))


async def test_an_unreachable_database_keeps_the_rows_queued(db_url: str, tmp_path: Path) -> None:
    db = _unreachable(db_url, tmp_path)
    writer = LedgerWriter(db)
    for _ in range(3):
        writer.put(ledger_row(finish(ctx_for(None))), reserved=False)
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whatever it is
        await writer.flush()
    assert writer.pending == 3 and writer.rejected == 0
    await db.engine.dispose()
