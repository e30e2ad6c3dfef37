"""Stored responses: what ``previous_response_id`` continues from and ``GET``/``DELETE
/v1/responses/{id}`` read.

:class:`SQLResponseStore` keeps them in banjia's database (its own table ``responses``), so a
conversation continues on whichever provider or replica serves the next turn;
:class:`MemoryResponseStore` (bounded) serves runs without a database. Both drop a response once
its retention has passed (default 30 days).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from banjia.context import KeyInfo
from banjia.errors import APIError
from banjia.store.schema import responses as responses_table

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "RETENTION_ENV",
    "MemoryResponseStore",
    "ResponseStore",
    "SQLResponseStore",
    "StoredResponse",
    "open_response_store",
    "retention_seconds",
]

log = logging.getLogger("banjia.responses")

DEFAULT_RETENTION_DAYS = 30.0
RETENTION_ENV = "BANJIA_RESPONSES_RETENTION_DAYS"
_PURGE_EVERY = 600.0  # seconds between sweeps of expired rows, done on the write path


def retention_seconds(days: float | None = None) -> float:
    """``days`` if configured, else ``BANJIA_RESPONSES_RETENTION_DAYS``, else 30 days."""
    if days is None:
        raw = os.environ.get(RETENTION_ENV)
        try:
            days = float(raw) if raw else DEFAULT_RETENTION_DAYS
        except ValueError:
            log.warning(
                "%s=%r is not a number of days; keeping responses %g days",
                RETENTION_ENV,
                raw,
                DEFAULT_RETENTION_DAYS,
            )
            days = DEFAULT_RETENTION_DAYS
    return max(days, 0.0) * 86400


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    owner: str | None  # the API key that created it; other keys (but the master key) cannot see it
    created_at: float
    expires_at: float
    response: dict[str, Any]
    # the conversation before this response's output: the earlier turns and this turn's input
    # (instructions excluded: they apply to one turn only)
    context: list[dict[str, Any]]

    def visible_to(self, key: KeyInfo | None) -> bool:
        return self.owner is None or key is None or key.is_master or key.id == self.owner

    def conversation(self) -> list[dict[str, Any]]:
        """What a next turn continues from: the context, then this response's output."""
        return [*self.context, *self.response.get("output", ())]


class ResponseStore(Protocol):
    retention: float  # seconds

    async def put(self, record: StoredResponse) -> None: ...

    async def get(self, id: str) -> StoredResponse | None:
        """The response, unless it is unknown, deleted or expired."""

    async def delete(self, id: str) -> bool:
        """True if there was something to delete."""

    async def purge(self) -> int:
        """Drop expired responses; returns how many."""


class MemoryResponseStore:
    """The most recent ``max_entries`` responses, in this process only."""

    def __init__(self, retention: float, max_entries: int = 10_000) -> None:
        self.retention = retention
        self.max_entries = max_entries
        self._items: OrderedDict[str, StoredResponse] = OrderedDict()

    async def put(self, record: StoredResponse) -> None:
        self._items[record.id] = record
        self._items.move_to_end(record.id)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    async def get(self, id: str) -> StoredResponse | None:
        rec = self._items.get(id)
        if rec is None or rec.expires_at <= time.time():
            return None
        return rec

    async def delete(self, id: str) -> bool:
        return self._items.pop(id, None) is not None

    async def purge(self) -> int:
        now = time.time()
        dead = [k for k, r in self._items.items() if r.expires_at <= now]
        for k in dead:
            del self._items[k]
        return len(dead)


def _unavailable(e: Exception) -> APIError:
    log.warning("response store error: %s", e)
    return APIError(
        503,
        "The response store is unavailable; try again shortly.",
        type="server_error",
        code="store_unavailable",
    )


class SQLResponseStore:
    """Responses in banjia's database (SQLite or PostgreSQL), through SQLAlchemy Core."""

    def __init__(self, engine: AsyncEngine, retention: float) -> None:
        self.engine = engine
        self.retention = retention
        self._last_purge = 0.0

    async def put(self, record: StoredResponse) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(responses_table).values(
                        id=record.id,
                        owner=record.owner,
                        created_at=record.created_at,
                        expires_at=record.expires_at,
                        response=orjson.dumps(record.response).decode(),
                        context=orjson.dumps(record.context).decode(),
                    )
                )
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        if time.time() - self._last_purge > _PURGE_EVERY:
            await self.purge()

    async def get(self, id: str) -> StoredResponse | None:
        try:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(responses_table).where(
                            responses_table.c.id == id, responses_table.c.expires_at > time.time()
                        )
                    )
                ).first()
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        if row is None:
            return None
        return StoredResponse(
            id=row.id,
            owner=row.owner,
            created_at=row.created_at,
            expires_at=row.expires_at,
            response=orjson.loads(row.response),
            context=orjson.loads(row.context),
        )

    async def delete(self, id: str) -> bool:
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(delete(responses_table).where(responses_table.c.id == id))
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        return bool(result.rowcount)

    async def purge(self) -> int:
        self._last_purge = time.time()
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    delete(responses_table).where(responses_table.c.expires_at <= time.time())
                )
        except SQLAlchemyError as e:
            log.warning("could not purge expired responses: %s", e)
            return 0
        return int(result.rowcount or 0)


def open_response_store(runtime: Any) -> ResponseStore:
    """The SQL store on the runtime's database when the store layer is running, else memory.

    The retention comes from ``config.responses.retention_days`` when the config has that key,
    else from ``BANJIA_RESPONSES_RETENTION_DAYS``, else 30 days.
    """
    section = getattr(getattr(runtime, "config", None), "responses", None)
    retention = retention_seconds(getattr(section, "retention_days", None))
    store = getattr(runtime, "store", None)
    engine = getattr(store, "engine", None) or getattr(getattr(store, "db", None), "engine", None)
    if isinstance(engine, AsyncEngine):
        return SQLResponseStore(engine, retention)
    return MemoryResponseStore(retention)
