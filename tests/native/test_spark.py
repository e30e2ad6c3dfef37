"""iFlytek Spark over WebSocket (``spark-ws``): translation units, then the gateway end to end
through a fake WebSocket server that checks every signed URL at the handshake."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openai
import pytest

from banjia.adaptors.spark import MODELS, SparkAdaptor, signed_query
from banjia.config import TimeoutsConfig
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest
from banjia.transport import Timeouts, Transport
from tests.conftest import strict_client
from tests.fakes.spark_fake import API_KEY, API_SECRET, APP_ID, FakeSpark, signature
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import WEATHER, no_fetch, user


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "sp/lite", **kw})


def adaptor(base_url: str = "wss://spark-api.xf-yun.com", **kw: Any) -> SparkAdaptor:
    return SparkAdaptor(
        "sp", no_fetch, base_url=base_url, app_id=APP_ID, api_key=API_KEY, api_secret=API_SECRET, **kw
    )


async def frame_of(req: ChatRequest, model: str = "lite") -> dict[str, Any]:
    up = await adaptor().chat_request(req, model, stream=True)
    assert up.websocket
    out: dict[str, Any] = json.loads(up.body)
    return out


def feed_all(t: Any, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frag for f in frames for frag in t.feed(json.dumps(f))]


def answer_frame(status: int, content: str, **extra: Any) -> dict[str, Any]:
    item = {"content": content, "role": "assistant", "index": 0, **extra}
    return {
        "header": {"code": 0, "message": "Success", "sid": "cht1", "status": status},
        "payload": {"choices": {"status": status, "seq": 0, "text": [item]}},
    }


# -- units ---------------------------------------------------------------------------------------
async def test_url_is_signed_over_host_date_and_request_line() -> None:
    a = adaptor("ws://127.0.0.1:9321", clock=lambda: 1700000000.0)
    up = await a.chat_request(chat(messages=user("hi")), "generalv3.5", stream=True)
    parts = urlsplit(up.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("ws", "127.0.0.1:9321", "/v3.5/chat")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q["host"] == "127.0.0.1:9321" and q["date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert parsedate_to_datetime(q["date"]).timestamp() == 1700000000
    origin = base64.b64decode(q["authorization"]).decode()
    sig = signature(API_SECRET, "127.0.0.1:9321", q["date"], "/v3.5/chat")
    assert origin == (
        f'api_key="{API_KEY}", algorithm="hmac-sha256", headers="host date request-line", signature="{sig}"'
    )
    assert up.url.endswith(signed_query(host="127.0.0.1:9321", path="/v3.5/chat", api_key=API_KEY,
                                        api_secret=API_SECRET, date=q["date"]))  # fmt: skip


async def test_every_documented_model_maps_to_its_path_and_domain() -> None:
    expected = {
        "lite": ("/v1.1/chat", "lite"),
        "generalv3": ("/v3.1/chat", "generalv3"),
        "pro-128k": ("/chat/pro-128k", "pro-128k"),
        "generalv3.5": ("/v3.5/chat", "generalv3.5"),
        "max-32k": ("/chat/max-32k", "max-32k"),
        "4.0Ultra": ("/v4.0/chat", "4.0Ultra"),
    }
    for model, (path, domain) in expected.items():
        up = await adaptor().chat_request(chat(messages=user("hi")), model, stream=False)
        assert urlsplit(up.url).path == path
        assert json.loads(up.body)["parameter"]["chat"]["domain"] == domain
    assert len(MODELS) == len(expected)
    with pytest.raises(APIError) as e:
        await adaptor().chat_request(chat(messages=user("hi")), "generalv2", stream=False)
    assert e.value.status == 404


async def test_request_frame_carries_app_id_clamped_parameters_and_messages() -> None:
    frame = await frame_of(
        chat(messages=user("hi"), temperature=0, max_tokens=100000, user="someone"), model="4.0Ultra"
    )
    assert frame["header"] == {"app_id": APP_ID, "uid": "someone"}
    assert frame["parameter"]["chat"] == {"domain": "4.0Ultra", "temperature": 0.01, "max_tokens": 8192}
    assert frame["payload"] == {"message": {"text": [{"role": "user", "content": "hi"}]}}
    hot = await frame_of(chat(messages=user("hi"), temperature=1.7), model="lite")
    assert hot["parameter"]["chat"]["temperature"] == 1 and "uid" not in hot["header"]
    lite = await frame_of(chat(messages=user("hi"), max_completion_tokens=5000), model="lite")
    assert lite["parameter"]["chat"]["max_tokens"] == 4096


async def test_system_prompt_is_a_role_on_max_and_folded_into_the_first_turn_elsewhere() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    ultra = await frame_of(chat(messages=messages), model="4.0Ultra")
    assert ultra["payload"]["message"]["text"][0] == {"role": "system", "content": "Be brief."}
    lite = await frame_of(chat(messages=messages), model="lite")
    assert lite["payload"]["message"]["text"] == [{"role": "user", "content": "Be brief.\n\nhi"}]


async def test_functions_on_max_and_a_clear_400_on_lite() -> None:
    frame = await frame_of(chat(messages=user("weather?"), tools=[WEATHER]), model="generalv3.5")
    assert frame["payload"]["functions"]["text"] == [WEATHER["function"]]
    with pytest.raises(APIError) as e:
        await frame_of(chat(messages=user("weather?"), tools=[WEATHER]), model="lite")
    assert e.value.status == 400 and "function calling" in e.value.message


async def test_tool_history_is_carried_as_text() -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"X"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    frame = await frame_of(chat(messages=messages, tools=[WEATHER]), model="max-32k")
    assert frame["payload"]["message"]["text"][1:] == [
        {"role": "assistant", "content": 'Called get_weather with {"city":"X"}'},
        {"role": "user", "content": "Result of get_weather: sunny"},
    ]


def test_frames_become_chunks_with_usage_from_the_last() -> None:
    last = answer_frame(2, " there")
    last["payload"]["usage"] = {"text": {"question_tokens": 1, "prompt_tokens": 4, "completion_tokens": 2}}
    frags = feed_all(adaptor().chat_stream(chat(messages=user("x")), "lite"), [answer_frame(0, "hi"), last])
    assert [f["choices"][0]["delta"].get("content") for f in frags if "choices" in f] == ["hi", " there"]
    assert frags[1]["choices"][0]["finish_reason"] == "stop"
    assert frags[-1]["usage"]["prompt_tokens"] == 4 and frags[-1]["usage"]["total_tokens"] == 6


def test_function_call_frame_becomes_a_tool_call() -> None:
    end = answer_frame(2, "", function_call={"name": "get_weather", "arguments": "{}"})
    frags = feed_all(adaptor().chat_stream(chat(messages=user("x")), "max-32k"), [end])
    ch = frags[0]["choices"][0]
    assert ch["finish_reason"] == "tool_calls"
    assert ch["delta"]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": "{}"}


def test_output_moderation_mid_answer_ends_with_content_filter() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "lite")
    frags = feed_all(
        t, [answer_frame(0, "so"), {"header": {"code": 10014, "message": "sensitive", "status": 2}}]
    )
    assert frags[-1]["choices"][0]["finish_reason"] == "content_filter"


def test_error_frames_map_through_the_spark_table() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "lite")

    def err(code: int) -> UpstreamError:
        with pytest.raises(UpstreamError) as e:
            t.feed(json.dumps({"header": {"code": code, "message": "m", "sid": "s", "status": 2}}))
        return e.value

    assert (err(10013).status, err(10013).code) == (400, "content_filter")
    assert (err(11202).status, err(11202).code) == (429, "rate_limit_exceeded")
    assert (err(11201).status, err(11201).code) == (429, "insufficient_quota")
    assert err(10907).code == "context_length_exceeded"
    assert err(10313).status == 401 and "'sp'" in err(10313).message


def test_handshake_refusal_is_401_naming_the_provider() -> None:
    e = adaptor().error(401, b'{"message":"HMAC signature does not match"}')
    assert e.status == 401 and "'sp'" in e.message and "HMAC signature does not match" in e.message


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSpark]:
    f = FakeSpark()
    server = AioServer(f.app, "spark-fake")
    f.url = f"ws://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeSpark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = {"type": "spark-ws", "base_url": fake.url, "app_id": APP_ID, "api_key": API_KEY}  # type: ignore[attr-defined]
    tmp: Path = tmp_path_factory.mktemp("spark")
    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
            # one attempt per request and no circuit breaking: these tests are about the protocol
            "routing": {"retries": 0, "circuit": {"failures": 1000}},
            "providers": {
                "sp": {**base, "api_secret": API_SECRET},
                "sp_wrong": {**base, "api_secret": "d3JvbmdTZWNyZXQ="},
                "sp_other_app": {**base, "api_secret": API_SECRET, "app_id": "ffffffff"},
                "sp_hasty": {**base, "api_secret": API_SECRET, "timeouts": {"first_byte": 0.3}},
            },
            "models": {"gpt-4o": ["sp/4.0Ultra"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def test_non_streaming_answer_is_collected_from_the_frames(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="sp/lite", messages=user("hello there world"))
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and (
        r.usage.prompt_tokens,
        r.usage.completion_tokens,
        r.usage.total_tokens,
    ) == (
        3,
        4,
        7,
    )


def test_stream_reassembles_with_a_usage_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="sp/generalv3",
        messages=user("one two three"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


def test_multi_turn_with_system_on_ultra(client: openai.OpenAI, fake: FakeSpark) -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert r.choices[0].message.content == "echo: second question"
    roles = [m["role"] for m in fake.state.frames[-1]["payload"]["message"]["text"]]
    assert roles == ["system", "user", "assistant", "user"]
    r = client.chat.completions.create(model="sp/lite", messages=messages)
    assert r.choices[0].message.content == "echo: second question"


def test_stop_sequence_cuts_the_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="sp/lite", messages=user("a b STOP c"), stop=["STOP"])
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: a b ", "stop")


def test_an_answer_as_long_as_max_tokens_finishes_with_length(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="sp/lite", messages=user("a b c d e"), max_tokens=2)
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("echo: a", "length")


def test_tool_call_non_streaming(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=user("weather in Beijing?"), tools=[WEATHER])
    assert r.choices[0].finish_reason == "tool_calls"
    call: Any = (r.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Beijing"}


def test_tool_call_streaming(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="sp/generalv3.5",
        messages=user("weather in Beijing?"),
        tools=[WEATHER],
    ) as s:
        final = s.get_final_completion()
    calls: Any = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls" and len(calls) == 1
    assert calls[0].id.startswith("call_") and calls[0].function.arguments == '{"city": "Beijing"}'


def test_tools_on_lite_are_a_400_naming_the_capability(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="sp/lite", messages=user("weather?"), tools=[WEATHER])
    assert "function calling" in e.value.message


def test_input_moderation_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="sp/lite", messages=user("bad #blocked"))
    assert e.value.code == "content_filter"


def test_output_moderation_mid_stream_is_content_filter(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="sp/lite", messages=user("say #sensitive things"), stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: say"
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_rate_limit_and_quota_are_429s(client: openai.OpenAI) -> None:
    for mode, code in (
        ("#ratelimit", "rate_limit_exceeded"),
        ("#quota", "insufficient_quota"),
        ("#balance", "insufficient_quota"),
    ):
        with pytest.raises(openai.RateLimitError) as e:
            client.chat.completions.create(model="sp/lite", messages=user(f"hi {mode}"))
        assert e.value.code == code


def test_wrong_api_secret_is_refused_at_the_handshake_as_401(client: openai.OpenAI, fake: FakeSpark) -> None:
    for stream in (False, True):
        with pytest.raises(openai.AuthenticationError) as e:
            client.chat.completions.create(model="sp_wrong/lite", messages=user("hi"), stream=stream)
        assert "sp_wrong" in e.value.message
    assert fake.state.handshakes[-1] == 401


def test_wrong_app_id_is_401(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="sp_other_app/lite", messages=user("hi"))
    assert "sp_other_app" in e.value.message


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="sp/spark-9000", messages=user("hi"))


def test_slow_first_frame_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="sp_hasty/lite", messages=user("hi #slow:0.6"))
    assert e.value.status_code == 504


async def test_stale_date_is_refused_at_the_handshake(fake: FakeSpark) -> None:
    stale = adaptor(fake.url, clock=lambda: time.time() - 900)  # type: ignore[attr-defined]
    up = await stale.chat_request(chat(messages=user("hi")), "lite", stream=True)
    transport = Transport()
    try:
        opened = await transport.open_stream(up, Timeouts(**TimeoutsConfig().model_dump()), "sp")
    finally:
        await transport.aclose()
    assert opened.status == 403 and fake.state.handshakes[-1] == 403
    err = stale.error(opened.status, opened.body or b"")
    assert err.status == 403 and "valid date" in err.message
