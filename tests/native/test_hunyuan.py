"""Tencent Hunyuan native (``hunyuan-tc3``): translation units, then the gateway end to end
through a fake that verifies every TC3 signature, and the official Tencent SDK against that fake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.hunyuan.v20230901 import hunyuan_client, models

from banjia.adaptors.base import UpstreamResponse
from banjia.adaptors.hunyuan import HunyuanAdaptor, StopScanner, tc3_authorization
from banjia.config import TimeoutsConfig
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest
from banjia.transport import Timeouts, Transport
from tests.conftest import strict_client
from tests.fakes.hunyuan_fake import SECRET_ID, SECRET_KEY, FakeHunyuan, expected_signature
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.native._common import PLAIN_REQ, WEATHER, no_fetch, user


def chat(**kw: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "hy/hunyuan-lite", **kw})


def adaptor(base_url: str = "https://hunyuan.tencentcloudapi.com", **kw: Any) -> HunyuanAdaptor:
    return HunyuanAdaptor("hy", no_fetch, base_url=base_url, secret_id=SECRET_ID, secret_key=SECRET_KEY, **kw)


async def body_of(req: ChatRequest, model: str = "hunyuan-lite", stream: bool = False) -> dict[str, Any]:
    up = await adaptor().chat_request(req, model, stream=stream)
    out: dict[str, Any] = json.loads(up.body)
    return out


# -- units ---------------------------------------------------------------------------------------
def test_signature_is_what_an_independent_verifier_computes_over_the_bytes() -> None:
    body = '{"Model":"hunyuan-lite","Messages":[{"Role":"user","Content":"你好"}]}'.encode()
    auth = tc3_authorization(
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        host="hunyuan.tencentcloudapi.com",
        timestamp=1700000000,
        body=body,
    )
    headers = {
        "content-type": "application/json",
        "host": "hunyuan.tencentcloudapi.com",
        "x-tc-action": "ChatCompletions",
    }
    want = expected_signature(
        SECRET_KEY, headers, ["content-type", "host", "x-tc-action"], body, "1700000000", "2023-11-14"
    )
    assert auth == (
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2023-11-14/hunyuan/tc3_request, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={want}"
    )


async def test_request_signs_the_overridden_host_and_port() -> None:
    a = adaptor("http://127.0.0.1:8123")
    up = await a.chat_request(chat(messages=user("hi")), "hunyuan-lite", stream=False)
    assert up.url == "http://127.0.0.1:8123/"
    assert up.headers["Host"] == "127.0.0.1:8123"
    assert up.headers["X-TC-Action"] == "ChatCompletions" and up.headers["X-TC-Version"] == "2023-09-01"
    assert "X-TC-Region" not in up.headers
    region = await adaptor(region="ap-guangzhou").chat_request(chat(messages=user("hi")), "m", stream=False)
    assert region.headers["X-TC-Region"] == "ap-guangzhou"


async def test_body_is_pascal_case_with_the_sampling_parameters() -> None:
    body = await body_of(chat(messages=user("hi"), temperature=1.5, top_p=0.5, seed=123456, stop="END"))
    assert body == {
        "Model": "hunyuan-lite",
        "Messages": [{"Role": "user", "Content": "hi"}],
        "Stream": False,
        "Temperature": 1.5,
        "TopP": 0.5,
        "Stop": ["END"],
        "Seed": 3456,
    }


async def test_system_and_developer_messages_lead_and_turns_are_made_to_alternate() -> None:
    messages: Any = [
        {"role": "assistant", "content": "Welcome!"},
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
        {"role": "developer", "content": "Answer in English."},
        {"role": "assistant", "content": "ok"},
        {"role": "assistant", "content": "really"},
    ]
    body = await body_of(chat(messages=messages))
    assert body["Messages"] == [
        {"Role": "system", "Content": "Be brief.\n\nAnswer in English."},
        {"Role": "user", "Content": "Hello."},
        {"Role": "assistant", "Content": "Welcome!"},
        {"Role": "user", "Content": "one\n\ntwo"},
        {"Role": "assistant", "Content": "ok\n\nreally"},
        {"Role": "user", "Content": "Continue."},
    ]


async def test_tool_history_and_definitions_are_translated() -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "user", "content": "thanks"},
    ]
    body = await body_of(
        chat(
            messages=messages,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        model="hunyuan-functioncall",
    )
    assert body["Messages"] == [
        {"Role": "user", "Content": "weather?"},
        {
            "Role": "assistant",
            "ToolCalls": [
                {"Id": "call_1", "Type": "function", "Function": {"Name": "get_weather", "Arguments": "{}"}}
            ],
        },
        {"Role": "tool", "Content": "sunny", "ToolCallId": "call_1"},
        {"Role": "assistant", "Content": "OK."},
        {"Role": "user", "Content": "thanks"},
    ]
    tool = body["Tools"][0]
    assert tool["Type"] == "function" and isinstance(tool["Function"]["Parameters"], str)
    assert json.loads(tool["Function"]["Parameters"]) == WEATHER["function"]["parameters"]
    assert body["ToolChoice"] == "custom" and body["CustomTool"]["Function"]["Name"] == "get_weather"


async def test_tools_on_a_model_without_function_calling_are_a_clear_400() -> None:
    with pytest.raises(APIError) as e:
        await body_of(chat(messages=user("hi"), tools=[WEATHER]), model="hunyuan-lite")
    assert e.value.status == 400 and "tools" in e.value.message and "hunyuan-lite" in e.value.message


def test_error_envelope_codes_map_to_openai_statuses() -> None:
    a = adaptor()

    def err(code: str) -> UpstreamError:
        body = json.dumps({"Response": {"Error": {"Code": code, "Message": "m"}, "RequestId": "r"}})
        with pytest.raises(UpstreamError) as e:
            a.chat_response(UpstreamResponse(200, {}, body.encode()), "hunyuan-lite", PLAIN_REQ)
        return e.value

    auth = err("AuthFailure.SignatureFailure")
    assert auth.status == 401 and "'hy'" in auth.message
    assert err("AuthFailure.SecretIdNotFound").status == 401
    assert (err("LimitExceeded").status, err("LimitExceeded").code) == (429, "rate_limit_exceeded")
    assert (
        err("FailedOperation.ServiceStopArrears").status,
        err("FailedOperation.ServiceStopArrears").code,
    ) == (
        429,
        "insufficient_quota",
    )
    assert err("InvalidParameterValue.Model").status == 404
    assert err("InvalidParameter.Whatever").status == 400
    assert err("OperationDenied.TextIllegalDetected").code == "content_filter"
    assert err("FailedOperation.EngineRequestTimeout").status == 504


def test_sensitive_finish_in_a_stream_is_content_filter() -> None:
    t = adaptor().chat_stream(chat(messages=user("x")), "hunyuan-lite")
    first = t.feed(json.dumps({"Choices": [{"Delta": {"Content": "some"}, "FinishReason": ""}]}))
    last = t.feed(json.dumps({"Choices": [{"Delta": {"Content": ""}, "FinishReason": "sensitive"}]}))
    assert first[0]["choices"][0]["delta"] == {"content": "some"}
    assert last[0]["choices"][0]["finish_reason"] == "content_filter"


def test_stop_scanner_cuts_before_a_stop_split_across_pieces() -> None:
    s = StopScanner(["STOP"])
    assert s.feed("abc ST") == "abc"
    assert s.feed("OP and more") == " "
    assert s.hit and s.feed("x") == "" and s.flush() == ""
    assert StopScanner(["zz"]).cut("a z b") == ("a z b", False)


# -- end to end ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHunyuan]:
    f = FakeHunyuan()
    server = AioServer(f.app, "hunyuan-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeHunyuan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = {"type": "hunyuan-tc3", "base_url": fake.url, "secret_id": SECRET_ID}  # type: ignore[attr-defined]
    tmp: Path = tmp_path_factory.mktemp("hy")
    g = Gateway(
        {
            "server": {"master_key": MASTER_KEY},
            "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
            # one attempt per request and no circuit breaking: these tests are about the protocol
            "routing": {"retries": 0, "circuit": {"failures": 1000}},
            "providers": {
                "hy": {**base, "secret_key": SECRET_KEY, "region": "ap-guangzhou"},
                "hy_wrong": {**base, "secret_key": "not-the-secret-key"},
                "hy_hasty": {**base, "secret_key": SECRET_KEY, "timeouts": {"first_byte": 0.3}},
            },
            "models": {"gpt-4o": ["hy/hunyuan-functioncall"]},
        }
    )
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)


def test_non_streaming_answer(client: openai.OpenAI, fake: FakeHunyuan) -> None:
    r = client.chat.completions.create(model="hy/hunyuan-lite", messages=user("hello there world"))
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and (r.usage.prompt_tokens, r.usage.completion_tokens) == (3, 4)
    seen = fake.state.requests[-1]
    assert {k.lower(): v for k, v in seen.headers.items()}["x-tc-region"] == "ap-guangzhou"


def test_stream_reassembles_with_a_usage_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="hy/hunyuan-lite",
        messages=user("one two three"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)


def test_multi_turn_with_system_reaches_hunyuan_in_order(client: openai.OpenAI, fake: FakeHunyuan) -> None:
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second question"},
    ]
    r = client.chat.completions.create(model="hy/hunyuan-pro", messages=messages)
    assert r.choices[0].message.content == "echo: second question"
    assert [m["Role"] for m in fake.state.requests[-1].body["Messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


def test_stop_sequence_is_not_part_of_the_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="hy/hunyuan-lite", messages=user("a b STOP c d"), stop=["STOP"])
    assert r.choices[0].message.content == "echo: a b "
    stream = client.chat.completions.create(
        model="hy/hunyuan-lite",
        messages=user("a b STOP c d"),
        stop="STOP",
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: a b "


def test_max_tokens_ends_a_stream_with_length(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="hy/hunyuan-lite", messages=user("a b c d e"), max_tokens=2, stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a"
    assert chunks[-1].choices[0].finish_reason == "length"


def test_tool_call_non_streaming(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=user("weather in Beijing?"), tools=[WEATHER])
    assert r.choices[0].finish_reason == "tool_calls"
    call: Any = (r.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Beijing"}


def test_tool_call_streaming_assembles_one_call(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="gpt-4o",
        messages=user("weather in Beijing?"),
        tools=[WEATHER],
    ) as s:
        final = s.get_final_completion()
    calls: Any = final.choices[0].message.tool_calls or []
    assert final.choices[0].finish_reason == "tool_calls" and len(calls) == 1
    assert calls[0].id == "call_hy_0" and calls[0].function.arguments == '{"city": "Beijing"}'


def test_tool_result_round_trip(client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_hy_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_hy_0", "content": "sunny and warm"},
    ]
    r = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER])
    assert r.choices[0].message.content == "echo: sunny and warm"


def test_input_moderation_is_400_content_filter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="hy/hunyuan-lite", messages=user("bad words #blocked"))
    assert e.value.code == "content_filter"


def test_output_moderation_mid_stream_ends_with_content_filter(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="hy/hunyuan-lite", messages=user("tell me #sensitive now"), stream=True
    )
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: tell"
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    r = client.chat.completions.create(model="hy/hunyuan-lite", messages=user("tell me #sensitive now"))
    assert r.choices[0].finish_reason == "content_filter"


def test_rate_limit_is_429_rate_limit_exceeded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="hy/hunyuan-lite", messages=user("hi #ratelimit"))
    assert e.value.code == "rate_limit_exceeded"


def test_arrears_are_429_insufficient_quota(client: openai.OpenAI) -> None:
    for mode in ("#arrears", "#exhausted"):
        with pytest.raises(openai.RateLimitError) as e:
            client.chat.completions.create(model="hy/hunyuan-lite", messages=user(f"hi {mode}"))
        assert e.value.code == "insufficient_quota"


def test_wrong_secret_key_is_401_naming_the_provider(client: openai.OpenAI, fake: FakeHunyuan) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="hy_wrong/hunyuan-lite", messages=user("hi"))
    assert "hy_wrong" in e.value.message
    assert fake.state.rejected[-1] == "AuthFailure.SignatureFailure"
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="hy_wrong/hunyuan-lite", messages=user("hi"), stream=True)


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="hy/hunyuan-nonexistent", messages=user("hi"))


def test_slow_upstream_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="hy_hasty/hunyuan-lite", messages=user("hi #slow:0.6"))
    assert e.value.status_code == 504


async def test_stale_timestamp_is_rejected_as_signature_expire(fake: FakeHunyuan) -> None:
    stale = adaptor(fake.url, clock=lambda: time.time() - 600)  # type: ignore[attr-defined]
    up = await stale.chat_request(chat(messages=user("hi")), "hunyuan-lite", stream=False)
    transport = Transport()
    try:
        resp = await transport.send(up, Timeouts(**TimeoutsConfig().model_dump()), "hy")
    finally:
        await transport.aclose()
    with pytest.raises(UpstreamError) as e:
        stale.chat_response(resp, "hunyuan-lite", PLAIN_REQ)
    assert e.value.status == 401 and "Signature expire" in e.value.message
    assert fake.state.rejected[-1] == "AuthFailure.SignatureExpire"


# -- the official SDK against the same fake --------------------------------------------------------
def sdk(fake: FakeHunyuan, secret_key: str = SECRET_KEY) -> hunyuan_client.HunyuanClient:
    http = HttpProfile(protocol="http", endpoint=fake.url.removeprefix("http://"))  # type: ignore[attr-defined]
    return hunyuan_client.HunyuanClient(
        credential.Credential(SECRET_ID, secret_key), "ap-guangzhou", ClientProfile(httpProfile=http)
    )


def sdk_request(**params: Any) -> models.ChatCompletionsRequest:
    req = models.ChatCompletionsRequest()
    req.from_json_string(json.dumps({"Model": "hunyuan-lite", **params}))
    return req


def test_official_sdk_is_accepted_by_the_fake(fake: FakeHunyuan) -> None:
    resp = sdk(fake).ChatCompletions(sdk_request(Messages=[{"Role": "user", "Content": "from the sdk"}]))
    assert resp.Choices[0].Message.Content == "echo: from the sdk"
    assert resp.Usage.TotalTokens == 3 + 4
    events = sdk(fake).ChatCompletions(
        sdk_request(Messages=[{"Role": "user", "Content": "streamed"}], Stream=True)
    )
    deltas = [json.loads(e["data"])["Choices"][0]["Delta"]["Content"] for e in events if e.get("data")]
    assert "".join(deltas) == "echo: streamed"


def test_official_sdk_with_a_wrong_key_gets_signature_failure(fake: FakeHunyuan) -> None:
    with pytest.raises(TencentCloudSDKException) as e:
        sdk(fake, "wrong-secret").ChatCompletions(sdk_request(Messages=[{"Role": "user", "Content": "x"}]))
    assert e.value.get_code() == "AuthFailure.SignatureFailure"
