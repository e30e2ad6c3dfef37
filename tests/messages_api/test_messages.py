"""The Anthropic Messages surface through banjia to an OpenAI-dialect upstream (the fake), driven
by the official ``anthropic`` SDK in strict validation."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from tests.harness import MASTER_KEY, Gateway

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def test_create_answers_with_a_text_block_and_usage(claude: anthropic.Anthropic) -> None:
    m = claude.messages.create(
        model="fake/echo", max_tokens=100, system=[{"type": "text", "text": "be brief",
                                                   "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert m.content[0].type == "text" and m.content[0].text == "echo: hello there"
    assert m.stop_reason == "end_turn" and m.usage.output_tokens == 3


def test_stream_sends_anthropics_events_in_order(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="fake/echo", max_tokens=100,
                                messages=[{"role": "user", "content": "one two"}]) as s:
        kinds = [e.type for e in s]
        final = s.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    start, stop = kinds.index("content_block_start"), kinds.index("content_block_stop")
    assert start < stop < kinds.index("message_delta")
    assert final.content[0].type == "text" and final.content[0].text == "echo: one two"
    assert final.stop_reason == "end_turn"


def test_a_tool_loop_round_trips(claude: anthropic.Anthropic) -> None:
    first = claude.messages.create(model="fake/tools", max_tokens=100, tools=[WEATHER],  # type: ignore[list-item]
                                   messages=[{"role": "user", "content": "weather in Beijing?"}])
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input["city"] == "Beijing"
    second = claude.messages.create(
        model="fake/echo", max_tokens=100, tools=[WEATHER],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "weather in Beijing?"},
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ],
    )
    assert second.stop_reason == "end_turn"


def test_count_tokens_answers_input_tokens(claude: anthropic.Anthropic) -> None:
    n = claude.messages.count_tokens(model="fake/echo", messages=[{"role": "user", "content": "a b c d"}])
    assert n.input_tokens > 0


def test_errors_use_anthropics_envelope(claude: anthropic.Anthropic, gateway: Gateway) -> None:
    with pytest.raises(anthropic.NotFoundError) as e:
        claude.messages.create(model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    r = httpx.post(gateway.root + "/v1/messages", json={}, headers={"x-api-key": "wrong"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(gateway.root + "/v1/messages", json={"model": "fake/echo", "messages": []},
                   headers={"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01"})
    assert r.status_code == 400 and r.json()["type"] == "error"


def test_a_stream_cut_upstream_ends_with_an_error_event(gateway: Gateway) -> None:
    body = {"model": "fake/cut", "max_tokens": 100, "stream": True,
            "messages": [{"role": "user", "content": "one two three four five"}]}
    with httpx.stream("POST", gateway.root + "/v1/messages", json=body,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}) as r:
        text = r.read().decode()
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1]["type"] == "error"
    assert "message_stop" not in [e["type"] for e in events]


@pytest.mark.parametrize("stream", [False, True])
def test_a_stop_sequence_the_upstream_names_is_the_stop_reason(
    claude: anthropic.Anthropic, stream: bool
) -> None:
    """An upstream that says which stop string matched (vLLM's ``stop_reason``) gives Anthropic's
    ``stop_sequence`` and the string; one that ended on its own stays ``end_turn``."""
    def ask(text: str) -> anthropic.types.Message:
        kw = {"model": "fake/vllm-stop", "max_tokens": 50, "stop_sequences": ["STOP", "END"],
              "messages": [{"role": "user", "content": text}]}
        if not stream:
            return claude.messages.create(**kw)  # type: ignore[arg-type]
        with claude.messages.stream(**kw) as s:  # type: ignore[arg-type]
            return s.get_final_message()

    m = ask("alpha beta END gamma STOP")
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == "END"
    assert m.content[0].type == "text" and m.content[0].text == "alpha beta "
    m = ask("no stop here")
    assert m.stop_reason == "end_turn" and m.stop_sequence is None


def test_the_anthropic_sdk_lists_and_retrieves_models(claude: anthropic.Anthropic, gateway: Gateway) -> None:
    """Anthropic's SDK gets Anthropic's model list (x-api-key accepted); OpenAI's still gets OpenAI's."""
    page = claude.models.list(limit=2)
    assert len(page.data) == 2 and page.has_more and page.data[0].type == "model"
    rest = claude.models.list(limit=1000, after_id=page.data[-1].id)
    ids = [m.id for m in page.data] + [m.id for m in rest.data]
    assert len(ids) == len(set(ids)) and not rest.has_more
    assert claude.models.retrieve("fake/echo").id == "fake/echo"
    assert claude.models.retrieve(ids[0]).type == "model"
    with pytest.raises(anthropic.NotFoundError):
        claude.models.retrieve("no-such-model")
    with pytest.raises(anthropic.BadRequestError):
        claude.models.list(limit=0)
    openai_shape = httpx.get(gateway.base_url + "/models",
                             headers={"authorization": f"Bearer {MASTER_KEY}"}).json()
    assert openai_shape["object"] == "list" and {m["id"] for m in openai_shape["data"]} == set(ids)
