"""An upstream that drops its connection mid-answer, on every streaming protocol: the client gets
that protocol's error, never a clean end, and the ledger row says the answer broke (the entry's
circuit hears of it the same way)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.ledger_rows import row
from tests.harness import MASTER_KEY, Gateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
PROMPT = "one two three four five six"


def data_lines(g: Gateway, path: str, body: dict[str, Any]) -> tuple[str, list[str]]:
    """The request id and the ``data:`` payloads of a streamed answer, as sent."""
    body = {**body, "stream": True}
    with httpx.stream("POST", g.base_url + path, json=body, headers=AUTH, timeout=30) as r:
        assert r.status_code == 200
        text = r.read().decode()
        rid = r.headers["x-request-id"]
    return rid, [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def assert_broken_row(g: Gateway, rid: str) -> None:
    r = row(g, rid)
    assert r["status"] >= 500 and r["error_code"] is not None
    assert not r["client_disconnected"]


def test_a_chat_stream_cut_upstream_ends_with_an_error_event(gateway: Gateway) -> None:
    rid, data = data_lines(gateway, "/chat/completions",
                           {"model": "fake/cut", "messages": [{"role": "user", "content": PROMPT}]})
    assert "[DONE]" not in data
    assert "error" in json.loads(data[-1])
    assert all(c["choices"][0]["finish_reason"] is None for c in map(json.loads, data[:-1]) if c["choices"])
    assert_broken_row(gateway, rid)


def test_a_native_completions_stream_cut_upstream_ends_with_an_error_event(gateway: Gateway) -> None:
    rid, data = data_lines(gateway, "/completions", {"model": "fake/cut", "prompt": PROMPT})
    assert "[DONE]" not in data
    chunks = [json.loads(d) for d in data]
    assert chunks[0]["object"] == "text_completion"  # served natively, not over chat
    assert chunks[-1]["error"]["type"] == "upstream_error"
    assert_broken_row(gateway, rid)


def test_a_completions_stream_over_chat_cut_upstream_ends_with_an_error_event(gateway: Gateway) -> None:
    rid, data = data_lines(gateway, "/completions", {"model": "deepseek/cut", "prompt": PROMPT})
    assert "[DONE]" not in data
    chunks = [json.loads(d) for d in data]
    assert chunks[0]["object"] == "text_completion" and chunks[0]["id"].startswith("cmpl-")
    assert "error" in chunks[-1]
    assert_broken_row(gateway, rid)


def test_a_responses_stream_cut_upstream_ends_in_response_failed(gateway: Gateway) -> None:
    rid, data = data_lines(gateway, "/responses", {"model": "fake/cut", "input": PROMPT})
    events = [json.loads(d) for d in data]
    assert events[-1]["type"] == "response.failed"
    assert "response.completed" not in [e["type"] for e in events]
    assert_broken_row(gateway, rid)


def test_the_sdk_raises_on_a_cut_completions_stream(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError):
        for _ in client.completions.create(model="fake/cut", prompt=PROMPT, stream=True):
            pass


def test_a_complete_native_completions_stream_ends_cleanly_and_is_recorded(gateway: Gateway) -> None:
    rid, data = data_lines(gateway, "/completions", {"model": "fake/echo", "prompt": PROMPT})
    assert data[-1] == "[DONE]"
    r = row(gateway, rid)
    assert r["status"] == 200 and r["completion_tokens"] > 0
