"""MiniMax ChatCompletion Pro (``minimax-pro``): translation units, then the gateway end to end
through a fake that checks the key, the GroupId and the Pro body, and answers errors in
``base_resp`` with HTTP 200."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest

from banjia.adaptors.base import UpstreamResponse
from banjia.adaptors.minimax import BOT_NAME, DEFAULT_SETTING, MiniMaxProAdaptor
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest
from banjia.tokens import estimate_text
from tests.conftest import strict_client
from tests.fakes.minimax_fake import API_KEY, GROUP_ID, FakeMiniMax
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import PLAIN_REQ, WEATHER, no_fetch, user


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "mm/abab6.5s-chat", **kw})


def adaptor(base_url: str = "https://api.minimax.chat") -> MiniMaxProAdaptor:
    return MiniMaxProAdaptor("mm", no_fetch, base_url=base_url, api_key=API_KEY, group_id=GROUP_ID)


async def body_of(req: ChatRequest, stream: bool = False) -> dict[str, Any]:
    up = await adaptor().chat_request(req, "abab6.5s-chat", stream=stream)
    out: dict[str, Any] = json.loads(up.body)
    return out


def sse(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


def piece(text: str) -> dict[str, Any]:
    return {"choices": [{"messages": [{"sender_type": "BOT", "sender_name": BOT_NAME, "text": text}]}]}


def final(text: str, total: int, **extra: Any) -> dict[str, Any]:
    return {
        "reply": text,
        "choices": [
            {
                "finish_reason": "stop",
                "messages": [{"sender_type": "BOT", "sender_name": BOT_NAME, "text": text, **extra}],
            }
        ],
        "usage": {"total_tokens": total},
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }


# -- units ---------------------------------------------------------------------------------------
async def test_url_carries_the_group_id_and_the_key_is_a_bearer() -> None:
    up = await adaptor("https://api.minimax.chat/v1").chat_request(
        chat(messages=user("hi")), "abab6.5s-chat", stream=False
    )
    parts = urlsplit(up.url)
    assert (parts.netloc, parts.path) == ("api.minimax.chat", "/v1/text/chatcompletion_pro")
    assert parse_qs(parts.query) == {"GroupId": [GROUP_ID]}
    assert up.headers["Authorization"] == f"Bearer {API_KEY}"


async def test_system_becomes_bot_setting_and_turns_get_sender_types() -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use English."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    body = await body_of(chat(messages=messages, temperature=0, top_p=1, max_tokens=64))
    assert body["bot_setting"] == [{"bot_name": BOT_NAME, "content": "Be brief.\n\nUse English."}]
    assert body["reply_constraints"] == {"sender_type": "BOT", "sender_name": BOT_NAME}
    assert body["messages"] == [
        {"sender_type": "USER", "sender_name": "User", "text": "hi"},
        {"sender_type": "BOT", "sender_name": BOT_NAME, "text": "hello"},
        {"sender_type": "USER", "sender_name": "User", "text": "again"},
    ]
    assert (body["temperature"], body["top_p"], body["tokens_to_generate"]) == (0.01, 1, 64)
    assert body["mask_sensitive_info"] is False and "stream" not in body


async def test_without_a_system_prompt_a_neutral_bot_setting_is_sent() -> None:
    body = await body_of(chat(messages=user("hi")), stream=True)
    assert body["bot_setting"][0]["content"] == DEFAULT_SETTING
    assert body["stream"] is True and body["use_standard_sse"] is True


async def test_tool_calls_and_results_become_bot_function_calls_and_function_turns() -> None:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"A"}'}},
        {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"B"}'}},
    ]
    messages: Any = [
        {"role": "user", "content": "weather in A and B?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
        {"role": "tool", "tool_call_id": "c1", "content": "sun"},
    ]
    body = await body_of(chat(messages=messages, tools=[WEATHER]))
    assert body["messages"][1:] == [
        {
            "sender_type": "BOT",
            "sender_name": BOT_NAME,
            "text": "Checking.",
            "function_call": {"name": "get_weather", "arguments": '{"city":"A"}'},
        },
        {"sender_type": "FUNCTION", "sender_name": "get_weather", "text": "sun"},
        {
            "sender_type": "BOT",
            "sender_name": BOT_NAME,
            "text": "",
            "function_call": {"name": "get_weather", "arguments": '{"city":"B"}'},
        },
        {"sender_type": "FUNCTION", "sender_name": "get_weather", "text": "rain"},
    ]
    assert body["functions"] == [WEATHER["function"]]


async def test_images_are_a_400_naming_the_capability() -> None:
    parts = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}},
    ]
    with pytest.raises(APIError) as e:
        await body_of(chat(messages=[{"role": "user", "content": parts}]))
    assert e.value.status == 400 and "image" in e.value.message


def test_base_resp_is_checked_on_answers() -> None:
    def err(code: int) -> UpstreamError:
        body = json.dumps({"base_resp": {"status_code": code, "status_msg": "m"}}).encode()
        with pytest.raises(UpstreamError) as e:
            adaptor().chat_response(UpstreamResponse(200, {}, body), "abab6.5s-chat", PLAIN_REQ)
        return e.value

    assert err(1004).status == 401 and "'mm'" in err(1004).message
    assert err(2049).status == 401
    assert (err(1002).status, err(1002).code) == (429, "rate_limit_exceeded")
    assert (err(1008).status, err(1008).code) == (429, "insufficient_quota")
    assert (err(1026).status, err(1026).code) == (400, "content_filter")
    assert err(1001).status == 504


def test_answer_usage_is_split_by_estimating_the_completion() -> None:
    body = json.dumps(final("echo: hello there world", 20)).encode()
    r = adaptor().chat_response(UpstreamResponse(200, {}, body), "abab6.5s-chat", PLAIN_REQ)
    completion = estimate_text("echo: hello there world")
    assert r["usage"]["total_tokens"] == 20
    assert (r["usage"]["prompt_tokens"], r["usage"]["completion_tokens"]) == (20 - completion, completion)


def test_stream_emits_pieces_and_not_the_repeated_full_text() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "abab6.5s-chat")
    frags = [f for d in (piece("Hello"), piece(" world"), final("Hello world", 9)) for f in t.feed(sse(d))]
    text = "".join(f["choices"][0]["delta"].get("content", "") for f in frags if "choices" in f)
    assert text == "Hello world"
    assert [f["choices"][0]["finish_reason"] for f in frags if "choices" in f][-1] == "stop"
    assert frags[-1]["usage"]["total_tokens"] == 9


def test_stream_chunks_without_standard_sse_arrive_as_one_multi_line_event() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "abab6.5s-chat")
    frags = t.feed("\n".join([sse(piece("a")), sse(piece("b")), sse(final("ab", 3))]))
    assert "".join(f["choices"][0]["delta"].get("content", "") for f in frags if "choices" in f) == "ab"


def test_stream_checks_base_resp_on_every_chunk() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "abab6.5s-chat")
    t.feed(sse(piece("a")))
    with pytest.raises(UpstreamError) as e:
        t.feed(sse({"base_resp": {"status_code": 1002, "status_msg": "rate limit"}}))
    assert e.value.status == 429
    out = (
        adaptor()
        .chat_stream(chat(messages=user("x")), "m")
        .feed(sse({"base_resp": {"status_code": 1027, "status_msg": "output new_sensitive"}}))
    )
    assert out[0]["choices"][0]["finish_reason"] == "content_filter"


def test_function_call_in_the_last_chunk_is_a_tool_call() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "abab6.5s-chat")
    frags = t.feed(sse(final("", 9, function_call={"name": "get_weather", "arguments": "{}"})))
    ch = frags[0]["choices"][0]
    assert ch["finish_reason"] == "tool_calls"
    assert ch["delta"]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": "{}"}


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeMiniMax]:
    f = FakeMiniMax()
    server = AioServer(f.app, "minimax-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeMiniMax, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = {"type": "minimax-pro", "base_url": fake.url, "api_key": API_KEY, "group_id": GROUP_ID}  # type: ignore[attr-defined]
    tmp: Path = tmp_path_factory.mktemp("minimax")
    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
            # one attempt per request and no circuit breaking: these tests are about the protocol
            "routing": {"retries": 0, "circuit": {"failures": 1000}},
            "providers": {
                "mm": base,
                "mm_wrong_key": {**base, "api_key": "eyJ.wrong"},
                "mm_wrong_group": {**base, "group_id": "1700000000000000000"},
                "mm_hasty": {**base, "timeouts": {"first_byte": 0.3}},
            },
            "models": {"gpt-4o": ["mm/abab6.5s-chat"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def expected_usage(prompt_words: int, answer: str) -> tuple[int, int, int]:
    total = prompt_words + len(answer.split())
    completion = estimate_text(answer)
    return total - completion, completion, total


def test_non_streaming_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="mm/abab6.5s-chat", messages=user("hello there world"))
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    # prompt words: the default bot_setting (5) and the question (3)
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == expected_usage(
        8, "echo: hello there world"
    )


def test_stream_reassembles_with_a_usage_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="mm/abab6.5s-chat",
        messages=user("one two three"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 8 + 4


def test_multi_turn_with_system(client: openai.OpenAI, fake: FakeMiniMax) -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert r.choices[0].message.content == "echo: second question"
    sent = fake.state.requests[-1]
    assert sent["bot_setting"][0]["content"] == "Be brief."
    assert [m["sender_type"] for m in sent["messages"]] == ["USER", "BOT", "USER"]


def test_max_tokens_reaches_tokens_to_generate(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="mm/abab6.5s-chat", messages=user("a b c d e"), max_tokens=2)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: a", "length")


def test_stop_sequence_is_applied_to_the_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="mm/abab6.5s-chat", messages=user("a b STOP c"), stop="STOP")
    assert r.choices[0].message.content == "echo: a b "
    stream = client.chat.completions.create(
        model="mm/abab6.5s-chat",
        messages=user("a b STOP c"),
        stop="STOP",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b "
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_tool_call_non_streaming(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=user("weather in Beijing?"), tools=[WEATHER])
    assert r.choices[0].finish_reason == "tool_calls"
    call: Any = (r.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Beijing"}


def test_tool_call_streaming(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-4o",
        messages=user("weather in Beijing?"),
        tools=[WEATHER],
    ) as s:
        final_ = s.get_final_completion()
    calls: Any = final_.choices[0].message.tool_calls or []
    assert final_.choices[0].finish_reason == "tool_calls" and len(calls) == 1
    assert calls[0].function.arguments == '{"city": "Beijing"}'


def test_tool_result_round_trip(client: openai.OpenAI, fake: FakeMiniMax) -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny and warm"},
    ]
    r = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    assert r.choices[0].message.content == "echo: sunny and warm"
    assert fake.state.requests[-1]["messages"][-1]["sender_type"] == "FUNCTION"


def test_input_moderation_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="mm/abab6.5s-chat", messages=user("bad #blocked"))
    assert e.value.code == "content_filter"


def test_output_moderation_is_content_filter(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="mm/abab6.5s-chat", messages=user("say #sensitive things"), stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: say"
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    r = client.chat.completions.create(model="mm/abab6.5s-chat", messages=user("say #sensitive things"))
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("", "content_filter")


def test_rate_limit_and_balance_are_429s(client: openai.OpenAI) -> None:
    for mode, code in (
        ("#ratelimit", "rate_limit_exceeded"),
        ("#tpm", "rate_limit_exceeded"),
        ("#balance", "insufficient_quota"),
    ):
        for stream in (False, True):
            with pytest.raises(openai.RateLimitError) as e:
                client.chat.completions.create(
                    model="mm/abab6.5s-chat", messages=user(f"hi {mode}"), stream=stream
                )
            assert e.value.code == code


def test_wrong_key_or_group_is_401_naming_the_provider(client: openai.OpenAI, fake: FakeMiniMax) -> None:
    for name in ("mm_wrong_key", "mm_wrong_group"):
        with pytest.raises(openai.AuthenticationError) as e:
            client.chat.completions.create(model=f"{name}/abab6.5s-chat", messages=user("hi"))
        assert name in e.value.message
    assert fake.state.codes[-1] == 1004


def test_slow_upstream_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="mm_hasty/abab6.5s-chat", messages=user("hi #slow:0.6"))
    assert e.value.status_code == 504
