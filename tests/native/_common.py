"""Pieces every native-protocol test file uses."""

from __future__ import annotations

from typing import Any

from banjia.adaptors.base import UpstreamResponse
from banjia.protocol.chat import ChatRequest

PLAIN_REQ = ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]})

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def user(text: str) -> Any:  # the SDK's message TypedDicts, loosely
    return [{"role": "user", "content": text}]


async def no_fetch(_: Any) -> UpstreamResponse:
    raise AssertionError("no auxiliary request expected")
