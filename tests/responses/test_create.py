"""POST /v1/responses without streaming, judged by the official openai SDK in strict mode."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam
from pydantic import BaseModel

from tests.fakes.openai_fake import FakeOpenAI
from tests.responses.scenario_fake import ScenarioFake
from tests.responses.upstream import sent

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": None,
}


def test_a_text_answer_has_the_response_shape(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(model="gpt-4o", input="hello there world")
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert r.output_text == "echo: hello there world"
    assert r.output[0].type == "message" and r.output[0].status == "completed"
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (3, 4, 7)
    assert r.usage.input_tokens_details.cached_tokens == 0
    assert r.usage.output_tokens_details.reasoning_tokens == 0


def test_the_response_names_the_upstream(rclient: openai.OpenAI) -> None:
    raw = rclient.responses.with_raw_response.create(model="gpt-4o", input="hi")
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    assert raw.parse().id == "resp_" + raw.headers["x-request-id"][4:]


def test_instructions_are_the_system_message(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    rclient.responses.create(model="gpt-4o", input="hello instructions", instructions="Answer briefly.")
    assert sent(fake, "hello instructions")["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "hello instructions"},
    ]


def test_input_items_become_the_chat_history(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    items: Any = [
        {"role": "developer", "content": "Use tools."},
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "weather in Beijing?"}],
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Beijing"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny, 25C"},
        {"role": "user", "content": "and tomorrow?"},
    ]
    r = rclient.responses.create(model="gpt-4o", input=items)
    assert r.output_text == "echo: and tomorrow?"
    assert sent(fake, "and tomorrow?")["messages"] == [
        {"role": "developer", "content": "Use tools."},
        {"role": "user", "content": "weather in Beijing?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Beijing"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 25C"},
        {"role": "user", "content": "and tomorrow?"},
    ]


def test_images_reach_the_upstream_as_image_url_parts(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    content: Any = [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
    ]
    rclient.responses.create(model="gpt-4o", input=[{"role": "user", "content": content}])
    assert sent(fake, "what is this?")["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
    ]


def test_a_tool_call_is_a_function_call_item(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = rclient.responses.create(model="fake/tools", input="weather as an item?", tools=[WEATHER])
    [call] = r.output
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.status) == ("call_fake1", "get_weather", "completed")
    assert call.arguments == '{"city": "Beijing", "unit": "c"}'
    assert call.id and call.id.startswith("fc_")
    assert sent(fake, "weather as an item?")["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER["parameters"],
            },
        }
    ]


@pytest.mark.parametrize(
    ("choice", "chat_choice"),
    [
        ("required", "required"),
        (
            {"type": "function", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_maps_to_chat(
    rclient: openai.OpenAI, fake: FakeOpenAI, choice: Any, chat_choice: Any
) -> None:
    marker = f"weather with tool_choice {choice}?"
    rclient.responses.create(model="fake/tools", input=marker, tools=[WEATHER], tool_choice=choice)
    assert sent(fake, marker)["tool_choice"] == chat_choice


def test_allowed_tools_narrow_the_tools_sent(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    other: FunctionToolParam = {**WEATHER, "name": "get_time"}
    choice: Any = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "get_time"}],
    }
    rclient.responses.create(
        model="fake/tools", input="time with allowed tools?", tools=[WEATHER, other], tool_choice=choice
    )
    body = sent(fake, "time with allowed tools?")
    assert [t["function"]["name"] for t in body["tools"]] == ["get_time"]
    assert body["tool_choice"] == "required"


class Answer(BaseModel):
    answer: str
    words: int


def test_parse_decodes_json_schema_output(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = rclient.responses.parse(model="fake/json", input="parse me", text_format=Answer)
    assert r.output_parsed == Answer(answer="echo", words=3)
    fmt = sent(fake, "parse me")["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Answer"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["words"] == {"title": "Words", "type": "integer"}


def test_max_output_tokens_cut_is_incomplete(rclient: openai.OpenAI, scenario: ScenarioFake) -> None:
    r = rclient.responses.create(model="scenario/long", input="one two three four five", max_output_tokens=2)
    assert r.status == "incomplete"
    assert r.incomplete_details is not None and r.incomplete_details.reason == "max_output_tokens"
    assert r.output[0].type == "message" and r.output[0].status == "incomplete"
    assert r.output_text == "one two "
    assert sent(scenario, "one two three four five")["max_tokens"] == 2


def test_metadata_and_settings_are_echoed(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(
        model="gpt-4o", input="hi", metadata={"user": "u1"}, temperature=0.5, max_output_tokens=50
    )
    assert r.metadata == {"user": "u1"}
    assert (r.temperature, r.max_output_tokens, r.to_dict()["store"]) == (0.5, 50, True)


def test_reasoning_text_is_a_reasoning_item(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(model="scenario/think", input="hello")
    reasoning, message = r.output
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert reasoning.content[0].text == "The user greets me; I greet back."
    assert message.type == "message" and r.output_text == "Hello to you."
    assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens == 2


def test_reasoning_effort_sets_deepseeks_thinking_switch(
    rclient: openai.OpenAI, scenario: ScenarioFake
) -> None:
    rclient.responses.create(model="scenario/think", input="effort none", reasoning={"effort": "none"})
    assert sent(scenario, "effort none")["thinking"] == {"type": "disabled"}
    rclient.responses.create(model="scenario/think", input="effort high", reasoning={"effort": "high"})
    body = sent(scenario, "effort high")
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "high"
    assert body["model"] == "think"  # the model is never swapped


def test_reasoning_effort_sets_qwens_enable_thinking(rclient: openai.OpenAI, scenario: ScenarioFake) -> None:
    with rclient.responses.stream(model="qwen/think", input="qwen low", reasoning={"effort": "low"}) as s:
        s.get_final_response()
    assert sent(scenario, "qwen low")["enable_thinking"] is True
    rclient.responses.create(model="qwen/think", input="qwen high", reasoning={"effort": "high"})
    # DashScope: no thinking without streaming
    assert sent(scenario, "qwen high")["enable_thinking"] is False


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "web_search_preview"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "computer_use_preview", "display_width": 800, "display_height": 600, "environment": "linux"},
        {"type": "code_interpreter", "container": {"type": "auto"}},
    ],
)
def test_a_built_in_tool_is_a_400_naming_it(rclient: openai.OpenAI, tool: Any) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        rclient.responses.create(model="gpt-4o", input="hi", tools=[WEATHER, tool])
    assert f"'{tool['type']}'" in e.value.message
    assert e.value.body["param"] == "tools[1].type"  # type: ignore[index]
    assert e.value.body["code"] == "unsupported_tool"  # type: ignore[index]


def test_an_unknown_model_is_a_404(rclient: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        rclient.responses.create(model="no-such-model", input="hi")


def test_an_unsupported_input_item_is_a_400(rclient: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        rclient.responses.create(model="gpt-4o", input=[{"type": "item_reference", "id": "msg_1"}])
    assert "'item_reference'" in e.value.message


def test_an_upstream_failure_is_an_http_error(rclient: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        rclient.responses.create(model="fake/e503", input="hi")
