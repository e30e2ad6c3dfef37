"""Reading what a running gateway wrote to its ledger (the store the harness gave it)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from banjia.store.schema import ledger
from tests.harness import Gateway


def rows(g: Gateway, **where: Any) -> list[dict[str, Any]]:
    """The ledger rows whose columns equal ``where`` (queued rows are written first)."""

    async def read() -> list[dict[str, Any]]:
        store = g.runtime.store
        await store.flush()
        query = select(ledger)
        for column, value in where.items():
            query = query.where(ledger.c[column] == value)
        async with store.db.read() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    found: list[dict[str, Any]] = g.call(read())
    return found


def row(g: Gateway, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The one row of the request whose ``x-request-id`` is ``request_id``, once it is written."""
    return wait_rows(g, 1, timeout, request_id=request_id.removeprefix("req_"))[0]


def wait_rows(g: Gateway, n: int, timeout: float = 10.0, **where: Any) -> list[dict[str, Any]]:
    """At least ``n`` rows matching ``where``, polled until they are written."""
    deadline = time.monotonic() + timeout
    while len(found := rows(g, **where)) < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {n} ledger rows for {where}")
        time.sleep(0.02)
    return found
