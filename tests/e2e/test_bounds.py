"""Out-of-range numbers and non-JSON booleans are 400s at the edge: they never reach an upstream
(where a 10^9-wide vector stalled a vendor and opened the circuit for every tenant) nor the quota
arithmetic (where a 2.2e15-token reservation was a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

USER = [{"role": "user", "content": "hello there world"}]
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}


def upstream_calls(fake: FakeOpenAI) -> int:
    return len(fake.state.requests)


def post(g: Gateway, path: str, body: dict[str, Any], headers: dict[str, str] = MASTER) -> httpx.Response:
    return httpx.post(g.base_url + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def quota_key(gateway: Gateway) -> dict[str, str]:
    body = {"name": "bounded", "quota_tokens": 100_000}
    r = httpx.post(gateway.root + "/admin/keys", json=body, headers=MASTER)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


def test_a_billion_dimensions_is_refused_before_the_upstream(gateway: Gateway, fake: FakeOpenAI) -> None:
    before = upstream_calls(fake)
    body = {"model": "text-embedding-3-small", "input": "x", "dimensions": 1_000_000_000}
    r = post(gateway, "/embeddings", body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["param"], err["code"]) == ("dimensions", "integer_above_max_value")
    assert upstream_calls(fake) == before


@pytest.mark.parametrize("value", ["yes", 1])
def test_stream_must_be_a_json_boolean(gateway: Gateway, fake: FakeOpenAI, value: object) -> None:
    before = upstream_calls(fake)
    r = post(gateway, "/chat/completions", {"model": "gpt-4o", "messages": USER, "stream": value})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "stream"
    assert "expected a boolean" in r.json()["error"]["message"]
    assert upstream_calls(fake) == before


@pytest.mark.parametrize("value", [2.2e15, 2_200_000_000_000_000])
def test_an_absurd_max_tokens_on_a_key_with_a_quota_is_a_400(
    gateway: Gateway, quota_key: dict[str, str], value: float
) -> None:
    body = {"model": "gpt-4o", "messages": USER, "max_tokens": value}
    r = post(gateway, "/chat/completions", body, quota_key)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "max_tokens"


def test_a_seed_beyond_64_bits_is_refused_before_the_upstream(gateway: Gateway, fake: FakeOpenAI) -> None:
    before = upstream_calls(fake)
    r = post(gateway, "/chat/completions", {"model": "gpt-4o", "messages": USER, "seed": 2**64})
    assert r.status_code == 400 and r.json()["error"]["param"] == "seed"
    assert upstream_calls(fake) == before


def test_values_in_range_still_reach_the_upstream_as_sent(gateway: Gateway, fake: FakeOpenAI) -> None:
    body = {"model": "gpt-4o", "messages": USER, "max_tokens": 2**31 - 1, "seed": 2**63 - 1,
            "logit_bias": {"1": -100}, "temperature": 2, "vendor_flag": {"x": [1, "y"]}}
    r = post(gateway, "/chat/completions", body)
    assert r.status_code == 200, r.text
    sent = fake.state.requests[-1].body
    assert {k: sent[k] for k in ("max_tokens", "seed", "logit_bias", "vendor_flag")} == {
        "max_tokens": 2**31 - 1, "seed": 2**63 - 1, "logit_bias": {"1": -100}, "vendor_flag": {"x": [1, "y"]}
    }
