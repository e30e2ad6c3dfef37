"""The ledger: one row per authenticated request, written in batches off the request path.

``record`` only appends to a queue (and to this process's journal file, :mod:`.journal`, so that
a killed process loses nothing). A background task writes the queue in one transaction per batch,
which also settles quotas: each inserted row adds its tokens and cost to its key's usage, and each
request's reservation is deleted and released. Rows that hold a reservation are written at once
(settled when the request ends); the others may wait up to :data:`FLUSH_INTERVAL` seconds, so that
one transaction carries many. Both are keyed by ``request_id`` (unique in the ledger, primary key
of the reservations), so a batch retried after a commit whose outcome was unclear changes nothing
twice. ``aclose`` writes whatever is queued: a graceful shutdown loses nothing.

Every string is cleaned of control characters before it is queued (:mod:`._text`), so a client
cannot hand the database a value it refuses. Should a row be refused all the same, it must not
block the rows behind it: when a batch fails for any reason, its rows are written one by one; a row
that fails alone while the database answers otherwise is *rejected* — logged (request id and the
error, never a prompt or a key), counted (:attr:`LedgerWriter.rejected`) and kept as JSON in the
table ``banjia_ledger_rejected`` (its usage is still settled to the key) for an operator to fix and
re-insert. When the database does not answer at all, the rows stay queued and are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from banjia.context import RequestContext
from banjia.pricing import CATALOG_PRICES, Pricer
from banjia.store._engine import Database
from banjia.store._text import clean, clean_opt
from banjia.store.journal import Journal
from banjia.store.schema import keys, ledger, ledger_rejected, reservations, to_nano

__all__ = [
    "FLUSH_INTERVAL",
    "FREE_ENDPOINTS",
    "LedgerWriter",
    "Usage",
    "ledger_row",
    "release_where",
    "settle",
    "usage_of",
]

log = logging.getLogger("banjia.store")

FLUSH_INTERVAL = 0.1  # seconds rows may wait, so that one transaction carries many
BATCH = 500  # rows per transaction (23 columns each: well under both databases' parameter limits)
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


# The Batch API's own calls (uploading a file, creating or polling a batch) cost nothing: each line
# of a batch is billed by its own row when its answer comes back (banjia.batches); counting a
# Messages prompt's tokens is answered by banjia itself
FREE_ENDPOINTS = frozenset({"files", "batches", "count_tokens"})


def _price(ctx: RequestContext, prices: Pricer, u: Usage) -> tuple[float | None, float]:
    """(cost, OpenAI's cost) of a finished request (:meth:`Pricer.for_row`: a batch line at the
    schedule's batch multiplier)."""
    if ctx.endpoint in FREE_ENDPOINTS:
        return 0.0, 0.0
    return prices.for_row(ctx, u.prompt_tokens, u.completion_tokens, u.cached_tokens)


def ledger_row(ctx: RequestContext, prices: Pricer = CATALOG_PRICES) -> dict[str, Any]:
    u = usage_of(ctx.usage)
    cost, openai_cost = _price(ctx, prices, u)
    return {
        "request_id": clean(ctx.request_id)[:64],
        "created_at": datetime.fromtimestamp(ctx.started_at, UTC),
        "key_id": clean_opt(ctx.key.id if ctx.key else None, 40),
        "endpoint": clean(ctx.endpoint)[:32],
        # cleaned (a NUL fails a PostgreSQL statement) and cut to the columns' lengths: one
        # client's odd model name must not fail a whole batch
        "model": clean(ctx.model)[:200],
        "provider": clean_opt(ctx.provider, 100),
        "provider_type": clean_opt(ctx.provider_type, 50),
        "upstream_model": clean_opt(ctx.upstream_model, 200),
        "status": ctx.status,
        "error_code": clean_opt(ctx.error_code, 100),
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "cached_tokens": u.cached_tokens,
        "reasoning_tokens": u.reasoning_tokens,
        "usage_estimated": ctx.usage_estimated,
        "cost_nano_cny": None if cost is None else to_nano(cost),
        "openai_cost_nano_cny": to_nano(openai_cost),
        "latency_ms": ctx.latency_ms,
        "ttft_ms": ctx.ttft_ms,
        "stream": ctx.stream,
        "client_disconnected": ctx.client_disconnected,
        "batch": ctx.batch,
    }


@dataclass(frozen=True, slots=True)
class _Entry:
    row: dict[str, Any]
    reserved: bool  # the request holds a row in banjia_reservations


class LedgerWriter:
    def __init__(self, db: Database, *, interval: float = FLUSH_INTERVAL,
                 journal: Journal | None = None) -> None:
        self._db = db
        self._interval = interval
        self.journal = journal
        self._queue: deque[_Entry] = deque()
        self._wake = asyncio.Event()
        self._urgent = False  # a queued row holds a reservation: settle it now
        self._unsettled: Counter[str] = Counter()  # key id -> queued rows holding a reservation
        self._lock = asyncio.Lock()  # one writer at a time: the background task or a flush()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self.batches = 0  # transactions committed (for tests and metrics)
        self.rows = 0  # rows inserted
        self.rejected = 0  # rows the database refused (kept in banjia_ledger_rejected)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="banjia-ledger")

    def put(self, row: dict[str, Any], *, reserved: bool) -> None:
        """Queue a row; never blocks and never touches the database."""
        if self.journal is not None:
            self.journal.append(row, reserved)
        self._queue.append(_Entry(row, reserved))
        if reserved:
            self._urgent = True
            if row["key_id"] is not None:
                self._unsettled[row["key_id"]] += 1
        if len(self._queue) > QUEUE_LIMIT:
            self._forget(self._queue.popleft())
            self._dropped += 1
            if self._dropped % 1000 == 1:
                log.error("ledger queue full (database unreachable?): %d rows dropped so far",
                          self._dropped)
        self._wake.set()

    def _forget(self, entry: _Entry) -> None:
        key_id = entry.row["key_id"]
        if entry.reserved and key_id is not None:
            self._unsettled[key_id] -= 1
            if self._unsettled[key_id] <= 0:
                del self._unsettled[key_id]

    @property
    def pending(self) -> int:
        return len(self._queue)

    def unsettled(self, key_id: str) -> bool:
        """Whether requests of this key have ended but their reservation is not yet settled."""
        return self._unsettled.get(key_id, 0) > 0

    async def _run(self) -> None:
        backoff = 0.0
        while True:
            await self._wake.wait()
            self._wake.clear()
            # let a batch gather (and wait longer while the database is failing); a row that
            # holds quota goes at once: its key's next request must see the quota back
            delay = backoff if self._urgent else self._interval + backoff
            if delay:
                await asyncio.sleep(delay)
            self._urgent = False
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
                except Exception as e:
                    # whatever the error, one row the database refuses must not block every row
                    # behind it: write one by one, and set aside only those it refuses
                    await self._write_singly(batch, e)
                for _ in batch:
                    self._forget(self._queue.popleft())
            if self.journal is not None:
                self.journal.truncate()  # no await since the queue was seen empty

    async def _write_singly(self, batch: list[_Entry], first: Exception) -> None:
        if len(batch) > 1:
            log.warning("ledger batch of %d rows failed (%s); writing them one by one",
                        len(batch), _describe(first))
        for entry in batch:
            try:
                await self._write([entry])
                continue
            except Exception as e:
                await self._database_answers(e)
            try:  # the database answers: once more, in case the failure was passing (deadlock)
                await self._write([entry])
            except Exception as e:
                await self._database_answers(e)
                await self._reject(entry, e)

    async def _database_answers(self, cause: Exception) -> None:
        """Raise ``cause`` when the database itself is failing (not merely refusing a row)."""
        try:
            async with self._db.read() as conn:
                await conn.execute(select(1))
        except Exception:
            raise cause from None

    async def _reject(self, entry: _Entry, error: Exception) -> None:
        """Keep a refused row aside, settle its quota, and say so (never blocks the ledger)."""
        self.rejected += 1
        request_id = clean(str(entry.row.get("request_id")))[:64]
        text = json.dumps(entry.row, ensure_ascii=True, default=str)  # ASCII: always storable
        log.error("ledger row for request %s refused by the database (%s); kept in "
                  "banjia_ledger_rejected (%d rejected so far)", request_id, _describe(error),
                  self.rejected)
        for with_usage in (True, False):  # the usage itself may be what the database refuses
            try:
                async with self._db.write() as conn:
                    kept = await conn.execute(
                        self._db.insert(ledger_rejected)
                        .on_conflict_do_nothing(index_elements=["request_id"])
                        .returning(ledger_rejected.c.request_id),
                        [{"request_id": request_id, "rejected_at": datetime.now(UTC),
                          "error": _describe(error)[:2000], "row": text}])
                    new = kept.first() is not None
                    released = await _release(conn, [request_id]) if entry.reserved else []
                    await settle(conn, [entry.row] if new and with_usage else [], released)
                return
            except Exception as e:
                error = e
        log.error("ledger row for request %s could not be kept either (%s): %s", request_id,
                  _describe(error), text)

    async def _write(self, batch: list[_Entry]) -> None:
        rows = [e.row for e in batch]
        # statements within the database's limit of parameters (SQLite before 3.32: 999)
        per = max(1, self._db.engine.dialect.insertmanyvalues_max_parameters // _WIDTH)
        async with self._db.write() as conn:
            inserted: set[str] = set()
            for i in range(0, len(rows), per):
                sql, params = _insert(self._db.engine.dialect, rows[i:i + per])
                inserted.update((await conn.exec_driver_sql(sql, params)).scalars())
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
                break
            except SQLAlchemyError as e:
                log.warning("ledger flush at shutdown failed (attempt %d): %s", attempt + 1,
                            type(e).__name__)
                await asyncio.sleep(0.2 * 2**attempt)
        if self._queue:
            kept = f"; they stay in {self.journal.path} for the next start" if self.journal else ""
            log.error("ledger: %d rows could not be written before shutdown%s",
                      len(self._queue), kept)
        if self.journal is not None:
            self.journal.close(remove=not self._queue)
            self.journal = None


# -- the batch INSERT, written for the driver ------------------------------------------------------
# SQLAlchemy's own executemany processes each of a row's 22 values in Python (~40-60 us a row on
# the event loop, more than the rest of the row's cost); the ledger's rows have one fixed shape,
# so the statement is one multi-row VALUES written here and the values go to the driver as they
# are, but for the one column SQLAlchemy converts: the time, through its own bind processor
# (:class:`~.schema.UTCDateTime`; on SQLite, UTC text with microseconds).
_COLUMNS: tuple[str, ...] = tuple(c.name for c in ledger.columns if c.name != "id")
_WIDTH = len(_COLUMNS)
_AT = _COLUMNS.index("created_at")
_TIME: dict[str, Callable[[Any], Any]] = {}  # dialect name -> the time column's bind processor
_NUMBERED: list[str] = []  # asyncpg's row groups: "($1, …, $22)", "($23, …)", … (made as needed)


def _values(dialect: str, rows: int) -> str:
    if dialect == "sqlite":
        return ", ".join(["(" + ", ".join("?" * _WIDTH) + ")"] * rows)
    while len(_NUMBERED) < rows:  # asyncpg: numbered parameters
        i = len(_NUMBERED)
        _NUMBERED.append("(" + ", ".join(f"${i * _WIDTH + j + 1}" for j in range(_WIDTH)) + ")")
    return ", ".join(_NUMBERED[:rows])


def _insert(dialect: Dialect, rows: list[dict[str, Any]]) -> tuple[str, tuple[Any, ...]]:
    """The statement inserting ``rows`` (the ones already there are skipped; it returns the request
    ids it inserted) and its parameters."""
    time = _TIME.get(dialect.name)
    if time is None:
        proc = ledger.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert proc is not None  # UTCDateTime converts on every database
        time = _TIME[dialect.name] = proc
    params: list[Any] = []
    for row in rows:
        values = [row[c] for c in _COLUMNS]
        values[_AT] = time(values[_AT])
        params.extend(values)
    sql = (f"INSERT INTO {ledger.name} ({', '.join(_COLUMNS)}) VALUES {_values(dialect.name, len(rows))} "
           "ON CONFLICT (request_id) DO NOTHING RETURNING request_id")
    return sql, tuple(params)


def _describe(e: BaseException) -> str:
    """An error's type and the database's own message (without the statement's parameters)."""
    orig = getattr(e, "orig", None)
    return f"{type(e).__name__}: {orig if orig is not None else e}"


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
    await conn.execute(_SETTLE, [{"kid": k, "ut": a[0], "uc": a[1], "rt": a[2], "rc": a[3]}
                                 for k, a in sorted(per_key.items())])


# built once: every flush settles its keys
_SETTLE = (update(keys).where(keys.c.id == bindparam("kid")).values(
    used_tokens=keys.c.used_tokens + bindparam("ut"),
    used_nano_cny=keys.c.used_nano_cny + bindparam("uc"),
    reserved_tokens=keys.c.reserved_tokens - bindparam("rt"),
    reserved_nano_cny=keys.c.reserved_nano_cny - bindparam("rc")))
