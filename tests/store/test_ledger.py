"""The ledger: one row per request, written in batches off the request path, nothing lost on a
graceful shutdown, never a row twice; costs from the catalog with cached tokens counted once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from banjia.catalog import openai_cost_cny, price_cny
from banjia.context import KeyInfo, RequestContext
from banjia.store import Store, open_store
from banjia.store.ledger import LedgerWriter, ledger_row, usage_of
from banjia.store.schema import from_nano, ledger
from tests.store.conftest import config_for, ctx_for, finish


async def _key(store: Store, **kw: object) -> KeyInfo:
    _, plaintext = await store.keys.create(name="app", **kw)  # type: ignore[arg-type]
    info = await store.authenticator.authenticate(plaintext)
    assert info is not None
    return info


async def _rows(store: Store) -> list[dict[str, object]]:
    async with store.db.read() as conn:
        result = await conn.execute(select(ledger).order_by(ledger.c.id))
        return [dict(r._mapping) for r in result.all()]


async def test_record_queues_without_touching_the_database(db_url: str) -> None:
    store = await open_store(config_for(db_url), flush_interval=60)  # no background flush now
    key = await _key(store)
    started = time.perf_counter()
    for _ in range(1000):
        ctx = ctx_for(key)
        await store.accounting.admit(ctx)
        store.accounting.record(finish(ctx))
    assert time.perf_counter() - started < 2.0
    assert store.accounting.ledger.pending == 1000 and await _rows(store) == []
    await store.aclose()  # a graceful shutdown writes everything
    reopened = await open_store(config_for(db_url))
    assert len(await _rows(reopened)) == 1000
    await reopened.aclose()


async def test_rows_are_written_in_batches_by_the_background_task(store: Store) -> None:
    key = await _key(store)
    for _ in range(300):
        ctx = ctx_for(key)
        await store.accounting.admit(ctx)
        store.accounting.record(finish(ctx))
    deadline = time.monotonic() + 5
    while store.accounting.ledger.rows < 300:
        assert time.monotonic() < deadline
        import asyncio
        await asyncio.sleep(0.01)
    assert store.accounting.ledger.batches < 30
    assert len(await _rows(store)) == 300


async def test_one_row_holds_everything_about_the_request(store: Store) -> None:
    key = await _key(store, quota_tokens=10_000)
    ctx = ctx_for(key, prompt=1000, max_out=500, model="gpt-4o", stream=True)
    await store.accounting.admit(ctx)
    finish(ctx, prompt=1000, completion=200, cached=600, reasoning=50, provider="ds",
           provider_type="deepseek", upstream_model="deepseek-chat", client_disconnected=True)
    ctx.usage_estimated = True
    store.accounting.record(ctx)
    await store.flush()
    [row] = await _rows(store)
    assert row["request_id"] == ctx.request_id and row["key_id"] == key.id
    assert (row["model"], row["provider"], row["provider_type"], row["upstream_model"]) == (
        "gpt-4o", "ds", "deepseek", "deepseek-chat")
    assert (row["endpoint"], row["status"], row["error_code"]) == ("chat", 200, None)
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"],
            row["reasoning_tokens"]) == (1000, 200, 600, 50)
    assert row["usage_estimated"] and row["stream"] and row["client_disconnected"]
    assert row["latency_ms"] is not None and row["latency_ms"] >= 0
    assert row["ttft_ms"] == pytest.approx(10.0)
    # cached tokens are part of the prompt: billed once, at the cache price
    assert from_nano(row["cost_nano_cny"]) == pytest.approx(  # type: ignore[arg-type]
        price_cny("deepseek", "deepseek-chat", 1000, 200, 600))
    assert price_cny("deepseek", "deepseek-chat", 1000, 200, 600) < price_cny(  # type: ignore[operator]
        "deepseek", "deepseek-chat", 1000, 200, 0)
    assert from_nano(row["openai_cost_nano_cny"]) == pytest.approx(  # type: ignore[arg-type]
        openai_cost_cny("gpt-4o", "chat", 1000, 200, 600))  # OpenAI's own cache rate for the 600


async def test_a_request_refused_at_admission_still_gets_its_row(store: Store) -> None:
    key = await _key(store, quota_tokens=1)
    ctx = ctx_for(key)
    try:
        await store.accounting.admit(ctx)
    except Exception as e:
        ctx.status, ctx.error_code = 429, getattr(e, "code", None)
    store.accounting.record(ctx)
    await store.flush()
    [row] = await _rows(store)
    assert (row["status"], row["error_code"], row["prompt_tokens"]) == (429, "insufficient_quota", 0)
    assert row["provider"] is None and row["cost_nano_cny"] is None


async def test_a_request_recorded_twice_is_one_row_and_billed_once(store: Store) -> None:
    key = await _key(store, quota_tokens=10_000)
    ctx = ctx_for(key, prompt=10, max_out=90)
    await store.accounting.admit(ctx)
    finish(ctx, prompt=10, completion=40)
    store.accounting.record(ctx)
    await store.flush()
    store.accounting.record(ctx)  # a retried flush carries the same request again
    await store.flush()
    assert len(await _rows(store)) == 1
    after = await store.keys.get(key.id)
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (50, 0)


async def test_a_batch_retried_after_an_unclear_commit_changes_nothing(store: Store) -> None:
    key = await _key(store, quota_tokens=10_000)
    contexts = []
    for _ in range(5):
        ctx = ctx_for(key, prompt=10, max_out=90)
        await store.accounting.admit(ctx)
        contexts.append(finish(ctx, prompt=10, completion=40))
    writer = LedgerWriter(store.db)
    for ctx in contexts:
        writer.put(ledger_row(ctx), reserved=True)
    await writer.flush()
    for ctx in contexts:  # the same batch again, as if the first commit's answer was lost
        writer.put(ledger_row(ctx), reserved=True)
    await writer.flush()
    assert len(await _rows(store)) == 5
    after = await store.keys.get(key.id)
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (250, 0)


async def test_over_long_fields_are_cut_not_lost(store: Store) -> None:
    key = await _key(store)
    ctx = ctx_for(key, model="m" * 500)
    store.accounting.record(finish(ctx, upstream_model="u" * 500, error_code="e" * 500))
    await store.flush()
    [row] = await _rows(store)
    assert row["model"] == "m" * 200


async def test_rows_without_a_key_are_kept(store: Store) -> None:
    ctx = RequestContext(request_id="no-key-1", endpoint="embeddings", model="text-embedding-3-small")
    store.accounting.record(finish(ctx, completion=0))
    await store.flush()
    async with store.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(ledger))).scalar() == 1


@pytest.mark.parametrize(("usage", "expected"), [
    ({"prompt_tokens": 10, "completion_tokens": 5}, (10, 5, 0, 0)),
    ({"prompt_tokens": 10, "completion_tokens": 5,
      "prompt_tokens_details": {"cached_tokens": 40}}, (10, 5, 10, 0)),  # never above the prompt
    ({"prompt_tokens": -3, "completion_tokens": None}, (0, 0, 0, 0)),
    ({"input_tokens": 7, "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 2}},
     (7, 3, 0, 2)),
    (None, (0, 0, 0, 0)),
])
def test_usage_is_read_defensively(usage: dict[str, object] | None,
                                   expected: tuple[int, int, int, int]) -> None:
    u = usage_of(usage)
    assert (u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens) == expected


def test_unknown_models_have_no_price_but_an_openai_equivalent() -> None:
    ctx = finish(ctx_for(None), provider_type="openai", upstream_model="my-own-model")
    row = ledger_row(ctx)
    assert row["cost_nano_cny"] is None and row["openai_cost_nano_cny"] > 0


async def test_a_row_reads_back_as_written_and_times_keep_their_order(store: Store) -> None:
    """The batch INSERT goes to the driver without SQLAlchemy's per-value processing: every column
    must still read back through SQLAlchemy as it was queued, and on SQLite a time is the text
    SQLAlchemy itself writes (with microseconds even when they are 0, so text order is time order)."""
    import datetime as dt

    from sqlalchemy import insert


    writer = LedgerWriter(store.db)
    base = {
        "key_id": None, "endpoint": "chat/completions", "model": "m", "provider": "p",
        "provider_type": "openai", "upstream_model": "u", "status": 200, "error_code": None,
        "prompt_tokens": 2**40, "completion_tokens": 7, "cached_tokens": 1, "reasoning_tokens": 0,
        "usage_estimated": True, "cost_nano_cny": None, "openai_cost_nano_cny": 5,
        "latency_ms": 1.25, "ttft_ms": None, "stream": True, "client_disconnected": False,
        "batch": False,
    }
    whole = dt.datetime(2026, 12, 6, 10, 0, 0, tzinfo=dt.UTC)
    later = dt.datetime(2026, 12, 6, 18, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    naive = dt.datetime(2026, 12, 6, 10, 0, 0, 1)  # naive is UTC
    for rid, at in (("r-whole", whole), ("r-later", later), ("r-naive", naive)):
        writer.put({**base, "request_id": rid, "created_at": at}, reserved=False)
    await writer.flush()
    # and one written by SQLAlchemy itself, to compare with
    async with store.db.write() as conn:
        await conn.execute(insert(ledger), [{**base, "request_id": "r-sqla", "created_at": whole}])
    rows = {r["request_id"]: r for r in await _rows(store)}
    assert rows["r-whole"]["created_at"] == whole
    assert rows["r-later"]["created_at"] == later  # 10:00:00.000005 UTC
    assert rows["r-naive"]["created_at"] == naive.replace(tzinfo=dt.UTC)
    for r in rows.values():
        assert {k: r[k] for k in base} == base
    async with store.db.read() as conn:
        if store.db.dialect == "sqlite":
            raw = dict((await conn.exec_driver_sql(
                "SELECT request_id, created_at FROM banjia_ledger")).all())
            assert raw["r-whole"] == raw["r-sqla"] == "2026-12-06 10:00:00.000000"
        ordered = (await conn.execute(
            select(ledger.c.request_id).where(ledger.c.request_id != "r-sqla")
            .order_by(ledger.c.created_at))).scalars().all()
    assert ordered == ["r-whole", "r-naive", "r-later"]


async def test_a_full_batch_is_written_within_the_databases_parameter_limit(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """500 queued rows (one batch) are written, also where the database takes only 999 parameters
    a statement (SQLite before 3.32): then in statements of 45 rows, in one transaction."""
    from sqlalchemy import event

    from banjia.store.ledger import BATCH

    inserts: list[int] = []  # parameters of each INSERT into the ledger

    def count(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if statement.startswith("INSERT INTO banjia_ledger "):
            assert isinstance(params, tuple | list)
            inserts.append(len(params))

    monkeypatch.setattr(store.db.engine.dialect, "insertmanyvalues_max_parameters", 999)
    event.listen(store.db.engine.sync_engine, "before_cursor_execute", count)
    writer = LedgerWriter(store.db)
    for _ in range(BATCH):
        writer.put(ledger_row(finish(ctx_for(None))), reserved=False)
    try:
        await writer.flush()
    finally:
        event.remove(store.db.engine.sync_engine, "before_cursor_execute", count)
    assert (writer.batches, writer.rows) == (1, BATCH)
    assert len(await _rows(store)) == BATCH
    assert len(inserts) == -(-BATCH // 45) and max(inserts) <= 999  # 45 rows of 22 values each
