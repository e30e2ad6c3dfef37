"""A provider an operator disabled (the console) gets no traffic at all until an operator enables it
again: unlike a provider disabled after failures, it is no last resort, and neither a probe nor a
lucky request brings it back. (Replicas learn it through the same Redis record as any disable; the
flag travels in it.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import orjson
import pytest

from banjia.routing.circuit import Disabled
from banjia.routing.state import _disabled
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import FAST, USER, config

INTERVAL = 0.2  # health probes


@pytest.fixture
def replicas(fake: FakeOpenAI, tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    tag = uuid.uuid4().hex[:8]
    providers = {"spare": fake_provider(fake, timeouts=FAST)}
    models = {"chain": [f"spare/echo-{tag}", "fake/echo"], "alone": [f"spare/echo-{tag}"]}
    cfg = config(fake, tmp_path, providers=providers, models=models, routing={"health_interval": INTERVAL})
    g = Gateway(cfg)
    try:
        yield g, tag
    finally:
        g.stop()


def on_loop(g: Gateway, call: Callable[[], object]) -> None:
    """Runs ``call`` on the gateway's event loop, as the console's handlers do."""

    async def run() -> None:
        call()

    asyncio.run_coroutine_threadsafe(run(), g.loop).result(5)


def upstream(g: Gateway, model: str) -> str:
    raw = strict_client(g).chat.completions.with_raw_response.create(model=model, messages=USER)
    return raw.headers["x-banjia-upstream"]


def test_an_operator_disable_takes_the_provider_out_even_as_last_resort(
    replicas: tuple[Gateway, str], fake: FakeOpenAI
) -> None:
    b, tag = replicas
    assert upstream(b, "chain") == f"spare/echo-{tag}"
    off = Disabled(since=time.time(), reason="operator: console", endpoint="chat", model=f"echo-{tag}",
                   by_operator=True)
    on_loop(b, lambda: b.runtime.routing.disable("spare", off))
    assert b.runtime.routing.disabled["spare"].by_operator
    seen = sum(r.body.get("model") == f"echo-{tag}" for r in fake.state.requests)
    assert upstream(b, "chain") == "fake/echo"
    with pytest.raises(openai.APIStatusError) as e:  # alone in its chain: still not tried
        strict_client(b).chat.completions.create(model="alone", messages=USER)
    assert e.value.status_code == 503 and "operator" in e.value.message
    time.sleep(4 * INTERVAL)  # several probe intervals: no probe may bring it back
    assert sum(r.body.get("model") == f"echo-{tag}" for r in fake.state.requests) == seen
    assert "spare" in b.runtime.routing.disabled

    on_loop(b, lambda: b.runtime.routing.enable("spare"))
    assert upstream(b, "chain") == f"spare/echo-{tag}"


def test_the_operators_flag_travels_in_the_shared_disable_record() -> None:
    off = Disabled(since=1.0, reason="operator: console", endpoint="chat", model="m", by_operator=True)
    record = orjson.dumps({"since": off.since, "reason": off.reason, "endpoint": off.endpoint,
                           "model": off.model, "by_operator": True}).decode()
    assert _disabled(record) == off
    assert not _disabled(record.replace("true", "false")).by_operator
