"""RPM and TPM per key: 429 with retry-after; in the process, or in Redis shared by replicas."""

from __future__ import annotations

import asyncio

import pytest

from banjia.context import KeyInfo
from banjia.errors import APIError
from banjia.store import Store, open_store
from banjia.store.limits import WINDOW, LocalLimiter, wait_seconds
from tests.store.conftest import REDIS, config_for, ctx_for, finish


async def _key(store: Store, **limits: int) -> KeyInfo:
    _, plaintext = await store.keys.create(name="app", **limits)  # type: ignore[arg-type]
    info = await store.authenticator.authenticate(plaintext)
    assert info is not None
    return info


async def _refusal(store: Store, key: KeyInfo, **kw: int) -> APIError:
    with pytest.raises(APIError) as e:
        await store.accounting.admit(ctx_for(key, **kw))  # type: ignore[arg-type]
    return e.value


def _assert_rate_limited(e: APIError, unit: str) -> None:
    assert (e.status, e.code, e.type) == (429, "rate_limit_exceeded", unit)
    assert 1 <= int(e.headers["retry-after"]) <= 2 * WINDOW
    assert int(e.headers["retry-after-ms"]) > 0


async def test_rpm_refuses_the_request_over_the_limit(store: Store) -> None:
    key = await _key(store, rpm=3)
    for _ in range(3):
        await store.accounting.admit(ctx_for(key))
    _assert_rate_limited(await _refusal(store, key), "requests")


async def test_rpm_is_per_key(store: Store) -> None:
    a, b = await _key(store, rpm=1), await _key(store, rpm=1)
    await store.accounting.admit(ctx_for(a))
    await store.accounting.admit(ctx_for(b))


async def test_tpm_counts_prompt_and_allowed_output(store: Store) -> None:
    key = await _key(store, tpm=1000)
    await store.accounting.admit(ctx_for(key, prompt=100, max_out=700))
    _assert_rate_limited(await _refusal(store, key, prompt=100, max_out=200), "tokens")
    await store.accounting.admit(ctx_for(key, prompt=100, max_out=100))


async def test_tpm_is_corrected_to_actual_usage(store: Store) -> None:
    key = await _key(store, tpm=1000)
    ctx = ctx_for(key, prompt=100, max_out=800)
    await store.accounting.admit(ctx)
    store.accounting.record(finish(ctx, prompt=100, completion=20))  # used 120 of 900 charged
    await store.accounting._limiter.aclose()  # let a Redis correction land (no-op locally)
    await store.accounting.admit(ctx_for(key, prompt=100, max_out=700))


async def test_a_request_larger_than_tpm_passes_when_the_window_is_empty(store: Store) -> None:
    key = await _key(store, tpm=100)
    await store.accounting.admit(ctx_for(key, prompt=50, max_out=1000))


def test_retry_after_is_when_the_sliding_window_admits_again() -> None:
    # 60 requests at the very end of the previous window, limit 60: the estimate falls by one
    # request per second of the new window
    assert wait_seconds(60, 0, 0.0, 60, 1) == pytest.approx(1.0)
    assert wait_seconds(0, 60, 0.5, 60, 1) == pytest.approx(30 + 1.0)
    assert wait_seconds(10, 5, 0.5, 60, 1) == 0.0


def test_local_limiter_window_rolls_over() -> None:
    now = [1000 * WINDOW + 59.0]
    limiter = LocalLimiter(clock=lambda: now[0])
    assert limiter.acquire_now("k", 2, None, 0).wait == 0
    assert limiter.acquire_now("k", 2, None, 0).wait == 0
    refused = limiter.acquire_now("k", 2, None, 0)
    assert refused.wait == pytest.approx(31.0) and refused.unit == "requests"
    now[0] += 31.0  # half of the next window: the previous window counts half
    assert limiter.acquire_now("k", 2, None, 0).wait == 0
    now[0] += 2 * WINDOW
    assert limiter.acquire_now("k", 2, None, 0).wait == 0


async def test_redis_limits_are_shared_by_replicas(db_url: str, redis_prefix: str) -> None:
    config = config_for(db_url, redis_url=REDIS)
    a = await open_store(config, redis_prefix=redis_prefix)
    b = await open_store(config, redis_prefix=redis_prefix)
    try:
        key = await _key(a, rpm=4)
        for s in (a, b, a, b):
            await s.accounting.admit(ctx_for(key))
        _assert_rate_limited(await _refusal(a, key), "requests")
        _assert_rate_limited(await _refusal(b, key), "requests")
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_tpm_is_shared_and_corrected(db_url: str, redis_prefix: str) -> None:
    config = config_for(db_url, redis_url=REDIS)
    a = await open_store(config, redis_prefix=redis_prefix)
    b = await open_store(config, redis_prefix=redis_prefix)
    try:
        key = await _key(a, tpm=1000)
        ctx = ctx_for(key, prompt=100, max_out=800)
        await a.accounting.admit(ctx)
        _assert_rate_limited(await _refusal(b, key, prompt=100, max_out=100), "tokens")
        a.accounting.record(finish(ctx, prompt=100, completion=20))
        await a.accounting._limiter.aclose()  # wait for the correction to reach Redis
        await b.accounting.admit(ctx_for(key, prompt=100, max_out=700))
    finally:
        await a.aclose()
        await b.aclose()


async def test_unreachable_redis_falls_back_to_local_limits(db_url: str) -> None:
    store = await open_store(config_for(db_url, redis_url="redis://127.0.0.1:1/0"))
    try:
        key = await _key(store, rpm=1)
        await store.accounting.admit(ctx_for(key))
        _assert_rate_limited(await _refusal(store, key), "requests")
    finally:
        await store.aclose()


async def test_concurrent_admissions_never_exceed_rpm_via_redis(db_url: str,
                                                                redis_prefix: str) -> None:
    config = config_for(db_url, redis_url=REDIS)
    stores = [await open_store(config, redis_prefix=redis_prefix) for _ in range(3)]
    try:
        key = await _key(stores[0], rpm=10)
        results = await asyncio.gather(*(stores[i % 3].accounting.admit(ctx_for(key))
                                         for i in range(40)), return_exceptions=True)
        assert sum(r is None for r in results) == 10
    finally:
        for s in stores:
            await s.aclose()
