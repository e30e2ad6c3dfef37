"""Virtual keys: shown once, stored as a hash, expiring, revocable everywhere, limited to models."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from banjia.errors import APIError
from banjia.store import Store, StoreKey, ensure_master_key, open_store
from banjia.store.keys import CACHE_TTL, KEY_PREFIX, hash_key
from tests.store.conftest import config_for


async def test_created_key_authenticates_and_carries_its_limits(store: Store) -> None:
    record, key = await store.keys.create(name="app", models=["gpt-4o", "gpt-4o-mini"], rpm=60,
                                          tpm=10_000, quota_tokens=1000)
    assert key.startswith(KEY_PREFIX) and len(key) >= 50
    assert record.prefix == key[:len(record.prefix)] and len(record.prefix) < 20
    info = await store.authenticator.authenticate(key)
    assert isinstance(info, StoreKey)
    assert (info.id, info.name, info.is_master) == (record.id, "app", False)
    assert info.models == frozenset({"gpt-4o", "gpt-4o-mini"})
    assert (info.rpm, info.tpm, info.limited) == (60, 10_000, True)


async def test_unknown_and_foreign_tokens_are_refused(store: Store) -> None:
    await store.keys.create(name="app")
    assert await store.authenticator.authenticate(KEY_PREFIX + "x" * 40) is None
    assert await store.authenticator.authenticate("sk-proj-something") is None
    assert await store.authenticator.authenticate("") is None


async def test_allowlist_limits_models(store: Store) -> None:
    _, key = await store.keys.create(name="mini only", models=["gpt-4o-mini"])
    info = await store.authenticator.authenticate(key)
    assert info is not None
    assert info.may_use("gpt-4o-mini") and not info.may_use("gpt-4o")
    _, free = await store.keys.create(name="any model")
    info = await store.authenticator.authenticate(free)
    assert info is not None and info.models is None and info.may_use("anything")


async def _plaintext_in_postgres(url: str, needle: str) -> bool:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'banjia_%'")]
        for t in tables:
            if await conn.fetchval(
                    f"SELECT count(*) FROM {t} AS r WHERE r::text LIKE '%' || $1 || '%'", needle):
                return True
    finally:
        await conn.close()
    return False


async def test_keys_are_stored_only_as_hashes(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = await open_store(config_for(db_url), flush_interval=0.01)
    keys = [(await store.keys.create(name=f"k{i}", quota_tokens=10_000))[1] for i in range(3)]
    keys.append(await store.ensure_master_key() or "")
    assert keys[-1].startswith(KEY_PREFIX)
    for key in keys:  # use them: the ledger and reservations must not keep them either
        info = await store.authenticator.authenticate(key)
        assert info is not None
        from tests.store.conftest import ctx_for, finish
        ctx = ctx_for(info)
        await store.accounting.admit(ctx)
        store.accounting.record(finish(ctx))
    await store.flush()
    stored = [hash_key(k) for k in keys]
    if db_url.startswith("sqlite"):
        db_file = Path(make_url(db_url).database or "")
        blob = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
        for key, digest in zip(keys, stored, strict=True):
            assert key.encode() not in blob
            assert key[len(KEY_PREFIX):].encode() not in blob  # not even the random part
            assert digest.encode() in blob  # the file does hold the hashes (the check is live)
    else:
        for key in keys:
            assert not await _plaintext_in_postgres(db_url, key[len(KEY_PREFIX):])
        assert await _plaintext_in_postgres(db_url, stored[0])
    await store.aclose()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for key in keys:
        assert key[len(KEY_PREFIX):] not in logged


async def test_expired_key_is_refused(store: Store) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    _, old = await store.keys.create(name="old", expires_at=past)
    assert await store.authenticator.authenticate(old) is None
    soon = datetime.now(UTC) + timedelta(seconds=0.5)
    _, brief = await store.keys.create(name="brief", expires_at=soon)
    assert await store.authenticator.authenticate(brief) is not None
    await asyncio.sleep(0.6)
    # expiry is checked on every request, also while the lookup is cached
    assert await store.authenticator.authenticate(brief) is None


async def test_revocation_is_immediate_on_the_revoking_process(store: Store) -> None:
    record, key = await store.keys.create(name="app")
    assert await store.authenticator.authenticate(key) is not None
    assert await store.keys.revoke(record.id)
    assert await store.authenticator.authenticate(key) is None
    assert (await store.keys.get(record.id)).revoked_at is not None  # type: ignore[union-attr]


async def test_revocation_reaches_another_replica_within_the_cache_ttl(db_url: str) -> None:
    a = await open_store(config_for(db_url))
    b = await open_store(config_for(db_url))
    try:
        record, key = await a.keys.create(name="app")
        assert await b.authenticator.authenticate(key) is not None  # now cached on b
        await a.keys.revoke(record.id)
        started = time.monotonic()
        while await b.authenticator.authenticate(key) is not None:
            assert time.monotonic() - started < CACHE_TTL + 0.5
            await asyncio.sleep(0.05)
    finally:
        await a.aclose()
        await b.aclose()


async def test_revoking_an_unknown_key_says_so(store: Store) -> None:
    assert not await store.keys.revoke("key_nope")


async def test_grants_add_to_the_quota(store: Store) -> None:
    record, _ = await store.keys.create(name="app", quota_tokens=1000, quota_cny=1.5)
    result = await store.keys.grant(record.id, tokens=22_000_000, note="free grant")
    assert result is not None
    grant, after = result
    assert (grant.tokens, grant.cny, grant.note) == (22_000_000, None, "free grant")
    assert after.quota_tokens == 22_001_000 and after.quota_cny == 1.5
    _, after = await store.keys.grant(record.id, cny=0.25)  # type: ignore[misc]
    assert after.quota_cny == 1.75 and after.remaining_cny == 1.75
    assert [g.tokens for g in await store.keys.grants(record.id)] == [22_000_000, None]


async def test_a_grant_leaves_an_unlimited_unit_unlimited(store: Store) -> None:
    record, _ = await store.keys.create(name="app", quota_cny=1.0)
    _, after = await store.keys.grant(record.id, tokens=500)  # type: ignore[misc]
    assert after.quota_tokens is None and after.quota_cny == 1.0


async def test_grants_to_unknown_keys_and_empty_grants_are_refused(store: Store) -> None:
    assert await store.keys.grant("key_nope", tokens=5) is None
    record, _ = await store.keys.create(name="app", quota_tokens=5)
    with pytest.raises(APIError) as e:
        await store.keys.grant(record.id)
    assert e.value.status == 400
    with pytest.raises(APIError):
        await store.keys.grant(record.id, tokens=-5)


@pytest.mark.parametrize("bad", [{"name": ""}, {"name": "x", "rpm": 0}, {"name": "x", "tpm": 1.5},
                                 {"name": "x", "quota_tokens": -1}, {"name": "x", "models": [""]},
                                 {"name": "x", "quota_cny": True}])
async def test_invalid_key_settings_are_400(store: Store, bad: dict[str, object]) -> None:
    with pytest.raises(APIError) as e:
        await store.keys.create(**bad)  # type: ignore[arg-type]
    assert e.value.status == 400


async def test_configured_master_key_is_valid_and_master(db_url: str) -> None:
    store = await open_store(config_for(db_url, master_key="sk-banjia-configured-master-1"))
    try:
        info = await store.authenticator.authenticate("sk-banjia-configured-master-1")
        assert info is not None and info.is_master and info.id == "master"
        assert await store.authenticator.authenticate("sk-banjia-configured-master-2") is None
        assert await store.ensure_master_key() is None  # configured: nothing generated
    finally:
        await store.aclose()


async def test_generated_master_key_is_returned_once_and_kept_beside_sqlite(
        sqlite_path: Path) -> None:
    config = config_for(f"sqlite:///{sqlite_path}")
    key = await ensure_master_key(config)
    assert key is not None and key.startswith(KEY_PREFIX)
    assert await ensure_master_key(config) is None
    kept = sqlite_path.parent / ".banjia" / "master.key"
    assert kept.read_text().strip() == key
    assert kept.stat().st_mode & 0o777 == 0o600
    store = await open_store(config)
    try:
        info = await store.authenticator.authenticate(key)
        assert info is not None and info.is_master
    finally:
        await store.aclose()


async def test_generated_master_key_on_postgres_is_returned_once(db_url: str) -> None:
    store = await open_store(config_for(db_url))
    try:
        key = await store.ensure_master_key()
        assert key is not None
        assert await store.ensure_master_key() is None
        info = await store.authenticator.authenticate(key)
        assert info is not None and info.is_master
    finally:
        await store.aclose()
