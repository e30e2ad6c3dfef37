"""Stored responses: previous_response_id across providers, GET and DELETE, store=false."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.openai_fake import FakeOpenAI
from tests.responses.scenario_fake import ScenarioFake
from tests.responses.test_create import WEATHER
from tests.responses.upstream import sent


def test_a_conversation_continues_on_another_provider(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    first = rclient.responses.with_raw_response.create(
        model="gpt-4o", input="my name is Li", instructions="Be brief."
    )
    assert first.headers["x-banjia-upstream"] == "fake/echo"
    second = rclient.responses.with_raw_response.create(
        model="deepseek/echo", input="what is my name?", previous_response_id=first.parse().id
    )
    assert second.headers["x-banjia-upstream"] == "deepseek/echo"
    # the second upstream hears the first turn (but not its instructions, which were for that turn)
    assert sent(fake, "what is my name?")["messages"] == [
        {"role": "user", "content": "my name is Li"},
        {"role": "assistant", "content": "echo: my name is Li"},
        {"role": "user", "content": "what is my name?"},
    ]
    assert second.parse().previous_response_id == first.parse().id


def test_a_streamed_turn_can_be_continued(rclient: openai.OpenAI, fake: FakeOpenAI) -> None:
    with rclient.responses.stream(model="gpt-4o", input="first turn") as s:
        first = s.get_final_response()
    rclient.responses.create(model="gpt-4o", input="second turn", previous_response_id=first.id)
    assert [m["content"] for m in sent(fake, "second turn")["messages"]] == [
        "first turn",
        "echo: first turn",
        "second turn",
    ]


def test_a_tool_turn_continues_with_the_calls_and_their_results(
    rclient: openai.OpenAI, fake: FakeOpenAI
) -> None:
    first = rclient.responses.create(model="fake/tools", input="weather?", tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call"
    rclient.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny on turn two"}],
    )
    msgs = sent(fake, "sunny on turn two")["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool"]
    assert msgs[1]["tool_calls"][0]["id"] == call.call_id and msgs[2]["tool_call_id"] == call.call_id


def test_reasoning_goes_back_only_on_turns_that_called_tools(
    rclient: openai.OpenAI, scenario: ScenarioFake
) -> None:
    first = rclient.responses.create(model="scenario/think", input="hello")
    rclient.responses.create(model="scenario/think", input="again, no tools", previous_response_id=first.id)
    assert "reasoning_content" not in sent(scenario, "again, no tools")["messages"][1]
    rclient.responses.create(
        model="scenario/think",
        input=[
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "I need the weather."}],
            },
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny for the thinker"},
        ],
    )
    msgs = sent(scenario, "sunny for the thinker")["messages"]
    assert msgs[0]["reasoning_content"] == "I need the weather."


def test_get_returns_the_stored_response(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(model="gpt-4o", input="keep me", metadata={"k": "v"})
    got = rclient.responses.retrieve(r.id)
    assert got.id == r.id and got.output_text == "echo: keep me" and got.metadata == {"k": "v"}


def test_delete_removes_the_response(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(model="gpt-4o", input="forget me")
    rclient.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        rclient.responses.retrieve(r.id)
    with pytest.raises(openai.NotFoundError):
        rclient.responses.delete(r.id)


def test_store_false_keeps_nothing(rclient: openai.OpenAI) -> None:
    r = rclient.responses.create(model="gpt-4o", input="ephemeral", store=False)
    assert r.to_dict()["store"] is False
    with pytest.raises(openai.NotFoundError):
        rclient.responses.retrieve(r.id)


def test_an_unknown_previous_response_is_a_404(rclient: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        rclient.responses.create(model="gpt-4o", input="hi", previous_response_id="resp_nope")
    assert e.value.body["code"] == "previous_response_not_found"  # type: ignore[index]
    assert e.value.body["param"] == "previous_response_id"  # type: ignore[index]
