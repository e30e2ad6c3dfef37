"""Admission and settlement: the :class:`~banjia.context.Accounting` over the store.

``admit`` runs before any provider is called. Rate limits first (in memory or one Redis call),
then, for keys with a quota, one transaction that locks the key's row, reserves the request's
worst case — prompt estimate plus its output limit, times ``n`` — if the key's quota minus what
is used and what is already reserved still covers it, and records the reservation. Concurrent
requests cannot all pass on the same remainder. A request without an output limit reserves the
model's maximum output (:data:`DEFAULT_OUTPUT_CAP` when the catalog does not know it), or less
when less is left, and ``ctx.output_cap`` tells the gateway to ask the upstream for no more: the
reservation bounds what the answer may cost, so the quota is overspent only by a prompt longer
than its local estimate.

``record`` queues the ledger row; the ledger writer settles the key (usage in, reservation out)
in the same transaction, at once for rows that hold a reservation. A request refused for quota
while requests of the same key that just ended are still settling waits for that and tries once
more, so back-to-back requests within the quota are not refused.

A reservation whose process died is returned to its key at the next start on the same machine
(its journal, :mod:`.journal`, is replayed then), or by any live process once the dead one's
heartbeat is older than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from banjia import catalog
from banjia.context import KeyInfo, RequestContext
from banjia.errors import APIError, bad_request
from banjia.pricing import CATALOG_PRICES, Pricer
from banjia.store._engine import Database
from banjia.store.journal import DeadJournal, Journal
from banjia.store.keys import StoreKey, new_id, store_unavailable
from banjia.store.ledger import (
    LedgerWriter,
    ledger_row,
    release_where,
    settle,
)
from banjia.store.limits import RateLimiter
from banjia.store.schema import from_nano, instances, keys, reservations, to_nano

__all__ = [
    "DEFAULT_OUTPUT_CAP",
    "DEFAULT_OUTPUT_RESERVE",
    "MAX_OUTPUT_TOKENS",
    "STALE_AFTER",
    "Reservation",
    "StoreAccounting",
]

log = logging.getLogger("banjia.store")

DEFAULT_OUTPUT_RESERVE = 1024  # output tokens a request without a limit is expected to use (TPM)
# the output limit given to a request without one on a key with a quota, when the catalog does
# not know the model's maximum output
DEFAULT_OUTPUT_CAP = 4096
MAX_OUTPUT_TOKENS = 2**31 - 1  # a larger max_tokens is a mistake: 400, not a quota calculation
HEARTBEAT = 5.0  # seconds between this process's heartbeats
STALE_AFTER = 20.0  # seconds without a heartbeat before a process's reservations are reclaimed


@dataclass(slots=True)
class Reservation:
    """What ``admit`` took for one request (``RequestContext.reservation``)."""

    key_id: str
    tokens: int = 0
    nano_cny: int = 0
    held: bool = False  # a row in banjia_reservations, released when the ledger row is written
    output: int = 0  # output tokens per choice it covers
    window: int = 0  # rate-limit window of admission
    tpm_cost: int = 0  # tokens charged to TPM at admission


def _expected_output(ctx: RequestContext) -> int:
    if ctx.max_output_tokens is not None:
        return max(ctx.max_output_tokens, 0)
    return 0 if ctx.endpoint == "embeddings" else DEFAULT_OUTPUT_RESERVE


def _model_max_output(ctx: RequestContext) -> int:
    if ctx.provider_type is not None and ctx.upstream_model is not None:
        try:
            info = catalog.model_info(ctx.provider_type, ctx.upstream_model)
        except Exception:  # a catalog bug must not refuse requests
            log.exception("catalog lookup failed for %s/%s", ctx.provider_type, ctx.upstream_model)
            info = None
        if info is not None and info.max_output:
            return info.max_output
    return DEFAULT_OUTPUT_CAP


def _affordable(ctx: RequestContext, prompt: int, left_nano: int, prices: Pricer) -> int:
    """Output tokens that ``left_nano`` still pays for after the prompt (prices are linear in
    output tokens for a given prompt and time)."""
    base = _expected_nano(ctx, prompt, 0, prices)
    per_million = _expected_nano(ctx, prompt, 1_000_000, prices) - base
    if per_million <= 0:
        return MAX_OUTPUT_TOKENS  # free output
    return max((left_nano - base) * 1_000_000 // per_million, 0)


def _plan(ctx: RequestContext, prompt: int, row: Any, prices: Pricer) -> tuple[int, int, int] | None:
    """(tokens, nano-CNY, output tokens per choice) to reserve for ``ctx`` on the key ``row``,
    or None when what is left cannot cover it."""
    m = row._mapping
    left_tokens = (None if m["quota_tokens"] is None
                   else m["quota_tokens"] - m["used_tokens"] - m["reserved_tokens"])
    left_nano = (None if m["quota_nano_cny"] is None
                 else m["quota_nano_cny"] - m["used_nano_cny"] - m["reserved_nano_cny"])
    n = max(ctx.choices, 1)
    if ctx.max_output_tokens is not None or ctx.endpoint == "embeddings":
        output = _expected_output(ctx)
    else:  # no limit asked: what the model may write, cut to what the quota covers
        output = _model_max_output(ctx)
        if left_tokens is not None:
            output = min(output, (left_tokens - prompt) // n)
        if left_nano is not None:
            output = min(output, _affordable(ctx, prompt, left_nano, prices) // n)
        if output < 1:
            return None
    tokens = prompt + output * n
    # only a CNY quota needs CNY held (and a token-only key's worst case could exceed BIGINT)
    nano = 0 if left_nano is None else _expected_nano(ctx, prompt, output * n, prices)
    if left_nano is not None and nano > left_nano and ctx.max_output_tokens is None and output > 1:
        output -= 1  # the CNY price was rounded up by a nano
        tokens, nano = prompt + output * n, _expected_nano(ctx, prompt, output * n, prices)
    # "at least 1": an exhausted key admits nothing, even a free request
    if left_tokens is not None and left_tokens < max(tokens, 1):
        return None
    if left_nano is not None and left_nano < max(nano, 1):
        return None
    return tokens, nano, output


def _expected_nano(ctx: RequestContext, prompt: int, output: int, prices: Pricer) -> int:
    """The CNY to reserve: the serving provider's price (the catalog's, or the config's pricing:
    override for that provider, as the ledger will bill it) when the gateway has chosen it, else
    OpenAI's price for the model asked (dearer than the providers banjia routes to)."""
    cost, openai_cost = prices.for_row(ctx, prompt, output, 0)
    return to_nano(cost if cost is not None else openai_cost)


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
    def __init__(self, db: Database, limiter: RateLimiter, *, flush_interval: float = 0.1,
                 journal_dir: Path | None = None, prices: Pricer = CATALOG_PRICES) -> None:
        self._db = db
        self._limiter = limiter
        self.prices = prices  # the catalog with the config's pricing: overrides
        self.ledger = LedgerWriter(db, interval=flush_interval)
        self.instance_id = new_id("inst")
        self._journal_dir = journal_dir
        self._task: asyncio.Task[None] | None = None
        self._started = False  # serving requests (not merely opened by the command line)
        self._closed = False

    async def start(self) -> None:
        self._started = True
        await self.heartbeat()
        if self._journal_dir is not None:
            self.ledger.journal = Journal.open(self._journal_dir, self.instance_id)
            await self._recover(self._journal_dir)
        self.ledger.start()
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="banjia-heartbeat")

    async def _recover(self, directory: Path) -> None:
        """Write the rows of processes that died with rows queued, and return their quota."""
        own = self.ledger.journal.path if self.ledger.journal is not None else None
        for dead in DeadJournal.find(directory, own):
            entries = dead.entries()
            for row, reserved in entries:
                self.ledger.put(row, reserved=reserved)  # in this process's journal now
            try:
                await self.ledger.flush()
                async with self._db.write() as conn:
                    released = await release_where(
                        conn, reservations.c.instance_id == dead.instance_id)
                    await settle(conn, [], released)
                    await conn.execute(instances.delete().where(instances.c.id == dead.instance_id))
            except Exception as e:  # the rows stay queued here; the heartbeat returns the quota
                log.warning("recovering the ledger journal %s failed: %r", dead.path.name, e)
                released = []
            if self.ledger.journal is not None or not self.ledger.pending:
                dead.remove()
            else:
                dead.release()  # its rows are only in this process's memory: keep the file
            if entries or released:
                log.warning("a gateway process stopped without a shutdown: %d ledger rows "
                            "recovered from its journal, %d reservations returned",
                            len(entries), len(released))

    # -- the request path ------------------------------------------------------------------------
    async def admit(self, ctx: RequestContext) -> None:
        key = ctx.key
        if key is None:
            return
        res = Reservation(key_id=key.id)
        ctx.reservation = res
        if ctx.max_output_tokens is not None and ctx.max_output_tokens > MAX_OUTPUT_TOKENS:
            raise bad_request(f"Invalid 'max_tokens': it must be between 1 and {MAX_OUTPUT_TOKENS} "
                              f"(got {ctx.max_output_tokens}).", param="max_tokens",
                              code="invalid_value")
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
        plan = await self._reserve(ctx, key.id, prompt)
        if plan is None and self.ledger.unsettled(key.id):
            # requests of this key ended a moment ago and their quota is being settled: wait
            # for that rather than refuse a request the quota covers
            with contextlib.suppress(Exception):  # the writer logs and retries its failures
                await self.ledger.flush()
            plan = await self._reserve(ctx, key.id, prompt)
        if plan is None:
            least = output if ctx.max_output_tokens is not None or not output else 1
            raise await self._insufficient(key.id, prompt + least * max(ctx.choices, 1))
        res.tokens, res.nano_cny, res.output = plan
        res.held = True
        if ctx.max_output_tokens is None and ctx.endpoint != "embeddings":
            ctx.output_cap = res.output

    async def _reserve(self, ctx: RequestContext, key_id: str,
                       prompt: int) -> tuple[int, int, int] | None:
        k = keys.c
        try:
            async with self._db.write() as conn:
                await self._db.claim_write_lock(conn)
                row = (await conn.execute(
                    select(k.quota_tokens, k.used_tokens, k.reserved_tokens, k.quota_nano_cny,
                           k.used_nano_cny, k.reserved_nano_cny)
                    .where(k.id == key_id, k.revoked_at.is_(None)).with_for_update())).first()
                if row is None:
                    return None
                plan = _plan(ctx, prompt, row, self.prices)
                if plan is None:
                    return None
                tokens, nano, _ = plan
                # the row is locked; the conditions repeat the check in case it is not (a
                # database without row locks) — the reservation must never exceed the quota
                taken = await conn.execute(
                    update(keys).where(
                        k.id == key_id,
                        k.quota_tokens.is_(None)
                        | (k.quota_tokens - k.used_tokens - k.reserved_tokens >= max(tokens, 1)),
                        k.quota_nano_cny.is_(None)
                        | (k.quota_nano_cny - k.used_nano_cny - k.reserved_nano_cny >= max(nano, 1)),
                    ).values(reserved_tokens=k.reserved_tokens + tokens,
                             reserved_nano_cny=k.reserved_nano_cny + nano))
                if taken.rowcount == 0:
                    return None
                await conn.execute(reservations.insert().values(
                    request_id=ctx.request_id, key_id=key_id, tokens=tokens, nano_cny=nano,
                    instance_id=self.instance_id, created_at=datetime.now(UTC)))
        except SQLAlchemyError as e:
            raise store_unavailable(e) from e
        return plan

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
        row = ledger_row(ctx, self.prices)
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
