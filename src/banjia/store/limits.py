"""Requests-per-minute and tokens-per-minute limits per key.

Both limiters count in one-minute windows and estimate the sliding minute as
``previous_window * (1 - elapsed_fraction) + current_window`` (two counters per key and unit
instead of a timestamp per request). A request is admitted when the estimate plus its own cost
fits the limit; otherwise the answer says how long until it would fit (``retry-after``).

TPM is charged at admission with the request's expected tokens (prompt + allowed output) and
corrected to the real usage when the request ends, so a burst cannot slip past while its answers
are still streaming.

:class:`LocalLimiter` counts in the process; :class:`RedisLimiter` counts in Redis (one Lua call,
atomic, on Redis's clock) so that every replica shares the same limits. If Redis fails, requests
are limited per replica until it is back — refusing all traffic because a counter is unreachable
would be worse.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # redis is imported only when configured: it costs a second of start-up
    from redis.asyncio import Redis

__all__ = ["WINDOW", "Admission", "LocalLimiter", "RateLimiter", "RedisLimiter", "wait_seconds"]

log = logging.getLogger("banjia.store")

WINDOW = 60  # seconds


@dataclass(frozen=True, slots=True)
class Admission:
    wait: float  # seconds until the request would fit; 0: admitted (and counted)
    window: int  # the window it was counted in (for the TPM correction)
    tpm_cost: int  # tokens charged at admission
    unit: str = ""  # when refused: "requests" or "tokens", the limit that refused it


def wait_seconds(prev: float, curr: float, elapsed: float, limit: int, cost: float) -> float:
    """Seconds until ``cost`` more fits under ``limit``; ``elapsed`` is the fraction of the
    current window gone. ``cost`` must not exceed ``limit``."""
    prev, curr = max(prev, 0.0), max(curr, 0.0)
    if prev * (1 - elapsed) + curr + cost <= limit:
        return 0.0
    if prev > 0 and curr + cost <= limit:
        # later in this window the previous window's weight has shrunk enough
        at = 1 - (limit - curr - cost) / prev
        return max((at - elapsed) * WINDOW, 0.001)
    # only in the next window, once this one's weight has shrunk enough
    at = max(0.0, 1 - (limit - cost) / curr) if curr > 0 else 0.0
    return (1 - elapsed) * WINDOW + at * WINDOW


class RateLimiter(Protocol):
    async def acquire(self, key_id: str, rpm: int | None, tpm: int | None,
                      tokens: int) -> Admission: ...

    def adjust(self, key_id: str, window: int, delta: int) -> None:
        """Correct the TPM count by ``delta`` tokens; must not block."""

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class _Counter:
    window: int = 0
    prev: float = 0.0
    curr: float = 0.0

    def roll(self, window: int) -> None:
        if window == self.window:
            return
        self.prev = self.curr if window == self.window + 1 else 0.0
        self.curr = 0.0
        self.window = window


class LocalLimiter:
    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._counters: dict[tuple[str, str], _Counter] = {}

    def _counter(self, key_id: str, unit: str, window: int) -> _Counter:
        c = self._counters.get((key_id, unit))
        if c is None:
            c = self._counters[(key_id, unit)] = _Counter(window)
        c.roll(window)
        return c

    async def acquire(self, key_id: str, rpm: int | None, tpm: int | None,
                      tokens: int) -> Admission:
        return self.acquire_now(key_id, rpm, tpm, tokens)

    def acquire_now(self, key_id: str, rpm: int | None, tpm: int | None,
                    tokens: int) -> Admission:
        now = self._clock()
        window = math.floor(now / WINDOW)
        elapsed = now / WINDOW - window
        cost = min(tokens, tpm) if tpm else 0
        checks: list[tuple[_Counter, int, float, str]] = []
        if rpm:
            checks.append((self._counter(key_id, "rpm", window), rpm, 1, "requests"))
        if tpm:
            checks.append((self._counter(key_id, "tpm", window), tpm, cost, "tokens"))
        for c, lim, n, unit in checks:
            wait = wait_seconds(c.prev, c.curr, elapsed, lim, n)
            if wait > 0:
                return Admission(wait, window, 0, unit)
        for c, _, n, _ in checks:
            c.curr += n
        return Admission(0.0, window, cost)

    def adjust(self, key_id: str, window: int, delta: int) -> None:
        c = self._counters.get((key_id, "tpm"))
        if c is None or delta == 0:
            return
        c.roll(math.floor(self._clock() / WINDOW))
        # usage beyond the estimate happened now; a refund goes back where it was charged
        if delta > 0:
            c.curr += delta
        elif window == c.window:
            c.curr = max(c.curr + delta, 0.0)
        elif window == c.window - 1:
            c.prev = max(c.prev + delta, 0.0)

    async def aclose(self) -> None:
        return None


_ACQUIRE = """
local base, rpm, tpm, cost, W = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local idx = math.floor(now / W)
local f = now / W - idx
local function count(name)
  local v = tonumber(redis.call('GET', name) or '0')
  if v < 0 then return 0 end
  return v
end
local function wait(unit, limit, c)
  if limit <= 0 then return 0 end
  local prev = count(base .. ':' .. unit .. ':' .. (idx - 1))
  local curr = count(base .. ':' .. unit .. ':' .. idx)
  if prev * (1 - f) + curr + c <= limit then return 0 end
  if prev > 0 and curr + c <= limit then
    return math.max((1 - (limit - curr - c) / prev - f) * W, 0.001)
  end
  local at = 0
  if curr > 0 then at = math.max(0, 1 - (limit - c) / curr) end
  return (1 - f) * W + at * W
end
local w = wait('rpm', rpm, 1)
if w > 0 then return {math.ceil(w * 1000), idx, 1} end
w = wait('tpm', tpm, cost)
if w > 0 then return {math.ceil(w * 1000), idx, 2} end
for _, uc in ipairs({{'rpm', rpm, 1}, {'tpm', tpm, cost}}) do
  if uc[2] > 0 and uc[3] > 0 then
    local k = base .. ':' .. uc[1] .. ':' .. idx
    redis.call('INCRBY', k, uc[3])
    redis.call('PEXPIRE', k, W * 2000)
  end
end
return {0, idx, 0}
"""

_ADJUST = """
local base, window, delta, W = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local idx = math.floor((tonumber(t[1]) + tonumber(t[2]) / 1000000) / W)
local target = window
if delta > 0 then target = idx end
if target < idx - 1 then return 0 end
local k = base .. ':tpm:' .. target
redis.call('INCRBY', k, delta)
redis.call('PEXPIRE', k, W * 2000)
return 1
"""


class RedisLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        from redis.exceptions import RedisError

        self._errors = (RedisError, OSError)
        self._redis = redis
        self._prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._adjust = redis.register_script(_ADJUST)
        self._fallback = LocalLimiter()
        self._pending: set[asyncio.Task[None]] = set()
        self._warned = 0.0

    def _base(self, key_id: str) -> str:
        # the braces make every counter of one key land on one Redis Cluster slot
        return f"{self._prefix}rl:{{{key_id}}}"

    def _warn(self, e: Exception) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("Redis is unreachable (%s): rate limits are counted per replica", e)

    async def acquire(self, key_id: str, rpm: int | None, tpm: int | None,
                      tokens: int) -> Admission:
        cost = min(tokens, tpm) if tpm else 0
        try:
            wait_ms, window, unit = await self._acquire(
                keys=[self._base(key_id)], args=[rpm or 0, tpm or 0, cost, WINDOW])
        except self._errors as e:
            self._warn(e)
            return self._fallback.acquire_now(key_id, rpm, tpm, tokens)
        if wait_ms:
            return Admission(int(wait_ms) / 1000, int(window), 0,
                             "requests" if unit == 1 else "tokens")
        return Admission(0.0, int(window), cost)

    def adjust(self, key_id: str, window: int, delta: int) -> None:
        if delta == 0:
            return
        task = asyncio.get_running_loop().create_task(self._send_adjust(key_id, window, delta))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_adjust(self, key_id: str, window: int, delta: int) -> None:
        try:
            await self._adjust(keys=[self._base(key_id)], args=[window, delta, WINDOW])
        except self._errors as e:
            self._warn(e)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
