"""Logprobs from the bundled local model (SmolLM2-135M through llama.cpp), in OpenAI's shapes,
checked by the openai SDK in strict mode."""

from __future__ import annotations

import math

import openai
import pytest

from tests.harness import MASTER_KEY, Gateway

USER = [{"role": "user", "content": "Say hello."}]


def test_chat_logprobs_cover_every_token_of_the_answer(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="local/default", messages=USER, max_tokens=8, temperature=0, logprobs=True, top_logprobs=3
    )  # type: ignore[arg-type]
    choice = r.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    entries = choice.logprobs.content
    assert "".join(e.token for e in entries) == choice.message.content
    for e in entries:
        assert e.logprob <= 0 and e.bytes == list(e.token.encode())
        assert len(e.top_logprobs) == 3
        alternatives = [t.logprob for t in e.top_logprobs]
        assert alternatives == sorted(alternatives, reverse=True)
        # greedy decoding picks the most likely token
        assert e.top_logprobs[0].token == e.token and math.isclose(e.top_logprobs[0].logprob, e.logprob)


def test_chat_logprobs_without_top_logprobs_list_no_alternatives(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(
        model="local/default", messages=USER, max_tokens=4, logprobs=True
    )  # type: ignore[arg-type]
    content = r.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content and all(e.top_logprobs == [] for e in content)


def test_chat_without_logprobs_answers_none(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="local/default", messages=USER, max_tokens=4)  # type: ignore[arg-type]
    assert r.choices[0].logprobs is None


def test_streamed_chunks_carry_the_logprobs_of_their_tokens(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="local/default", messages=USER, max_tokens=6, temperature=0, stream=True, logprobs=True,
        top_logprobs=1,
    )  # type: ignore[call-overload]
    text_chunks = [c for c in stream if c.choices and c.choices[0].delta.content]
    assert text_chunks
    for c in text_chunks:
        lp = c.choices[0].logprobs
        assert lp is not None and lp.content
        assert "".join(e.token for e in lp.content) == c.choices[0].delta.content


def test_legacy_completions_logprobs(gateway: Gateway) -> None:
    plain = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    prompt = "One, two,"
    r = plain.completions.create(
        model="local/default", prompt=prompt, max_tokens=4, temperature=0, logprobs=2
    )
    lp = r.choices[0].logprobs
    assert lp is not None and lp.tokens and "".join(lp.tokens) == r.choices[0].text
    assert lp.token_logprobs and all(x is not None and x <= 0 for x in lp.token_logprobs)
    assert lp.top_logprobs and all(len(t) == 2 for t in lp.top_logprobs)
    assert lp.text_offset and lp.text_offset[0] == len(prompt)


def test_legacy_completions_echo_with_logprobs_is_a_clear_400(gateway: Gateway) -> None:
    plain = openai.OpenAI(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as e:
        plain.completions.create(model="local/default", prompt="x", max_tokens=2, logprobs=1, echo=True)
    assert "echo" in e.value.message
