"""An Anthropic request to an Anthropic-speaking entry passes through: only the model name and the
credentials change (plus the vendor's quirks), and the answer — the message or every stream event —
comes back as the upstream sent it. Driven by the official ``anthropic`` and ``openai`` SDKs in
strict validation, through banjia, to the fake Anthropic endpoint (which signs its thinking and
checks signatures sent back) and the fake OpenAI-dialect upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import fake_provider
from tests.fakes.anthropic_fake import API_KEY, REDACTED, THINKING, FakeAnthropic, sign
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import WEATHER

CLAUDE_WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
THINK: Any = {"type": "enabled", "budget_tokens": 2000}
SIGNED = {"type": "thinking", "thinking": THINKING, "signature": sign(THINKING)}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeAnthropic, FakeAnthropic]]:
    plain, deepseek = FakeAnthropic(), FakeAnthropic(string_system=True)
    servers = [AioServer(plain.app, "anthropic-pass"), AioServer(deepseek.app, "anthropic-deepseek")]
    plain.url, deepseek.url = (s.url for s in servers)  # type: ignore[attr-defined]
    yield plain, deepseek
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def plain(fakes: tuple[FakeAnthropic, FakeAnthropic]) -> FakeAnthropic:
    return fakes[0]


@pytest.fixture(scope="module")
def gateway(
    fakes: tuple[FakeAnthropic, FakeAnthropic], fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    plain, deepseek = fakes
    base = f"{plain.url}/anthropic"  # type: ignore[attr-defined]

    def claude(**extra: Any) -> dict[str, Any]:
        return {"type": "anthropic", "base_url": base, "api_key": API_KEY, **extra}

    tmp: Path = tmp_path_factory.mktemp("anthropic-pass")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "claude": claude(),
            "claudex": claude(),  # the failing first entries of the fallback chains
            "claudey": claude(),
            # the vendors' hosts, reached through the fakes acting as the HTTP proxy: the quirks
            # are chosen by the base URL's host
            "deepseek": claude(base_url="http://api.deepseek.com/anthropic",
                               proxy=deepseek.url),  # type: ignore[attr-defined]
            "kimi": claude(base_url="http://api.moonshot.cn/anthropic", proxy=plain.url),  # type: ignore[attr-defined]
            "fake": fake_provider(fake),
        },
        "models": {
            "sonnet": ["claude/claude-echo"],
            "ds": ["deepseek/claude-echo"],
            "kimi": ["kimi/claude-echo"],
            "cross": ["claudex/claude-echo", "fake/echo"],  # Anthropic first, OpenAI's dialect next
            "reverse": ["fake/e503", "claudey/claude-echo"],
            "early": ["claudex/claude-echo", "fake/echo"],
            "openai-only": ["fake/echo"],
        },
    })
    yield g
    g.stop()


def _post(g: Gateway, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(g.root + "/v1/messages", json=body, timeout=30, headers={
        "x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01", **headers})


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each SSE event."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields.get("event", ""), json.loads(fields["data"])))
    return out


Events = list[tuple[str, dict[str, Any]]]


def _stream(url: str, body: dict[str, Any], key: str) -> tuple[httpx.Response, Events]:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", url, json={**body, "stream": True}, headers=headers, timeout=30) as r:
        text = r.read().decode()
    return r, _events(text)


# -- the request goes as sent -----------------------------------------------------------------------
def test_cache_control_metadata_and_unknown_fields_reach_the_upstream_unchanged(
    gateway: Gateway, plain: FakeAnthropic
) -> None:
    sent: dict[str, Any] = {
        "model": "sonnet",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "Answer in English.", "cache_control": {"type": "ephemeral",
                                                                                     "ttl": "1h"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hello there",
                                          "cache_control": {"type": "ephemeral"}, "citations": None}]},
            # banjia's own signatures are dropped (below): a thinking block signed by the upstream stays
            {"role": "assistant", "content": [SIGNED, {"type": "text", "text": "hi"}]},
            {"role": "user", "content": "and again"},
        ],
        "tools": [{**CLAUDE_WEATHER, "cache_control": {"type": "ephemeral"}},
                  {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
        "metadata": {"user_id": "user-42"},
        "top_k": 5,
        "stop_sequences": ["END"],
        "service_tier": "auto",
        "a_field_from_next_year": {"nested": [1, 2, {"three": True}]},
    }
    beta = "prompt-caching-2024-07-31,fine-grained-tool-streaming-2025-05-14"
    r = _post(gateway, sent, **{"anthropic-beta": beta})
    assert r.status_code == 200, r.text
    assert plain.state.requests[-1] == {**sent, "model": "claude-echo"}
    assert plain.state.headers[-1]["anthropic-beta"] == beta
    assert plain.state.headers[-1]["x-api-key"] == API_KEY  # banjia's credentials, not the client's
    message = anthropic.types.Message.model_validate(r.json())
    assert message.model == "sonnet" and message.id.startswith("msg_fake")  # the upstream's id
    assert message.usage.cache_read_input_tokens == 3


def test_a_server_tool_only_an_anthropic_entry_can_serve_is_refused_by_the_others(gateway: Gateway) -> None:
    body = {"model": "openai-only", "max_tokens": 50, "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    r = _post(gateway, body)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert "server tools" in r.json()["error"]["message"]
    assert _post(gateway, {**body, "model": "sonnet"}).status_code == 200


def test_a_deepseek_base_gets_the_system_joined_and_nothing_else_changed(
    claude: anthropic.Anthropic, fakes: tuple[FakeAnthropic, FakeAnthropic]
) -> None:
    system: Any = [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "be kind"}]
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "hello",
                                                   "cache_control": {"type": "ephemeral"}}]}]
    m = claude.messages.create(model="ds", max_tokens=100, system=system, messages=messages,
                               metadata={"user_id": "u1"})
    assert m.content[0].type == "text" and m.content[0].text == "echo: hello"
    assert fakes[1].state.requests[-1] == {"model": "claude-echo", "max_tokens": 100, "messages": messages,
                                           "metadata": {"user_id": "u1"}, "system": "be brief\n\nbe kind"}


def test_kimi_gets_a_forced_tool_call_without_thinking_and_anthropic_compatible_hosts_as_sent(
    gateway: Gateway, plain: FakeAnthropic
) -> None:
    body = {"max_tokens": 4000, "thinking": THINK, "tools": [CLAUDE_WEATHER], "tool_choice": {"type": "any"},
            "messages": [{"role": "user", "content": "weather in Beijing?"}]}
    r = _post(gateway, {**body, "model": "kimi"})
    assert r.status_code == 200, r.text
    assert [b["type"] for b in r.json()["content"]] == ["tool_use"]
    sent = plain.state.requests[-1]
    assert "thinking" not in sent and sent["tool_choice"] == {"type": "any"}
    # a host without the quirk gets the request as sent, and the upstream's refusal comes back
    r = _post(gateway, {**body, "model": "sonnet"})
    assert r.status_code == 400 and "tool_choice forces tool use" in r.json()["error"]["message"]


def test_banjias_own_thinking_signatures_are_not_sent_to_an_anthropic_upstream(
    gateway: Gateway, plain: FakeAnthropic
) -> None:
    """A turn an OpenAI-dialect entry of the chain served carries thinking signed by banjia, which
    no Anthropic upstream can verify: that block is left out, the rest goes as sent."""
    own = {"type": "thinking", "thinking": "mine", "signature": "banjia-0123456789abcdef0123456789abcdef"}
    body = {"model": "sonnet", "max_tokens": 100, "messages": [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": [own, {"type": "text", "text": "two"}]},
        {"role": "user", "content": "three"}]}
    r = _post(gateway, body)
    assert r.status_code == 200, r.text
    assert plain.state.requests[-1]["messages"][1]["content"] == [{"type": "text", "text": "two"}]


# -- the answer comes back as sent ------------------------------------------------------------------
def test_thinking_signed_upstream_reaches_the_client_and_is_accepted_back(
    claude: anthropic.Anthropic, plain: FakeAnthropic
) -> None:
    ask: Any = {"role": "user", "content": "weather in Beijing? #redacted"}
    first = claude.messages.create(model="sonnet", max_tokens=4000, thinking=THINK, tools=[CLAUDE_WEATHER],
                                   messages=[ask])
    assert [b.type for b in first.content] == ["thinking", "redacted_thinking", "tool_use"]
    assert first.content[0].type == "thinking" and first.content[0].signature == sign(THINKING)
    assert first.content[1].type == "redacted_thinking" and first.content[1].data == REDACTED
    use = first.content[2]
    assert use.type == "tool_use"
    second = claude.messages.create(model="sonnet", max_tokens=4000, thinking=THINK, tools=[CLAUDE_WEATHER],
                                    messages=[ask, {"role": "assistant", "content": first.content},
                                              {"role": "user", "content": [{"type": "tool_result",
                                                                            "tool_use_id": use.id,
                                                                            "content": "sunny"}]}])
    assert second.content[-1].type == "text" and second.content[-1].text == "echo: sunny"
    back = plain.state.requests[-1]["messages"][1]["content"]
    assert back[0] == SIGNED and back[1] == {"type": "redacted_thinking", "data": REDACTED}


def test_a_stream_relays_the_upstreams_events_in_its_order(gateway: Gateway, plain: FakeAnthropic) -> None:
    body = {"max_tokens": 4000, "thinking": THINK, "tools": [CLAUDE_WEATHER],
            "messages": [{"role": "user", "content": "weather in Beijing?"}]}
    direct_r, direct = _stream(f"{plain.url}/anthropic/v1/messages",  # type: ignore[attr-defined]
                               {**body, "model": "claude-echo"}, API_KEY)
    r, relayed = _stream(gateway.root + "/v1/messages", {**body, "model": "sonnet"}, MASTER_KEY)
    assert direct_r.status_code == r.status_code == 200
    assert r.headers["x-banjia-upstream"] == "claude/claude-echo"
    assert [name for name, _ in relayed] == [name for name, _ in direct]
    for (name, up), (_, down) in zip(direct, relayed, strict=True):
        if name == "message_start":
            up["message"].update(model="sonnet", id=down["message"]["id"])
        assert down == up
    assert relayed[-1][0] == "message_stop"
    kinds = [d.get("delta", {}).get("type") for _, d in relayed if _ == "content_block_delta"]
    assert "signature_delta" in kinds and "input_json_delta" in kinds


def test_the_anthropic_sdk_streams_a_passed_through_answer(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="sonnet", max_tokens=4000, thinking=THINK,
                                messages=[{"role": "user", "content": "one two"}]) as s:
        kinds = [e.type for e in s]
        final = s.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.model == "sonnet" and [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].type == "thinking" and final.content[0].signature == sign(THINKING)
    assert final.content[1].type == "text" and final.content[1].text == "echo: one two"
    assert final.usage.output_tokens == 4


@pytest.mark.parametrize("mode", ["#cut", "#midstream"])
def test_a_stream_cut_or_failed_after_its_first_byte_ends_with_an_error_event(
    gateway: Gateway, mode: str
) -> None:
    body = {"model": "sonnet", "max_tokens": 100, "messages": [{"role": "user", "content": f"a b c {mode}"}]}
    r, events = _stream(gateway.root + "/v1/messages", body, MASTER_KEY)
    names = [name for name, _ in events]
    assert r.status_code == 200 and names[0] == "message_start" and "content_block_delta" in names
    assert names[-1] == "error" and "message_stop" not in names
    error = events[-1][1]
    assert error["type"] == "error" and error["error"]["type"] in ("api_error", "overloaded_error")


# -- fallback across protocol families -------------------------------------------------------------
def test_an_overloaded_anthropic_entry_falls_back_to_an_openai_dialect_one(
    claude: anthropic.Anthropic,
) -> None:
    raw = claude.messages.with_raw_response.create(
        model="cross", max_tokens=100, messages=[{"role": "user", "content": "hi #overloaded"}])
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    m = raw.parse()
    assert m.content[0].type == "text" and m.content[0].text == "echo: hi #overloaded"
    with claude.messages.stream(model="cross", max_tokens=100,
                                messages=[{"role": "user", "content": "yo #overloaded"}]) as s:
        kinds = [e.type for e in s]
        final = s.get_final_message()
    assert kinds[-1] == "message_stop" and final.content[0].type == "text"
    assert final.content[0].text == "echo: yo #overloaded"


def test_an_upstream_failing_right_after_message_start_still_falls_back(gateway: Gateway) -> None:
    body = {"model": "early", "max_tokens": 100, "messages": [{"role": "user", "content": "x #early"}]}
    r, events = _stream(gateway.root + "/v1/messages", body, MASTER_KEY)
    assert r.headers["x-banjia-upstream"] == "fake/echo"
    assert [n for n, _ in events][-1] == "message_stop" and "error" not in [n for n, _ in events]


def test_an_openai_chat_request_falls_back_to_an_anthropic_entry(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="reverse", messages=[{"role": "user", "content": "hello"}])
    assert raw.headers["x-banjia-upstream"] == "claudey/claude-echo"
    assert raw.parse().choices[0].message.content == "echo: hello"
    chunks = list(client.chat.completions.create(model="reverse", stream=True,
                                                 messages=[{"role": "user", "content": "a b"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b"


# -- the ledger -------------------------------------------------------------------------------------
def test_the_ledger_names_the_messages_endpoint_on_both_paths(
    claude: anthropic.Anthropic, gateway: Gateway
) -> None:
    passed = claude.messages.with_raw_response.create(
        model="sonnet", max_tokens=100, system="be brief", messages=[{"role": "user", "content": "one two"}])
    translated = claude.messages.with_raw_response.create(
        model="openai-only", max_tokens=100, messages=[{"role": "user", "content": "three"}])
    with claude.messages.with_streaming_response.create(
            model="sonnet", max_tokens=100, stream=True,
            messages=[{"role": "user", "content": "four five"}]) as streamed:
        streamed.read()
    r = httpx.get(gateway.root + "/admin/requests?limit=20", timeout=30,
                  headers={"Authorization": f"Bearer {MASTER_KEY}"})
    rows = {row["request_id"]: row for row in r.json()["rows"]}
    p, t, s = (rows[x.headers["x-request-id"]] for x in (passed, translated, streamed))
    assert p["endpoint"] == t["endpoint"] == s["endpoint"] == "messages"
    assert (p["upstream"], t["upstream"], s["upstream"]) == (
        "claude/claude-echo", "fake/echo", "claude/claude-echo")
    assert p["status"] == t["status"] == s["status"] == 200
    # the upstream's usage, cache reads included: 2 words + 3 cached, 3 words answered
    assert (p["prompt_tokens"], p["cached_tokens"], p["completion_tokens"]) == (5, 3, 3)
    assert (s["prompt_tokens"], s["cached_tokens"], s["completion_tokens"]) == (2, 0, 3)


# -- OpenAI clients served by an Anthropic entry: thinking goes back signed -------------------------
@pytest.mark.parametrize("stream", [False, True])
def test_an_openai_tool_loop_with_thinking_sends_the_upstreams_signature_back(
    client: openai.OpenAI, plain: FakeAnthropic, stream: bool
) -> None:
    ask: Any = [{"role": "user", "content": "weather in Beijing?"}]
    if stream:
        chunks = list(client.chat.completions.create(model="sonnet", stream=True, reasoning_effort="low",
                                                     tools=[WEATHER], messages=ask))
        assert all("reasoning_signature" not in (c.model_extra or {}) for c in chunks)
        deltas = [c.choices[0].delta for c in chunks if c.choices]
        reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
        call = next(tc for d in deltas for tc in d.tool_calls or ())
        call_id = call.id
        assistant: Any = {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]}
    else:
        first = client.chat.completions.create(model="sonnet", reasoning_effort="low", tools=[WEATHER],
                                               messages=ask)
        msg = first.choices[0].message
        assert "reasoning_signature" not in (msg.model_extra or {})  # banjia's, never the client's
        reasoning = msg.reasoning_content  # type: ignore[attr-defined]
        call_id = msg.tool_calls[0].id  # type: ignore[index]
        # most clients rebuild the history without reasoning_content
        assistant = msg.model_dump(exclude_none=True, exclude={"reasoning_content"})
    assert reasoning == THINKING
    history: Any = [*ask, assistant, {"role": "tool", "tool_call_id": call_id, "content": "sunny"}]
    second = client.chat.completions.create(model="sonnet", reasoning_effort="low", tools=[WEATHER],
                                            messages=history)
    assert second.choices[0].message.content == "echo: sunny"
    sent = plain.state.requests[-1]
    assert sent["thinking"]["type"] == "enabled" and sent["messages"][1]["content"][0] == SIGNED


def test_a_tool_turn_whose_signature_banjia_does_not_know_goes_without_thinking(
    client: openai.OpenAI, plain: FakeAnthropic
) -> None:
    history: Any = [
        {"role": "user", "content": "weather in Beijing?"},
        {"role": "assistant", "content": None, "reasoning_content": "served elsewhere",
         "tool_calls": [{"id": "call_unknown", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_unknown", "content": "rainy"}]
    r = client.chat.completions.create(model="sonnet", reasoning_effort="low", tools=[WEATHER],
                                       messages=history)
    assert r.choices[0].message.content == "echo: rainy"
    sent = plain.state.requests[-1]
    assert "thinking" not in sent and sent["messages"][1]["content"][0]["type"] == "tool_use"
