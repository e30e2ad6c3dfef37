"""The Responses API over a native protocol (DashScope's own API, ``dashscope-native``), and a
conversation moving from an OpenAI-dialect provider onto it."""

from __future__ import annotations

import openai

from tests.fakes.dashscope_fake import FakeDashScope
from tests.responses.test_create import WEATHER
from tests.responses.upstream import sent


def test_an_answer_over_dashscope_native(rclient: openai.OpenAI, dashscope: FakeDashScope) -> None:
    r = rclient.responses.create(model="qwen-plus", input="hello there", instructions="Be brief.")
    assert r.output_text == "echo: hello there" and r.status == "completed"
    assert r.usage is not None and (r.usage.input_tokens, r.usage.output_tokens) == (4, 3)
    assert sent(dashscope, "hello there")["input"]["messages"][0] == {
        "role": "system",
        "content": "Be brief.",
    }


def test_a_streamed_tool_call_over_dashscope_native(rclient: openai.OpenAI) -> None:
    with rclient.responses.stream(model="ds/tools", input="weather?", tools=[WEATHER]) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_response()
    [call] = final.output
    assert call.type == "function_call" and call.call_id == "call_ds1"
    assert call.arguments == '{"city": "Beijing", "unit": "c"}'
    assert events.count("response.function_call_arguments.delta") == 3


def test_a_conversation_moves_from_an_openai_dialect_onto_dashscope(
    rclient: openai.OpenAI, dashscope: FakeDashScope
) -> None:
    first = rclient.responses.create(model="gpt-4o", input="my name is Li")
    second = rclient.responses.create(
        model="qwen-plus", input="what is my name?", previous_response_id=first.id
    )
    assert second.output_text == "echo: what is my name?"
    assert sent(dashscope, "what is my name?")["input"]["messages"] == [
        {"role": "user", "content": "my name is Li"},
        {"role": "assistant", "content": "echo: my name is Li"},
        {"role": "user", "content": "what is my name?"},
    ]


def test_a_tool_result_goes_back_to_dashscope_with_its_call(
    rclient: openai.OpenAI, dashscope: FakeDashScope
) -> None:
    first = rclient.responses.create(model="ds/tools", input="weather?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    second = rclient.responses.create(
        model="qwen-plus",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny for qwen"}],
    )
    assert second.status == "completed"
    msgs = sent(dashscope, "sunny for qwen")["input"]["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool"]
    assert msgs[2]["tool_call_id"] == "call_ds1"
