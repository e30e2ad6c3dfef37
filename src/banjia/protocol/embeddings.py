"""Embeddings (``/v1/embeddings``): request model and response builder (float or base64)."""

from __future__ import annotations

import base64
import struct
from typing import Any, Literal

from pydantic import Field

from banjia.protocol._base import OpenAIModel

__all__ = ["EmbeddingRequest", "embedding_list", "encode_vector"]


class EmbeddingRequest(OpenAIModel):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    def texts(self) -> list[str] | None:
        """The inputs as strings, or None when they are token ids."""
        i = self.input
        if isinstance(i, str):
            return [i]
        if all(isinstance(x, str) for x in i):
            return [x for x in i if isinstance(x, str)]
        return None

    def token_lists(self) -> list[list[int]]:
        i = self.input
        if isinstance(i, list) and i and all(isinstance(x, int) for x in i):
            return [[x for x in i if isinstance(x, int)]]
        return [x for x in i if isinstance(x, list)]


def encode_vector(vector: list[float], fmt: str | None) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def embedding_list(
    vectors: list[list[float]], *, model: str, fmt: str | None, prompt_tokens: int
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode_vector(v, fmt)}
            for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
