"""Legacy Completions (``/v1/completions``): request model and response builders."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from banjia.protocol._base import OpenAIModel
from banjia.protocol.chat import StreamOptions, chunk

__all__ = ["CompletionRequest", "completion", "completion_chunk"]


class CompletionRequest(OpenAIModel):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]] = ""
    suffix: str | None = None
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=128)
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    seed: int | None = None
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
