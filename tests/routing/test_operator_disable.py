"""A provider an operator disabled (the console) gets no traffic at all, on every replica, until an
operator enables it again: unlike a provider disabled after failures, it is no last resort, and
neither a probe nor a lucky request brings it back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from banjia.routing.circuit import Disabled
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import FAST, USER, config, eventually, prefix

INTERVAL = 0.2  # health probes


@pytest.fixture
def replicas(fake: FakeOpenAI, tmp_path: Path) -> Iterator[tuple[Gateway, Gateway, str]]:
    tag = uuid.uuid4().hex[:8]
    providers = {"spare": fake_provider(fake, timeouts=FAST)}
    models = {"chain": [f"spare/echo-{tag}", "fake/echo"], "alone": [f"spare/echo-{tag}"]}
    routing = {"redis_prefix": prefix(), "health_interval": INTERVAL, "sync_interval": 0.2}
    cfg = config(fake, tmp_path, providers=providers, models=models, routing=routing, redis=True)
    a, b = Gateway(cfg), Gateway(cfg)
    try:
        yield a, b, tag
    finally:
        a.stop()
        b.stop()


def on_loop(g: Gateway, call: Callable[[], object]) -> None:
    """Runs ``call`` on the gateway's event loop, as the console's handlers do."""

    async def run() -> None:
        call()

    asyncio.run_coroutine_threadsafe(run(), g.loop).result(5)


def upstream(g: Gateway, model: str) -> str:
    raw = strict_client(g).chat.completions.with_raw_response.create(model=model, messages=USER)
    return raw.headers["x-banjia-upstream"]


def test_an_operator_disable_takes_the_provider_out_of_every_replica_even_as_last_resort(
    replicas: tuple[Gateway, Gateway, str], fake: FakeOpenAI
) -> None:
    a, b, tag = replicas
    assert upstream(b, "chain") == f"spare/echo-{tag}"
    off = Disabled(since=time.time(), reason="operator: console", endpoint="chat", model=f"echo-{tag}",
                   by_operator=True)
    on_loop(a, lambda: a.runtime.routing.disable("spare", off))
    eventually(lambda: "spare" in b.runtime.routing.disabled, what="B to see the operator's disable")
    assert b.runtime.routing.disabled["spare"].by_operator
    seen = sum(r.body.get("model") == f"echo-{tag}" for r in fake.state.requests)
    assert upstream(b, "chain") == "fake/echo"
    with pytest.raises(openai.APIStatusError) as e:  # alone in its chain: still not tried
        strict_client(b).chat.completions.create(model="alone", messages=USER)
    assert e.value.status_code == 503 and "operator" in e.value.message
    time.sleep(4 * INTERVAL)  # several probe intervals: no probe may bring it back
    assert sum(r.body.get("model") == f"echo-{tag}" for r in fake.state.requests) == seen
    assert "spare" in a.runtime.routing.disabled and "spare" in b.runtime.routing.disabled

    on_loop(a, lambda: a.runtime.routing.enable("spare"))
    eventually(lambda: "spare" not in b.runtime.routing.disabled, what="B to see it enabled")
    assert upstream(b, "chain") == f"spare/echo-{tag}"
