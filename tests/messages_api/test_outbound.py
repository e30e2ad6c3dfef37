"""The outbound provider type ``anthropic``: the official openai SDK (strict) and the official
anthropic SDK (strict) through banjia to a fake Anthropic Messages endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from banjia.adaptors.anthropic import AnthropicAdaptor
from banjia.protocol.chat import ChatRequest
from tests.fakes.anthropic_fake import API_KEY, FakeAnthropic
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import WEATHER, no_fetch

CLAUDE_WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeAnthropic, FakeAnthropic]]:
    plain, bearer = FakeAnthropic(), FakeAnthropic(bearer=True)
    servers = [AioServer(plain.app, "anthropic-fake"), AioServer(bearer.app, "anthropic-bearer-fake")]
    plain.url, bearer.url = (s.url for s in servers)  # type: ignore[attr-defined]
    yield plain, bearer
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def gateway(
    fakes: tuple[FakeAnthropic, FakeAnthropic], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    plain, bearer = fakes
    tmp: Path = tmp_path_factory.mktemp("anthropic-out")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "claude": {"type": "anthropic", "base_url": f"{plain.url}/anthropic", "api_key": API_KEY},  # type: ignore[attr-defined]
            "claudeb": {"type": "anthropic", "auth": "bearer", "api_key": API_KEY,
                        "base_url": f"{bearer.url}/anthropic"},  # type: ignore[attr-defined]
        },
        "models": {"sonnet": ["claude/claude-echo"]},
    })
    yield g
    g.stop()


# -- the openai SDK → banjia → Anthropic ------------------------------------------------------------
def test_create_is_sent_in_anthropics_format_with_the_system_extracted(
    client: openai.OpenAI, fakes: tuple[FakeAnthropic, FakeAnthropic]
) -> None:
    r = client.chat.completions.create(model="sonnet", messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    assert r.choices[0].message.content == "echo: hello there"
    assert r.choices[0].finish_reason == "stop"
    sent, headers = fakes[0].state.requests[-1], fakes[0].state.headers[-1]
    assert sent["system"] == [{"type": "text", "text": "be brief"}]
    assert sent["max_tokens"] == 4096  # required by Anthropic: banjia's default for an unknown model
    assert headers["x-api-key"] == API_KEY and headers["anthropic-version"] == "2023-06-01"


def test_usage_counts_cache_reads_as_cached_prompt_tokens(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="claude/claude-echo", messages=[
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "one two"}])
    assert r.usage is not None and r.usage.prompt_tokens_details is not None
    assert r.usage.prompt_tokens == 2 + 3 and r.usage.prompt_tokens_details.cached_tokens == 3


def test_stream_translates_anthropics_events_into_chunks(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="sonnet", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "one two three"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_tools_round_trip_as_tool_use_and_tool_result(
    client: openai.OpenAI, fakes: tuple[FakeAnthropic, FakeAnthropic]
) -> None:
    ask: Any = [{"role": "user", "content": "weather in Beijing?"}]
    first = client.chat.completions.create(model="sonnet", messages=ask, tools=[WEATHER],
                                           tool_choice="required")
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    fn = call.function  # type: ignore[union-attr]
    assert fn.name == "get_weather" and json.loads(fn.arguments) == {"city": "Beijing"}
    assert fakes[0].state.requests[-1]["tool_choice"] == {"type": "any"}
    second = client.chat.completions.create(model="sonnet", tools=[WEATHER], messages=[
        *ask, first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert second.choices[0].message.content == "echo: sunny"
    sent = fakes[0].state.requests[-1]["messages"]
    assert sent[1]["content"][0]["type"] == "tool_use"
    assert sent[2]["content"] == [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]


def test_streamed_tool_calls_arrive_with_their_arguments(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="sonnet", stream=True, tools=[WEATHER], messages=[{"role": "user", "content": "weather?"}]))
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    args = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(args) == {"city": "Beijing"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_an_overloaded_upstream_is_a_503_for_the_openai_client(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="sonnet", messages=[{"role": "user", "content": "#overloaded"}])
    assert e.value.status_code == 503


def test_an_error_event_mid_stream_fails_the_stream(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
            model="sonnet", stream=True, messages=[{"role": "user", "content": "a b #midstream"}]
        ):
            pass


def test_auth_bearer_sends_the_key_as_a_bearer_token(
    client: openai.OpenAI, fakes: tuple[FakeAnthropic, FakeAnthropic]
) -> None:
    r = client.chat.completions.create(model="claudeb/claude-echo",
                                       messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == "echo: hi"
    assert "x-api-key" not in {k.lower() for k in fakes[1].state.headers[-1]}


def test_reasoning_effort_asks_for_thinking_and_answers_reasoning_content(
    client: openai.OpenAI, fakes: tuple[FakeAnthropic, FakeAnthropic]
) -> None:
    r = client.chat.completions.create(model="sonnet", reasoning_effort="low",
                                       messages=[{"role": "user", "content": "think"}])
    assert r.choices[0].message.content == "echo: think"
    assert r.choices[0].message.reasoning_content == "thinking about it"  # type: ignore[attr-defined]
    assert fakes[0].state.requests[-1]["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_streamed_thinking_arrives_as_reasoning_content(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="sonnet", stream=True, reasoning_effort="low", messages=[{"role": "user", "content": "x"}]))
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or ""
                        for c in chunks if c.choices)
    assert reasoning == "thinking about it"


# -- the anthropic SDK → banjia /v1/messages → Anthropic -------------------------------------------
def test_anthropic_sdk_create_reaches_the_anthropic_upstream(claude: anthropic.Anthropic) -> None:
    m = claude.messages.create(model="sonnet", max_tokens=200, system="be brief",
                               messages=[{"role": "user", "content": "hello there"}])
    assert m.content[0].type == "text" and m.content[0].text == "echo: hello there"
    assert m.stop_reason == "end_turn" and m.usage.cache_read_input_tokens == 3


def test_anthropic_sdk_stream_through_an_anthropic_upstream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="sonnet", max_tokens=200,
                                messages=[{"role": "user", "content": "one two"}]) as s:
        kinds = [e.type for e in s]
        final = s.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.content[0].type == "text" and final.content[0].text == "echo: one two"


def test_anthropic_sdk_tool_loop_through_an_anthropic_upstream(claude: anthropic.Anthropic) -> None:
    ask: Any = {"role": "user", "content": "weather in Beijing?"}
    first = claude.messages.create(model="sonnet", max_tokens=200, tools=[CLAUDE_WEATHER], messages=[ask])
    use = next(b for b in first.content if b.type == "tool_use")
    assert first.stop_reason == "tool_use" and use.input == {"city": "Beijing"}
    second = claude.messages.create(model="sonnet", max_tokens=200, tools=[CLAUDE_WEATHER], messages=[
        ask, {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny",
                                      "is_error": True}]}])
    assert second.content[0].type == "text" and second.content[0].text == "echo: sunny"


def test_anthropic_sdk_thinking_comes_back_as_a_thinking_block(claude: anthropic.Anthropic) -> None:
    m = claude.messages.create(model="sonnet", max_tokens=8000,
                               thinking={"type": "enabled", "budget_tokens": 2000},
                               messages=[{"role": "user", "content": "ponder"}])
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.content[0].type == "thinking" and m.content[0].thinking == "thinking about it"


# -- translation details (the adaptor alone) --------------------------------------------------------
def _body(base_url: str, **req: Any) -> dict[str, Any]:
    import asyncio

    a = AnthropicAdaptor("p", no_fetch, base_url=base_url, api_key="k")
    chat = ChatRequest.model_validate({"model": "m", **req})
    up = asyncio.run(a.chat_request(chat, "claude-echo", stream=False))
    out: dict[str, Any] = json.loads(up.body)
    return out


def test_deepseeks_endpoint_gets_the_system_joined_into_a_string() -> None:
    msgs = [{"role": "system", "content": "a"}, {"role": "developer", "content": "b"},
            {"role": "user", "content": "hi"}]
    assert _body("https://api.deepseek.com/anthropic", messages=msgs)["system"] == "a\n\nb"
    assert isinstance(_body("https://open.bigmodel.cn/api/anthropic", messages=msgs)["system"], list)


def test_reasoning_effort_becomes_a_thinking_budget_below_max_tokens() -> None:
    body = _body("http://x", messages=[{"role": "user", "content": "hi"}], reasoning_effort="high",
                 max_tokens=10000, stop=["END"], temperature=1.5)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 9999}
    assert body["stop_sequences"] == ["END"] and "temperature" not in body  # thinking wants the default


def test_temperature_is_clamped_to_anthropics_range() -> None:
    body = _body("http://x", messages=[{"role": "user", "content": "hi"}], temperature=1.5)
    assert body["temperature"] == 1.0


def test_a_forced_tool_call_goes_without_thinking() -> None:
    body = _body("http://x", messages=[{"role": "user", "content": "hi"}], reasoning_effort="high",
                 tools=[WEATHER], tool_choice="required")
    assert body["tool_choice"] == {"type": "any"} and "thinking" not in body


def test_images_become_base64_or_url_image_blocks() -> None:
    content = [{"type": "text", "text": "what is this"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
               {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]
    blocks = _body("http://x", messages=[{"role": "user", "content": content}])["messages"][0]["content"]
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": "AAAA"}
    assert blocks[2]["source"] == {"type": "url", "url": "https://example.com/a.jpg"}


def _tool_loop(**assistant: Any) -> list[dict[str, Any]]:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    return [{"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call], **assistant},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]


def test_thinking_goes_back_only_with_the_upstreams_signature() -> None:
    signed = _body("http://x", reasoning_effort="low", max_tokens=8000, tools=[WEATHER],
                   messages=_tool_loop(reasoning_content="hmm", reasoning_signature="sig"))
    assert signed["messages"][1]["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": "sig"}
    assert signed["thinking"]["type"] == "enabled"
    # unsigned thinking would be refused, and an open tool loop without it cannot think this turn
    unsigned = _body("http://x", reasoning_effort="low", max_tokens=8000, tools=[WEATHER],
                     messages=_tool_loop(reasoning_content="hmm"))
    assert [b["type"] for b in unsigned["messages"][1]["content"]] == ["tool_use"]
    assert "thinking" not in unsigned


def _passed(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    a = AnthropicAdaptor("p", no_fetch, base_url=base_url, api_key="k")
    up = a.messages_request(body, "up-model", stream=False, beta="b1")
    assert up.headers["anthropic-beta"] == "b1" and up.headers["x-api-key"] == "k"
    out: dict[str, Any] = json.loads(up.body)
    return out


def test_passthrough_changes_the_model_and_the_vendors_quirks_only() -> None:
    body: dict[str, Any] = {
        "model": "client-name", "max_tokens": 4000, "unknown": {"x": 1},
        "system": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "b"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "tools": [CLAUDE_WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert _passed("https://open.bigmodel.cn/api/anthropic", body) == {**body, "model": "up-model"}
    assert _passed("https://api.deepseek.com/anthropic", body)["system"] == "a\n\nb"
    kimi = _passed("https://api.moonshot.cn/anthropic", body)  # forced tool call: thinking goes
    assert "thinking" not in kimi and kimi["tool_choice"] == body["tool_choice"]
    auto = {**body, "tool_choice": {"type": "auto"}}
    assert "thinking" in _passed("https://api.moonshot.cn/anthropic", auto)


def test_passthrough_leaves_out_thinking_banjia_signed_and_then_thinking_in_an_open_tool_loop() -> None:
    own = {"type": "thinking", "thinking": "t", "signature": "banjia-00"}
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
    body: dict[str, Any] = {
        "model": "m", "max_tokens": 4000, "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": [own, use]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]}],
    }
    out = _passed("http://x", body)
    assert out["messages"][1]["content"] == [use] and "thinking" not in out
    signed = {**own, "signature": "upstream-signed"}
    body["messages"][1] = {"role": "assistant", "content": [signed, use]}
    assert _passed("http://x", body) == {**body, "model": "up-model"}
