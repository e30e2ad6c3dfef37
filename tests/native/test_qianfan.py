"""Baidu Qianfan v1 (``qianfan-v1``): the OAuth token cache, conversation repair and translation units,
then the gateway end to end through a fake that checks the key pair, every access token and Baidu's
message rules. (No official SDK here: ``qianfan`` cannot be installed beside banjia's dependencies.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.qianfan import CONTINUE, QianfanAdaptor, conversation
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest
from tests.conftest import strict_client
from tests.fakes.qianfan_fake import API_KEY, API_KEY_2, SECRET_KEY, SECRET_KEY_2, FakeQianfan
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
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Beijing"}'},
}
BASE = "https://aip.example"


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "ernie/ernie-3.5-8k", "messages": USER, **kw})


class TokenEndpoint:
    """A stand-in for the core's fetch: answers the OAuth call, counts it, can be slow."""

    def __init__(
        self, lifetime: int = 2_592_000, delay: float = 0.0, answer: dict[str, Any] | None = None
    ) -> None:
        self.calls: list[str] = []
        self.lifetime = lifetime
        self.delay = delay
        self.answer = answer

    async def __call__(self, req: UpstreamRequest) -> UpstreamResponse:
        self.calls.append(req.url)
        await asyncio.sleep(self.delay)
        if self.answer is not None:
            return UpstreamResponse(401, {}, json.dumps(self.answer).encode())
        body = {"access_token": f"24.token{len(self.calls)}", "expires_in": self.lifetime}
        return UpstreamResponse(200, {}, json.dumps(body).encode())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def adaptor(fetch: Any = None, clock: Any = None, **kw: Any) -> QianfanAdaptor:
    return QianfanAdaptor(
        "ernie",
        fetch or TokenEndpoint(),
        base_url=BASE,
        api_key=API_KEY,
        secret_key=SECRET_KEY,
        clock=clock or Clock(),
        **kw,
    )


async def wire(req: ChatRequest, model: str = "ernie-3.5-8k", stream: bool = False) -> dict[str, Any]:
    up = await adaptor().chat_request(req, model, stream=stream)
    out: dict[str, Any] = json.loads(up.body)
    return out


def roles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["role"] for m in messages]


# -- the access token ----------------------------------------------------------------------------
async def test_token_request_carries_the_key_pair_as_client_credentials() -> None:
    fetch = TokenEndpoint()
    await adaptor(fetch).access_token()
    assert fetch.calls == [
        f"{BASE}/oauth/2.0/token?grant_type=client_credentials&client_id={API_KEY}&client_secret={SECRET_KEY}"
    ]


async def test_token_is_cached_and_sent_as_the_access_token_query_parameter() -> None:
    fetch = TokenEndpoint()
    a = adaptor(fetch)
    first = await a.chat_request(chat(), "ernie-3.5-8k", stream=False)
    second = await a.chat_request(chat(), "ernie-4.0-8k", stream=False)
    assert len(fetch.calls) == 1
    assert first.url == f"{BASE}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions?access_token=24.token1"
    assert second.url.endswith("/chat/completions_pro?access_token=24.token1")


async def test_token_is_refreshed_an_hour_before_it_expires() -> None:
    fetch, clock = TokenEndpoint(lifetime=2_592_000), Clock()
    a = adaptor(fetch, clock)
    assert await a.access_token() == "24.token1"
    clock.now += 2_592_000 - 3601
    assert await a.access_token() == "24.token1"
    clock.now += 2
    assert await a.access_token() == "24.token2"


async def test_concurrent_first_requests_fetch_the_token_once() -> None:
    fetch = TokenEndpoint(delay=0.05)
    a = adaptor(fetch)
    tokens = await asyncio.gather(*(a.access_token() for _ in range(20)))
    assert len(fetch.calls) == 1 and set(tokens) == {"24.token1"}


async def test_a_refused_token_is_dropped_unless_a_newer_one_was_fetched_since() -> None:
    fetch, clock = TokenEndpoint(), Clock()
    a = adaptor(fetch, clock)
    await a.access_token()
    started = clock.now
    clock.now += 5
    a.token_refused(started - 1)  # the request started before this token existed: keep it
    assert await a.access_token() == "24.token1"
    a.token_refused(started)
    assert await a.access_token() == "24.token2"


@pytest.mark.parametrize(
    "description,hint", [("unknown client id", "api_key"), ("Client authentication failed", "secret_key")]
)
async def test_a_refused_key_pair_is_a_401_naming_the_provider_and_the_key(
    description: str, hint: str
) -> None:
    fetch = TokenEndpoint(answer={"error": "invalid_client", "error_description": description})
    with pytest.raises(UpstreamError) as e:
        await adaptor(fetch).access_token()
    assert e.value.status == 401 and "'ernie'" in e.value.message and hint in e.value.message
    assert SECRET_KEY not in e.value.message


# -- models and paths ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model,path",
    [
        ("ernie-4.0-8k", "completions_pro"),
        ("ERNIE-4.0-8K", "completions_pro"),
        ("ernie-3.5-8k", "completions"),
        ("ernie-speed-8k", "ernie_speed"),
        ("ernie-speed-128k", "ernie-speed-128k"),
        ("ernie-lite-8k-0922", "eb-instant"),
        ("ernie-4.0-turbo-8k", "ernie-4.0-turbo-8k"),
        ("ernie-bot-4", "completions_pro"),
    ],
)
async def test_each_model_has_its_service_path(model: str, path: str) -> None:
    up = await adaptor().chat_request(chat(), model, stream=False)
    assert up.url.split("?")[0] == f"{BASE}/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{path}"


async def test_an_unknown_model_is_404_model_not_found_naming_it() -> None:
    with pytest.raises(UpstreamError) as e:
        await adaptor().chat_request(chat(), "ernie-99", stream=False)
    assert (e.value.status, e.value.code) == (404, "model_not_found") and "ernie-99" in e.value.message


async def test_self_deployed_services_come_from_the_endpoints_map() -> None:
    up = await adaptor(endpoints={"my-model": "my_custom_service"}).chat_request(
        chat(), "my-model", stream=False
    )
    assert up.url.split("?")[0].endswith("/chat/my_custom_service")


# -- the conversation ----------------------------------------------------------------------------
def convo(messages: list[dict[str, Any]], functions: bool = True) -> tuple[str | None, list[dict[str, Any]]]:
    return conversation(chat(messages=messages), functions=functions, provider="ernie")


def test_system_and_developer_prompts_move_to_top_level_system() -> None:
    system, messages = convo(
        [{"role": "system", "content": "be brief"}, {"role": "developer", "content": "be kind"}, *USER]
    )
    assert system == "be brief\n\nbe kind" and messages == USER


def test_consecutive_turns_of_one_side_are_merged() -> None:
    _, messages = convo(
        [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
            {"role": "assistant", "content": "d"},
            {"role": "user", "content": "e"},
        ]
    )
    assert messages == [
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c\n\nd"},
        {"role": "user", "content": "e"},
    ]


def test_an_opening_assistant_turn_is_dropped() -> None:
    _, messages = convo([{"role": "assistant", "content": "How can I help?"}, *USER])
    assert messages == USER


def test_a_conversation_ending_with_the_assistant_gets_a_user_turn() -> None:
    _, messages = convo([*USER, {"role": "assistant", "content": "Once upon"}])
    assert roles(messages) == ["user", "assistant", "user"] and messages[-1]["content"] == CONTINUE


def test_instructions_alone_become_the_user_message() -> None:
    system, messages = convo([{"role": "system", "content": "write a haiku"}])
    assert system is None and messages == [{"role": "user", "content": "write a haiku"}]


def test_tool_calls_and_results_become_function_call_and_function_messages() -> None:
    _, messages = convo(
        [
            *USER,
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
    )
    assert messages[1] == {
        "role": "assistant",
        "content": "",
        "function_call": {"name": "get_weather", "arguments": '{"city": "Beijing"}'},
    }
    assert messages[2] == {"role": "function", "name": "get_weather", "content": "sunny"}


def test_results_of_parallel_calls_join_one_function_message() -> None:
    second = {**CALL, "id": "call_2"}
    _, messages = convo(
        [
            *USER,
            {"role": "assistant", "tool_calls": [CALL, second]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "rainy"},
        ]
    )
    assert roles(messages) == ["user", "assistant", "function"] and messages[2]["content"] == "sunny\n\nrainy"


def test_a_tool_result_followed_by_user_words_becomes_the_users_text() -> None:
    _, messages = convo(
        [
            *USER,
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "and tomorrow?"},
        ]
    )
    assert roles(messages) == ["user", "assistant", "user"]
    assert "function_call" not in messages[1] and "get_weather" in messages[1]["content"]
    assert messages[2]["content"] == "Result of get_weather: sunny\n\nand tomorrow?"


def test_tool_history_on_a_model_without_function_calling_becomes_text() -> None:
    _, messages = convo(
        [
            *USER,
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        functions=False,
    )
    assert roles(messages) == ["user", "assistant", "user"]
    assert messages[2]["content"] == "Result of get_weather: sunny"


def test_images_are_refused_not_dropped() -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://img.example/a.png"}}]
    with pytest.raises(APIError) as e:
        convo([{"role": "user", "content": content}])
    assert e.value.status == 400 and "image_url" in e.value.message


# -- request parameters --------------------------------------------------------------------------
async def test_tools_become_functions_on_ernie_3_5_and_4_0() -> None:
    body = await wire(
        chat(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}})
    )
    assert body["functions"] == [WEATHER["function"]]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


async def test_tools_on_a_model_without_function_calling_are_a_clear_400() -> None:
    with pytest.raises(APIError) as e:
        await adaptor().chat_request(chat(tools=[WEATHER]), "ernie-speed-8k", stream=False)
    assert e.value.status == 400 and e.value.code == "unsupported_feature"
    assert "ernie-speed-8k" in e.value.message and "function calling" in e.value.message


async def test_parameters_are_clamped_into_baidus_ranges() -> None:
    body = await wire(
        chat(
            temperature=0,
            frequency_penalty=2.0,
            stop=["a" * 30, "b", "c", "d", "e"],
            max_tokens=5000,
            user="u1",
        )
    )
    assert body["temperature"] == 0.01 and body["penalty_score"] == 2.0
    assert body["stop"] == ["a" * 20, "b", "c", "d"] and body["max_output_tokens"] == 2048
    assert body["user_id"] == "u1"
    assert (await wire(chat(temperature=1.7, max_tokens=1)))["temperature"] == 1.0
    assert (await wire(chat(max_tokens=1)))["max_output_tokens"] == 2


async def test_streams_ask_for_stream() -> None:
    assert (await wire(chat(stream=True), stream=True))["stream"] is True
    assert "stream" not in await wire(chat())


# -- answers -------------------------------------------------------------------------------------
def answer(**fields: Any) -> UpstreamResponse:
    body = {"id": "as-1", "object": "chat.completion", "created": 1700000000, "result": "", **fields}
    return UpstreamResponse(200, {}, json.dumps(body).encode())


def test_result_usage_and_finish_reason_map_to_openai() -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    out = adaptor().chat_response(
        answer(result="hi there", finish_reason="normal", usage=usage), "ernie-3.5-8k", PLAIN_REQ
    )
    assert (
        out["choices"][0]["message"]["content"] == "hi there" and out["choices"][0]["finish_reason"] == "stop"
    )
    assert out["usage"]["total_tokens"] == 5 and out["created"] == 1700000000


def test_a_function_call_answer_becomes_tool_calls() -> None:
    fc = {"name": "get_weather", "arguments": "{}", "thoughts": "need the weather"}
    out = adaptor().chat_response(
        answer(function_call=fc, finish_reason="function_call"), "ernie-3.5-8k", PLAIN_REQ
    )
    msg = out["choices"][0]["message"]
    assert (
        msg["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": "{}"}
        and msg["content"] is None
    )
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_need_clear_history_is_an_input_moderation_400() -> None:
    with pytest.raises(UpstreamError) as e:
        adaptor().chat_response(
            answer(result="不能回答", need_clear_history=True, ban_round=-1), "ernie-3.5-8k", PLAIN_REQ
        )
    assert (e.value.status, e.value.code) == (400, "content_filter")


@pytest.mark.parametrize(
    "code,status,openai_code",
    [
        (18, 429, "rate_limit_exceeded"),
        (336501, 429, "rate_limit_exceeded"),
        (17, 429, "insufficient_quota"),
        (19, 429, "insufficient_quota"),
        (110, 401, "access_token_invalid"),
        (111, 401, "access_token_invalid"),
        (336006, 400, "invalid_value"),
        (336005, 404, "model_not_found"),
        (336100, 503, "upstream_overloaded"),
        (6, 403, "permission_denied"),
    ],
)
def test_error_codes_inside_http_200_map_to_openai_statuses(code: int, status: int, openai_code: str) -> None:
    with pytest.raises(UpstreamError) as e:
        adaptor().chat_response(answer(error_code=code, error_msg="m"), "ernie-3.5-8k", PLAIN_REQ)
    assert (e.value.status, e.value.code) == (status, openai_code)


def test_stream_ends_at_is_end_with_the_finish_reason_and_usage() -> None:
    t = adaptor().chat_stream(chat(stream=True), "ernie-3.5-8k")
    first = t.feed(json.dumps({"id": "as-1", "result": "Hel", "is_end": False, "usage": {"total_tokens": 0}}))
    last = t.feed(
        json.dumps(
            {
                "id": "as-1",
                "result": "lo",
                "is_end": True,
                "finish_reason": "normal",
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            }
        )
    )
    assert first == [{"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}]
    assert last[0]["choices"][0]["finish_reason"] == "stop" and last[0]["usage"]["completion_tokens"] == 2


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeQianfan]:
    f = FakeQianfan()
    server = AioServer(f.app, "qianfan-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeQianfan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    def provider(**kw: Any) -> dict[str, Any]:
        base = fake.url  # type: ignore[attr-defined]
        return {"type": "qianfan-v1", "base_url": base, "api_key": API_KEY, "secret_key": SECRET_KEY, **kw}

    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp_path_factory.mktemp('qf') / 'banjia.db'}"},
            "providers": {
                "ernie": provider(),
                "ernie_cold": provider(api_key=API_KEY_2, secret_key=SECRET_KEY_2),  # no token fetched yet
                # separate accounts for errors that take a provider out of rotation
                "ernie_arrears": provider(),
                "ernie_badsecret": provider(secret_key="wrong-secret"),
                "ernie_badkey": provider(api_key="wrong-key"),
                "ernie_slow": provider(timeouts={"first_byte": 0.5}),
            },
            "models": {"gpt-4o": ["ernie/ernie-4.0-8k"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def test_e2e_answer(client: openai.OpenAI, fake: FakeQianfan) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world" and r.choices[0].finish_reason == "stop"
    assert r.usage is not None and (r.usage.prompt_tokens, r.usage.completion_tokens) == (3, 4)
    assert fake.last.service == "completions_pro"


def test_e2e_stream_reassembles_and_reports_usage_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="ernie/ernie-3.5-8k", messages=USER, stream=True, stream_options={"include_usage": True}
        )  # type: ignore[call-overload]
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there world"
    assert (
        chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_e2e_multi_turn_with_system_is_repaired_into_baidus_shape(
    client: openai.OpenAI, fake: FakeQianfan
) -> None:
    msgs = [
        {"role": "system", "content": "be brief"},
        {"role": "assistant", "content": "Hi! Ask me anything."},
        {"role": "user", "content": "first"},
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=msgs)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: second question"
    assert fake.last.body["system"] == "be brief"
    assert roles(fake.last.body["messages"]) == ["user", "assistant", "user"]


def test_e2e_tool_call(client: openai.OpenAI, fake: FakeQianfan) -> None:
    r = client.chat.completions.create(model="ernie/ernie-4.0-8k", messages=USER, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    call = (r.choices[0].message.tool_calls or [])[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Beijing", "unit": "c"}  # type: ignore[union-attr]
    assert fake.last.body["functions"][0]["name"] == "get_weather"


def test_e2e_streamed_tool_call_reassembles_in_the_sdk_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="ernie/ernie-3.5-8k", messages=USER, tools=[WEATHER]) as s:  # type: ignore[arg-type, list-item]
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments) == {"city": "Beijing", "unit": "c"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_e2e_tool_result_round_trip(client: openai.OpenAI, fake: FakeQianfan) -> None:
    msgs = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny today"},
    ]
    r = client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=msgs, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert r.choices[0].message.content == "echo: sunny today"
    assert fake.last.body["messages"][-1] == {
        "role": "function",
        "name": "get_weather",
        "content": "sunny today",
    }


def test_e2e_tools_on_ernie_speed_are_a_clear_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="ernie/ernie-speed-8k", messages=USER, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert "function calling" in e.value.message


def test_e2e_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="ernie/ernie-99", messages=USER)  # type: ignore[arg-type]
    assert "ernie-99" in e.value.message


def test_e2e_input_moderation_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="ernie/ernie-3.5-8k", messages=[{"role": "user", "content": "MODERATE_IN x"}]
        )  # type: ignore[arg-type]
    assert e.value.code == "content_filter"


def test_e2e_output_moderation_finishes_with_content_filter(client: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "MODERATE_OUT a b c"}]
    r = client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=msgs)  # type: ignore[arg-type]
    assert r.choices[0].finish_reason == "content_filter"
    chunks = list(client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=msgs, stream=True))  # type: ignore[call-overload]
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_e2e_rate_limit_is_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(
            model="ernie/ernie-3.5-8k", messages=[{"role": "user", "content": "RATE_LIMIT"}]
        )  # type: ignore[arg-type]
    assert e.value.code == "rate_limit_exceeded"


def test_e2e_arrears_is_429_insufficient_quota(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(
            model="ernie_arrears/ernie-3.5-8k", messages=[{"role": "user", "content": "ARREARS"}]
        )  # type: ignore[arg-type]
    assert e.value.code == "insufficient_quota"


@pytest.mark.parametrize("provider,hint", [("ernie_badsecret", "secret_key"), ("ernie_badkey", "api_key")])
def test_e2e_wrong_credentials_are_401_naming_the_provider(
    client: openai.OpenAI, provider: str, hint: str
) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model=f"{provider}/ernie-3.5-8k", messages=USER)  # type: ignore[arg-type]
    assert provider in e.value.message and hint in e.value.message


def test_e2e_slow_upstream_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(
            model="ernie_slow/ernie-3.5-8k", messages=[{"role": "user", "content": "SLOW"}]
        )  # type: ignore[arg-type]
    assert e.value.status_code == 504


async def test_e2e_twenty_concurrent_first_requests_fetch_one_token(
    gateway: Gateway, fake: FakeQianfan
) -> None:
    aclient = openai.AsyncOpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    answers = await asyncio.gather(
        *(aclient.chat.completions.create(model="ernie_cold/ernie-3.5-8k", messages=USER) for _ in range(20))  # type: ignore[arg-type]
    )
    await aclient.close()
    assert all(a.choices[0].message.content == "echo: hello there world" for a in answers)
    assert fake.token_requests(API_KEY_2) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_e2e_an_expired_token_is_refreshed_and_the_request_retried(
    client: openai.OpenAI, fake: FakeQianfan, stream: bool
) -> None:
    client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=USER)  # type: ignore[arg-type]
    before = fake.token_requests(API_KEY)
    fake.expire_tokens()
    if stream:
        chunks = client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=USER, stream=True)  # type: ignore[call-overload]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = (
            client.chat.completions.create(model="ernie/ernie-3.5-8k", messages=USER)
            .choices[0]
            .message.content
        )  # type: ignore[arg-type, assignment]
    assert text == "echo: hello there world"
    assert fake.token_requests(API_KEY) == before + 1
