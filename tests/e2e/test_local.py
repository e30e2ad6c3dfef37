"""The bundled local model (SmolLM2-135M GGUF via llama.cpp), for real: no network, no keys."""

from __future__ import annotations

import math

import openai
import pytest

from tests.harness import MASTER_KEY, Gateway

USER = [{"role": "user", "content": "Say hello."}]


def test_chat_answers_through_an_openai_alias(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=8, temperature=0)  # type: ignore[arg-type]
    assert r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage and r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 0


def test_chat_streams_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(  # type: ignore[call-overload]
            model="local/default",
            messages=USER,
            max_tokens=6,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 6


def test_developer_and_system_roles_are_accepted(client: openai.OpenAI) -> None:
    msgs = [{"role": "developer", "content": "Answer in one word."}, *USER]
    r = client.chat.completions.create(model="local/default", messages=msgs, max_tokens=4)  # type: ignore[arg-type]
    assert r.choices[0].message.content is not None


def test_tools_on_the_local_model_are_a_clear_400(client: openai.OpenAI) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="local/default", messages=USER, tools=[tool])  # type: ignore[arg-type, list-item]
    assert "tools" in e.value.message


def test_completions_run_the_raw_prompt(client: openai.OpenAI) -> None:
    r = client.completions.create(
        model="local/default", prompt="The capital of France is", max_tokens=4, temperature=0
    )
    assert r.choices[0].text and r.usage and r.usage.completion_tokens <= 4


def test_completions_stream(gateway: Gateway) -> None:
    plain = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(
        plain.completions.create(model="local/default", prompt="One, two,", max_tokens=4, stream=True)
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_embeddings_are_normalised_vectors(client: openai.OpenAI) -> None:
    r = client.embeddings.create(
        model="local/default", input=["hello world", "你好"], encoding_format="float"
    )
    assert len(r.data) == 2
    v = r.data[0].embedding
    assert len(v) > 32 and math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-3)
    assert r.usage.prompt_tokens > 0
