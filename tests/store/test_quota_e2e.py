"""Quotas through a real banjia server and a fake upstream that writes as much as it is allowed
to, on SQLite and PostgreSQL: 16 concurrent requests without ``max_tokens`` overspend a quota
by one request's reservation at most, and back-to-back requests within the quota are never
refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from banjia.store.accounting import DEFAULT_OUTPUT_CAP
from banjia.tokens import estimate_messages
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import store_settings
from tests.store.test_gateway import admin, create_key

QUOTA = 100_000
LONG_PROMPT = " ".join(["lorem"] * 2000)  # the fake counts 2,000 prompt tokens


@pytest.fixture
def gw(fake: FakeOpenAI, db_url: str) -> Iterator[Gateway]:
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": store_settings(db_url),
        "providers": {"fake": fake_provider(fake)},
        # "long": without max_tokens the fake writes 20,000 tokens, with it exactly max_tokens
        "models": {"long": ["fake/long:20000"], "gpt-4o": ["fake/echo"]},
    })
    yield g
    g.stop()


def _key_state(gw: Gateway, key_id: str) -> dict[str, Any]:
    assert admin(gw, "GET", "/admin/usage").status_code == 200  # writes what is queued
    r = admin(gw, "GET", f"/admin/keys/{key_id}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_concurrent_requests_without_max_tokens_overspend_by_one_reservation_at_most(
        gw: Gateway, fake: FakeOpenAI) -> None:
    key = create_key(gw, quota_tokens=QUOTA)
    headers = {"Authorization": f"Bearer {key['key']}"}
    body = {"model": "long", "messages": [{"role": "user", "content": LONG_PROMPT}]}
    statuses: list[int] = []
    asked: list[int] = []
    async with httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=60) as client:
        for _ in range(3):  # three waves of 16 at once
            answers = await asyncio.gather(*(client.post("/chat/completions", json=body)
                                             for _ in range(16)))
            statuses += [a.status_code for a in answers]
            for a in answers:
                if a.status_code == 200:
                    asked.append(a.json()["usage"]["completion_tokens"])
    assert set(statuses) <= {200, 429} and 200 in statuses and 429 in statuses
    state = _key_state(gw, key["id"])
    assert state["remaining_tokens"] is not None and state["used_tokens"] > QUOTA // 2
    # one request's reservation: its prompt estimate plus the output it could be given
    worst = estimate_messages([{"role": "user", "content": LONG_PROMPT}]) + DEFAULT_OUTPUT_CAP
    assert state["used_tokens"] <= QUOTA + worst, (state["used_tokens"], asked)
    assert QUOTA - state["used_tokens"] - state["remaining_tokens"] == 0  # nothing still held
    last = fake.state.requests[-1].body
    assert (last.get("max_completion_tokens") or last.get("max_tokens") or 0) <= max(asked)


async def test_back_to_back_requests_within_the_quota_are_never_refused(gw: Gateway) -> None:
    # each request reserves ~400 tokens of 1,000 and uses 3: refused only if the quota of the
    # requests before it were still held
    key = create_key(gw, quota_tokens=1000)
    headers = {"Authorization": f"Bearer {key['key']}"}
    body = {"model": "gpt-4o", "max_tokens": 400, "messages": [{"role": "user", "content": "x"}]}
    async with httpx.AsyncClient(base_url=gw.base_url, headers=headers, timeout=30) as client:
        for i in range(40):
            if i % 2:
                r = await client.post("/chat/completions", json=body)
                assert r.status_code == 200, (i, r.text)
                continue
            async with client.stream("POST", "/chat/completions",
                                     json={**body, "stream": True}) as s:
                text = "".join([t async for t in s.aiter_text()])
                assert s.status_code == 200 and text.rstrip().endswith("[DONE]"), (i, text)
    state = _key_state(gw, key["id"])
    assert state["used_tokens"] == 40 * 3 and state["remaining_tokens"] == 1000 - 120
