"""Anthropic's Messages API on the wire: the request model, the message object, the error
envelope (https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/api/errors)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from banjia.errors import APIError

__all__ = [
    "CountTokensRequest",
    "MessagesRequest",
    "error_body",
    "error_status",
    "message_object",
    "message_usage",
]


class _Model(BaseModel):
    # unknown fields are kept (and ignored): newer SDKs and Claude Code send fields we need not read
    model_config = ConfigDict(extra="allow")


class InputMessage(_Model):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class Tool(_Model):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class CountTokensRequest(_Model):
    model: str = Field(min_length=1)
    messages: list[InputMessage]
    system: str | list[dict[str, Any]] | None = None
    tools: list[Tool] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: dict[str, Any] | None = None


class MessagesRequest(CountTokensRequest):
    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    metadata: dict[str, Any] | None = None
    stream: bool | None = None


# the error types Anthropic names per status; a status not listed takes the nearest class
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error_status(e: APIError) -> int:
    """The status Anthropic's clients expect for ``e`` (an unavailable upstream is 529, overloaded)."""
    if e.status == 503:
        return 529
    return e.status


def error_body(e: APIError) -> dict[str, Any]:
    status = error_status(e)
    kind = _TYPES.get(status) or ("invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": e.message}}


def error_bytes(e: APIError) -> bytes:
    return orjson.dumps(error_body(e))


def message_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    """OpenAI's usage as Anthropic's: ``input_tokens`` excludes what the cache served."""
    u = usage or {}
    cached = int((u.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    created = int(u.get("cache_creation_input_tokens") or 0)
    prompt = int(u.get("prompt_tokens") or 0)
    return {
        "input_tokens": max(prompt - cached - created, 0),
        "output_tokens": int(u.get("completion_tokens") or 0),
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": cached,
    }


def message_object(
    *,
    id: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None,
    usage: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
