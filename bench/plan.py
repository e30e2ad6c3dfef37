"""What one run measures, and for how long: the scenarios, the targets each one is aimed at, and the
durations of the quick and the full mode."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["B1", "B1_NOSTORE", "BASE", "BN", "DIRECT", "LITELLM", "LOADGEN_CPU", "Plan", "Scenario",
           "alt_target", "plan_for"]

DIRECT = "direct"
B1 = "banjia-1w"
BN = "banjia-nw"
B1_NOSTORE = "banjia-1w-nostore"
LITELLM = "litellm"
# banjia 1 worker from another tree (``--baseline``: the commit a change is measured against), and
# banjia 1 worker with another HTTP client behind its transport (``--transports``); both run in
# every scenario banjia 1w runs in, interleaved with it
BASE = "banjia-1w-base"


def alt_target(transport: str) -> str:
    return f"banjia-1w-{transport}"


# the load generator's CPU (taskset -c); every server is left to the scheduler
LOADGEN_CPU = 0


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    stream: bool
    connections: int
    targets: tuple[str, ...]


SCENARIOS = (
    Scenario("nonstream_c1", "non-stream, 1 conn", False, 1, (DIRECT, B1, B1_NOSTORE, LITELLM)),
    Scenario("nonstream_c32", "non-stream, 32 conns", False, 32, (DIRECT, B1, BN, B1_NOSTORE, LITELLM)),
    Scenario("stream_c1", "stream 20 chunks, 1 conn", True, 1, (DIRECT, B1, LITELLM)),
    Scenario("stream_c32", "stream 20 chunks, 32 conns", True, 32, (DIRECT, B1, BN, LITELLM)),
)


@dataclass(frozen=True)
class Plan:
    mode: str
    rounds: int  # every scenario × target runs once per round, in a rotated order
    seconds: float  # one load run
    warmup_seconds: float
    ttfb_rounds: int
    ttfb_requests: int  # per target per round
    soak_requests: int  # the RSS run (banjia 1 worker)
    soak_seconds: float  # its upper bound
    soak_sample_s: float
    soak_chunk_s: float  # one wrk run of the soak
    local_rounds: int
    local_max_tokens: int
    local_limit_s: float  # the whole local-model scenario, both sides
    scenarios: tuple[Scenario, ...] = SCENARIOS


def plan_for(quick: bool) -> Plan:
    if quick:
        return Plan("quick", rounds=1, seconds=1.0, warmup_seconds=1.0, ttfb_rounds=2, ttfb_requests=15,
                    soak_requests=4_000, soak_seconds=20, soak_sample_s=0.25, soak_chunk_s=2, local_rounds=2,
                    local_max_tokens=64, local_limit_s=60)
    return Plan("full", rounds=3, seconds=4.0, warmup_seconds=2.0, ttfb_rounds=4, ttfb_requests=100,
                soak_requests=100_000, soak_seconds=480, soak_sample_s=1.0, soak_chunk_s=10, local_rounds=4,
                local_max_tokens=192, local_limit_s=300)
