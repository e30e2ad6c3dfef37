"""Every parameter banjia forwards has OpenAI's type and range: a value outside is a 400 in OpenAI's
words, naming the parameter, before anything reaches an upstream. Unknown fields still pass."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from banjia.errors import APIError
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.protocol.responses import ResponsesRequest

USER = [{"role": "user", "content": "hi"}]
CHAT: dict[str, Any] = {"model": "gpt-4o", "messages": USER}
COMPLETION: dict[str, Any] = {"model": "gpt-4o", "prompt": "hi"}
EMBEDDING: dict[str, Any] = {"model": "text-embedding-3-small", "input": "hi"}
RESPONSE: dict[str, Any] = {"model": "gpt-4o", "input": "hi"}


def refused(model: type[BaseModel], body: dict[str, Any]) -> APIError:
    with pytest.raises(APIError) as e:
        validate(model, body)
    assert e.value.status == 400
    return e.value


@pytest.mark.parametrize(
    ("model", "base", "param", "value"),
    [
        (ChatRequest, CHAT, "max_tokens", 2_200_000_000_000_000),
        (ChatRequest, CHAT, "max_tokens", 0),
        (ChatRequest, CHAT, "max_completion_tokens", 2**31),
        (ChatRequest, CHAT, "n", 129),
        (ChatRequest, CHAT, "temperature", 2.5),
        (ChatRequest, CHAT, "top_p", -0.1),
        (ChatRequest, CHAT, "presence_penalty", 2.01),
        (ChatRequest, CHAT, "frequency_penalty", -3),
        (ChatRequest, CHAT, "top_logprobs", 21),
        (ChatRequest, CHAT, "seed", 2**63),
        (CompletionRequest, COMPLETION, "max_tokens", 2**40),
        (CompletionRequest, COMPLETION, "logprobs", 6),
        (CompletionRequest, COMPLETION, "best_of", 21),
        (CompletionRequest, COMPLETION, "n", 0),
        (EmbeddingRequest, EMBEDDING, "dimensions", 1_000_000_000),
        (EmbeddingRequest, EMBEDDING, "dimensions", 0),
        (ResponsesRequest, RESPONSE, "max_output_tokens", 2**40),
        (ResponsesRequest, RESPONSE, "top_logprobs", 21),
        (ResponsesRequest, RESPONSE, "temperature", 3),
    ],
)
def test_a_number_out_of_range_is_a_400_naming_the_parameter(
    model: type[BaseModel], base: dict[str, Any], param: str, value: float
) -> None:
    err = refused(model, {**base, param: value})
    assert err.param == param
    assert err.code is not None and err.code.endswith(("_above_max_value", "_below_min_value"))
    assert f"but got {value} instead" in err.message


def test_the_message_reads_like_openais() -> None:
    err = refused(ChatRequest, {**CHAT, "n": 130})
    assert err.message == (
        "Invalid 'n': integer above maximum value. Expected a value <= 128, but got 130 instead."
    )
    assert err.code == "integer_above_max_value"
    err = refused(ChatRequest, {**CHAT, "temperature": 3})
    assert err.message.startswith(
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2,"
    )


def test_a_logit_bias_value_out_of_range_is_a_400() -> None:
    err = refused(ChatRequest, {**CHAT, "logit_bias": {"50256": -101}})
    assert err.param == "logit_bias.50256"


def test_a_logit_bias_key_that_is_not_a_token_id_is_a_400() -> None:
    assert refused(ChatRequest, {**CHAT, "logit_bias": {"hello": 5}}).param == "logit_bias.hello"


def test_an_absurd_max_tokens_written_as_a_decimal_is_a_400() -> None:
    err = refused(ChatRequest, {**CHAT, "max_tokens": 2.2e15})
    assert (err.param, err.code) == ("max_tokens", "invalid_type")


@pytest.mark.parametrize("value", ["yes", "true", "on", 1, 0])
@pytest.mark.parametrize(
    ("model", "base", "param"),
    [
        (ChatRequest, CHAT, "stream"),
        (ChatRequest, CHAT, "logprobs"),
        (ChatRequest, CHAT, "parallel_tool_calls"),
        (ChatRequest, CHAT, "store"),
        (CompletionRequest, COMPLETION, "stream"),
        (CompletionRequest, COMPLETION, "echo"),
        (ResponsesRequest, RESPONSE, "stream"),
        (ResponsesRequest, RESPONSE, "store"),
    ],
)
def test_a_boolean_must_be_true_or_false(
    model: type[BaseModel], base: dict[str, Any], param: str, value: object
) -> None:
    err = refused(model, {**base, param: value})
    assert (err.param, err.code) == (param, "invalid_type")
    assert "expected a boolean" in err.message


def test_a_nested_boolean_must_be_true_or_false() -> None:
    err = refused(ChatRequest, {**CHAT, "stream": True, "stream_options": {"include_usage": "yes"}})
    assert err.param == "stream_options.include_usage"


@pytest.mark.parametrize("value", [True, False, None])
def test_json_booleans_and_null_are_accepted(value: bool | None) -> None:
    assert validate(ChatRequest, {**CHAT, "stream": value, "logprobs": value}).stream is value


def test_an_integer_is_a_number() -> None:
    req = validate(ChatRequest, {**CHAT, "temperature": 1, "top_p": 1, "presence_penalty": -2})
    assert req.temperature == 1.0


def test_a_number_as_a_string_is_a_400() -> None:
    err = refused(ChatRequest, {**CHAT, "max_tokens": "16"})
    assert err.message == "Invalid type for 'max_tokens': expected an integer, but got a string instead."


def test_the_largest_values_in_range_are_accepted() -> None:
    body = {
        **CHAT, "max_tokens": 2**31 - 1, "n": 128, "temperature": 2, "top_p": 1, "top_logprobs": 20,
        "seed": -(2**63), "logit_bias": {"100257": -100, "1": 100}, "presence_penalty": 2,
    }
    validate(ChatRequest, body)
    validate(EmbeddingRequest, {**EMBEDDING, "dimensions": 8192})


def test_unknown_fields_are_kept_and_forwarded_as_sent() -> None:
    body = {**CHAT, "enable_thinking": "yes", "vendor": {"deep": [1, 2**40, "x"]}, "top_k": 5}
    req = validate(ChatRequest, body)
    assert req.wire() == body
    assert req.extras()["vendor"] == {"deep": [1, 2**40, "x"]}


def test_a_wrong_input_shape_names_the_accepted_forms() -> None:
    err = refused(EmbeddingRequest, {**EMBEDDING, "input": [1.5]})
    assert err.param == "input"
    forms = "a string, an array of strings, an array of integers or an array of arrays of integers"
    assert forms in err.message


def test_an_empty_token_list_is_a_400() -> None:
    err = refused(EmbeddingRequest, {**EMBEDDING, "input": [[]]})
    assert "input[0]" in err.message


def test_more_than_2048_inputs_is_a_400() -> None:
    assert refused(EmbeddingRequest, {**EMBEDDING, "input": ["x"] * 2049}).param == "input"


def test_more_than_300000_tokens_is_a_400() -> None:
    err = refused(EmbeddingRequest, {**EMBEDDING, "input": [[1] * 150_001, [1] * 150_000]})
    assert "300,000" in err.message
