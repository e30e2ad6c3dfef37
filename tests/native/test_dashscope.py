"""DashScope native (``dashscope-native``): translation units on wire payloads, then the gateway end to
end through a fake that checks the key and DashScope's request rules, and the official ``dashscope``
SDK against that same fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dashscope
import openai
import pytest

from banjia.adaptors.base import UpstreamResponse
from banjia.adaptors.dashscope import TEXT_PATH, VISION_PATH, DashScopeAdaptor
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest
from tests.conftest import strict_client
from tests.fakes.dashscope_fake import API_KEY, FakeDashScope
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import PLAIN_REQ

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
USER = [{"role": "user", "content": "hello there world"}]


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "ds/qwen-plus", "messages": USER, **kw})


async def no_fetch(_: Any) -> UpstreamResponse:
    raise AssertionError("DashScope needs no auxiliary request")


def adaptor() -> DashScopeAdaptor:
    return DashScopeAdaptor("ds", no_fetch, base_url="https://dashscope.example", api_key=API_KEY)


async def wire(req: ChatRequest, model: str = "qwen-plus", stream: bool = False) -> dict[str, Any]:
    up = await adaptor().chat_request(req, model, stream=stream)
    out: dict[str, Any] = json.loads(up.body)
    return out


def event(choices: list[dict[str, Any]], **usage: int) -> str:
    return json.dumps({"output": {"choices": choices}, "usage": usage or None, "request_id": "r"})


def msg(content: str, finish: str = "null", **extra: Any) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": content, **extra}, "finish_reason": finish}


# -- request translation -------------------------------------------------------------------------
async def test_messages_go_inside_input_and_answers_are_asked_in_message_format() -> None:
    body = await wire(chat())
    assert body["model"] == "qwen-plus"
    assert body["input"] == {"messages": USER}
    assert body["parameters"]["result_format"] == "message"


async def test_system_and_developer_messages_become_one_leading_system_message() -> None:
    body = await wire(
        chat(
            messages=[
                {"role": "developer", "content": "be brief"},
                *USER,
                {"role": "system", "content": "answer in English"},
            ]
        )
    )
    assert body["input"]["messages"][0] == {"role": "system", "content": "be brief\n\nanswer in English"}
    assert [m["role"] for m in body["input"]["messages"]] == ["system", "user"]


async def test_streams_ask_for_incremental_output_over_sse() -> None:
    up = await adaptor().chat_request(chat(stream=True), "qwen-plus", stream=True)
    assert json.loads(up.body)["parameters"]["incremental_output"] is True
    assert up.headers["X-DashScope-SSE"] == "enable" and up.headers["Accept"] == "text/event-stream"
    assert up.url == "https://dashscope.example" + TEXT_PATH


async def test_temperature_and_top_p_are_clamped_into_dashscope_ranges() -> None:
    params = (await wire(chat(temperature=2.0, top_p=0.0)))["parameters"]
    assert 1.9 <= params["temperature"] < 2 and 0 < params["top_p"] <= 0.01


async def test_output_limit_stop_seed_and_penalty_reach_parameters() -> None:
    params = (await wire(chat(max_completion_tokens=5, stop="END", seed=7, presence_penalty=0.5)))[
        "parameters"
    ]
    assert params["max_tokens"] == 5 and params["stop"] == ["END"] and params["seed"] == 7
    assert params["presence_penalty"] == 0.5


async def test_extra_body_qwen_parameters_pass_through() -> None:
    params = (await wire(chat(enable_search=True, top_k=20)))["parameters"]
    assert params["enable_search"] is True and params["top_k"] == 20


async def test_tools_calls_and_tool_results_translate() -> None:
    req = chat(
        tools=[WEATHER],
        tool_choice="required",
        messages=[
            *USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    body = await wire(req)
    params, messages = body["parameters"], body["input"]["messages"]
    assert params["tools"] == [WEATHER]
    assert params["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert messages[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": "{}"}
    assert messages[2] == {
        "role": "tool",
        "content": "sunny",
        "tool_call_id": "call_1",
        "name": "get_weather",
    }


async def test_images_use_the_multimodal_path_with_native_parts() -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}},
    ]
    up = await adaptor().chat_request(
        chat(messages=[{"role": "user", "content": content}]), "qwen-vl-plus", stream=False
    )
    assert up.url.endswith(VISION_PATH)
    assert json.loads(up.body)["input"]["messages"][0]["content"] == [
        {"text": "what is this?"},
        {"image": "https://img.example/cat.png"},
    ]


async def test_content_dashscope_cannot_take_is_refused_not_dropped() -> None:
    content = [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]
    with pytest.raises(APIError) as e:
        await wire(chat(messages=[{"role": "user", "content": content}]))
    assert e.value.status == 400 and "input_audio" in e.value.message


# -- response translation ------------------------------------------------------------------------
def test_answer_maps_choices_usage_and_finish_reason() -> None:
    body = json.dumps(
        {
            "output": {"choices": [msg("hi there", "length")]},
            "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
            "request_id": "abc",
        }
    ).encode()
    out = adaptor().chat_response(UpstreamResponse(200, {}, body), "qwen-plus", PLAIN_REQ)
    assert out["id"] == "chatcmpl-abc" and out["choices"][0]["message"]["content"] == "hi there"
    assert out["choices"][0]["finish_reason"] == "length"
    assert (
        out["usage"]["prompt_tokens"],
        out["usage"]["completion_tokens"],
        out["usage"]["total_tokens"],
    ) == (5, 2, 7)


def test_tool_call_answer_has_tool_calls_and_no_text() -> None:
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    body = json.dumps(
        {"output": {"choices": [msg("", "tool_calls", tool_calls=[call])]}, "usage": {}}
    ).encode()
    out = adaptor().chat_response(UpstreamResponse(200, {}, body), "qwen-plus", PLAIN_REQ)
    assert (
        out["choices"][0]["message"]["tool_calls"] == [call]
        and out["choices"][0]["message"]["content"] is None
    )
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_incremental_stream_emits_each_delta_and_null_finish_means_not_done() -> None:
    t = adaptor().chat_stream(chat(stream=True), "qwen-plus")
    first = t.feed(event([msg("Hel")], input_tokens=3, output_tokens=1))
    second = t.feed(event([msg("lo", "stop")], input_tokens=3, output_tokens=2))
    assert first[0]["choices"][0] == {"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}
    assert (
        second[0]["choices"][0]["delta"] == {"content": "lo"}
        and second[0]["choices"][0]["finish_reason"] == "stop"
    )
    assert second[0]["usage"]["completion_tokens"] == 2


def test_cumulative_stream_emits_only_the_new_text() -> None:
    t = adaptor().chat_stream(chat(stream=True, incremental_output=False), "qwen-plus")
    texts = []
    for content in ("Hel", "Hello", "Hello wor", "Hello world"):
        texts += [f["choices"][0]["delta"].get("content", "") for f in t.feed(event([msg(content)]))]
    assert texts == ["Hel", "lo", " wor", "ld"]


def test_cumulative_tool_call_arguments_are_not_repeated() -> None:
    t = adaptor().chat_stream(chat(stream=True, incremental_output=False), "qwen-plus")
    pieces = []
    for args in ('{"a"', '{"a": 1', '{"a": 1}'):
        call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": args}}
        frag = t.feed(event([msg("", tool_calls=[call])]))
        pieces.append(frag[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"])
    assert "".join(pieces) == '{"a": 1}'


def test_moderation_after_text_went_out_finishes_with_content_filter() -> None:
    t = adaptor().chat_stream(chat(stream=True), "qwen-plus")
    t.feed(event([msg("some text")]))
    out = t.feed(
        json.dumps(
            {"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."}
        )
    )
    assert out == [{"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]}]


def test_error_event_before_any_text_raises() -> None:
    t = adaptor().chat_stream(chat(stream=True), "qwen-plus")
    with pytest.raises(UpstreamError) as e:
        t.feed(
            json.dumps(
                {"code": "DataInspectionFailed", "message": "Input data may contain inappropriate content."}
            )
        )
    assert e.value.status == 400 and e.value.code == "content_filter"


@pytest.mark.parametrize(
    "status,code,want_status,want_code",
    [
        (400, "DataInspectionFailed", 400, "content_filter"),
        (400, "data_inspection_failed", 400, "content_filter"),
        (400, "Arrearage", 429, "insufficient_quota"),
        (401, "InvalidApiKey", 401, "invalid_api_key"),
        (429, "Throttling", 429, "rate_limit_exceeded"),
        (429, "Throttling.RateQuota", 429, "rate_limit_exceeded"),
        (429, "Throttling.AllocationQuota", 429, "rate_limit_exceeded"),
        (403, "AccessDenied.Unpurchased", 403, "permission_denied"),
        (400, "InvalidParameter", 400, "invalid_value"),
        (408, "RequestTimeOut", 504, "upstream_timeout"),
        (500, "InternalError.Algo", 502, "upstream_error"),
    ],
)
def test_error_codes_map_to_openai_statuses(status: int, code: str, want_status: int, want_code: str) -> None:
    body = json.dumps({"code": code, "message": "m", "request_id": "r"}).encode()
    err = adaptor().error(status, body)
    assert (err.status, err.code) == (want_status, want_code)


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDashScope]:
    f = FakeDashScope()
    server = AioServer(f.app, "dashscope-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeDashScope, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    def provider(**kw: Any) -> dict[str, Any]:
        return {"type": "dashscope-native", "base_url": fake.url, "api_key": API_KEY, **kw}  # type: ignore[attr-defined]

    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp_path_factory.mktemp('ds') / 'banjia.db'}"},
            "providers": {
                "ds": provider(),
                # separate accounts for errors that take a provider out of rotation
                "ds_arrears": provider(),
                "ds_badkey": provider(api_key="sk-wrong"),
                "ds_slow": provider(timeouts={"first_byte": 0.5}),
            },
            "models": {"gpt-4o": ["ds/qwen-plus"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def test_e2e_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and (r.usage.prompt_tokens, r.usage.completion_tokens) == (3, 4)


def test_e2e_stream_reassembles_and_reports_usage_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="ds/qwen-plus", messages=USER, stream=True, stream_options={"include_usage": True}
        )  # type: ignore[call-overload]
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there world"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_e2e_cumulative_upstream_stream_never_repeats_text(
    client: openai.OpenAI, fake: FakeDashScope
) -> None:
    stream = client.chat.completions.create(
        model="ds/qwen-plus", messages=USER, stream=True, extra_body={"incremental_output": False}
    )  # type: ignore[call-overload]
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert fake.last.body["parameters"]["incremental_output"] is False
    assert text == "echo: hello there world"


def test_e2e_multi_turn_with_system_reaches_dashscope_in_order(
    client: openai.OpenAI, fake: FakeDashScope
) -> None:
    msgs = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="ds/qwen-plus", messages=msgs, temperature=0.3)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: second question"
    assert [m["role"] for m in fake.last.body["input"]["messages"]] == ["system", "user", "assistant", "user"]


def test_e2e_stop_and_max_tokens_reach_dashscope(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="ds/qwen-plus", messages=USER, max_tokens=2)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello" and r.choices[0].finish_reason == "length"
    r = client.chat.completions.create(model="ds/qwen-plus", messages=USER, stop=["there"])  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello"


def test_e2e_tool_call(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="ds/tools", messages=USER, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    call = (r.choices[0].message.tool_calls or [])[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Beijing", "unit": "c"}  # type: ignore[union-attr]


@pytest.mark.parametrize("incremental", [True, False])
def test_e2e_streamed_tool_call_reassembles_in_the_sdk_helper(
    client: openai.OpenAI, incremental: bool
) -> None:
    with client.chat.completions.stream(
        model="ds/tools", messages=USER, tools=[WEATHER], extra_body={"incremental_output": incremental}
    ) as s:  # type: ignore[arg-type, list-item]
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.id for c in calls] == ["call_ds1"]
    assert json.loads(calls[0].function.arguments) == {"city": "Beijing", "unit": "c"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_e2e_tool_result_round_trip(client: openai.OpenAI, fake: FakeDashScope) -> None:
    msgs = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_ds1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_ds1", "content": "sunny"},
    ]
    r = client.chat.completions.create(model="ds/qwen-plus", messages=msgs, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert r.choices[0].message.content == "echo: hello there world"
    assert fake.last.body["input"]["messages"][-1]["name"] == "get_weather"


def test_e2e_input_moderation_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="ds/filter-in", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "content_filter"


def test_e2e_output_moderation_mid_stream_finishes_with_content_filter(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="ds/filter-out", messages=USER, stream=True))  # type: ignore[call-overload]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello"
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_e2e_rate_limit_is_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="ds/throttled", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "rate_limit_exceeded"


def test_e2e_arrears_is_429_insufficient_quota(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="ds_arrears/arrears", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "insufficient_quota"


def test_e2e_wrong_key_is_401_naming_the_provider(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="ds_badkey/qwen-plus", messages=USER)  # type: ignore[arg-type]
    assert "ds_badkey" in e.value.message


def test_e2e_slow_upstream_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="ds_slow/slow:1", messages=USER)  # type: ignore[arg-type]
    assert e.value.status_code == 504


def test_e2e_embeddings(client: openai.OpenAI, fake: FakeDashScope) -> None:
    r = client.embeddings.create(
        model="ds/text-embedding-v3", input=["one two", "three"], dimensions=8, encoding_format="float"
    )
    assert [d.index for d in r.data] == [0, 1] and len(r.data[0].embedding) == 8
    assert r.usage.prompt_tokens == 3
    assert fake.last.body["input"] == {"texts": ["one two", "three"]}


# -- the official SDK against the same fake --------------------------------------------------------
@pytest.fixture
def sdk(fake: FakeDashScope) -> Iterator[None]:
    saved = dashscope.base_http_api_url
    dashscope.base_http_api_url = fake.url + "/api/v1"  # type: ignore[attr-defined]
    yield
    dashscope.base_http_api_url = saved


def test_official_sdk_call_is_accepted_by_the_fake(sdk: None) -> None:
    r = dashscope.Generation.call(model="qwen-plus", messages=USER, result_format="message", api_key=API_KEY)
    assert r.status_code == 200 and r.output.choices[0].message.content == "echo: hello there world"
    assert r.usage.input_tokens == 3 and r.usage.output_tokens == 4


def test_official_sdk_stream_is_accepted_and_parsed(sdk: None) -> None:
    parts = [
        c.output.choices[0].message.content
        for c in dashscope.Generation.call(
            model="qwen-plus",
            messages=USER,
            result_format="message",
            api_key=API_KEY,
            stream=True,
            incremental_output=True,
        )
    ]
    assert "".join(parts) == "echo: hello there world"


def test_official_sdk_wrong_key_gets_dashscopes_error(sdk: None) -> None:
    r = dashscope.Generation.call(
        model="qwen-plus", messages=USER, result_format="message", api_key="sk-wrong"
    )
    assert (r.status_code, r.code) == (401, "InvalidApiKey")


async def test_our_request_has_the_shape_the_official_sdk_sends(sdk: None, fake: FakeDashScope) -> None:
    import asyncio

    def official() -> None:
        stream = dashscope.Generation.call(
            model="qwen-plus",
            messages=USER,
            result_format="message",
            api_key=API_KEY,
            stream=True,
            incremental_output=True,
            temperature=0.5,
        )
        list(stream)  # the request goes out when the stream is read

    await asyncio.to_thread(official)
    theirs = fake.last
    ours = await adaptor().chat_request(chat(temperature=0.5, stream=True), "qwen-plus", stream=True)
    body = json.loads(ours.body)
    assert body == theirs.body
    assert theirs.path == TEXT_PATH
    for header in ("Accept", "X-DashScope-SSE"):
        assert ours.headers[header] == theirs.headers[header]
    assert ours.headers["Authorization"] == theirs.headers["Authorization"]
