"""Embeddings (``/v1/embeddings``): request model and response builder (float or base64)."""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from banjia import tokens
from banjia.errors import bad_request
from banjia.protocol._base import OpenAIModel, TokenId

__all__ = ["MAX_DIMENSIONS", "EmbeddingRequest", "embedding_list", "encode_vector"]

# wider than any embedding model's vectors (OpenAI's largest: 3,072; Qwen3-Embedding-8B: 4,096)
MAX_DIMENSIONS = 8192
# OpenAI: at most 2,048 inputs and 300,000 tokens summed over them per request
MAX_INPUTS = 2048
MAX_TOKENS = 300_000

TokenIds = Annotated[list[TokenId], Field(min_length=1)]


class EmbeddingRequest(OpenAIModel):
    model: str
    input: (
        str
        | Annotated[list[str], Field(min_length=1, max_length=MAX_INPUTS)]
        | TokenIds
        | Annotated[list[TokenIds], Field(min_length=1, max_length=MAX_INPUTS)]
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(strict=True, ge=1, le=MAX_DIMENSIONS)] | None = None
    user: str | None = None

    # the token-id input decoded to text, once (set on the instance, like ``_raw``)
    _decoded: ClassVar[list[str] | None] = None

    @field_validator("input")
    @classmethod
    def _token_budget(cls, v: Any) -> Any:
        if isinstance(v, list) and v and not isinstance(v[0], str):
            n = len(v) if isinstance(v[0], int) else sum(len(x) for x in v)
            if n > MAX_TOKENS:
                raise ValueError(f"at most {MAX_TOKENS:,} tokens in all, got {n:,}")
        return v

    def has_token_input(self) -> bool:
        i = self.input
        return isinstance(i, list) and bool(i) and not isinstance(i[0], str)

    def texts(self) -> list[str] | None:
        """The inputs as strings; token ids are decoded with the tokenizer the client used for
        ``model`` (cl100k for every OpenAI embedding model). An id outside that vocabulary is a 400."""
        i = self.input
        if isinstance(i, str):
            return [i]
        if not self.has_token_input():
            return [x for x in i if isinstance(x, str)]
        if self._decoded is None:
            out: list[str] = []
            for n, ids in enumerate(self.token_lists()):
                try:
                    out.append(tokens.decode(ids, self.model))
                except KeyError as e:
                    where = f"input[{n}]" if isinstance(i[0], list) else "input"
                    raise bad_request(
                        f"Invalid token id {e.args[0]} in '{where}': it is not in the "
                        f"{tokens.encoding_for(self.model)} vocabulary. Send the input as text, "
                        "or token ids from OpenAI's tokenizer for this model.",
                        param=where,
                        code="invalid_value",
                    ) from None
            object.__setattr__(self, "_decoded", out)
        return self._decoded

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
