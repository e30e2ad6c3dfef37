"""LangChain's and openai-agents' tool loops against a thinking vendor: through banjia they
finish; sent straight to the fake, their rebuilt history lacks the reasoning and gets the 400."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

set_tracing_disabled(True)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


def _weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


def langchain_loop(
    base_url: str, key: str, model: str, *, stream: bool, extra_body: dict[str, Any] | None = None
) -> str:
    llm = ChatOpenAI(model=model, base_url=base_url, api_key=key, max_retries=0,  # type: ignore[arg-type]
                     extra_body=extra_body).bind_tools([get_weather])
    messages: list[BaseMessage] = [HumanMessage("weather in Beijing?")]
    for _ in range(4):
        if stream:
            ai: BaseMessage | None = None
            for part in llm.stream(messages):
                ai = part if ai is None else ai + part  # type: ignore[assignment]
        else:
            ai = llm.invoke(messages)
        assert isinstance(ai, AIMessage)
        messages.append(ai)
        if not ai.tool_calls:
            return str(ai.content)
        for call in ai.tool_calls:
            messages.append(ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"]))
        if len(messages) < 5:
            messages.append(HumanMessage("and tomorrow?"))
    raise AssertionError("the loop did not end")


def agents_loop(
    base_url: str, key: str, model: str, *, stream: bool, extra_body: dict[str, Any] | None = None
) -> str:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    agent = Agent(name="weather", tools=[function_tool(_weather)],
                  model=OpenAIChatCompletionsModel(model=model, openai_client=client),
                  model_settings=ModelSettings(extra_body=extra_body))

    async def run() -> str:
        if not stream:
            return str((await Runner.run(agent, "weather in Beijing?")).final_output)
        result = Runner.run_streamed(agent, "weather in Beijing?")
        async for _ in result.stream_events():
            pass
        return str(result.final_output)

    return asyncio.run(run())


LOOPS = [langchain_loop, agents_loop]


@pytest.mark.parametrize("loop", LOOPS, ids=["langchain", "openai-agents"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_framework_loop_fails_straight_at_the_vendor(fake: FakeOpenAI, loop: object, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError, match="reasoning_content"):
        loop(f"{fake.url}/v1", API_KEY, "think", stream=stream)  # type: ignore[operator, attr-defined]


@pytest.mark.parametrize("loop", LOOPS, ids=["langchain", "openai-agents"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_framework_loop_passes_through_banjia(gw: Gateway, loop: object, stream: bool) -> None:
    answer = loop(gw.base_url, MASTER_KEY, "glm-think", stream=stream)  # type: ignore[operator]
    assert answer.startswith("sunny")
