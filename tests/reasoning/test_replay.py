"""Reasoning replayed on tool turns, end to end through banjia, against the fake's DeepSeek-like
thinking mode: the same loops sent straight to the fake fail with its 400."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.reasoning.conftest import (
    TOOLS,
    banjia_client,
    direct_client,
    reasoning_config,
    sdk_loop,
)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_sdk_loop_without_reasoning_fails_straight_at_the_vendor(fake: FakeOpenAI, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError, match="reasoning_content"):
        sdk_loop(direct_client(fake), "think", stream=stream)


@pytest.mark.parametrize("model", ["ds-think", "kimi-think", "glm-think"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_sdk_loop_without_reasoning_passes_through_banjia(gw: Gateway, model: str, stream: bool) -> None:
    assert sdk_loop(banjia_client(gw), model, stream=stream).startswith("sunny")


def test_two_concurrent_conversations_each_get_their_own_reasoning(gw: Gateway) -> None:
    client = banjia_client(gw)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda s: sdk_loop(client, "ds-think", stream=s, tool_turns=3), [False, True])
        )
    assert all(a.startswith("sunny") for a in answers)


def test_reasoning_the_client_sent_is_forwarded_once_unchanged(gw: Gateway, fake: FakeOpenAI) -> None:
    client = banjia_client(gw)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather?"}]
    msg = client.chat.completions.create(model="ds-think", messages=messages, tools=TOOLS).choices[0].message
    sent = msg.model_dump(exclude_none=True)
    assert sent["reasoning_content"]
    messages += [sent, {"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": "sunny"}]  # type: ignore[index, list-item]
    client.chat.completions.create(model="ds-think", messages=messages, tools=TOOLS)
    upstream = fake.state.requests[-1].body["messages"][1]
    assert upstream["reasoning_content"] == sent["reasoning_content"]


def test_answers_carry_reasoning_and_reasoning_tokens(gw: Gateway) -> None:
    client = banjia_client(gw)
    r = client.chat.completions.create(model="ds-think", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.reasoning_content  # type: ignore[attr-defined]
    assert r.usage is not None and r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 5
    deltas = [
        c.choices[0].delta.reasoning_content  # type: ignore[attr-defined]
        for c in client.chat.completions.create(
            model="ds-think", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        if c.choices and getattr(c.choices[0].delta, "reasoning_content", None)
    ]
    whole = r.choices[0].message.reasoning_content  # type: ignore[attr-defined]
    assert len(deltas) > 1 and "".join(deltas).split(":")[1] == whole.split(":")[1]


def test_a_vendor_without_replay_never_receives_reasoning_fields(gw: Gateway, fake: FakeOpenAI) -> None:
    banjia_client(gw).chat.completions.create(model="plain-echo", messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "reasoning_content": "from another vendor",  # type: ignore[list-item]
         "tool_calls": [{"id": "call_x", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_x", "content": "sunny"},
    ])
    assert all("reasoning_content" not in m for m in fake.state.requests[-1].body["messages"])


def test_an_expired_entry_turns_thinking_off_for_that_turn(fake: FakeOpenAI, tmp_path: Path) -> None:
    g = Gateway(reasoning_config(fake, tmp_path, reasoning_ttl=0.001))
    try:
        assert sdk_loop(banjia_client(g), "ds-think", stream=False).startswith("sunny")
        assert fake.state.requests[-1].body["thinking"] == {"type": "disabled"}
    finally:
        g.stop()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_two_replicas_sharing_redis_replay_each_others_reasoning(
    fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    cfg = reasoning_config(fake, tmp_path, redis=True)
    a, b = Gateway(cfg), Gateway(cfg)
    try:
        clients = [banjia_client(a), banjia_client(b)]
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather?"}]
        for turn in range(3):  # each turn on the other replica
            r = clients[turn % 2].chat.completions.create(model="ds-think", messages=messages, tools=TOOLS)
            msg = r.choices[0].message
            if not msg.tool_calls:
                break
            messages.append({"role": "assistant", "content": msg.content, "tool_calls": [
                c.model_dump() for c in msg.tool_calls]})  # type: ignore[misc]
            messages.append({"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": "sunny"})
            messages.append({"role": "user", "content": "and tomorrow?"})
        assert "thinking" not in fake.state.requests[-1].body  # replayed, not switched off
    finally:
        a.stop()
        b.stop()
