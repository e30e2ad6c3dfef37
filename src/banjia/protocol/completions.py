"""Legacy Completions (``/v1/completions``): request model and response builders."""

from __future__ import annotations

import time
from typing import Annotated, Any

from pydantic import Field

from banjia.protocol._base import (
    Bool,
    Count,
    LogitBias,
    OpenAIModel,
    Penalty,
    Seed,
    Temperature,
    TokenId,
    TokenLimit,
    TopP,
)
from banjia.protocol.chat import StreamOptions, chunk

__all__ = ["CompletionRequest", "completion", "completion_chunk"]


class CompletionRequest(OpenAIModel):
    model: str
    prompt: str | list[str] | list[TokenId] | list[list[TokenId]] = ""
    best_of: Annotated[int, Field(strict=True, ge=0, le=20)] | None = None
    echo: Bool | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: LogitBias | None = None
    logprobs: Annotated[int, Field(strict=True, ge=0, le=5)] | None = None
    max_tokens: TokenLimit | None = None
    n: Count | None = None
    presence_penalty: Penalty | None = None
    seed: Seed | None = None
    stop: str | list[str] | None = None
    stream: Bool | None = None
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    user: str | None = None

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)

    def prompts(self) -> list[str]:
        """Text prompts; token-id prompts are refused by the caller before this is used."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        return [x for x in p if isinstance(x, str)]

    def has_token_prompt(self) -> bool:
        p = self.prompt
        return isinstance(p, list) and any(not isinstance(x, str) for x in p)


def completion(
    *, id: str, model: str, choices: list[dict[str, Any]], usage: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": choices,
        "usage": usage,
    }


def completion_choice(index: int, text: str, finish_reason: str | None) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}


def completion_chunk(
    *,
    id: str,
    model: str,
    created: int,
    choices: list[dict[str, Any]],
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return chunk(id=id, model=model, created=created, choices=choices, usage=usage, object="text_completion")
