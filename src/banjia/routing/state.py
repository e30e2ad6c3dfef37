"""Routing state (circuits, disabled providers): in the process, or shared by replicas via Redis.

Requests only ever read this process's copy: no Redis round trip on the way to an answer. Every
change (a failure, a success after failures, a provider disabled or enabled) is applied here at
once, then written to Redis by a background task and published on a channel every replica
listens to, so the others apply it within milliseconds; each replica also re-reads the whole state
every ``sync_interval`` seconds in case a message was lost. The one awaited call is claiming the
half-open probe of an open circuit, off the happy path, and bounded by a short timeout.

If Redis is unreachable, each replica keeps deciding on its own copy (a warning is logged once a
minute) and picks the shared state up again when Redis is back.

Redis layout, under ``prefix``: one hash ``state`` with fields ``f:<provider/model>`` (consecutive
failures), ``o:<provider/model>`` (open until, ms on Redis's clock), ``d:<provider>`` (disabled:
JSON) and ``n:<provider>`` (automatic probing turned off by an operator); keys
``probe:<provider/model>`` and ``health:<provider>`` (who probes, with an expiry); the channel
``events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from banjia.routing.circuit import Availability, Circuit, Disabled
from banjia.routing.logs import event
from banjia.routing.router import Target

__all__ = ["RoutingState", "SharedRoutingState"]

log = logging.getLogger("banjia.routing")

_CLOSED = Availability.CLOSED
_DISABLED = Availability.DISABLED


class RoutingState:
    """The state of one process: what every request consults."""

    def __init__(self, *, failures: int, cooldown: float, clock: Callable[[], float] = time.time) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self.circuits: dict[str, Circuit] = {}
        self.disabled: dict[str, Disabled] = {}
        # providers the health prober leaves alone: an operator turned their probing off
        self.unprobed: set[str] = set()
        # half-open probes in flight here: key → when the claim lapses (a probe whose request
        # vanished without a verdict must not block the circuit for good)
        self._probing: dict[str, float] = {}

    # -- reading (every request) --------------------------------------------------------------
    def check(self, t: Target) -> Availability:
        if self.disabled and t.provider in self.disabled:
            return _DISABLED
        c = self.circuits.get(t.key)
        if c is None:
            return _CLOSED
        return c.availability(self.clock())

    def open_until(self, t: Target) -> float:
        c = self.circuits.get(t.key)
        return c.open_until if c is not None else 0.0

    # -- the half-open probe ------------------------------------------------------------------
    async def claim_probe(self, t: Target) -> bool:
        """True for the one request (across replicas) that may probe this half-open circuit."""
        now = time.monotonic()
        if self._probing.get(t.key, 0.0) > now:
            return False
        self._probing[t.key] = now + max(self.cooldown, 1.0)
        if not await self._claim_shared(t.key):
            self._probing.pop(t.key, None)
            return False
        return True

    def release_probe(self, t: Target) -> None:
        """The probe ended without a verdict (the client went away)."""
        if self._probing.pop(t.key, None) is not None:
            self._release_shared(t.key)

    # -- outcomes -----------------------------------------------------------------------------
    def success(self, t: Target) -> None:
        if self.circuits.pop(t.key, None) is None:
            if self._probing:
                self.release_probe(t)  # another replica closed it meanwhile
            return
        self._probing.pop(t.key, None)
        self._push_success(t.key)

    def failure(self, t: Target) -> Circuit:
        c = self.circuits.get(t.key)
        if c is None:
            c = self.circuits[t.key] = Circuit()
        c.failures += 1
        if c.failures >= self.threshold:
            c.open_until = self.clock() + self.cooldown
        self._probing.pop(t.key, None)
        self._push_failure(t.key)
        return c

    def disable(self, provider: str, d: Disabled) -> bool:
        """Take ``provider`` out of rotation; False if it already was."""
        fresh = provider not in self.disabled
        self.disabled[provider] = d
        self._push_disable(provider, d)
        return fresh

    def enable(self, provider: str) -> bool:
        if self.disabled.pop(provider, None) is None:
            return False
        self._push_enable(provider)
        return True

    def set_probing(self, provider: str, on: bool) -> bool:
        """Let the health prober probe ``provider`` while it is disabled, or not; False if that
        was already so."""
        if on == (provider not in self.unprobed):
            return False
        if on:
            self.unprobed.discard(provider)
        else:
            self.unprobed.add(provider)
        self._push_probing(provider, on)
        return True

    async def claim_health(self, provider: str, ttl: float) -> bool:
        """True for the one replica that probes ``provider`` in this interval."""
        return True

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    # -- what a shared state adds -------------------------------------------------------------
    async def _claim_shared(self, key: str) -> bool:
        return True

    def _release_shared(self, key: str) -> None:
        return None

    def _push_success(self, key: str) -> None:
        return None

    def _push_failure(self, key: str) -> None:
        return None

    def _push_disable(self, provider: str, d: Disabled) -> None:
        return None

    def _push_enable(self, provider: str) -> None:
        return None

    def _push_probing(self, provider: str, on: bool) -> None:
        return None


_FAIL = """
local n = redis.call('HINCRBY', KEYS[1], 'f:' .. ARGV[1], 1)
local u = 0
if n >= tonumber(ARGV[2]) then
  local t = redis.call('TIME')
  u = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'o:' .. ARGV[1], u)
end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[4], 'f\\t' .. ARGV[1] .. '\\t' .. n .. '\\t' .. u)
return {n, u}
"""

_SUCCESS = """
local had = redis.call('HDEL', KEYS[1], 'f:' .. ARGV[1], 'o:' .. ARGV[1])
redis.call('DEL', KEYS[2])
if had > 0 then
  redis.call('PUBLISH', ARGV[2], 'ok\\t' .. ARGV[1])
end
return had
"""

_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class SharedRoutingState(RoutingState):
    """:class:`RoutingState` kept in agreement with every replica through Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        failures: int,
        cooldown: float,
        sync_interval: float = 5.0,
        claim_timeout: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(failures=failures, cooldown=cooldown, clock=clock)
        self.redis = redis
        self.prefix = prefix
        self.sync_interval = sync_interval
        self.claim_timeout = claim_timeout
        self._hash = prefix + "state"
        self._channel = prefix + "events"
        self._fail = redis.register_script(_FAIL)
        self._succeed = redis.register_script(_SUCCESS)
        self._offset = 0.0  # Redis's clock minus ours, in seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pending: set[asyncio.Task[Any]] = set()
        self._warned = 0.0
        self.round_trips = 0  # Redis calls made on behalf of requests (tests check the happy path)

    # -- talking to Redis in the background ---------------------------------------------------
    def _warn(self, e: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            event(log, logging.WARNING, "redis_unreachable", error=type(e).__name__,
                  effect="routing state kept per replica until Redis is back")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.round_trips += 1
        task = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _guard(self, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        except _REDIS_ERRORS as e:
            self._warn(e)
            return None

    def _local_ms(self, redis_ms: float) -> float:
        return redis_ms / 1000 - self._offset if redis_ms else 0.0

    # -- hooks --------------------------------------------------------------------------------
    async def _claim_shared(self, key: str) -> bool:
        self.round_trips += 1
        ttl = max(int(self.cooldown * 1000), 1000)
        try:
            got = await asyncio.wait_for(
                self.redis.set(self.prefix + "probe:" + key, "1", nx=True, px=ttl), self.claim_timeout
            )
        except _REDIS_ERRORS as e:
            self._warn(e)
            return True  # Redis is away: this replica decides alone
        return bool(got)

    def _release_shared(self, key: str) -> None:
        self._spawn(self._guard(self.redis.delete(self.prefix + "probe:" + key)))

    def _push_failure(self, key: str) -> None:
        async def push() -> None:
            got = await self._guard(
                self._fail(
                    keys=[self._hash, self.prefix + "probe:" + key],
                    args=[key, self.threshold, int(self.cooldown * 1000), self._channel],
                )
            )
            if got:
                self._apply_failure(key, int(got[0]), float(got[1]))

        self._spawn(push())

    def _push_success(self, key: str) -> None:
        probe = self.prefix + "probe:" + key
        self._spawn(self._guard(self._succeed(keys=[self._hash, probe], args=[key, self._channel])))

    def _push_disable(self, provider: str, d: Disabled) -> None:
        payload = orjson.dumps(
            {"since": d.since, "reason": d.reason, "endpoint": d.endpoint, "model": d.model,
             "by_operator": d.by_operator}
        ).decode()

        async def push() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._hash, "d:" + provider, payload)
                pipe.publish(self._channel, f"d\t{provider}\t{payload}")
                await pipe.execute()

        self._spawn(self._guard(push()))

    def _push_enable(self, provider: str) -> None:
        async def push() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._hash, "d:" + provider)
                pipe.publish(self._channel, f"e\t{provider}")
                await pipe.execute()

        self._spawn(self._guard(push()))

    def _push_probing(self, provider: str, on: bool) -> None:
        async def push() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                if on:
                    pipe.hdel(self._hash, "n:" + provider)
                else:
                    pipe.hset(self._hash, "n:" + provider, "1")
                pipe.publish(self._channel, f"n\t{provider}\t{int(on)}")
                await pipe.execute()

        self._spawn(self._guard(push()))

    async def claim_health(self, provider: str, ttl: float) -> bool:
        try:
            got = await asyncio.wait_for(
                self.redis.set(self.prefix + "health:" + provider, "1", nx=True, px=max(int(ttl * 1000), 1)),
                self.claim_timeout,
            )
        except _REDIS_ERRORS as e:
            self._warn(e)
            return True
        return bool(got)

    # -- applying what others changed ---------------------------------------------------------
    def _apply_failure(self, key: str, n: int, until_ms: float) -> None:
        if n <= 0:
            self.circuits.pop(key, None)
            return
        c = self.circuits.get(key)
        if c is None:
            c = self.circuits[key] = Circuit()
        c.failures = n
        c.open_until = self._local_ms(until_ms)

    def _apply(self, message: str) -> None:
        kind, _, rest = message.partition("\t")
        if kind == "f":
            key, n, until = rest.split("\t")
            self._apply_failure(key, int(n), float(until))
        elif kind == "ok":
            self.circuits.pop(rest, None)
            self._probing.pop(rest, None)
        elif kind == "d":
            provider, _, payload = rest.partition("\t")
            self.disabled[provider] = _disabled(payload)
        elif kind == "e":
            self.disabled.pop(rest, None)
        elif kind == "n":
            provider, _, on = rest.partition("\t")
            if on == "1":
                self.unprobed.discard(provider)
            else:
                self.unprobed.add(provider)

    async def sync(self) -> None:
        """Re-read the whole shared state."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._hash)
            pipe.time()
            fields, (secs, micros) = await pipe.execute()
        self._offset = int(secs) + int(micros) / 1e6 - time.time()
        circuits: dict[str, Circuit] = {}
        disabled: dict[str, Disabled] = {}
        unprobed: set[str] = set()
        for name, value in fields.items():
            kind, _, key = name.partition(":")
            if kind == "f":
                circuits.setdefault(key, Circuit()).failures = int(value)
            elif kind == "o":
                circuits.setdefault(key, Circuit()).open_until = self._local_ms(float(value))
            elif kind == "d":
                disabled[key] = _disabled(value)
            elif kind == "n":
                unprobed.add(key)
        self.circuits = circuits
        self.disabled = disabled
        self.unprobed = unprobed

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                await self.sync()  # whatever happened while we were not listening
                backoff = 0.1
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        self._apply(str(msg["data"]))
            except _REDIS_ERRORS as e:
                self._warn(e)
            finally:
                with contextlib.suppress(*_REDIS_ERRORS):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            await self._guard(self.sync())

    async def start(self) -> None:
        # a fresh replica should know of open circuits before it serves; not worth a long wait
        try:
            await asyncio.wait_for(self.sync(), 1.0)
        except _REDIS_ERRORS as e:
            self._warn(e)
        loop = asyncio.get_running_loop()
        for coro in (self._listen(), self._resync()):
            task = loop.create_task(coro)
            self._tasks.add(task)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._pending:
            await asyncio.wait(self._pending, timeout=2.0)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(*_REDIS_ERRORS):
            await self.redis.aclose()


def _disabled(payload: str) -> Disabled:
    d = orjson.loads(payload)
    return Disabled(
        since=float(d.get("since", 0)),
        reason=str(d.get("reason", "")),
        endpoint=str(d.get("endpoint", "chat")),
        model=str(d.get("model", "")),
        by_operator=d.get("by_operator") is True,
    )
