"""Chat Completions: request models (validated once, at the edge) and response builders.

Responses and stream chunks are plain dicts built here and encoded with orjson: they are not
validated again on the hot path.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from banjia.protocol._base import (
    Bool,
    Count,
    LogitBias,
    OpenAIModel,
    Penalty,
    Seed,
    Temperature,
    TokenLimit,
    TopLogprobs,
    TopP,
)

__all__ = [
    "AssistantMessage",
    "ChatRequest",
    "Message",
    "Tool",
    "chat_completion",
    "chunk",
    "text_of",
    "usage",
]


class FunctionCall(OpenAIModel):
    name: str
    arguments: str = ""


class ToolCall(OpenAIModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(OpenAIModel):
    role: Literal["system"]
    content: str | list[dict[str, Any]]
    name: str | None = None


class DeveloperMessage(OpenAIModel):
    role: Literal["developer"]
    content: str | list[dict[str, Any]]
    name: str | None = None


class UserMessage(OpenAIModel):
    role: Literal["user"]
    content: str | list[dict[str, Any]]
    name: str | None = None


class AssistantMessage(OpenAIModel):
    role: Literal["assistant"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    refusal: str | None = None


class ToolMessage(OpenAIModel):
    role: Literal["tool"]
    content: str | list[dict[str, Any]]
    tool_call_id: str


class FunctionMessage(OpenAIModel):
    role: Literal["function"]
    content: str | None
    name: str


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionDef(OpenAIModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: Bool | None = None


class Tool(OpenAIModel):
    type: str = "function"
    function: FunctionDef


class StreamOptions(OpenAIModel):
    include_usage: Bool | None = None


class ChatRequest(OpenAIModel):
    """Every parameter banjia reads or forwards has OpenAI's documented type and range; unknown
    fields are kept (and forwarded as sent)."""

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: Bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: TokenLimit | None = None
    max_completion_tokens: TokenLimit | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    n: Count | None = None
    stop: str | list[str] | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: Bool | None = None
    functions: list[FunctionDef] | None = None
    function_call: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    seed: Seed | None = None
    logprobs: Bool | None = None
    top_logprobs: TopLogprobs | None = None
    logit_bias: LogitBias | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    store: Bool | None = None
    user: str | None = None

    @field_validator("model")
    @classmethod
    def _model_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("model must be a non-empty string")
        return v

    @field_validator("tool_choice")
    @classmethod
    def _tool_choice(cls, v: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
        if isinstance(v, str) and v not in ("none", "auto", "required"):
            raise ValueError("tool_choice must be 'none', 'auto', 'required' or a named function")
        return v

    @property
    def is_stream(self) -> bool:
        return bool(self.stream)

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    @property
    def output_limit(self) -> int | None:
        """``max_completion_tokens`` if given (LangChain always sends it), else ``max_tokens``."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


def text_of(content: str | list[dict[str, Any]] | None) -> str:
    """The text of a message's content, for vendors that take only strings."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type") in ("text", "input_text"))


def usage(
    prompt: int,
    completion: int,
    *,
    cached: int = 0,
    reasoning: int = 0,
) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(
    *,
    id: str,
    model: str,
    choices: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    created: int | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "chat.completion",
        "created": created if created is not None else int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": choices,
        "usage": usage,
    }


def choice(
    index: int,
    content: str | None,
    finish_reason: str | None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    reasoning_content: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning_content:
        message["reasoning_content"] = reasoning_content
    return {"index": index, "message": message, "finish_reason": finish_reason, "logprobs": None}


def chunk(
    *,
    id: str,
    model: str,
    created: int,
    choices: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
    object: str = "chat.completion.chunk",
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "id": id,
        "object": object,
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": choices,
    }
    if usage is not None:
        c["usage"] = usage
    return c


def delta_choice(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
