"""The pieces on their own: items → chat messages, thinking switches, the stores."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from banjia.adaptors._shared import thinking_switch
from banjia.context import KeyInfo
from banjia.protocol.responses import ResponsesRequest, items_adapter
from banjia.responses import (
    MemoryResponseStore,
    SQLResponseStore,
    StoredResponse,
    chat_messages,
    retention_seconds,
    to_chat,
)


def record(id: str, *, owner: str | None = "key_a", ttl: float = 60) -> StoredResponse:
    now = time.time()
    return StoredResponse(
        id=id,
        owner=owner,
        created_at=now,
        expires_at=now + ttl,
        response={"id": id, "output": [{"type": "message", "role": "assistant", "content": []}]},
        context=[{"type": "message", "role": "user", "content": "hi"}],
    )


def test_consecutive_function_calls_join_one_assistant_turn() -> None:
    items = items_adapter.validate_python(
        [
            {"role": "user", "content": "two cities"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Checking."}],
            },
            {"type": "function_call", "call_id": "a", "name": "w", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "w", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "x"},
            {"type": "function_call_output", "call_id": "b", "output": [{"type": "input_text", "text": "y"}]},
        ]
    )
    msgs = chat_messages("sys", items)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "tool"]
    assert msgs[2]["content"] == "Checking." and [c["id"] for c in msgs[2]["tool_calls"]] == ["a", "b"]
    assert msgs[4]["content"] == "y"


def test_instructions_apply_to_their_turn_only() -> None:
    req = ResponsesRequest.model_validate({"model": "m", "input": "now", "instructions": "Be brief."})
    history = items_adapter.validate_python([{"role": "user", "content": "before"}])
    chat = to_chat(req, history)
    assert [m.role for m in chat.messages] == ["system", "user", "user"]


@pytest.mark.parametrize(
    ("vendor", "effort", "stream", "fields"),
    [
        ("dashscope", "high", True, {"enable_thinking": True}),
        ("dashscope-native", "high", False, {"enable_thinking": False}),
        ("dashscope", "minimal", True, {"enable_thinking": False}),
        ("deepseek", "none", False, {"thinking": {"type": "disabled"}}),
        ("zhipu", "medium", False, {"thinking": {"type": "enabled"}}),
        ("openai", "low", False, {"reasoning_effort": "low"}),
        ("moonshot", "high", False, {"thinking": {"type": "enabled"}}),  # Kimi K2.5+: thinking on/off
        ("dashscope", None, True, {}),
    ],
)
def test_reasoning_effort_maps_to_each_vendors_switch(
    vendor: str, effort: str | None, stream: bool, fields: dict[str, Any]
) -> None:
    assert thinking_switch(vendor, effort, stream) == fields


def test_a_record_is_visible_to_its_key_and_the_master_key_only() -> None:
    rec = record("resp_1")
    assert rec.visible_to(KeyInfo(id="key_a", name="a"))
    assert rec.visible_to(KeyInfo(id="master", name="master", is_master=True))
    assert not rec.visible_to(KeyInfo(id="key_b", name="b"))


def test_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANJIA_RESPONSES_RETENTION_DAYS", raising=False)
    assert retention_seconds() == 30 * 86400
    monkeypatch.setenv("BANJIA_RESPONSES_RETENTION_DAYS", "2")
    assert retention_seconds() == 2 * 86400
    assert retention_seconds(0.5) == 43200


async def test_the_memory_store_is_bounded_and_forgets_expired_responses() -> None:
    store = MemoryResponseStore(retention=60, max_entries=2)
    for i in range(3):
        await store.put(record(f"resp_{i}"))
    assert await store.get("resp_0") is None and await store.get("resp_2") is not None
    await store.put(record("resp_old", ttl=-1))
    assert await store.get("resp_old") is None
    assert await store.purge() == 1


async def test_the_sql_store_keeps_deletes_and_expires(tmp_path: Path) -> None:
    from banjia.config import parse_config
    from banjia.store import upgrade

    # the table comes from the store's migrations, as in a running gateway
    await upgrade(parse_config({"store": {"url": f"sqlite:///{tmp_path / 'r.db'}"}}))
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    try:
        store = SQLResponseStore(engine, retention=60)
        await store.put(record("resp_a"))
        await store.put(record("resp_gone", ttl=-1))
        got = await store.get("resp_a")
        assert got is not None and got.owner == "key_a"
        assert got.conversation() == [*record("resp_a").context, *record("resp_a").response["output"]]
        assert await store.get("resp_gone") is None
        assert await store.purge() == 1
        assert await store.delete("resp_a") and not await store.delete("resp_a")
        assert await store.get("resp_a") is None
    finally:
        await engine.dispose()
