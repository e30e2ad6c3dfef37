"""Circuits and auto-disable across two gateway replicas sharing the real Redis.

Each test gives its replicas a Redis key prefix of their own. What one replica learns (a circuit
opened, a provider disabled, then healthy again) the other must act on without having seen the
failure itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import FAST, USER, config, eventually, metric, prefix

COOLDOWN = 1.5  # long enough that a loaded machine does not reach half-open between two asserts
INTERVAL = 0.3  # health probes


def served_by(g: Gateway, model: str) -> str:
    raw = strict_client(g).chat.completions.with_raw_response.create(model=model, messages=USER)
    assert raw.parse().choices[0].message.content
    return raw.headers["x-banjia-upstream"]


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def replicas(fake: FakeOpenAI, tmp_path: Path, tag: str) -> Iterator[tuple[Gateway, Gateway]]:
    providers: dict[str, Any] = {
        "acct": fake_provider(fake, timeouts=FAST),
        "badkey": {**fake_provider(fake, timeouts=FAST), "api_key": "sk-not-the-right-one"},
    }
    models = {
        "flip": [f"fake/switch:{tag}", "fake/echo"],
        "acct": [f"acct/arrears:{tag}", "fake/echo"],
        "bad": ["badkey/echo", "fake/echo"],
    }
    routing = {
        "redis_prefix": prefix(),
        "retries": 0,
        "circuit": {"failures": 2, "cooldown": COOLDOWN},
        "health_interval": INTERVAL,
        "probe_timeout": 1.0,
        "sync_interval": 0.5,
    }
    cfg = config(fake, tmp_path, providers=providers, models=models, routing=routing, redis=True)
    a = Gateway(cfg)
    b = Gateway(cfg)
    yield a, b
    fake.state.failing.discard(tag)
    a.stop()
    b.stop()


def circuit(g: Gateway, model: str) -> float | None:
    return metric(g, "banjia_circuit_state", provider="fake", model=model)


def test_a_circuit_opened_on_one_replica_is_respected_by_the_other(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI, tag: str
) -> None:
    a, b = replicas
    target = f"switch:{tag}"
    fake.state.failing.add(tag)
    assert served_by(a, "flip") == "fake/echo"
    assert served_by(a, "flip") == "fake/echo"  # second consecutive failure: open
    assert circuit(a, target) == 1
    eventually(lambda: circuit(b, target) == 1, what="replica B to see the open circuit")

    calls = fake.state.model_calls[target]
    assert served_by(b, "flip") == "fake/echo"
    assert fake.state.model_calls[target] == calls, "B must not send to an open circuit"
    assert metric(b, "banjia_upstream_attempts_total", provider="fake", model=target) in (None, 0)


def test_after_the_cooldown_one_probe_closes_the_circuit_everywhere(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI, tag: str
) -> None:
    a, b = replicas
    target = f"switch:{tag}"
    fake.state.failing.add(tag)
    served_by(a, "flip")
    served_by(a, "flip")
    eventually(lambda: circuit(b, target) == 1, what="B to see the open circuit")

    fake.state.failing.discard(tag)  # the upstream recovers
    eventually(lambda: circuit(b, target) == 2, timeout=COOLDOWN + 2, what="half-open after the cooldown")
    assert served_by(b, "flip") == f"fake/{target}"  # the probe, and it succeeds
    assert circuit(b, target) is None  # closed: the entry is forgotten
    eventually(lambda: circuit(a, target) is None, what="A to see the circuit closed")
    assert served_by(a, "flip") == f"fake/{target}"


def test_a_failed_probe_opens_the_circuit_again(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI, tag: str
) -> None:
    a, b = replicas
    target = f"switch:{tag}"
    fake.state.failing.add(tag)
    served_by(a, "flip")
    served_by(a, "flip")
    eventually(lambda: circuit(a, target) == 2, timeout=COOLDOWN + 2, what="half-open")
    calls = fake.state.model_calls[target]
    assert served_by(a, "flip") == "fake/echo"  # the probe failed, the fallback served
    assert fake.state.model_calls[target] == calls + 1
    assert circuit(a, target) == 1
    eventually(lambda: circuit(b, target) == 1, what="B to see it open again")


def test_a_disabled_provider_is_skipped_by_both_and_enabled_again_by_the_health_probe(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI, tag: str
) -> None:
    a, b = replicas
    fake.state.failing.add(tag)  # the account runs out of balance
    assert served_by(a, "acct") == "fake/echo"
    assert metric(a, "banjia_provider_disabled", provider="acct") == 1
    eventually(lambda: metric(b, "banjia_provider_disabled", provider="acct") == 1, what="B to see it")
    assert served_by(b, "acct") == "fake/echo"
    assert metric(b, "banjia_upstream_attempts_total", provider="acct", model=f"arrears:{tag}") in (None, 0)

    # while the balance is empty, probes keep failing and the provider stays out, on both replicas
    probes_before = fake.state.model_calls[f"arrears:{tag}"]
    started = time.monotonic()
    eventually(lambda: fake.state.model_calls[f"arrears:{tag}"] >= probes_before + 2,
               timeout=4 * INTERVAL + 3, what="health probes")
    window = time.monotonic() - started
    probes = fake.state.model_calls[f"arrears:{tag}"] - probes_before
    # one replica probes per interval (a Redis lock), not both
    assert probes <= window / INTERVAL + 2
    assert metric(a, "banjia_provider_disabled", provider="acct") == 1
    assert metric(b, "banjia_provider_disabled", provider="acct") == 1

    fake.state.failing.discard(tag)  # someone tops the balance up
    eventually(lambda: metric(a, "banjia_provider_disabled", provider="acct") == 0, timeout=3,
               what="the probe to enable it")
    eventually(lambda: metric(b, "banjia_provider_disabled", provider="acct") == 0, what="B to see it")
    assert served_by(b, "acct") == f"acct/arrears:{tag}"
    assert served_by(a, "acct") == f"acct/arrears:{tag}"


def test_bad_credentials_stay_disabled_and_the_provider_is_still_the_last_resort(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI
) -> None:
    a, b = replicas
    assert served_by(a, "bad") == "fake/echo"
    eventually(lambda: metric(b, "banjia_provider_disabled", provider="badkey") == 1, what="B to see it")

    def failed_probes() -> float:
        return sum(metric(g, "banjia_health_probes_total", provider="badkey", outcome="failed") or 0
                   for g in (a, b))

    eventually(lambda: failed_probes() >= 2, timeout=4 * INTERVAL + 3, what="probes")
    assert metric(a, "banjia_provider_disabled", provider="badkey") == 1  # probes fail: still out
    assert metric(b, "banjia_provider_disabled", provider="badkey") == 1
    # alone in its chain, a disabled provider is still tried: the client sees the real error
    with pytest.raises(openai.AuthenticationError) as e:
        strict_client(b).chat.completions.create(model="badkey/echo", messages=USER)
    assert "badkey" in e.value.message
    assert "sk-not-the-right-one" not in e.value.message


def test_requests_on_the_happy_path_make_no_redis_round_trip(replicas: tuple[Gateway, Gateway]) -> None:
    a, _ = replicas
    before = a.runtime.routing.round_trips
    client = strict_client(a)
    for _ in range(5):
        assert client.chat.completions.create(model="fake/echo", messages=USER).choices
    assert a.runtime.routing.round_trips == before


def test_with_redis_unreachable_each_replica_routes_on_its_own(
    fake: FakeOpenAI, tmp_path: Path, closed_port: int, tag: str
) -> None:
    cfg = config(fake, tmp_path, models={"flip": [f"fake/switch:{tag}", "fake/echo"]},
                 routing={"retries": 0, "circuit": {"failures": 1, "cooldown": 30}})
    cfg["store"]["redis_url"] = f"redis://127.0.0.1:{closed_port}/0"
    started = time.monotonic()
    g = Gateway(cfg)
    try:
        assert time.monotonic() - started < 5
        fake.state.failing.add(tag)
        assert served_by(g, "flip") == "fake/echo"
        calls = fake.state.model_calls[f"switch:{tag}"]
        t0 = time.monotonic()
        assert served_by(g, "flip") == "fake/echo"
        assert time.monotonic() - t0 < 0.5
        assert fake.state.model_calls[f"switch:{tag}"] == calls  # the local circuit is open
    finally:
        fake.state.failing.discard(tag)
        g.stop()
