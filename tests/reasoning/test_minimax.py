"""MiniMax's interleaved thinking through banjia, against the fake's ``minimax-m2`` mode.

MiniMax answers with its reasoning inside ``content`` (``<think>…</think>``) unless
``reasoning_split`` is asked, then in ``reasoning_details``; on tool turns it wants the whole
assistant message back and, without the reasoning, loses its chain of thought: the answer degrades,
nothing is refused (https://platform.minimaxi.com/docs/api-reference/text-openai-api). Clients that
ask for the split and rebuild the history get the degraded answer straight from the vendor; through
banjia (which asks for the split itself and answers with ``reasoning_content``) the chain holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import fake_provider
from tests.fakes.openai_fake import API_KEY, MINIMAX_DEGRADED, FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.reasoning.conftest import TOOLS, banjia_client, direct_client, reasoning_config
from tests.reasoning.test_frameworks import agents_loop, langchain_loop

SPLIT = {"reasoning_split": True}
MODELS = {"mm-think": ["mm/minimax-m2"], "mm-cumulative": ["mm/minimax-m2:cumulative"]}


def minimax_config(fake: FakeOpenAI, tmp: Path, **store: Any) -> dict[str, Any]:
    return reasoning_config(fake, tmp, providers={"mm": fake_provider(fake, "minimax")},
                            models=MODELS, **store)


@pytest.fixture(scope="module")
def mm(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(minimax_config(fake, tmp_path_factory.mktemp("minimax")))
    yield g
    g.stop()


def turn(client: openai.OpenAI, model: str, messages: list[ChatCompletionMessageParam], *, stream: bool,
         extra_body: dict[str, Any] | None) -> tuple[str, str, list[tuple[str, str, str]]]:
    """One call → (text, reasoning_content, [(call id, name, arguments)]), streamed or not."""
    if not stream:
        msg = client.chat.completions.create(
            model=model, messages=messages, tools=TOOLS, extra_body=extra_body
        ).choices[0].message
        return (msg.content or "", getattr(msg, "reasoning_content", None) or "",
                [(c.id, c.function.name, c.function.arguments)  # type: ignore[union-attr]
                 for c in msg.tool_calls or []])
    text, reasoning, calls = "", "", dict[int, list[str]]()
    for ch in client.chat.completions.create(
        model=model, messages=messages, tools=TOOLS, stream=True, extra_body=extra_body
    ):
        for choice in ch.choices:
            text += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
            for d in choice.delta.tool_calls or []:
                c = calls.setdefault(d.index, ["", "", ""])
                c[0] = d.id or c[0]
                c[1] = (d.function.name if d.function else None) or c[1]
                c[2] += (d.function.arguments if d.function else None) or ""
    return text, reasoning, [(c[0], c[1], c[2]) for c in calls.values()]


def rebuilt_loop(client: openai.OpenAI, model: str, *, stream: bool,
                 extra_body: dict[str, Any] | None = None) -> str:
    """Two tool turns, the history rebuilt from content and tool calls only (what LangChain,
    openai-agents and most agents keep); returns the final answer."""
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather in Beijing?"}]
    for round_ in range(3):
        text, _, calls = turn(client, model, messages, stream=stream, extra_body=extra_body)
        if not calls:
            return text
        messages.append({"role": "assistant", "content": text or None, "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]})
        messages += [{"role": "tool", "tool_call_id": i, "content": "sunny"} for i, _, _ in calls]
        if round_ == 0:
            messages.append({"role": "user", "content": "and tomorrow?"})
    raise AssertionError("the loop did not end")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_loop_that_drops_reasoning_details_degrades_straight_at_minimax(
    fake: FakeOpenAI, stream: bool
) -> None:
    answer = rebuilt_loop(direct_client(fake), "minimax-m2", stream=stream, extra_body=SPLIT)
    assert answer == MINIMAX_DEGRADED


@pytest.mark.parametrize("model", ["mm-think", "mm-cumulative"], ids=["parts", "cumulative"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_same_loop_keeps_its_chain_of_thought_through_banjia(
    mm: Gateway, model: str, stream: bool
) -> None:
    assert rebuilt_loop(banjia_client(mm), model, stream=stream).startswith("sunny")


@pytest.mark.parametrize("model", ["mm-think", "mm-cumulative"], ids=["parts", "cumulative"])
def test_banjia_asks_for_split_reasoning_and_answers_with_reasoning_content(
    mm: Gateway, fake: FakeOpenAI, model: str
) -> None:
    client = banjia_client(mm)
    ask: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather?"}]
    msg = client.chat.completions.create(model=model, messages=ask).choices[0].message
    assert fake.state.requests[-1].body["reasoning_split"] is True
    whole = msg.reasoning_content  # type: ignore[attr-defined]
    assert whole.startswith("minimax-m2 step") and "<think>" not in (msg.content or "")
    assert "reasoning_details" not in (msg.model_extra or {})
    streamed = ""
    for ch in client.chat.completions.create(model=model, messages=ask, stream=True):
        for choice in ch.choices:
            assert "reasoning_details" not in (choice.delta.model_extra or {})
            streamed += getattr(choice.delta, "reasoning_content", None) or ""
    assert streamed.split(":", 1)[1] == whole.split(":", 1)[1]  # the same text, pieced back exactly


def test_reasoning_the_client_kept_goes_back_once_as_reasoning_details(mm: Gateway, fake: FakeOpenAI) -> None:
    client = banjia_client(mm)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "weather?"}]
    msg = client.chat.completions.create(model="mm-think", messages=messages, tools=TOOLS).choices[0].message
    kept = msg.model_dump(exclude_none=True)
    messages += [kept, {"role": "tool", "tool_call_id": kept["tool_calls"][0]["id"], "content": "sunny"}]  # type: ignore[list-item]
    answer = client.chat.completions.create(model="mm-think", messages=messages, tools=TOOLS)
    assert (answer.choices[0].message.content or "").startswith("sunny")
    upstream = fake.state.requests[-1].body["messages"][1]
    assert "reasoning_content" not in upstream
    assert [d["text"] for d in upstream["reasoning_details"]] == [kept["reasoning_content"]]


def test_reasoning_details_the_client_sent_itself_win(mm: Gateway, fake: FakeOpenAI) -> None:
    own = [{"type": "reasoning.text", "id": "r-1", "format": "MiniMax-response-v1", "text": "mine"}]
    call = {"id": "call_own", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    banjia_client(mm).chat.completions.create(model="mm-think", messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "reasoning_details": own,  # type: ignore[list-item]
         "reasoning_content": "also mine", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_own", "content": "sunny"},
    ])
    assert fake.state.requests[-1].body["messages"][1]["reasoning_details"] == own


def test_a_client_that_turns_the_split_off_gets_minimaxs_think_block(mm: Gateway, fake: FakeOpenAI) -> None:
    r = banjia_client(mm).chat.completions.create(
        model="mm-think", messages=[{"role": "user", "content": "hi"}], extra_body={"reasoning_split": False}
    )
    assert fake.state.requests[-1].body["reasoning_split"] is False
    assert (r.choices[0].message.content or "").startswith("<think>\nminimax-m2 step")


def test_an_expired_entry_sends_the_turn_as_it_is(fake: FakeOpenAI, tmp_path: Path) -> None:
    """MiniMax refuses nothing: the turn goes without reasoning (the answer degrades, as it would
    for the client's own history), never with thinking switched off or an invented value."""
    g = Gateway(minimax_config(fake, tmp_path, reasoning_ttl=0.001))
    try:
        assert rebuilt_loop(banjia_client(g), "mm-think", stream=False) == MINIMAX_DEGRADED
        body = fake.state.requests[-1].body
        assert "thinking" not in body
        assert all("reasoning_details" not in m and "reasoning_content" not in m for m in body["messages"])
    finally:
        g.stop()


LOOPS = [langchain_loop, agents_loop]


@pytest.mark.parametrize("loop", LOOPS, ids=["langchain", "openai-agents"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_framework_loop_degrades_straight_at_minimax(fake: FakeOpenAI, loop: Any, stream: bool) -> None:
    answer = loop(f"{fake.url}/v1", API_KEY, "minimax-m2", stream=stream, extra_body=SPLIT)  # type: ignore[attr-defined]
    assert answer == MINIMAX_DEGRADED


@pytest.mark.parametrize("loop", LOOPS, ids=["langchain", "openai-agents"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_framework_loop_keeps_its_chain_of_thought_through_banjia(
    mm: Gateway, loop: Any, stream: bool
) -> None:
    assert loop(mm.base_url, MASTER_KEY, "mm-think", stream=stream).startswith("sunny")
