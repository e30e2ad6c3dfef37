"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from banjia.errors import ConfigError
from banjia.store import open_store, upgrade
from banjia.store._engine import HEAD, async_url, create_engine, state_dir
from banjia.store.schema import metadata
from tests.store.conftest import config_for

STORE = Path(__file__).parents[2] / "src" / "banjia" / "store"


def test_head_constant_names_the_newest_migration() -> None:
    cfg = AlembicConfig(str(STORE / "alembic.ini"))
    cfg.set_main_option("script_location", str(STORE / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, metadata))


async def test_migrated_schema_matches_the_declared_tables(db_url: str) -> None:
    await upgrade(config_for(db_url))
    await upgrade(config_for(db_url))  # a second run is a no-op
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {t.name for t in metadata.sorted_tables} <= tables
    finally:
        await engine.dispose()


async def test_open_store_migrates_a_new_database(db_url: str) -> None:
    store = await open_store(config_for(db_url))
    try:
        assert await store.ready()
    finally:
        await store.aclose()


@pytest.mark.parametrize(("given", "expected"), [
    ("sqlite:///./banjia.db", "sqlite+aiosqlite:///./banjia.db"),
    ("postgresql://u:p@db:5432/banjia", "postgresql+asyncpg://u:p@db:5432/banjia"),
    ("postgres://u@db/banjia", "postgresql+asyncpg://u@db/banjia"),
    ("postgresql://u@db/banjia?sslmode=require", "postgresql+asyncpg://u@db/banjia?ssl=require"),
])
def test_urls_users_write_get_the_async_driver(given: str, expected: str) -> None:
    assert async_url(given).render_as_string(hide_password=False) == expected


def test_unsupported_databases_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"store\.url"):
        async_url("mysql://u@db/banjia")


def test_state_dir_sits_beside_the_sqlite_file(tmp_path: Path) -> None:
    assert state_dir(f"sqlite:///{tmp_path / 'x.db'}") == tmp_path / ".banjia"
    assert state_dir("sqlite:///:memory:") is None
    assert state_dir("postgresql://u@db/banjia") is None
