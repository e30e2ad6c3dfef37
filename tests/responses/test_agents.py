"""openai-agents (Responses API by default) running a tool-using agent through banjia."""

from __future__ import annotations

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from tests.harness import MASTER_KEY, Gateway
from tests.responses.scenario_fake import ScenarioFake
from tests.responses.upstream import sent

set_tracing_disabled(True)


def weather_agent(g: Gateway, calls: list[str]) -> Agent:
    @function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    client = AsyncOpenAI(base_url=g.base_url, api_key=MASTER_KEY, max_retries=0)
    return Agent(
        name="weather",
        instructions="Answer with the weather tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="scenario/agent", openai_client=client),
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
async def test_an_agent_calls_its_tool_then_answers(
    rgateway: Gateway, scenario: ScenarioFake, streamed: bool
) -> None:
    calls: list[str] = []
    agent = weather_agent(rgateway, calls)
    if streamed:
        run = Runner.run_streamed(agent, "What's the weather in Beijing?")
        async for _ in run.stream_events():
            pass
        output = run.final_output
    else:
        output = (await Runner.run(agent, "What's the weather in Beijing?")).final_output
    assert output == "The tool said: sunny in Beijing"
    assert calls == ["Beijing"]
    # the second upstream call carried the tool's call and result as chat messages
    msgs = sent(scenario, "sunny in Beijing")["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool"]
    assert msgs[2]["tool_calls"][0]["function"]["name"] == "get_weather"
