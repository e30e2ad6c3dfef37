"""The routing state machine on its own: circuits, probes, disabled providers; local and shared."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from banjia.routing.circuit import Availability, Disabled
from banjia.routing.router import Target
from banjia.routing.state import RoutingState, SharedRoutingState
from tests.routing.conftest import REDIS_URL, prefix

T = Target("p", "m")
OTHER = Target("p", "other")
DOWN = Disabled(since=1.0, reason="insufficient_quota: no balance", endpoint="chat", model="m")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_n_consecutive_failures() -> None:
    s = RoutingState(failures=3, cooldown=10, clock=Clock())
    s.failure(T)
    s.failure(T)
    assert s.check(T) is Availability.CLOSED
    s.failure(T)
    assert s.check(T) is Availability.OPEN
    assert s.check(OTHER) is Availability.CLOSED  # per provider/model


def test_a_success_clears_the_count() -> None:
    s = RoutingState(failures=2, cooldown=10, clock=Clock())
    s.failure(T)
    s.success(T)
    s.failure(T)
    assert s.check(T) is Availability.CLOSED
    assert s.circuits[T.key].failures == 1


async def test_half_open_lets_one_probe_through_then_closes_on_success() -> None:
    clock = Clock()
    s = RoutingState(failures=1, cooldown=10, clock=clock)
    s.failure(T)
    clock.now += 10
    assert s.check(T) is Availability.HALF_OPEN
    assert await s.claim_probe(T)
    assert not await s.claim_probe(T)  # one at a time
    s.success(T)
    assert s.check(T) is Availability.CLOSED


async def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = Clock()
    s = RoutingState(failures=1, cooldown=10, clock=clock)
    s.failure(T)
    clock.now += 10
    assert await s.claim_probe(T)
    s.failure(T)
    assert s.check(T) is Availability.OPEN
    clock.now += 9.9
    assert s.check(T) is Availability.OPEN
    clock.now += 0.2
    assert await s.claim_probe(T)  # the failed probe released its claim


async def test_a_probe_without_verdict_is_released() -> None:
    clock = Clock()
    s = RoutingState(failures=1, cooldown=1, clock=clock)
    s.failure(T)
    clock.now += 1
    assert await s.claim_probe(T)
    s.release_probe(T)
    assert await s.claim_probe(T)


def test_disable_and_enable() -> None:
    s = RoutingState(failures=1, cooldown=1)
    assert s.disable("p", DOWN)
    assert not s.disable("p", DOWN)
    assert s.check(T) is Availability.DISABLED
    assert s.check(Target("q", "m")) is Availability.CLOSED
    assert s.enable("p")
    assert not s.enable("p")
    assert s.check(T) is Availability.CLOSED


# -- shared through Redis -----------------------------------------------------------------------
# two started replicas of the state, and a maker of more
Pair = tuple[SharedRoutingState, SharedRoutingState, Callable[[], SharedRoutingState]]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    p = prefix()
    made: list[SharedRoutingState] = []

    def make() -> SharedRoutingState:
        s = SharedRoutingState(Redis.from_url(REDIS_URL, decode_responses=True), prefix=p, failures=2,
                               cooldown=0.3, sync_interval=0.5)
        made.append(s)
        return s

    a, b = make(), make()
    await a.start()
    await b.start()
    yield a, b, make
    cleanup = Redis.from_url(REDIS_URL, decode_responses=True)
    keys = [k async for k in cleanup.scan_iter(p + "*")]
    if keys:
        await cleanup.delete(*keys)
    await cleanup.aclose()
    for s in made:
        await s.aclose()


async def until(cond: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_failures_on_two_replicas_add_up_and_open_the_circuit_on_both(
    pair: Pair,
) -> None:
    a, b, _ = pair
    a.failure(T)
    await until(lambda: T.key in b.circuits)
    b.failure(T)  # the second consecutive failure, seen by another replica
    await until(lambda: a.check(T) is Availability.OPEN)
    assert b.check(T) is Availability.OPEN


async def test_only_one_replica_claims_the_half_open_probe(
    pair: Pair,
) -> None:
    a, b, _ = pair
    a.failure(T)
    a.failure(T)
    await until(lambda: b.check(T) is Availability.OPEN)
    await until(lambda: a.check(T) is Availability.HALF_OPEN and b.check(T) is Availability.HALF_OPEN)
    assert await a.claim_probe(T)
    assert not await b.claim_probe(T)
    a.success(T)
    await until(lambda: b.check(T) is Availability.CLOSED)


async def test_disabling_reaches_the_other_replica_and_a_late_starter(
    pair: Pair,
) -> None:
    a, b, make = pair
    a.disable("p", DOWN)
    await until(lambda: b.check(T) is Availability.DISABLED)
    assert b.disabled["p"] == DOWN
    c = make()
    await c.start()  # reads the whole state before serving
    assert c.check(T) is Availability.DISABLED
    b.enable("p")
    await until(lambda: a.check(T) is Availability.CLOSED and c.check(T) is Availability.CLOSED)


async def test_only_one_replica_probes_a_disabled_provider_per_interval(
    pair: Pair,
) -> None:
    a, b, _ = pair
    assert await a.claim_health("p", 5)
    assert not await b.claim_health("p", 5)


async def test_redis_down_falls_back_to_local_decisions(closed_port: int) -> None:
    s = SharedRoutingState(Redis.from_url(f"redis://127.0.0.1:{closed_port}/0", decode_responses=True),
                           prefix=prefix(), failures=1, cooldown=0.05)
    started = time.monotonic()
    await s.start()
    assert time.monotonic() - started < 2
    s.failure(T)
    assert s.check(T) is Availability.OPEN
    await until(lambda: s.check(T) is Availability.HALF_OPEN)
    assert await s.claim_probe(T)
    s.success(T)
    assert s.check(T) is Availability.CLOSED
    await s.aclose()
