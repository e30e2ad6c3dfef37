"""Real databases for the store tests: a SQLite file per test and one PostgreSQL database per
session (created here, dropped at the end), plus Redis under a random key prefix.

PostgreSQL and Redis must be reachable (BANJIA_TEST_PG, BANJIA_TEST_REDIS override the loopback
defaults): when they are not, the tests fail — they never skip.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from banjia.config import Config, ServerConfig, StoreConfig
from banjia.context import KeyInfo, RequestContext
from banjia.store import Store, open_store

PG_ADMIN = os.environ.get("BANJIA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BANJIA_TEST_REDIS", "redis://127.0.0.1:6379/0")
T = TypeVar("T")
TABLES = ("banjia_keys, banjia_grants, banjia_reservations, banjia_instances, banjia_ledger, "
          "banjia_ledger_rejected")


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, also while a loop is running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(PG_ADMIN), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (each xdist worker gets its own)."""
    name = f"banjia_test_{secrets.token_hex(5)}"
    blocking(_admin(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    blocking(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(_pg_dsn(url), timeout=10)
    try:
        exists = await conn.fetchval("SELECT to_regclass('banjia_keys') IS NOT NULL")
        if exists:
            await conn.execute(f"TRUNCATE {TABLES}")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on PostgreSQL (emptied before each test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'banjia.db'}"
    url: str = request.getfixturevalue("pg_url")
    blocking(_truncate(url))
    return url


# PostgreSQL stores journal their ledger rows under the working directory by default; tests keep
# them in one temporary directory of the session instead (SQLite's sit beside its file)
_PG_JOURNALS = tempfile.mkdtemp(prefix="banjia-journals-")


def store_settings(url: str) -> dict[str, Any]:
    """The ``store:`` section of a gateway config for ``url``."""
    return {"url": url} if url.startswith("sqlite") else {"url": url, "journal_dir": _PG_JOURNALS}


def config_for(url: str, *, redis_url: str | None = None, master_key: str | None = None) -> Config:
    journals = None if url.startswith("sqlite") else _PG_JOURNALS
    return Config(server=ServerConfig(master_key=master_key),
                  store=StoreConfig(url=url, redis_url=redis_url, journal_dir=journals))


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await open_store(config_for(db_url), flush_interval=0.02)
    yield s
    await s.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix nobody else uses; only its keys are deleted afterwards."""
    prefix = f"banjia-test-{secrets.token_hex(6)}:"
    client = aioredis.Redis.from_url(REDIS)
    await client.ping()  # unreachable Redis: fail here, do not skip
    yield prefix
    keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


_seq = 0


def ctx_for(key: KeyInfo | None, *, prompt: int = 10, max_out: int | None = 90,
            model: str = "gpt-4o", endpoint: str = "chat", stream: bool = False) -> RequestContext:
    """A request as the gateway hands it to the accounting layer before admission."""
    global _seq
    _seq += 1
    ctx = RequestContext(request_id=f"{secrets.token_hex(8)}{_seq}", endpoint=endpoint, key=key,
                         model=model, stream=stream)
    ctx.prompt_tokens_estimate = prompt
    ctx.max_output_tokens = max_out
    return ctx


def finish(ctx: RequestContext, *, prompt: int = 10, completion: int = 50, cached: int = 0,
           reasoning: int = 0, provider: str = "qwen", provider_type: str = "dashscope",
           upstream_model: str = "qwen-plus", status: int = 200, **fields: Any) -> RequestContext:
    """What the gateway fills in by the time it calls ``record``."""
    ctx.provider, ctx.provider_type, ctx.upstream_model = provider, provider_type, upstream_model
    ctx.usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                 "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": cached},
                 "completion_tokens_details": {"reasoning_tokens": reasoning}}
    ctx.status = status
    ctx.first_token = ctx.started + 0.01
    ctx.finished = time.monotonic()
    for k, v in fields.items():
        setattr(ctx, k, v)
    return ctx


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "banjia.db"
