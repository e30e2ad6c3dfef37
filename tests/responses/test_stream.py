"""Streaming responses: the typed event sequence, read raw and through the SDK's stream helpers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

from tests.harness import MASTER_KEY, Gateway
from tests.responses.test_create import WEATHER


def raw_events(g: Gateway, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of every event, checking the framing on the way."""
    with httpx.stream(
        "POST",
        g.base_url + "/responses",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    events = []
    for block in text.strip().split("\n\n"):
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[6:])
        assert data["type"] == name_line[7:]
        events.append((data["type"], data))
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    return events


def test_a_text_answer_streams_the_full_event_sequence(rgateway: Gateway) -> None:
    events = raw_events(rgateway, {"model": "gpt-4o", "input": "hello there world"})
    names = [n for n, _ in events]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    data = dict(events)
    assert data["response.created"]["response"]["status"] == "in_progress"
    assert data["response.output_text.done"]["text"] == "echo: hello there world"
    done = data["response.completed"]["response"]
    assert done["status"] == "completed" and done["id"] == data["response.created"]["response"]["id"]
    assert done["output"][0]["content"][0]["text"] == "echo: hello there world"
    assert done["usage"]["input_tokens"] == 3 and done["usage"]["output_tokens"] == 4


def test_the_sdk_stream_helper_builds_the_final_response(rclient: openai.OpenAI) -> None:
    with rclient.responses.stream(model="gpt-4o", input="hello there world") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "echo: hello there world"
    assert final.output_text == "echo: hello there world" and final.status == "completed"


def test_every_event_passes_the_sdks_strict_types(rclient: openai.OpenAI) -> None:
    stream = rclient.responses.create(model="scenario/think", input="hi", stream=True)
    types = [e.type for e in stream]
    assert types[0] == "response.created" and types[-1] == "response.completed"


def test_a_tool_call_streams_as_function_call_events(rgateway: Gateway) -> None:
    events = raw_events(rgateway, {"model": "fake/tools", "input": "weather?", "tools": [WEATHER]})
    names = [n for n, _ in events]
    assert names[2] == "response.output_item.added"
    assert names.count("response.function_call_arguments.delta") == 3
    data = dict(events)
    added = data["response.output_item.added"]["item"]
    assert (added["type"], added["call_id"], added["name"], added["arguments"]) == (
        "function_call",
        "call_a1",
        "get_weather",
        "",
    )
    args = data["response.function_call_arguments.done"]
    assert args["arguments"] == '{"city": "Beijing", "unit": "c"}' and args["item_id"] == added["id"]
    assert data["response.output_item.done"]["item"]["status"] == "completed"
    assert names[-1] == "response.completed"


def test_the_sdk_stream_helper_collects_tool_calls(rclient: openai.OpenAI) -> None:
    with rclient.responses.stream(model="fake/repeat-ids", input="weather?", tools=[WEATHER]) as stream:
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    assert [c.call_id for c in calls] == ["call_a1", "call_b2"]
    assert all(c.arguments == '{"city": "Beijing", "unit": "c"}' for c in calls)


def test_reasoning_streams_before_the_answer(rgateway: Gateway) -> None:
    events = raw_events(rgateway, {"model": "scenario/think", "input": "hello"})
    names = [n for n, _ in events]
    r_done = names.index("response.reasoning_text.done")
    assert names[2:5] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
    ]
    assert r_done < names.index("response.output_text.delta")
    done = dict(events)["response.completed"]["response"]
    assert [o["type"] for o in done["output"]] == ["reasoning", "message"]
    assert done["output"][0]["content"] == [
        {"type": "reasoning_text", "text": "The user greets me; I greet back."}
    ]
    assert done["output"][1]["content"][0]["text"] == "Hello to you."
    assert [o["output_index"] for n, o in events if n == "response.output_item.done"] == [0, 1]


def test_a_length_cut_ends_in_response_incomplete(rgateway: Gateway) -> None:
    events = raw_events(rgateway, {"model": "scenario/long", "input": "a b c d", "max_output_tokens": 2})
    name, data = events[-1]
    assert name == "response.incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert data["response"]["output"][0]["status"] == "incomplete"


def test_an_upstream_cut_mid_answer_ends_in_response_failed(rgateway: Gateway) -> None:
    events = raw_events(rgateway, {"model": "fake/cut", "input": "one two three four five"})
    name, data = events[-1]
    assert name == "response.failed"
    assert data["response"]["status"] == "failed"
    assert data["response"]["error"]["code"] == "server_error"
    assert "Provider 'fake'" in data["response"]["error"]["message"]
    [partial] = data["response"]["output"]
    assert partial["status"] == "incomplete" and partial["content"][0]["text"].startswith("echo: one")


def test_a_failure_before_the_first_byte_is_an_http_error(rclient: openai.OpenAI) -> None:
    try:
        rclient.responses.create(model="fake/e503", input="hi", stream=True)
    except openai.InternalServerError as e:
        assert e.status_code == 503
    else:
        raise AssertionError("expected a 503")
