"""reasoning_effort → each vendor's own thinking switch, and what a vendor gets when banjia does
not know the reasoning of an earlier tool call."""

from __future__ import annotations

import asyncio

import pytest

from banjia.adaptors._shared import thinking_switch
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.reasoning import ReasoningStore, repair_history


@pytest.mark.parametrize(
    ("vendor", "effort", "fields"),
    [
        ("deepseek", "max", {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}),
        ("zhipu", "high", {"thinking": {"type": "enabled"}}),
        ("moonshot", "minimal", {"thinking": {"type": "disabled"}}),
        ("ark", "xhigh", {"thinking": {"type": "enabled"}}),
        ("siliconflow", "low", {"enable_thinking": True}),
        ("dashscope", "high", {"enable_thinking": True}),
    ],
)
def test_reasoning_effort_becomes_the_vendors_switch(
    vendor: str, effort: str, fields: dict[str, object]
) -> None:
    assert thinking_switch(vendor, effort, True) == fields


def _history() -> ChatRequest:
    return validate(ChatRequest, {"model": "m", "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_gone", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_gone", "content": "sunny"},
    ]})


def test_moonshot_gets_an_empty_reasoning_when_banjia_does_not_know_it() -> None:
    req = asyncio.run(repair_history(_history(), "moonshot", ReasoningStore(), "", stream=False))
    assert req.wire()["messages"][1]["reasoning_content"] == ""
    assert "thinking" not in req.wire()


def test_zhipu_turns_thinking_off_when_banjia_does_not_know_it() -> None:
    req = asyncio.run(repair_history(_history(), "zhipu", ReasoningStore(), "", stream=False))
    assert req.wire()["thinking"] == {"type": "disabled"}
    assert "reasoning_content" not in req.wire()["messages"][1]


def test_reasoning_is_scoped_by_api_key() -> None:
    store = ReasoningStore()
    asyncio.run(store.put("key-a", ["call_gone"], "secret"))
    req = asyncio.run(repair_history(_history(), "deepseek", store, "key-b", stream=False))
    assert "reasoning_content" not in req.wire()["messages"][1]
