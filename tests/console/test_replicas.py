"""The console's runtime switches on two replicas sharing the real Redis: what one changes, the
other acts on; a session made on one is valid on the other."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fake_provider, strict_client
from tests.console.conftest import console_config, csrf_of, http_sign_in
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import REDIS_URL, eventually, prefix

INTERVAL = 0.3  # health probes


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def replicas(fake: FakeOpenAI, tmp_path: Path, tag: str) -> Iterator[tuple[Gateway, Gateway]]:
    cfg = console_config(fake, tmp_path)
    cfg["store"]["redis_url"] = REDIS_URL
    cfg["providers"]["acct"] = fake_provider(fake)
    cfg["models"]["acct"] = [f"acct/arrears:{tag}", "fake/echo"]
    cfg["routing"] = {"redis_prefix": prefix(), "health_interval": INTERVAL, "probe_timeout": 1.0,
                      "sync_interval": 0.5, "retries": 0}
    a, b = Gateway(cfg), Gateway(cfg)
    yield a, b
    fake.state.failing.discard(tag)
    a.stop()
    b.stop()


def press(c: httpx.Client, action: str, **fields: str) -> None:
    token = csrf_of(c.get("/console/providers").text)
    r = c.post(f"/console/providers/{action}", data={"csrf": token, **fields})
    assert r.status_code == 303, r.text


def test_a_session_made_on_one_replica_is_valid_on_the_other(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    on_a = http_sign_in(a)
    on_b = httpx.Client(base_url=b.root, cookies=on_a.cookies)
    r = on_b.get("/console/providers")
    assert r.status_code == 200 and "供应商" in r.text


def test_a_provider_disabled_on_one_replica_is_disabled_on_both(replicas: tuple[Gateway, Gateway]) -> None:
    a, b = replicas
    on_a = http_sign_in(a)
    press(on_a, "fake/disable")
    for g in (a, b):
        eventually(lambda g=g: "fake" in g.runtime.routing.disabled, what="fake disabled")  # type: ignore[misc]
        eventually(lambda g=g: "fake" in g.runtime.routing.unprobed, what="probing off")  # type: ignore[misc]
    page = httpx.Client(base_url=b.root, cookies=on_a.cookies).get("/console/providers").text
    assert 'data-state="disabled"' in page and "operator" in page

    press(httpx.Client(base_url=b.root, cookies=on_a.cookies), "fake/enable")
    for g in (a, b):
        eventually(lambda g=g: "fake" not in g.runtime.routing.disabled, what="fake enabled")  # type: ignore[misc]
        eventually(lambda g=g: "fake" not in g.runtime.routing.unprobed, what="probing on")  # type: ignore[misc]


def test_with_probing_off_a_disabled_provider_stays_out_until_probing_is_on_again(
    replicas: tuple[Gateway, Gateway], fake: FakeOpenAI, tag: str
) -> None:
    a, b = replicas
    on_a = http_sign_in(a)
    press(on_a, "acct/probing", on="0")
    eventually(lambda: "acct" in b.runtime.routing.unprobed, what="B to see probing off")
    # the account runs out of balance: a request disables it (and falls back); then it is topped up
    fake.state.failing.add(tag)
    raw = strict_client(a).chat.completions.with_raw_response.create(
        model="acct", messages=[{"role": "user", "content": "x"}])
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    eventually(lambda: "acct" in b.runtime.routing.disabled, what="B to see it disabled")
    fake.state.failing.discard(tag)
    before = fake.state.model_calls.get(f"arrears:{tag}", 0)
    time.sleep(6 * INTERVAL)  # several probe intervals pass: nobody probes
    assert fake.state.model_calls.get(f"arrears:{tag}", 0) == before
    assert "acct" in a.runtime.routing.disabled and "acct" in b.runtime.routing.disabled

    press(on_a, "acct/probing", on="1")
    eventually(lambda: "acct" not in a.runtime.routing.disabled, timeout=5, what="a probe to enable it")
    eventually(lambda: "acct" not in b.runtime.routing.disabled, what="B to see it enabled")
    assert fake.state.model_calls.get(f"arrears:{tag}", 0) > before
