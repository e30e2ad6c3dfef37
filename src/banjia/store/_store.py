"""The store: one object holding the database, Redis, keys and accounting, and how to open it.

The master key is the config's ``server.master_key`` when set. Otherwise
:func:`ensure_master_key` generates one on the first start and returns it once; only its hash is
stored. With SQLite it also writes the key to ``.banjia/master.key`` beside the database file
(mode 0600), so that ``make run`` can show it again on later starts; delete the file once you have
stored the key elsewhere. A lost master key is replaced with ``banjia keys create --name admin
--master`` (the command line works on the database directly).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from banjia.config import Config
from banjia.pricing import Pricer
from banjia.store._engine import Database, create_engine, migrate, state_dir
from banjia.store.accounting import StoreAccounting
from banjia.store.journal import journal_dir
from banjia.store.keys import Keys
from banjia.store.limits import LocalLimiter, RateLimiter, RedisLimiter
from banjia.store.reports import recent_requests, usage_report

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "MASTER_KEY_FILE",
    "Store",
    "ensure_master_key",
    "master_key_file",
    "open_store",
    "upgrade",
]

log = logging.getLogger("banjia.store")

MASTER_KEY_FILE = "master.key"


class Store:
    """Keys, quotas, rate limits and the ledger over SQLite/PostgreSQL (and Redis)."""

    def __init__(self, config: Config, db: Database, redis: Redis | None,
                 limiter: RateLimiter, *, flush_interval: float = 0.1) -> None:
        self.config = config
        self.db = db
        self.redis = redis
        self.keys = Keys(db, config.server.master_key)
        self.accounting = StoreAccounting(
            db, limiter, flush_interval=flush_interval,
            journal_dir=journal_dir(config.store.url, config.store.journal_dir,
                                    state_dir(config.store.url)),
            prices=Pricer.from_config(config))
        self._closed = False

    @property
    def authenticator(self) -> Keys:
        return self.keys

    async def usage(self, *, since: datetime | None = None, by: str = "key") -> dict[str, Any]:
        return await usage_report(self.db, since=since, by=by)

    async def requests(self, *, limit: int | str = 50, status: int | str | None = None,
                       key_id: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """The latest ledger rows, newest first (``GET /admin/requests``; never prompts).

        Rows still queued in this process are written first, so a request that just ended is
        listed. Out-of-range arguments raise a 400 :class:`~banjia.errors.APIError`."""
        await self.flush()
        return await recent_requests(self.db, limit=limit, status=status, key_id=key_id,
                                     model=model)

    async def flush(self) -> None:
        """Write every queued ledger row now (tests, reports that must include the last second)."""
        await self.accounting.ledger.flush()

    async def ensure_master_key(self) -> str | None:
        if self.config.server.master_key:
            return None
        plaintext = await self.keys.create_master()
        if plaintext is not None:
            _write_master_file(self.config, plaintext)
        return plaintext

    async def ready(self) -> bool:
        return await self.accounting.ready()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.accounting.aclose()
        finally:
            if self.redis is not None:
                await self.redis.aclose()
            await self.db.engine.dispose()


def master_key_file(config: Config) -> Path | None:
    """Where a generated master key is kept (SQLite only): ``.banjia/master.key`` beside the
    database. The file may not exist (configured key, or deleted by the operator)."""
    d = state_dir(config.store.url)
    return None if d is None else d / MASTER_KEY_FILE


def _write_master_file(config: Config, plaintext: str) -> None:
    path = master_key_file(config)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(plaintext + "\n")
    os.chmod(path, 0o600)  # also when the file existed with wider permissions


async def open_store(
    config: Config,
    *,
    run_migrations: bool = True,
    background: bool = True,
    redis_prefix: str = "banjia:",
    flush_interval: float = 0.1,
) -> Store:
    """Open the database (migrating it to the newest schema) and Redis when configured.

    ``background=False`` opens the store for management only (the command line): no ledger
    writer, no heartbeat. ``redis_prefix`` starts the name of every Redis key the store uses
    (rate-limit counters: ``<prefix>rl:{<key id>}:<unit>:<minute>``).
    """
    engine = create_engine(config.store.url)
    db = Database(engine)
    redis: Redis | None = None
    try:
        if run_migrations:
            await migrate(engine, config.store.url)
        limiter: RateLimiter = LocalLimiter()
        if config.store.redis_url:
            from redis.asyncio import Redis
            from redis.exceptions import RedisError

            redis = Redis.from_url(config.store.redis_url)
            limiter = RedisLimiter(redis, redis_prefix)
            if background:
                try:
                    await redis.ping()
                except (RedisError, OSError) as e:
                    log.warning("Redis is unreachable at start (%r): rate limits are counted per "
                                "replica until it is back", e)
        store = Store(config, db, redis, limiter, flush_interval=flush_interval)
        if background:
            await store.accounting.start()
    except BaseException:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        raise
    return store


async def ensure_master_key(config: Config) -> str | None:
    """Generate the master key on the first start (when the config sets none); the plaintext is
    returned this once, later calls return None. Run it once before starting workers."""
    if config.server.master_key:
        return None
    store = await open_store(config, background=False)
    try:
        return await store.ensure_master_key()
    finally:
        await store.aclose()


async def upgrade(config: Config) -> None:
    """Migrate the database to the newest schema (``banjia db upgrade``)."""
    engine = create_engine(config.store.url)
    try:
        await migrate(engine, config.store.url)
    finally:
        await engine.dispose()
