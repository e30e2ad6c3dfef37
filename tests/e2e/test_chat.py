"""Chat Completions through the gateway, judged by the official openai SDK in strict mode."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

USER = [{"role": "user", "content": "hello there world"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def last_body(fake: FakeOpenAI) -> dict:  # type: ignore[type-arg]
    return fake.state.requests[-1].body


def test_non_streaming_answer_has_openai_shape(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == "echo: hello there world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.prompt_tokens == 3 and r.usage.completion_tokens == 4
    assert r.usage.total_tokens == 7


def test_model_responses_name_the_upstream_and_carry_a_request_id(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    assert raw.headers["x-request-id"].startswith("req_")


def test_stream_has_role_first_finish_last_and_done(gateway: Gateway) -> None:
    body = {"model": "gpt-4o", "messages": USER, "stream": True}
    with httpx.stream(
        "POST",
        gateway.base_url + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["delta"] == {} and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all("usage" not in c for c in chunks)


def test_stream_text_reassembles(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "echo: hello there world"


def test_usage_chunk_only_when_asked(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )  # type: ignore[arg-type]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])


def test_usage_riding_on_the_finish_chunk_is_moved_to_its_own_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="zhipu/usage-in-last", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )  # type: ignore[arg-type]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 7
    plain = list(client.chat.completions.create(model="zhipu/usage-in-last", messages=USER, stream=True))  # type: ignore[arg-type]
    assert all(c.usage is None and c.choices for c in plain)


def test_upstream_is_always_asked_for_stream_usage(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True))  # type: ignore[arg-type]
    assert last_body(fake)["stream_options"] == {"include_usage": True}


def test_tool_call_non_streaming(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="fake/tools", messages=USER, tools=[WEATHER_TOOL])  # type: ignore[arg-type, list-item]
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Beijing", "unit": "c"}  # type: ignore[union-attr]


@pytest.mark.parametrize("mode,calls", [("tools", 1), ("repeat-ids", 2)])
def test_streamed_tool_calls_reassemble_in_the_sdk_helper(
    client: openai.OpenAI, mode: str, calls: int
) -> None:
    with client.chat.completions.stream(model=f"fake/{mode}", messages=USER, tools=[WEATHER_TOOL]) as s:  # type: ignore[arg-type, list-item]
        final = s.get_final_completion()
    tcs = final.choices[0].message.tool_calls or []
    assert [tc.id for tc in tcs] == ["call_a1", "call_b2"][:calls]
    for tc in tcs:
        assert tc.function.name == "get_weather"
        assert json.loads(tc.function.arguments) == {"city": "Beijing", "unit": "c"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_repeated_tool_ids_are_sent_once_per_call(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="fake/repeat-ids",
            messages=USER,
            tools=[WEATHER_TOOL],  # type: ignore[arg-type, list-item]
            stream=True,
        )
    )
    deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    with_id = [d for d in deltas if d.id]
    assert [(d.index, d.id) for d in with_id] == [(0, "call_a1"), (1, "call_b2")]
    assert all(d.type == "function" and d.function and d.function.name for d in with_id)
    assert all(d.function is None or d.function.name is None for d in deltas if not d.id)


def test_developer_role_becomes_system_for_vendors_without_it(
    client: openai.OpenAI, fake: FakeOpenAI
) -> None:
    msgs = [{"role": "developer", "content": "be brief"}, *USER]
    client.chat.completions.create(model="deepseek/echo", messages=msgs)  # type: ignore[arg-type]
    assert last_body(fake)["messages"][0] == {"role": "system", "content": "be brief"}
    client.chat.completions.create(model="fake/echo", messages=msgs)  # type: ignore[arg-type]
    assert last_body(fake)["messages"][0]["role"] == "developer"


def test_max_completion_tokens_reaches_the_vendors_field(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    r = client.chat.completions.create(model="deepseek/echo", messages=USER, max_completion_tokens=2)  # type: ignore[arg-type]
    assert last_body(fake)["max_tokens"] == 2 and "max_completion_tokens" not in last_body(fake)
    assert r.choices[0].message.content == "echo: hello"


def test_unknown_fields_pass_through_to_openai_dialect_upstreams(
    client: openai.OpenAI, fake: FakeOpenAI
) -> None:
    client.chat.completions.create(
        model="dashscope/echo",
        messages=USER,  # type: ignore[arg-type]
        extra_body={"enable_search": True, "top_k": 5},
    )
    assert last_body(fake)["enable_search"] is True and last_body(fake)["top_k"] == 5


def test_stream_options_without_stream_is_dropped_not_refused(
    client: openai.OpenAI, fake: FakeOpenAI
) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER, stream_options={"include_usage": True})  # type: ignore[arg-type]
    assert r.choices[0].message.content
    assert "stream_options" not in last_body(fake)


def test_parameters_are_clamped_into_the_vendor_range(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(model="zhipu/echo", messages=USER, temperature=1.8, top_p=1.0)  # type: ignore[arg-type]
    assert last_body(fake)["temperature"] == 1.0 and last_body(fake)["top_p"] == 0.99
    client.chat.completions.create(model="dashscope/echo", messages=USER, temperature=2.0, top_p=0)  # type: ignore[arg-type]
    assert last_body(fake)["temperature"] < 2 and last_body(fake)["top_p"] > 0
    # SiliconFlow takes max_tokens up to the context length: no 4096 cap any more
    client.chat.completions.create(model="siliconflow/echo", messages=USER, max_tokens=100000)  # type: ignore[arg-type]
    assert last_body(fake)["max_tokens"] == 100000


def test_ark_model_names_map_to_endpoint_ids(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(model="ark/doubao-pro-32k", messages=USER)  # type: ignore[arg-type]
    assert last_body(fake)["model"] == "ep-20240607-echo"


def test_parse_returns_bare_json(client: openai.OpenAI) -> None:
    class Answer(BaseModel):
        answer: str
        words: int

    r = client.chat.completions.parse(model="fake/json", messages=USER, response_format=Answer)  # type: ignore[arg-type]
    assert r.choices[0].message.parsed == Answer(answer="echo", words=4)


def test_n_choices(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o", messages=USER, n=2)  # type: ignore[arg-type]
    assert [c.index for c in r.choices] == [0, 1]


def test_deepseek_keepalives_are_skipped(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="deepseek/keepalive", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world"
    s = client.chat.completions.create(model="deepseek/keepalive", messages=USER, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in s if c.choices) == "echo: hello there world"


def test_deepseek_cache_hits_count_once(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="deepseek/deepseek-cache", messages=USER)  # type: ignore[arg-type]
    assert r.usage and r.usage.prompt_tokens == 3
    assert r.usage.prompt_tokens_details and r.usage.prompt_tokens_details.cached_tokens == 2


def test_vendor_finish_reasons_map_to_openai(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="zhipu/sensitive", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].finish_reason == "content_filter"
    chunks = list(client.chat.completions.create(model="zhipu/sensitive", messages=USER, stream=True))  # type: ignore[arg-type]
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_minimax_base_resp_success_is_stripped(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="minimax/minimax-ok", messages=USER)  # type: ignore[arg-type]
    assert r.choices[0].message.content == "echo: hello there world"
