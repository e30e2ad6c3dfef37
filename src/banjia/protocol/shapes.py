"""What each route answers, as pydantic models: the source of the OpenAPI document's response
schemas (``banjia.server.openapi``).

On the hot path answers are plain dicts built by the other protocol modules and encoded once;
these models only describe them, so they are loose where OpenAI's are (extra fields allowed,
optional details optional) and tight where a client relies on a field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletion",
    "Completion",
    "EmbeddingList",
    "ErrorEnvelope",
    "GrantCreated",
    "GrantRequest",
    "Health",
    "KeyCreateRequest",
    "KeyCreated",
    "KeyList",
    "KeyObject",
    "Model",
    "ModelList",
    "Readiness",
    "Response",
    "ResponseDeleted",
    "UsageReport",
]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors -----------------------------------------------------------------------------------
class ErrorBody(_Shape):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorEnvelope(_Shape):
    """OpenAI's error envelope: every error banjia answers, whatever the route."""

    error: ErrorBody


# -- chat -------------------------------------------------------------------------------------
class FunctionCallOut(_Shape):
    name: str
    arguments: str


class ToolCallOut(_Shape):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class TopLogprob(_Shape):
    token: str
    logprob: float
    bytes: list[int] | None


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(_Shape):
    content: list[TokenLogprob] | None
    refusal: list[TokenLogprob] | None = None


class AssistantMessageOut(_Shape):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None = None
    tool_calls: list[ToolCallOut] | None = None


class ChatChoice(_Shape):
    index: int
    message: AssistantMessageOut
    finish_reason: str | None
    logprobs: ChoiceLogprobs | None = None


class Usage(_Shape):
    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class ChatCompletion(_Shape):
    """``POST /v1/chat/completions`` without ``stream`` (a stream is ``text/event-stream``)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChatChoice]
    usage: Usage | None = None


# -- legacy completions -----------------------------------------------------------------------
class CompletionLogprobs(_Shape):
    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None] | None
    text_offset: list[int]


class CompletionChoice(_Shape):
    index: int
    text: str
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None


class Completion(_Shape):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


# -- embeddings -------------------------------------------------------------------------------
class Embedding(_Shape):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of little-endian float32")


class EmbeddingUsage(_Shape):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(_Shape):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


# -- models -----------------------------------------------------------------------------------
class Model(_Shape):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(_Shape):
    object: Literal["list"]
    data: list[Model]


# -- the Responses API ------------------------------------------------------------------------
class Response(_Shape):
    """``POST``/``GET /v1/responses``: the ``response`` object (items as OpenAI defines them)."""

    id: str
    object: Literal["response"]
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class ResponseDeleted(_Shape):
    id: str
    object: Literal["response"]
    deleted: bool


# -- health -----------------------------------------------------------------------------------
class Health(_Shape):
    status: str


class Readiness(_Shape):
    status: str
    providers: list[str]
    store: bool | None


# -- the admin API ----------------------------------------------------------------------------
class KeyCreateRequest(BaseModel):
    """``POST /admin/keys``. ``models`` may also be one comma-separated string."""

    model_config = ConfigDict(extra="forbid")

    name: str
    quota_tokens: int | None = Field(default=None, ge=0, description="prompt + completion tokens")
    quota_cny: float | None = Field(default=None, ge=0)
    models: list[str] | str | None = None
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    expires_at: str | float | None = Field(default=None, description="ISO 8601 date-time or Unix time")


class KeyObject(_Shape):
    id: str
    object: Literal["key"]
    name: str
    prefix: str
    is_master: bool
    models: list[str] | None
    rpm: int | None
    tpm: int | None
    quota_tokens: int | None
    quota_cny: float | None
    expires_at: str | None
    revoked_at: str | None
    created_at: str | None
    active: bool


class KeyCreated(KeyObject):
    key: str = Field(description="the key itself, shown this once")


class KeyList(_Shape):
    object: Literal["list"]
    data: list[KeyObject]


class GrantRequest(BaseModel):
    """``POST /admin/keys/{id}/grants``: tokens and/or CNY added to the key's quota."""

    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(default=None, ge=0)
    cny: float | None = Field(default=None, ge=0)
    note: str | None = None


class GrantCreated(_Shape):
    id: str
    object: Literal["grant"]
    key_id: str
    tokens: int | None
    cny: float | None
    note: str | None
    created_at: str | None
    key: KeyObject


class UsageRow(_Shape):
    group: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_cny: float
    openai_cost_cny: float
    saving_cny: float
    saving_pct: float | None


class UsageReport(_Shape):
    by: str
    since: str | None
    rows: list[UsageRow]
