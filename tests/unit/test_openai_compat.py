"""The OpenAI-dialect adaptor's translation, per vendor quirk, on constructed wire payloads."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.openai_compat import OpenAICompatAdaptor, normalize_usage
from banjia.adaptors.vendors import VENDORS
from banjia.errors import UpstreamError
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.vendors import DESCRIPTORS

PLAIN_REQ = ChatRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


async def _no_fetch(req: UpstreamRequest) -> UpstreamResponse:
    raise AssertionError("OpenAI-dialect adaptors send no auxiliary requests")


def adaptor(vendor: str, **kw: Any) -> OpenAICompatAdaptor:
    base = DESCRIPTORS[vendor].base_url or "http://x/v1"
    return OpenAICompatAdaptor(vendor, _no_fetch, VENDORS[vendor], base_url=base, api_key="k", **kw)


def build(
    vendor: str, body: dict[str, Any], model: str = "m", stream: bool = False, **kw: Any
) -> dict[str, Any]:
    req = validate(ChatRequest, {"model": "alias", "messages": [{"role": "user", "content": "hi"}], **body})
    up = asyncio.run(adaptor(vendor, **kw).chat_request(req, model, stream=stream))
    out: dict[str, Any] = orjson.loads(up.body)
    return out


def resp(vendor: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return adaptor(vendor).chat_response(UpstreamResponse(status, {}, orjson.dumps(body)), "m", PLAIN_REQ)


def test_request_goes_to_the_vendor_base_with_bearer_auth() -> None:
    req = validate(ChatRequest, {"model": "a", "messages": [{"role": "user", "content": "x"}]})
    up = asyncio.run(adaptor("deepseek").chat_request(req, "deepseek-chat", stream=False))
    assert up.url == "https://api.deepseek.com/v1/chat/completions"
    assert up.headers["Authorization"] == "Bearer k"


def test_minimax_uses_the_openai_path_on_api_minimaxi_com() -> None:
    req = validate(ChatRequest, {"model": "a", "messages": [{"role": "user", "content": "x"}]})
    up = asyncio.run(adaptor("minimax").chat_request(req, "MiniMax-M2.7", stream=False))
    assert up.url == "https://api.minimaxi.com/v1/chat/completions"


def test_spark_x1_goes_to_the_v2_base_and_other_models_to_v1() -> None:
    req = validate(ChatRequest, {"model": "a", "messages": [{"role": "user", "content": "x"}]})
    x1 = asyncio.run(adaptor("spark").chat_request(req, "x1", stream=False))
    lite = asyncio.run(adaptor("spark").chat_request(req, "lite", stream=False))
    assert x1.url == "https://spark-api-open.xf-yun.com/v2/chat/completions"
    assert lite.url == "https://spark-api-open.xf-yun.com/v1/chat/completions"


def test_siliconflow_max_tokens_is_not_capped() -> None:
    assert build("siliconflow", {"max_completion_tokens": 16384})["max_tokens"] == 16384


def test_model_is_replaced_and_unknown_fields_kept() -> None:
    body = build("moonshot", {"custom": {"x": 1}}, model="moonshot-v1-8k")
    assert body["model"] == "moonshot-v1-8k" and body["custom"] == {"x": 1}


def test_developer_role_maps_to_system_only_where_needed() -> None:
    msgs = {"messages": [{"role": "developer", "content": "d"}, {"role": "user", "content": "u"}]}
    assert build("zhipu", msgs)["messages"][0]["role"] == "system"
    assert build("openai", msgs)["messages"][0]["role"] == "developer"


def test_max_completion_tokens_is_renamed_and_capped() -> None:
    assert build("baichuan", {"max_completion_tokens": 9999}) == {**build("baichuan", {}), "max_tokens": 2048}
    assert build("openai", {"max_completion_tokens": 9999})["max_completion_tokens"] == 9999


@pytest.mark.parametrize(
    "vendor,temp,top_p,want_temp,want_top_p",
    [
        ("dashscope", 2.0, 0.0, 1.99, 0.01),
        ("zhipu", 1.5, 1.0, 1.0, 0.99),
        ("spark", 0.0, None, 0.01, None),
        ("minimax", 0.0, 0.0, 0.01, 0.01),
        ("moonshot", 2.0, None, 1.0, None),
    ],
)
def test_clamps(
    vendor: str, temp: float, top_p: float | None, want_temp: float, want_top_p: float | None
) -> None:
    body = build(vendor, {"temperature": temp, **({"top_p": top_p} if top_p is not None else {})})
    assert body["temperature"] == pytest.approx(want_temp)
    assert body.get("top_p") == (pytest.approx(want_top_p) if want_top_p is not None else None)


def test_streams_always_ask_for_usage_and_non_streams_drop_stream_options() -> None:
    assert build("deepseek", {"stream": True}, stream=True)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in build("deepseek", {"stream_options": {"include_usage": True}})


def test_ark_maps_model_names_to_endpoint_ids() -> None:
    assert build("ark", {}, model="doubao-pro-32k", endpoints={"doubao-pro-32k": "ep-1"})["model"] == "ep-1"


def test_qwen3_non_stream_turns_thinking_off_on_dashscope() -> None:
    assert build("dashscope", {}, model="qwen3-32b")["enable_thinking"] is False
    assert "enable_thinking" not in build("dashscope", {"stream": True}, model="qwen3-32b", stream=True)
    assert build("dashscope", {"enable_thinking": True}, model="qwen3-32b")["enable_thinking"] is True


def test_response_is_completed_to_the_openai_shape() -> None:
    out = resp("yi", {"choices": [{"message": {"content": "x"}, "finish_reason": "eos"}]})
    assert out["object"] == "chat.completion" and out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"]["role"] == "assistant" and out["usage"] is None


def test_tool_calls_finish_with_tool_calls_even_if_the_vendor_says_stop() -> None:
    tc = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    out = resp(
        "hunyuan", {"choices": [{"message": {"content": None, "tool_calls": tc}, "finish_reason": "stop"}]}
    )
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_zhipu_network_error_finish_is_a_retryable_error() -> None:
    with pytest.raises(UpstreamError) as e:
        resp("zhipu", {"choices": [{"message": {"content": ""}, "finish_reason": "network_error"}]})
    assert e.value.retryable and e.value.status == 502


def test_usage_cached_tokens_from_any_vendor_field_count_once() -> None:
    u = normalize_usage(
        {
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "prompt_cache_hit_tokens": 4,
            "prompt_cache_miss_tokens": 6,
        }
    )
    assert u and u["prompt_tokens_details"]["cached_tokens"] == 4 and u["total_tokens"] == 12
    u = normalize_usage({"prompt_tokens": 3, "completion_tokens": 1, "cached_tokens": 99})
    assert u and u["prompt_tokens_details"]["cached_tokens"] == 3  # never more than the prompt


def test_spark_body_code_is_an_error() -> None:
    with pytest.raises(UpstreamError) as e:
        resp("spark", {"code": 11202, "message": "too fast", "sid": "s"})
    assert e.value.status == 429


def test_minimax_base_resp_is_checked() -> None:
    with pytest.raises(UpstreamError) as e:
        resp("minimax", {"base_resp": {"status_code": 1004, "status_msg": "auth"}})
    assert e.value.status == 401 and "minimax" in e.value.message


@pytest.mark.parametrize(
    "vendor,status,body,want_status,want_code",
    [
        (
            "dashscope",
            400,
            {"error": {"code": "data_inspection_failed", "message": "m"}},
            400,
            "content_filter",
        ),
        ("dashscope", 400, {"error": {"code": "Arrearage", "message": "m"}}, 429, "insufficient_quota"),
        (
            "ark",
            400,
            {"error": {"code": "SensitiveContentDetected.Violence", "message": "m"}},
            400,
            "content_filter",
        ),
        ("ark", 403, {"error": {"code": "AccountOverdueError", "message": "m"}}, 429, "insufficient_quota"),
        ("baichuan", 429, {"error": {"message": "Insufficient account balance"}}, 429, "insufficient_quota"),
        ("baichuan", 429, {"error": {"message": "rate limit"}}, 429, "rate_limit_exceeded"),
        ("deepseek", 402, {"error": {"message": "Insufficient Balance"}}, 429, "insufficient_quota"),
        ("deepseek", 422, {"error": {"message": "bad"}}, 400, None),
        (
            "moonshot",
            429,
            {"error": {"type": "exceeded_current_quota_error", "message": "m"}},
            429,
            "insufficient_quota",
        ),
        ("siliconflow", 503, {"code": 50505, "message": "busy", "data": None}, 503, "upstream_overloaded"),
        ("yi", 401, {"error": {"message": "bad key"}}, 401, "invalid_api_key"),
        ("stepfun", 500, b"<html>oops</html>", 502, "upstream_error"),
    ],
)
def test_error_tables(vendor: str, status: int, body: Any, want_status: int, want_code: str | None) -> None:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    e = adaptor(vendor).error(status, raw)
    assert e.status == want_status
    if want_code:
        assert e.code == want_code
    assert vendor in e.message


def test_credential_errors_name_the_provider_and_disable_it() -> None:
    e = adaptor("deepseek").error(401, b'{"error": {"message": "Authentication Fails"}}')
    assert e.status == 401 and "Provider 'deepseek' rejected banjia's credentials" in e.message and e.disable


def test_request_errors_are_not_retried_elsewhere() -> None:
    assert not adaptor("deepseek").error(400, b'{"error": {"message": "bad"}}').retryable
    assert adaptor("deepseek").error(503, b"{}").retryable


def test_reasoning_effort_becomes_each_vendors_own_switch() -> None:
    assert build("deepseek", {"reasoning_effort": "none"})["thinking"] == {"type": "disabled"}
    assert build("zhipu", {"reasoning_effort": "high"})["thinking"] == {"type": "enabled"}
    assert build("dashscope", {"reasoning_effort": "high"}, stream=True)["enable_thinking"] is True
    assert "reasoning_effort" not in build("moonshot", {"reasoning_effort": "high"})
    assert build("openai", {"reasoning_effort": "low"})["reasoning_effort"] == "low"
    assert build("zhipu", {"reasoning_effort": "high", "thinking": {"type": "disabled"}})["thinking"] == {
        "type": "disabled"
    }
