"""Claude Code's own requests through banjia's ``/v1/messages``, to an OpenAI-dialect upstream and to
an ``anthropic`` upstream.

The fixtures in ``claude_code/`` are the requests Claude Code 2.1.197 (``claude -p``, and the
interactive session's title request) sent to banjia through a logging proxy: the same keys, block
types, ``cache_control`` marks, 24 tools with their JSON schemas (``$schema``, nested objects,
enums), ``thinking`` (``enabled`` with a budget, or ``adaptive`` with ``output_config.effort``),
``context_management``, ``metadata.user_id`` (a JSON string), the ``anthropic-beta`` list and the
``?beta=true`` query. They are anonymised: every piece of prose (system prompt, tool descriptions,
reminders) is filler of the same length, ids and paths are placeholders. A JSON string
``"@system.json"`` / ``"@tools.json"`` / ``"@model"`` in a body stands for that file or the model.

The answers are checked the way Claude Code reads them: the event order of
https://docs.anthropic.com/en/docs/build-with-claude/streaming, the message object of
https://docs.anthropic.com/en/api/messages (the official ``anthropic`` SDK in strict validation),
usage present, and a second turn that sends the assistant content back with a ``tool_result``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from tests.conftest import fake_provider, strict_anthropic
from tests.e2e.ledger_rows import row
from tests.fakes.anthropic_fake import API_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_fake import FakeAnthropic
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway

FIXTURES = Path(__file__).parent / "claude_code"
PATH = "/v1/messages?beta=true"  # Claude Code's beta client adds the query
EVENT = TypeAdapter(RawMessageStreamEvent)

# one model per upstream kind; the tool loop on the OpenAI side runs against the fake's DeepSeek-like
# thinking mode, so the thinking block Claude Code sends back must reach the vendor as its reasoning
MODELS = {"openai": "cc-openai", "anthropic": "cc-anthropic"}
LOOP_MODELS = {"openai": "cc-think", "anthropic": "cc-anthropic"}
UPSTREAMS = list(MODELS)


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _expand(value: Any, model: str) -> Any:
    if value == "@model":
        return model
    if isinstance(value, str) and value.startswith("@") and value.endswith(".json"):
        return _load(value[1:])
    return value


def claude_code_body(name: str, model: str, **overrides: Any) -> dict[str, Any]:
    body = {k: _expand(v, model) for k, v in _load(name).items()}
    body.update(overrides)
    return body


def claude_code_headers(adaptive: bool = False) -> dict[str, str]:
    headers: dict[str, str] = _load("headers.json")
    if adaptive:
        headers.update(_load("headers_adaptive.json"))
    return {**headers, "Authorization": f"Bearer {MASTER_KEY}"}  # ANTHROPIC_AUTH_TOKEN


def adaptive_body(model: str) -> dict[str, Any]:
    """The first turn as Claude Code sends it for a model it does not know: adaptive thinking."""
    body = claude_code_body("first_turn.json", model)
    body.pop("thinking")
    body.update(_load("adaptive_turn.json"))
    return body


def with_last_text(body: dict[str, Any], text: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["messages"][-1]["content"][-1]["text"] = text
    return body


# -- servers --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def anthropic_fake() -> Iterator[FakeAnthropic]:
    f = FakeAnthropic()
    server = AioServer(f.app, "anthropic-fake-cc")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def cc_gateway(
    fake: FakeOpenAI, anthropic_fake: FakeAnthropic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("claude-code")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "fake": fake_provider(fake),
            "ds": fake_provider(fake, "deepseek"),
            "ant": {"type": "anthropic", "base_url": f"{anthropic_fake.url}/anthropic",  # type: ignore[attr-defined]
                    "api_key": ANTHROPIC_KEY},
        },
        "models": {"cc-openai": ["fake/echo"], "cc-think": ["ds/think"], "cc-anthropic": ["ant/claude-echo"],
                   "cc-priced": ["ds/deepseek-chat"]},  # a model the catalog prices (the fake echoes)
        "routing": {"retries": 0},
    })
    yield g
    g.stop()


@pytest.fixture(scope="module")
def claude(cc_gateway: Gateway) -> anthropic.Anthropic:
    return strict_anthropic(cc_gateway)


# -- reading answers as Claude Code does ----------------------------------------------------------
_DELTAS = {"text": {"text_delta"}, "thinking": {"thinking_delta", "signature_delta"},
           "tool_use": {"input_json_delta"}}


def sse_events(text: str) -> list[dict[str, Any]]:
    """``event:``/``data:`` pairs; each event's name must be its data's ``type``."""
    out = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in chunk.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        name = next((ln[6:].strip() for ln in lines if ln.startswith("event:")), None)
        data = "\n".join(ln[5:].lstrip() for ln in lines if ln.startswith("data:"))
        event = json.loads(data)
        assert name == event["type"], chunk
        out.append(event)
    return out


def check_order(events: list[dict[str, Any]]) -> None:
    """Anthropic's stream grammar: message_start, then per block start/deltas/stop with indexes
    0, 1, …, one block open at a time, then message_delta (stop reason, usage) and message_stop."""
    kinds = [e["type"] for e in events if e["type"] != "ping"]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"], kinds
    open_block: dict[str, Any] | None = None
    next_index = 0
    for e in events[1:-2]:
        if e["type"] == "ping":
            continue
        if e["type"] == "content_block_start":
            assert open_block is None and e["index"] == next_index, e
            open_block, next_index = {"index": e["index"], "type": e["content_block"]["type"]}, next_index + 1
        elif e["type"] == "content_block_delta":
            assert open_block is not None and e["index"] == open_block["index"], e
            assert e["delta"]["type"] in _DELTAS[open_block["type"]], e
        elif e["type"] == "content_block_stop":
            assert open_block is not None and e["index"] == open_block["index"], e
            open_block = None
        else:
            raise AssertionError(f"unexpected event between blocks: {e}")
    assert open_block is None
    for e in events:
        if e["type"] != "ping":  # the SDK's event union has no ping (its stream skips them)
            EVENT.validate_python(e)


def accumulate(events: list[dict[str, Any]]) -> Message:
    """The final message, built from the events as the SDK's MessageStream does."""
    msg: dict[str, Any] = copy.deepcopy(events[0]["message"])
    partial: dict[int, str] = {}
    for e in events:
        if e["type"] == "content_block_start":
            msg["content"].append(dict(e["content_block"]))
        elif e["type"] == "content_block_delta":
            block, d = msg["content"][e["index"]], e["delta"]
            if d["type"] == "text_delta":
                block["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                block["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
            else:
                partial[e["index"]] = partial.get(e["index"], "") + d["partial_json"]
        elif e["type"] == "message_delta":
            msg.update(stop_reason=e["delta"]["stop_reason"], stop_sequence=e["delta"].get("stop_sequence"))
            msg["usage"] = {**msg["usage"], **e["usage"]}
    for i, raw in partial.items():
        msg["content"][i]["input"] = json.loads(raw or "{}")
    return Message.model_validate(msg)


def stream(gateway: Gateway, body: dict[str, Any], headers: dict[str, str] | None = None,
           path: str = PATH) -> tuple[list[dict[str, Any]], Message]:
    with httpx.stream("POST", gateway.root + path, json={**body, "stream": True},
                      headers=headers or claude_code_headers(), timeout=30) as r:
        text = r.read().decode()
    assert r.status_code == 200, text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(text)
    check_order(events)
    return events, accumulate(events)


def create(claude: anthropic.Anthropic, body: dict[str, Any], adaptive: bool = False) -> Message:
    """A non-streamed request with Claude Code's body and headers, parsed by the SDK (strict)."""
    headers = {k: v for k, v in claude_code_headers(adaptive).items() if k != "Authorization"}
    out: Message = claude.post(PATH, cast_to=Message, body={**body, "stream": False},
                               options={"headers": headers})
    return out


def assert_answer(m: Message, stop: str = "end_turn") -> None:
    assert m.role == "assistant" and m.type == "message" and m.stop_reason == stop
    assert m.content and m.content[-1].type == ("tool_use" if stop == "tool_use" else "text")
    assert m.usage.output_tokens > 0 and m.usage.input_tokens >= 0


# -- the first turn -------------------------------------------------------------------------------
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_first_turn_streams_in_anthropics_order(cc_gateway: Gateway, upstream: str) -> None:
    body = claude_code_body("first_turn.json", MODELS[upstream])
    events, final = stream(cc_gateway, body)
    assert_answer(final)
    text = final.content[-1]
    assert text.type == "text" and text.text.startswith("echo: ") and text.text.endswith("say hello")
    if upstream == "anthropic":  # thinking was asked for and the fake thinks: it comes first, signed
        assert final.content[0].type == "thinking" and final.content[0].signature
    delta = next(e for e in events if e["type"] == "message_delta")
    assert delta["usage"]["output_tokens"] > 0
    assert "usage" in events[0]["message"]


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_first_turn_without_a_stream_is_a_message(claude: anthropic.Anthropic, upstream: str) -> None:
    m = create(claude, claude_code_body("first_turn.json", MODELS[upstream]))
    assert_answer(m)
    assert m.content[-1].type == "text" and m.content[-1].text.endswith("say hello")


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_adaptive_thinking_and_effort_are_accepted(
    cc_gateway: Gateway, claude: anthropic.Anthropic, upstream: str
) -> None:
    body = adaptive_body(MODELS[upstream])
    _, final = stream(cc_gateway, body, claude_code_headers(adaptive=True))
    assert_answer(final)
    assert_answer(create(claude, body, adaptive=True))


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_the_title_request_with_structured_output_is_answered(
    cc_gateway: Gateway, claude: anthropic.Anthropic, upstream: str
) -> None:
    """The background model's title request: no tools, ``thinking: disabled``, temperature 1 and
    ``output_config.format`` (a JSON schema)."""
    body = claude_code_body("title.json", MODELS[upstream])
    _, final = stream(cc_gateway, body)
    assert_answer(final)
    assert_answer(create(claude, body))


# -- the tool loop --------------------------------------------------------------------------------
def _second_turn(first_body: dict[str, Any], answer: Message) -> dict[str, Any]:
    """What Claude Code sends after running the tool: the assistant content as received (thinking
    with its signature, tool_use), then a user turn with the tool's result (here: its input was
    refused, ``is_error``, with a ``cache_control`` mark)."""
    use = next(b for b in answer.content if b.type == "tool_use")
    result = copy.deepcopy(_load("tool_result_turn.json"))
    result["content"][0]["tool_use_id"] = use.id
    assistant = {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in answer.content]}
    return {**first_body, "messages": [*first_body["messages"], assistant, result]}


@pytest.mark.parametrize("streamed", [True, False], ids=["stream", "create"])
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_a_tool_loop_round_trips(
    cc_gateway: Gateway, claude: anthropic.Anthropic, upstream: str, streamed: bool
) -> None:
    body = with_last_text(claude_code_body("first_turn.json", LOOP_MODELS[upstream]),
                          "what is the weather in Beijing?")

    def send(b: dict[str, Any]) -> Message:
        return stream(cc_gateway, b)[1] if streamed else create(claude, b)

    first = send(body)
    assert_answer(first, stop="tool_use")
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "Agent" and isinstance(use.input, dict)  # the fakes call the first tool
    assert first.content[0].type == "thinking"  # both fakes think first
    second = send(_second_turn(body, first))
    assert_answer(second)
    assert second.content[-1].type == "text" and "tool_use_error" in second.content[-1].text


# -- count_tokens ---------------------------------------------------------------------------------
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_count_tokens_counts_claude_codes_system_and_tools(cc_gateway: Gateway, upstream: str) -> None:
    body = claude_code_body("first_turn.json", MODELS[upstream])
    counted = {k: body[k] for k in ("model", "messages", "system", "tools", "thinking")}
    r = httpx.post(cc_gateway.root + "/v1/messages/count_tokens?beta=true", json=counted,
                   headers=claude_code_headers(), timeout=30)
    assert r.status_code == 200, r.text
    with_tools = r.json()["input_tokens"]
    bare = httpx.post(cc_gateway.root + "/v1/messages/count_tokens?beta=true",
                      json={"model": body["model"], "messages": body["messages"]},
                      headers=claude_code_headers(), timeout=30).json()["input_tokens"]
    assert with_tools > bare + 5000  # 24 tools and a long system prompt are most of the prompt


def test_count_tokens_has_a_ledger_row_and_anthropics_request_id(cc_gateway: Gateway) -> None:
    body = claude_code_body("first_turn.json", MODELS["openai"])
    r = httpx.post(cc_gateway.root + "/v1/messages/count_tokens",
                   json={"model": body["model"], "messages": body["messages"]},
                   headers=claude_code_headers(), timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["request-id"] == r.headers["x-request-id"]  # where Anthropic's SDKs look
    ledger = row(cc_gateway, r.headers["x-request-id"])
    assert ledger["endpoint"] == "count_tokens" and ledger["status"] == 200
    assert ledger["prompt_tokens"] == r.json()["input_tokens"] and not ledger["cost_nano_cny"]


# -- what reaches an anthropic upstream -----------------------------------------------------------
def test_cache_control_reaches_an_anthropic_upstream(
    cc_gateway: Gateway, anthropic_fake: FakeAnthropic
) -> None:
    stream(cc_gateway, claude_code_body("first_turn.json", MODELS["anthropic"]))
    sent = anthropic_fake.state.requests[-1]
    assert sent["model"] == "claude-echo" and sent["messages"]
    assert "cache_control" in json.dumps(sent["system"])  # passthrough


# -- what Claude Code needs beyond the plain shapes (each was a gap found by running it) -----------
# Claude Code retries without role "system" messages when the 400 says so in Anthropic's words
# (the patterns it checks for in 2.1.197)
_FALLBACK = [
    re.compile(r"Unexpected role.*input message role", re.S),
    re.compile(r"not supported.*role .{0,2}system", re.S | re.I),
    re.compile(r"mid-conversation-system-2026-04-07.*anthropic-beta", re.S),
]


def test_a_mid_conversation_system_message_is_served_or_refused_in_anthropics_words(
    cc_gateway: Gateway,
) -> None:
    """For a model name it does not know, Claude Code 2.1.197 sends ``mid-conversation-system-…``
    in ``anthropic-beta`` and a ``{"role": "system"}`` message inside ``messages``."""
    body = claude_code_body("first_turn.json", MODELS["openai"], **_load("mid_conversation_system.json"))
    headers = claude_code_headers(adaptive=True)
    headers["anthropic-beta"] += ",mid-conversation-system-2026-04-07"
    r = httpx.post(cc_gateway.root + PATH, json={**body, "stream": False}, headers=headers, timeout=30)
    if r.status_code == 200:
        Message.model_validate(r.json())
        return
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert any(p.search(r.json()["error"]["message"]) for p in _FALLBACK), r.text


def test_a_claude_code_request_is_priced_in_the_ledger(cc_gateway: Gateway) -> None:
    body = claude_code_body("first_turn.json", "cc-priced", stream=False)
    r = httpx.post(cc_gateway.root + PATH, json=body, headers=claude_code_headers(), timeout=30)
    assert r.status_code == 200, r.text
    ledger = row(cc_gateway, r.headers["x-request-id"])
    assert ledger["endpoint"] == "messages" and ledger["prompt_tokens"] > 0
    assert ledger["cost_nano_cny"] and ledger["openai_cost_nano_cny"]


def test_structured_output_reaches_an_openai_upstream(cc_gateway: Gateway, fake: FakeOpenAI) -> None:
    body = claude_code_body("title.json", MODELS["openai"])
    stream(cc_gateway, body)
    sent = fake.state.requests[-1].body
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == body["output_config"]["format"]["schema"]


def test_adaptive_thinking_asks_the_upstream_for_reasoning(cc_gateway: Gateway, fake: FakeOpenAI) -> None:
    stream(cc_gateway, adaptive_body(MODELS["openai"]), claude_code_headers(adaptive=True))
    assert fake.state.requests[-1].body.get("reasoning_effort") == "high"


def test_streamed_thinking_blocks_get_signatures_of_their_own(cc_gateway: Gateway) -> None:
    body = with_last_text(claude_code_body("first_turn.json", LOOP_MODELS["openai"]), "weather?")
    signatures, texts = set(), set()
    for _ in range(2):  # the fake's reasoning differs from call to call ("step n: …")
        _, final = stream(cc_gateway, body)
        block = final.content[0]
        assert block.type == "thinking"
        signatures.add(block.signature)
        texts.add(block.thinking)
    assert len(texts) == 2 and len(signatures) == 2
