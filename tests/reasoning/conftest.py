"""Gateways in front of the fake's "think" mode (DeepSeek's thinking mode) and the tool loops
the agent frameworks run, each rebuilding the history without ``reasoning_content``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
# thinking vendors (replay), and an OpenAI-type entry that must never see reasoning fields
MODELS = {
    "ds-think": ["ds/think"],
    "kimi-think": ["kimi/think"],
    "glm-think": ["glm/think"],
    "plain-echo": ["plain/echo"],
}


def reasoning_config(fake: FakeOpenAI, tmp: Path, *, redis: bool = False,
                     providers: dict[str, Any] | None = None, models: dict[str, Any] | None = None,
                     **store: Any) -> dict[str, Any]:
    """A gateway in front of the fake's vendor modes (by default DeepSeek, Kimi, GLM and a plain
    OpenAI entry, with :data:`MODELS`); ``store``: more ``store:`` settings."""
    cfg: dict[str, Any] = {
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}", **store},
        "providers": providers or {
            "ds": fake_provider(fake, "deepseek"),
            "kimi": fake_provider(fake, "moonshot"),
            "glm": fake_provider(fake, "zhipu"),
            "plain": fake_provider(fake, "openai"),
        },
        "models": models or MODELS,
        "routing": {"retries": 0, "redis_prefix": f"banjia-test:{uuid.uuid4().hex[:12]}:"},
    }
    if redis:
        cfg["store"]["redis_url"] = REDIS_URL
    return cfg


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(reasoning_config(fake, tmp_path_factory.mktemp("reasoning")))
    yield g
    g.stop()


def banjia_client(g: Gateway) -> openai.OpenAI:
    return strict_client(g)


def direct_client(fake: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake.url}/v1", api_key="sk-fake-upstream",  # type: ignore[attr-defined]
                         max_retries=0)


def sdk_turn(client: openai.OpenAI, model: str, messages: list[ChatCompletionMessageParam],
             *, stream: bool) -> tuple[str | None, list[tuple[str, str, str]]]:
    """One call → (text, [(call id, name, arguments)]), streamed or not."""
    if not stream:
        msg = client.chat.completions.create(model=model, messages=messages, tools=TOOLS).choices[0].message
        return msg.content, [(c.id, c.function.name, c.function.arguments)  # type: ignore[union-attr]
                             for c in msg.tool_calls or []]
    text, calls = "", dict[int, list[str]]()
    for ch in client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True):
        for choice in ch.choices:
            text += choice.delta.content or ""
            for d in choice.delta.tool_calls or []:
                c = calls.setdefault(d.index, ["", "", ""])
                c[0] = d.id or c[0]
                c[1] = (d.function.name if d.function else None) or c[1]
                c[2] += (d.function.arguments if d.function else None) or ""
    return text or None, [(c[0], c[1], c[2]) for c in calls.values()]


def sdk_loop(client: openai.OpenAI, model: str, *, stream: bool, tool_turns: int = 2) -> str:
    """An agent loop that rebuilds the history the way most frameworks do: content and
    tool_calls only, reasoning_content dropped. Returns the final answer."""
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather in Beijing?"}]
    for turn in range(tool_turns + 1):
        text, calls = sdk_turn(client, model, messages, stream=stream)
        if not calls:
            assert turn == tool_turns
            return text or ""
        messages.append({"role": "assistant", "content": text, "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]})
        messages += [{"role": "tool", "tool_call_id": i, "content": "sunny"} for i, _, _ in calls]
        if turn < tool_turns - 1:
            messages.append({"role": "user", "content": "and tomorrow?"})
    raise AssertionError("the loop did not end")
