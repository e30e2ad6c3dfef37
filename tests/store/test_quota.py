"""Quotas: refused before any provider when the remainder cannot cover the request, never
overspent by concurrent requests beyond one request's worth, released on failure."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from banjia.context import KeyInfo
from banjia.errors import APIError
from banjia.store import Store, open_store
from banjia.store.schema import instances, reservations
from tests.store.conftest import config_for, ctx_for, finish


async def _key(store: Store, **quota: object) -> KeyInfo:
    _, plaintext = await store.keys.create(name="app", **quota)  # type: ignore[arg-type]
    info = await store.authenticator.authenticate(plaintext)
    assert info is not None
    return info


async def test_a_request_the_remainder_cannot_cover_is_refused(store: Store) -> None:
    key = await _key(store, quota_tokens=150)
    await store.accounting.admit(ctx_for(key, prompt=10, max_out=90))  # reserves 100 of 150
    refused = ctx_for(key, prompt=10, max_out=90)
    with pytest.raises(APIError) as e:
        await store.accounting.admit(refused)
    assert (e.value.status, e.value.type, e.value.code) == (
        429, "insufficient_quota", "insufficient_quota")
    assert "50 tokens left" in e.value.message


async def test_settlement_charges_actual_usage_and_frees_the_rest(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    ctx = ctx_for(key, prompt=10, max_out=500)
    await store.accounting.admit(ctx)
    held = await store.keys.get(key.id)
    assert held is not None and held.reserved_tokens == 510 and held.remaining_tokens == 490
    store.accounting.record(finish(ctx, prompt=12, completion=30))
    await store.flush()
    after = await store.keys.get(key.id)
    assert after is not None
    assert (after.used_tokens, after.reserved_tokens, after.remaining_tokens) == (42, 0, 958)


async def test_a_failed_request_releases_its_reservation(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    ctx = ctx_for(key, prompt=10, max_out=500)
    await store.accounting.admit(ctx)
    ctx.usage, ctx.status, ctx.error_code = None, 502, "upstream_error"
    store.accounting.record(ctx)
    await store.flush()
    after = await store.keys.get(key.id)
    assert after is not None and (after.used_tokens, after.reserved_tokens) == (0, 0)


async def test_an_exhausted_key_admits_nothing_until_a_grant(store: Store) -> None:
    key = await _key(store, quota_tokens=100)
    ctx = ctx_for(key, prompt=10, max_out=90)
    await store.accounting.admit(ctx)
    store.accounting.record(finish(ctx, prompt=10, completion=90))
    await store.flush()
    with pytest.raises(APIError):
        await store.accounting.admit(ctx_for(key, prompt=0, max_out=0))
    await store.keys.grant(key.id, tokens=1000, note="top-up")
    await store.accounting.admit(ctx_for(key, prompt=10, max_out=90))


async def test_cny_quota_is_reserved_at_price_and_settled_at_cost(store: Store) -> None:
    key = await _key(store, quota_cny=0.01)
    ctx = ctx_for(key, prompt=1000, max_out=1000)
    ctx.provider_type, ctx.upstream_model = "dashscope", "qwen-plus"
    await store.accounting.admit(ctx)
    held = await store.keys.get(key.id)
    from banjia.catalog import price_cny
    expected = price_cny("dashscope", "qwen-plus", 1000, 1000)
    assert held is not None and expected and held.reserved_cny == pytest.approx(expected)
    store.accounting.record(finish(ctx, prompt=1000, completion=100))
    await store.flush()
    after = await store.keys.get(key.id)
    cost = price_cny("dashscope", "qwen-plus", 1000, 100)
    assert after is not None and after.used_cny == pytest.approx(cost) and after.reserved_cny == 0
    huge = ctx_for(key, prompt=1_000_000, max_out=1_000_000)
    huge.provider_type, huge.upstream_model = "dashscope", "qwen-plus"
    with pytest.raises(APIError) as e:
        await store.accounting.admit(huge)
    assert e.value.code == "insufficient_quota" and "CNY" in e.value.message


async def test_concurrent_requests_overspend_by_at_most_one_request(db_url: str) -> None:
    # two processes' worth of stores on one database, 120 requests racing for ~12 requests' quota
    stores = [await open_store(config_for(db_url), flush_interval=0.01) for _ in range(2)]
    quota, worst = 1200, 100
    key = await _key(stores[0], quota_tokens=quota)
    rng = random.Random(5)
    admitted = 0

    async def one(store: Store) -> None:
        nonlocal admitted
        ctx = ctx_for(key, prompt=10, max_out=worst - 10)
        try:
            await store.accounting.admit(ctx)
        except APIError as e:
            assert e.code == "insufficient_quota"
            ctx.status, ctx.error_code = 429, e.code
            store.accounting.record(ctx)
            return
        admitted += 1
        await asyncio.sleep(rng.random() * 0.02)
        store.accounting.record(finish(ctx, prompt=10, completion=rng.randint(40, worst - 10)))

    await asyncio.gather(*(one(stores[i % 2]) for i in range(120)))
    for s in stores:
        await s.flush()
    after = await stores[0].keys.get(key.id)
    assert after is not None
    assert after.reserved_tokens == 0
    assert after.used_tokens <= quota + worst
    assert quota // worst <= admitted < 120  # no request refused while its worst case still fit
    report = await stores[0].usage(by="key")
    row = next(r for r in report["rows"] if r["group"] == key.id)
    assert row["requests"] == 120 and row["total_tokens"] == after.used_tokens
    for s in stores:
        await s.aclose()


async def test_reservations_of_a_dead_process_return_to_the_key(db_url: str) -> None:
    dead = await open_store(config_for(db_url))
    key = await _key(dead, quota_tokens=1000)
    await dead.accounting.admit(ctx_for(key, prompt=100, max_out=800))
    # the process dies: no record, no shutdown (its tasks are merely stopped here)
    dead.accounting._closed = True
    if dead.accounting._task:
        dead.accounting._task.cancel()
    live = await open_store(config_for(db_url))
    try:
        held = await live.keys.get(key.id)
        assert held is not None and held.reserved_tokens == 900  # its heartbeat is still fresh
        async with live.db.write() as conn:
            await conn.execute(update(instances).where(
                instances.c.id == dead.accounting.instance_id).values(
                heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)))
        await live.accounting.heartbeat()
        after = await live.keys.get(key.id)
        assert after is not None and (after.reserved_tokens, after.remaining_tokens) == (0, 1000)
        async with live.db.read() as conn:
            assert (await conn.execute(select(reservations))).all() == []
    finally:
        await live.aclose()
        await dead.db.engine.dispose()


async def test_shutdown_returns_reservations_of_unfinished_requests(store: Store) -> None:
    key = await _key(store, quota_tokens=1000)
    await store.accounting.admit(ctx_for(key, prompt=100, max_out=800))
    await store.aclose()
    reopened = await open_store(config_for(str(store.config.store.url)))
    try:
        after = await reopened.keys.get(key.id)
        assert after is not None and after.reserved_tokens == 0
    finally:
        await reopened.aclose()


async def test_unlimited_keys_need_no_reservation(store: Store) -> None:
    key = await _key(store)
    ctx = ctx_for(key, prompt=10 ** 6, max_out=10 ** 6)
    await store.accounting.admit(ctx)
    assert not ctx.reservation.held
    store.accounting.record(finish(ctx, prompt=5, completion=5))
    await store.flush()
    after = await store.keys.get(key.id)
    assert after is not None and after.used_tokens == 10  # usage is still counted per key
