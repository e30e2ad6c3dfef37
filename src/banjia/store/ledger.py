"""The ledger: one row per authenticated request, written in batches off the request path.

``record`` only appends to a queue. A background task writes the queue every
:data:`FLUSH_INTERVAL` seconds in one transaction per batch, which also settles quotas: each
inserted row adds its tokens and cost to its key's usage, and each request's reservation is
deleted and released. Both are keyed by ``request_id`` (unique in the ledger, primary key of the
reservations), so a batch retried after a commit whose outcome was unclear changes nothing twice.
``aclose`` writes whatever is queued: a graceful shutdown loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from banjia import catalog
from banjia.context import RequestContext
from banjia.store._engine import Database
from banjia.store.schema import keys, ledger, reservations, to_nano

__all__ = [
    "FLUSH_INTERVAL",
    "LedgerWriter",
    "Usage",
    "ledger_row",
    "release_where",
    "settle",
    "usage_of",
]

log = logging.getLogger("banjia.store")

FLUSH_INTERVAL = 0.1  # seconds rows may wait, so that one transaction carries many
BATCH = 500  # rows per transaction (22 columns each: well under both databases' parameter limits)
QUEUE_LIMIT = 200_000  # while the database is down; past it the oldest rows are dropped
_MAX_TOKENS = 1 << 53  # anything above is a broken upstream, not usage


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return min(max(int(value), 0), _MAX_TOKENS)


def usage_of(usage: dict[str, Any] | None) -> Usage:
    """Token counts from an OpenAI ``usage`` object (Responses-API names accepted too).

    Cached tokens are part of the prompt tokens, never added to them, and never more than them.
    """
    u = usage or {}
    prompt = _count(u.get("prompt_tokens", u.get("input_tokens")))
    completion = _count(u.get("completion_tokens", u.get("output_tokens")))
    pd = u.get("prompt_tokens_details") or u.get("input_tokens_details") or {}
    cd = u.get("completion_tokens_details") or u.get("output_tokens_details") or {}
    cached = min(_count(pd.get("cached_tokens")) if isinstance(pd, dict) else 0, prompt)
    reasoning = min(_count(cd.get("reasoning_tokens")) if isinstance(cd, dict) else 0, completion)
    return Usage(prompt, completion, cached, reasoning)


def price_cny(provider_type: str | None, model: str | None, u: Usage) -> float | None:
    """What the provider charges for ``u`` per the catalog; None when it has no price."""
    if provider_type is None or model is None:
        return None
    try:
        return catalog.price_cny(provider_type, model, u.prompt_tokens, u.completion_tokens,
                                 cached_tokens=u.cached_tokens)
    except Exception:  # a pricing bug must not cost the ledger its row
        log.exception("price lookup failed for %s/%s", provider_type, model)
        return None


def openai_cost_cny(model: str, endpoint: str, u: Usage) -> float:
    """What OpenAI would charge for the same tokens (0 when the catalog cannot say)."""
    try:
        return catalog.openai_cost_cny(model, endpoint, u.prompt_tokens, u.completion_tokens)
    except Exception:  # as above
        log.exception("OpenAI price lookup failed for %s", model)
        return 0.0


def _cut(value: str | None, n: int) -> str | None:
    return None if value is None else value[:n]


def ledger_row(ctx: RequestContext) -> dict[str, Any]:
    u = usage_of(ctx.usage)
    cost = price_cny(ctx.provider_type, ctx.upstream_model, u)
    return {
        "request_id": ctx.request_id[:64],
        "created_at": datetime.fromtimestamp(ctx.started_at, UTC),
        "key_id": _cut(ctx.key.id if ctx.key else None, 40),
        "endpoint": ctx.endpoint[:32],
        # lengths are cut to the columns': one over-long model name must not fail a whole batch
        "model": ctx.model[:200],
        "provider": _cut(ctx.provider, 100),
        "provider_type": _cut(ctx.provider_type, 50),
        "upstream_model": _cut(ctx.upstream_model, 200),
        "status": ctx.status,
        "error_code": _cut(ctx.error_code, 100),
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "cached_tokens": u.cached_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "usage_estimated": ctx.usage_estimated,
        "cost_nano_cny": None if cost is None else to_nano(cost),
        "openai_cost_nano_cny": to_nano(openai_cost_cny(ctx.model, ctx.endpoint, u)),
        "latency_ms": ctx.latency_ms,
        "ttft_ms": ctx.ttft_ms,
        "stream": ctx.stream,
        "client_disconnected": ctx.client_disconnected,
    }


@dataclass(frozen=True, slots=True)
class _Entry:
    row: dict[str, Any]
    reserved: bool  # the request holds a row in banjia_reservations


class LedgerWriter:
    def __init__(self, db: Database, *, interval: float = FLUSH_INTERVAL) -> None:
        self._db = db
        self._interval = interval
        self._queue: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one writer at a time: the background task or a flush()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self.batches = 0  # transactions committed (for tests and metrics)
        self.rows = 0  # rows inserted

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="banjia-ledger")

    def put(self, row: dict[str, Any], *, reserved: bool) -> None:
        """Queue a row; never blocks and never touches the database."""
        self._queue.append(_Entry(row, reserved))
        if len(self._queue) > QUEUE_LIMIT:
            self._queue.popleft()
            self._dropped += 1
            if self._dropped % 1000 == 1:
                log.error("ledger queue full (database unreachable?): %d rows dropped so far",
                          self._dropped)
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            # let a batch gather (and wait longer while the database is failing)
            await asyncio.sleep(self._interval + backoff)
            try:
                await self.flush()
                backoff = 0.0
            except Exception as e:  # the writer must outlive any failure; the rows stay queued
                backoff = min(max(backoff * 2, 0.5), 30.0)
                log.warning("ledger write failed, retrying in %.1fs (%d rows queued): %r",
                            backoff, len(self._queue), e)
                self._wake.set()

    async def flush(self) -> None:
        """Write every queued row now. Rows stay queued if the database fails."""
        async with self._lock:
            while self._queue:
                batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
                try:
                    await self._write(batch)
                except (DataError, IntegrityError):
                    # a row the database refuses would block every row behind it: write one by
                    # one and drop only those it refuses
                    await self._write_singly(batch)
                for _ in batch:
                    self._queue.popleft()

    async def _write_singly(self, batch: list[_Entry]) -> None:
        for entry in batch:
            try:
                await self._write([entry])
            except (DataError, IntegrityError) as e:
                log.error("ledger row for request %s refused by the database: %s",
                          entry.row["request_id"], e.orig)

    async def _write(self, batch: list[_Entry]) -> None:
        async with self._db.write() as conn:
            stmt = (self._db.insert(ledger).on_conflict_do_nothing(index_elements=["request_id"])
                    .returning(ledger.c.request_id))
            inserted = set((await conn.execute(stmt, [e.row for e in batch])).scalars())
            held = [e.row["request_id"] for e in batch if e.reserved]
            released = await _release(conn, held) if held else []
            await settle(conn, [e.row for e in batch if e.row["request_id"] in inserted], released)
        self.batches += 1
        self.rows += len(inserted)

    async def aclose(self) -> None:
        if self._task is not None:
            async with self._lock:  # let a write in progress finish
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for attempt in range(5):
            try:
                await self.flush()
                return
            except SQLAlchemyError as e:
                log.warning("ledger flush at shutdown failed (attempt %d): %s", attempt + 1,
                            type(e).__name__)
                await asyncio.sleep(0.2 * 2**attempt)
        if self._queue:
            log.error("ledger: %d rows could not be written before shutdown", len(self._queue))


async def _release(conn: AsyncConnection, request_ids: list[str]) -> list[tuple[str, int, int]]:
    return await release_where(conn, reservations.c.request_id.in_(request_ids))


async def release_where(conn: AsyncConnection,
                        condition: ColumnElement[bool]) -> list[tuple[str, int, int]]:
    """Delete reservations; (key id, tokens, nano-CNY) each still held. Only what this statement
    deleted is returned, so two processes releasing the same row cannot both count it."""
    result = await conn.execute(
        delete(reservations).where(condition)
        .returning(reservations.c.key_id, reservations.c.tokens, reservations.c.nano_cny))
    return [(r[0], r[1], r[2]) for r in result.all()]


async def settle(conn: AsyncConnection, rows: Iterable[dict[str, Any]],
                  released: Iterable[tuple[str, int, int]]) -> None:
    per_key: dict[str, list[int]] = {}  # key id -> [used tokens, used nano-CNY, released x2]
    for row in rows:
        if row["key_id"] is None:
            continue
        acc = per_key.setdefault(row["key_id"], [0, 0, 0, 0])
        acc[0] += row["prompt_tokens"] + row["completion_tokens"]
        acc[1] += row["cost_nano_cny"] or 0
    for key_id, tokens, nano in released:
        acc = per_key.setdefault(key_id, [0, 0, 0, 0])
        acc[2] += tokens
        acc[3] += nano
    if not per_key:
        return
    stmt = (update(keys).where(keys.c.id == bindparam("kid")).values(
        used_tokens=keys.c.used_tokens + bindparam("ut"),
        used_nano_cny=keys.c.used_nano_cny + bindparam("uc"),
        reserved_tokens=keys.c.reserved_tokens - bindparam("rt"),
        reserved_nano_cny=keys.c.reserved_nano_cny - bindparam("rc")))
    await conn.execute(stmt, [{"kid": k, "ut": a[0], "uc": a[1], "rt": a[2], "rc": a[3]}
                              for k, a in sorted(per_key.items())])
