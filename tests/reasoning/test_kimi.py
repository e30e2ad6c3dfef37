"""Kimi's thinking models through banjia, against the fake's Moonshot modes: the reasoning
replayed on tool turns, and each family's own way through a turn whose reasoning banjia does not
know (src/banjia/vendors/table.py has the sources).

- kimi-k2.5 / kimi-k2.6 refuse a tool-call turn without ``reasoning_content`` and take an empty one
  for a missing one; thinking can be switched off: banjia switches it off for that turn;
- kimi-k2-thinking always thinks and takes ``reasoning_content: ""``: banjia sends that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from banjia.vendors import thinking_for
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.reasoning.conftest import TOOLS, banjia_client, direct_client, reasoning_config, sdk_loop

FAMILIES = ["kimi-k2.5", "kimi-k2.6", "kimi-k2-thinking"]


def kimi_config(fake: FakeOpenAI, tmp: Path, **store: Any) -> dict[str, Any]:
    return reasoning_config(fake, tmp, providers={"kimi": fake_provider(fake, "moonshot")},
                            models={m: [f"kimi/{m}"] for m in FAMILIES}, **store)


@pytest.fixture(scope="module")
def kimi(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(kimi_config(fake, tmp_path_factory.mktemp("kimi")))
    yield g
    g.stop()


def test_the_families_rules_are_data() -> None:
    t = thinking_for("moonshot")
    assert t is not None and t.unknown == "empty"
    assert [t.family_unknown(m) for m in ("Kimi-K2.5", "kimi-k2.6-preview", "kimi-k2-thinking")] == [
        "disable_thinking", "disable_thinking", None]


@pytest.mark.parametrize("model", FAMILIES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_loop_without_reasoning_fails_straight_at_kimi(fake: FakeOpenAI, model: str, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError, match="reasoning_content is missing"):
        sdk_loop(direct_client(fake), model, stream=stream)


@pytest.mark.parametrize("model", FAMILIES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_same_loop_passes_through_banjia(
    kimi: Gateway, fake: FakeOpenAI, model: str, stream: bool
) -> None:
    assert sdk_loop(banjia_client(kimi), model, stream=stream).startswith("sunny")
    body = fake.state.requests[-1].body
    assert "thinking" not in body  # replayed: thinking stayed on
    assert all(m.get("reasoning_content") for m in body["messages"] if m.get("tool_calls"))


@pytest.mark.parametrize(("model", "thinking", "sent"), [
    ("kimi-k2.5", {"type": "disabled"}, None),
    ("kimi-k2.6", {"type": "disabled"}, None),
    ("kimi-k2-thinking", None, ""),
])
def test_an_expired_entry_gets_each_familys_own_way_through(
    fake: FakeOpenAI, tmp_path: Path, model: str, thinking: dict[str, str] | None, sent: str | None
) -> None:
    g = Gateway(kimi_config(fake, tmp_path, reasoning_ttl=0.001))
    try:
        assert sdk_loop(banjia_client(g), model, stream=False).startswith("sunny")
        body = fake.state.requests[-1].body
        assert body.get("thinking") == thinking
        assert [m.get("reasoning_content") for m in body["messages"] if m.get("tool_calls")][-1] == sent
    finally:
        g.stop()


def test_an_empty_reasoning_the_client_sent_turns_thinking_off_at_k2_5(
    kimi: Gateway, fake: FakeOpenAI
) -> None:
    """A placeholder some clients send (""), which K2.5 refuses like a missing one."""
    fn = {"name": "get_weather", "arguments": "{}"}
    call = {"id": "call_elsewhere", "type": "function", "function": fn}
    history: list[Any] = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "reasoning_content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_elsewhere", "content": "sunny"},
    ]
    with pytest.raises(openai.BadRequestError, match="reasoning_content is missing"):
        direct_client(fake).chat.completions.create(model="kimi-k2.5", messages=history, tools=TOOLS)
    r = banjia_client(kimi).chat.completions.create(
        model="kimi-k2.5", messages=history, tools=TOOLS, reasoning_effort="high"
    )
    assert (r.choices[0].message.content or "").startswith("sunny")
    body = fake.state.requests[-1].body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body
    assert "reasoning_content" not in body["messages"][1]
