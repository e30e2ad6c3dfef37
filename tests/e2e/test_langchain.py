"""LangChain's ChatOpenAI, unchanged, against the gateway: invoke, stream with usage, a tool call."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.harness import MASTER_KEY, Gateway


def chat(g: Gateway, model: str, **kw: object) -> ChatOpenAI:
    return ChatOpenAI(base_url=g.base_url, api_key=MASTER_KEY, model=model, max_retries=0, **kw)  # type: ignore[arg-type]


def test_invoke(gateway: Gateway) -> None:
    msg = chat(gateway, "gpt-4o").invoke("hello there")
    assert msg.content == "echo: hello there"
    assert msg.usage_metadata and msg.usage_metadata["total_tokens"] == 5


def test_stream_with_usage(gateway: Gateway) -> None:
    chunks = list(chat(gateway, "gpt-4o", stream_usage=True).stream("hello there"))
    text = "".join(str(c.content) for c in chunks)
    assert text == "echo: hello there"
    total = sum(
        (c.usage_metadata or {}).get("total_tokens", 0) for c in chunks if isinstance(c, AIMessageChunk)
    )
    assert total == 5


def test_tool_call(gateway: Gateway) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    msg = chat(gateway, "fake/tools").bind_tools([get_weather]).invoke("weather in Beijing?")
    assert msg.tool_calls[0]["name"] == "get_weather"  # type: ignore[attr-defined]
    assert msg.tool_calls[0]["args"] == {"city": "Beijing", "unit": "c"}  # type: ignore[attr-defined]


def test_streamed_tool_call_with_repeated_ids(gateway: Gateway) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    agg = None
    for c in chat(gateway, "fake/repeat-ids").bind_tools([get_weather]).stream("weather?"):
        agg = c if agg is None else agg + c
    assert agg is not None
    calls = agg.tool_calls  # type: ignore[attr-defined]
    assert [c["id"] for c in calls] == ["call_a1", "call_b2"]
    assert all(c["args"] == {"city": "Beijing", "unit": "c"} for c in calls)
