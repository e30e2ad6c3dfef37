"""``GET /admin/requests`` and ``Store.requests``: the latest ledger rows, newest first, with the
id the client saw, filters, and a bounded limit — never a prompt — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from banjia.store import Store
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import ctx_for, finish, store_settings
from tests.store.test_gateway import admin, create_key

FIELDS = {"request_id", "created_at", "key_id", "endpoint", "model", "upstream", "status",
          "prompt_tokens", "completion_tokens", "cached_tokens", "cost_cny", "latency_ms",
          "ttft_ms", "client_disconnected"}
SECRET_PROMPT = "the secret prompt words"


@pytest.fixture
def gw(fake: FakeOpenAI, db_url: str) -> Iterator[Gateway]:
    g = Gateway({"server": {"master_key": MASTER_KEY}, "store": store_settings(db_url),
                 "providers": {"fake": fake_provider(fake)},
                 "models": {"gpt-4o": ["fake/echo"], "broken": ["fake/e400"]}})
    yield g
    g.stop()


def _chat(g: Gateway, key: str, model: str = "gpt-4o", **extra: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": SECRET_PROMPT}], **extra}
    return httpx.post(g.base_url + "/chat/completions", json=body,
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_requests_needs_the_master_key(gw: Gateway) -> None:
    assert admin(gw, "GET", "/admin/requests", key=None).status_code == 401
    r = admin(gw, "GET", "/admin/requests", key=create_key(gw)["key"])
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"


def test_the_latest_rows_come_newest_first_with_the_clients_request_id(gw: Gateway) -> None:
    key = create_key(gw, quota_tokens=100_000)
    sent = [_chat(gw, key["key"]), _chat(gw, key["key"], stream=True),
            _chat(gw, key["key"], model="broken")]
    r = admin(gw, "GET", "/admin/requests")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "secret" not in r.text  # neither the prompt nor the answer (which echoes it)
    rows = r.json()["rows"]
    assert [row["request_id"] for row in rows[:3]] == [
        s.headers["x-request-id"] for s in reversed(sent)]
    for row in rows:
        assert set(row) >= FIELDS
        assert datetime.fromisoformat(row["created_at"]).utcoffset() is not None
        assert isinstance(row["cost_cny"], float)
    failed, streamed, plain = rows[:3]
    assert (plain["status"], plain["endpoint"], plain["model"]) == (200, "chat", "gpt-4o")
    assert plain["upstream"] == "fake/echo" and plain["key_id"] == key["id"]
    assert (plain["prompt_tokens"], plain["completion_tokens"]) == (4, 5)
    assert plain["latency_ms"] >= 0 and plain["client_disconnected"] is False
    assert streamed["status"] == 200 and streamed["ttft_ms"] is not None
    assert failed["status"] == 400 and failed["upstream"] == "fake/e400"


def test_rows_can_be_filtered_and_limited(gw: Gateway) -> None:
    a, b = create_key(gw), create_key(gw)
    for _ in range(3):
        _chat(gw, a["key"])
    _chat(gw, b["key"])
    _chat(gw, b["key"], model="broken")

    def ids(**params: object) -> list[str | None]:
        r = admin(gw, "GET", "/admin/requests", params=params)
        assert r.status_code == 200, r.text
        return [row["key_id"] for row in r.json()["rows"]]

    assert ids(key_id=a["id"]) == [a["id"]] * 3
    assert ids(key_id=b["id"], status=400) == [b["id"]]
    assert ids(model="broken") == [b["id"]]
    assert len(ids(limit=2)) == 2 and len(ids()) == 5


@pytest.mark.parametrize(("params", "param"), [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "many"}, "limit"),
    ({"limit": "9" * 5000}, "limit"), ({"status": "ok"}, "status"), ({"status": 42}, "status"),
    ({"model": "x\u0000"}, "model"),
])
def test_out_of_range_arguments_are_a_400(gw: Gateway, params: dict[str, object],
                                          param: str) -> None:
    r = admin(gw, "GET", "/admin/requests", params=params)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


async def test_the_store_lists_rows_without_http(store: Store) -> None:
    for status in (200, 502, 200):
        store.accounting.record(finish(ctx_for(None), status=status))
    rows = await store.requests(limit=10, status=502)  # rows still queued are written first
    assert [r["status"] for r in rows] == [502]
    assert len(await store.requests()) == 3
