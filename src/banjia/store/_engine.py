"""Database URLs, engines and migrations.

Users write the URLs they know (``sqlite:///./banjia.db``, ``postgresql://user:pw@host/db``);
banjia picks the async driver (aiosqlite, asyncpg) for the gateway and the sync one for the
``alembic`` command line. SQLite runs in WAL mode so readers never wait for the ledger writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from banjia.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["Database", "async_url", "create_engine", "migrate", "state_dir", "sync_url"]

log = logging.getLogger("banjia.store")

_PG_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg2",
               "postgresql+psycopg"}
# The newest migration. A database already there is not handed to Alembic at all: importing it
# costs about a second of every start. (tests/store/test_migrations.py keeps this in step.)
HEAD = "0004"
# an arbitrary constant: the PostgreSQL advisory lock that serialises concurrent migrations
_MIGRATION_LOCK = 0x62616E6A6961


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    except Exception as e:  # SQLAlchemy raises ArgumentError with the URL in it
        raise ConfigError("store.url: not a database URL") from e
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"):
        return parsed.set(drivername="sqlite")
    if parsed.drivername in _PG_SCHEMES:
        return parsed.set(drivername="postgresql")
    raise ConfigError(f"store.url: unsupported database '{parsed.drivername}' "
                      "(use sqlite:///PATH or postgresql://USER:PW@HOST:PORT/DB)")


def async_url(url: str) -> URL:
    parsed = _parse(url)
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    query = dict(parsed.query)
    # asyncpg spells libpq's sslmode as ssl
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return parsed.set(drivername="postgresql+asyncpg", query=query)


def sync_url(url: str) -> URL:
    parsed = _parse(url)
    return parsed.set(drivername="sqlite+pysqlite") if parsed.drivername == "sqlite" else parsed


def is_memory(url: URL) -> bool:
    return url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:")


def state_dir(url: str) -> Path | None:
    """``.banjia/`` beside a SQLite file (the generated master key, the migration lock)."""
    parsed = _parse(url)
    if parsed.drivername != "sqlite" or is_memory(parsed):
        return None
    assert parsed.database is not None
    return Path(parsed.database).resolve().parent / ".banjia"


def create_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if not target.drivername.startswith("sqlite"):
        return create_async_engine(target, pool_pre_ping=True, pool_size=10, max_overflow=20)
    # cached_statements: every ledger batch size is its own INSERT … RETURNING statement, and
    # sqlite3 keeps up to 128 prepared per pooled connection — resident memory then grew by
    # ~1.3 KiB a request for the first ~60k requests (bench/README.md); a few suffice
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "cached_statements": 4}}
    if is_memory(target):
        kwargs["poolclass"] = StaticPool  # one shared connection: each would be its own database
    else:
        assert target.database is not None
        Path(target.database).resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(target, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives a killed process (only a power loss may drop the last commits)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def _alembic_config(connection: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(Path(__file__).with_name("alembic.ini")))
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["connection"] = connection
    return cfg


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """Serialise migrations of one SQLite file across processes (``banjia serve --workers N``)."""
    if path is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: run unlocked (one process at a time is then the user's job)
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "migrate.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    command.upgrade(_alembic_config(connection), "head")


def _at_head(connection: Connection) -> bool:
    if not inspect(connection).has_table("alembic_version"):
        return False
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


async def migrate(engine: AsyncEngine, url: str) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    async with engine.connect() as conn:
        if await conn.run_sync(_at_head):
            return
    with _file_lock(state_dir(url)):
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)


class Database:
    """An engine plus the one rule SQLite needs: in-process writers take turns.

    SQLite allows one writer at a time; letting many connections of one process contend makes
    each wait in SQLite's busy handler (sleeps of up to 100 ms). An asyncio lock hands the write
    lock over at once; other processes on the same file still wait through ``busy_timeout``.
    PostgreSQL needs no such lock (row locks do the work).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._lock = asyncio.Lock() if self.dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        if self._lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._lock, self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def claim_write_lock(self, conn: AsyncConnection) -> None:
        """Make SQLite take its write lock now, in a transaction that reads before it writes.

        A SQLite transaction that starts with a read and later writes fails at once (busy, no
        waiting) if another process wrote in between; starting with a write makes it wait instead.
        """
        if self.dialect == "sqlite":
            await conn.execute(text("DELETE FROM banjia_instances WHERE 0"))

    def insert(self, table: Table) -> Any:
        """An INSERT that understands ``on_conflict_do_nothing`` on this database."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
