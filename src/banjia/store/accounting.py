"""Admission and settlement: the :class:`~banjia.context.Accounting` over the store.

``admit`` runs before any provider is called. Rate limits first (in memory or one Redis call),
then, for keys with a quota, one conditional UPDATE that reserves the request's worst case —
prompt estimate plus its output limit — only if the key's quota minus what is used and what is
already reserved still covers it. The check and the reservation are one statement, so concurrent
requests cannot all pass on the same remainder: the quota is overspent only when a request uses
more than it reserved (no ``max_tokens`` and an answer longer than :data:`DEFAULT_OUTPUT_RESERVE`).

``record`` queues the ledger row; the ledger writer settles the key (usage in, reservation out)
in the same transaction. A reservation whose process died is returned to its key by a live
process once the dead one's heartbeat is older than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from banjia.context import KeyInfo, RequestContext
from banjia.errors import APIError
from banjia.store._engine import Database
from banjia.store.keys import StoreKey, new_id, store_unavailable
from banjia.store.ledger import (
    LedgerWriter,
    Usage,
    ledger_row,
    openai_cost_cny,
    price_cny,
    release_where,
    settle,
)
from banjia.store.limits import RateLimiter
from banjia.store.schema import from_nano, instances, keys, reservations, to_nano

__all__ = ["DEFAULT_OUTPUT_RESERVE", "STALE_AFTER", "Reservation", "StoreAccounting"]

log = logging.getLogger("banjia.store")

DEFAULT_OUTPUT_RESERVE = 1024  # output tokens reserved when the client sets no limit
HEARTBEAT = 10.0  # seconds between this process's heartbeats
STALE_AFTER = 60.0  # seconds without a heartbeat before a process's reservations are reclaimed


@dataclass(slots=True)
class Reservation:
    """What ``admit`` took for one request (``RequestContext.reservation``)."""

    key_id: str
    tokens: int = 0
    nano_cny: int = 0
    held: bool = False  # a row in banjia_reservations, released when the ledger row is written
    window: int = 0  # rate-limit window of admission
    tpm_cost: int = 0  # tokens charged to TPM at admission


def _expected_output(ctx: RequestContext) -> int:
    if ctx.max_output_tokens is not None:
        return max(ctx.max_output_tokens, 0)
    return 0 if ctx.endpoint == "embeddings" else DEFAULT_OUTPUT_RESERVE


def _expected_nano(ctx: RequestContext, prompt: int, output: int) -> int:
    """The CNY to reserve: the serving provider's price when the gateway has chosen it, else
    OpenAI's price for the model asked (dearer than the providers banjia routes to)."""
    u = Usage(prompt, output, 0, 0)
    cost = price_cny(ctx.provider_type, ctx.upstream_model, u)
    if cost is None:
        cost = openai_cost_cny(ctx.model, ctx.endpoint, u)
    return to_nano(cost)


def _rate_limited(key: KeyInfo, unit: str, wait: float) -> APIError:
    seconds = max(1, math.ceil(wait))
    limit = f"{key.rpm} requests" if unit == "requests" else f"{key.tpm} tokens"
    return APIError(
        429, f"Rate limit reached for this API key on {unit} per minute (limit {limit} per "
             f"minute). Please try again in {seconds}s.",
        type=unit, code="rate_limit_exceeded",
        headers={"retry-after": str(seconds), "retry-after-ms": str(math.ceil(wait * 1000))},
    )


class StoreAccounting:
    def __init__(self, db: Database, limiter: RateLimiter, *, flush_interval: float = 0.1) -> None:
        self._db = db
        self._limiter = limiter
        self.ledger = LedgerWriter(db, interval=flush_interval)
        self.instance_id = new_id("inst")
        self._task: asyncio.Task[None] | None = None
        self._started = False  # serving requests (not merely opened by the command line)
        self._closed = False

    async def start(self) -> None:
        self._started = True
        await self.heartbeat()
        self.ledger.start()
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="banjia-heartbeat")

    # -- the request path ------------------------------------------------------------------------
    async def admit(self, ctx: RequestContext) -> None:
        key = ctx.key
        if key is None:
            return
        res = Reservation(key_id=key.id)
        ctx.reservation = res
        prompt, output = max(ctx.prompt_tokens_estimate, 0), _expected_output(ctx)
        if key.rpm or key.tpm:
            adm = await self._limiter.acquire(key.id, key.rpm, key.tpm, prompt + output)
            if adm.wait > 0:
                raise _rate_limited(key, adm.unit, adm.wait)
            res.window, res.tpm_cost = adm.window, adm.tpm_cost
        # keys not issued by this store (a foreign authenticator) are checked in SQL regardless
        limited = key.limited if isinstance(key, StoreKey) else True
        if not limited:
            return
        tokens, nano = prompt + output, _expected_nano(ctx, prompt, output)
        if not await self._reserve(ctx.request_id, key.id, tokens, nano):
            raise await self._insufficient(key.id, tokens)
        res.tokens, res.nano_cny, res.held = tokens, nano, True

    async def _reserve(self, request_id: str, key_id: str, tokens: int, nano: int) -> bool:
        k = keys.c
        try:
            async with self._db.write() as conn:
                taken = await conn.execute(
                    update(keys).where(
                        k.id == key_id,
                        k.revoked_at.is_(None),
                        # "at least 1": an exhausted key admits nothing, even a free request
                        k.quota_tokens.is_(None)
                        | (k.quota_tokens - k.used_tokens - k.reserved_tokens >= max(tokens, 1)),
                        k.quota_nano_cny.is_(None)
                        | (k.quota_nano_cny - k.used_nano_cny - k.reserved_nano_cny >= max(nano, 1)),
                    ).values(reserved_tokens=k.reserved_tokens + tokens,
                             reserved_nano_cny=k.reserved_nano_cny + nano))
                if taken.rowcount == 0:
                    return False
                await conn.execute(reservations.insert().values(
                    request_id=request_id, key_id=key_id, tokens=tokens, nano_cny=nano,
                    instance_id=self.instance_id, created_at=datetime.now(UTC)))
        except SQLAlchemyError as e:
            raise store_unavailable(e) from e
        return True

    async def _insufficient(self, key_id: str, tokens: int) -> APIError:
        detail = ""
        with contextlib.suppress(SQLAlchemyError):
            async with self._db.read() as conn:
                row = (await conn.execute(select(keys).where(keys.c.id == key_id))).first()
            if row is not None:
                m = row._mapping
                parts = []
                if m["quota_tokens"] is not None:
                    left = m["quota_tokens"] - m["used_tokens"] - m["reserved_tokens"]
                    parts.append(f"{max(left, 0)} tokens left, this request may use up to {tokens}")
                if m["quota_nano_cny"] is not None:
                    left = m["quota_nano_cny"] - m["used_nano_cny"] - m["reserved_nano_cny"]
                    parts.append(f"CNY {max(from_nano(left), 0):.4f} left")
                detail = " (" + "; ".join(parts) + ")" if parts else ""
        return APIError(
            429, f"You exceeded your current quota{detail}. Ask the gateway's administrator for a "
                 "grant, or set a lower max_tokens.",
            type="insufficient_quota", code="insufficient_quota")

    def record(self, ctx: RequestContext) -> None:
        if self._closed:
            log.warning("request %s ended after the store closed; its ledger row is lost",
                        ctx.request_id)
            return
        row = ledger_row(ctx)
        res = ctx.reservation if isinstance(ctx.reservation, Reservation) else None
        if res is not None and ctx.key is not None and ctx.key.tpm:
            used = row["prompt_tokens"] + row["completion_tokens"]
            self._limiter.adjust(res.key_id, res.window, used - res.tpm_cost)
        self.ledger.put(row, reserved=res is not None and res.held)

    # -- housekeeping ----------------------------------------------------------------------------
    async def heartbeat(self) -> None:
        """Say this process is alive, and return the reservations of processes that are not."""
        now = datetime.now(UTC)
        stale = now - timedelta(seconds=STALE_AFTER)
        async with self._db.write() as conn:
            updated = await conn.execute(update(instances).where(
                instances.c.id == self.instance_id).values(heartbeat_at=now))
            if updated.rowcount == 0:
                await conn.execute(instances.insert().values(id=self.instance_id, heartbeat_at=now))
            alive = select(instances.c.id).where(instances.c.heartbeat_at > stale)
            released = await release_where(conn, reservations.c.instance_id.not_in(alive))
            await settle(conn, [], released)
            await conn.execute(instances.delete().where(instances.c.heartbeat_at <= stale))
        if released:
            log.info("returned %d reservations of stopped gateway processes to their keys",
                     len(released))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self.heartbeat()
            except Exception as e:  # keep beating; the database may come back
                log.warning("store heartbeat failed: %r", e)

    async def ready(self) -> bool:
        try:
            async with self._db.read() as conn:
                await conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.ledger.aclose()
        await self._limiter.aclose()
        if not self._started:
            return
        try:
            # requests never recorded (the server stopped mid-request) must not keep their quota
            async with self._db.write() as conn:
                released = await release_where(
                    conn, reservations.c.instance_id == self.instance_id)
                await settle(conn, [], released)
                await conn.execute(instances.delete().where(instances.c.id == self.instance_id))
        except SQLAlchemyError as e:
            log.warning("could not release this process's reservations at shutdown: %r", e)
