"""What one request carries through the layers, and the two seams the store fills in.

``Authenticator`` turns a bearer token into a :class:`KeyInfo`; ``Accounting`` admits a request
(quota, rate limits) before it reaches a provider and records it (settle the quota, write the
ledger row) when it ends, whatever the outcome. The gateway calls both; :mod:`banjia.store`
implements them over SQLite/PostgreSQL and Redis.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "REQUEST_ID_PREFIX",
    "Accounting",
    "Authenticator",
    "KeyInfo",
    "NullAccounting",
    "RequestContext",
]

# ``x-request-id`` is this prefix plus ``RequestContext.request_id`` (the id the ledger keeps)
REQUEST_ID_PREFIX = "req_"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    name: str
    is_master: bool = False
    models: frozenset[str] | None = None  # allowlist; None: every model
    rpm: int | None = None
    tpm: int | None = None

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


@dataclass(slots=True)
class RequestContext:
    request_id: str
    endpoint: str  # "chat", "completions", "embeddings", "responses"
    key: KeyInfo | None = None
    model: str = ""  # as the client asked
    stream: bool = False
    provider: str | None = None  # the configured provider name that served (or last tried)
    provider_type: str | None = None  # its type, e.g. "dashscope" (prices are per type)
    upstream_model: str | None = None
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    first_token: float | None = None  # monotonic time of the first byte of answer
    finished: float | None = None
    usage: dict[str, Any] | None = None
    usage_estimated: bool = False
    # a media request's output, priced by the media rates (banjia.media): "images", "chars" (of
    # speech input), "audio_seconds" (None: unknown); None for every other endpoint
    media: dict[str, float | None] | None = None
    # a line of a Batch API batch (banjia.batches): priced at the vendor's batch rate
    batch: bool = False
    status: int = 200
    error_code: str | None = None
    client_disconnected: bool = False
    attempts: list[str] = field(default_factory=list)  # provider/model tried, in order
    # what the accounting layer reserved at admission, to settle or release
    reservation: Any = None
    prompt_tokens_estimate: int = 0  # set before admit: a local count of the prompt
    max_output_tokens: int | None = None  # the client's limit, if any (for quota reservation)
    choices: int = 1  # answers asked for (``n``): each may use up to the output limit
    # set by ``admit`` when the client set no output limit and the key has a quota: the most
    # output tokens (per choice) the quota covers; the upstream must be asked for no more
    output_cap: int | None = None
    # set by the gateway from the route: "provider/successor" → the retired model the client named
    # (the response's ``x-banjia-retired`` header)
    retired: Mapping[str, str] | None = None

    @property
    def upstream(self) -> str | None:
        if self.provider is None:
            return None
        return f"{self.provider}/{self.upstream_model}"

    @property
    def latency_ms(self) -> float | None:
        return None if self.finished is None else (self.finished - self.started) * 1000

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token is None else (self.first_token - self.started) * 1000


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> KeyInfo | None: ...


class Accounting(Protocol):
    async def admit(self, ctx: RequestContext) -> None:
        """Reserve quota and check rate limits; raise APIError(429) to refuse. May set
        ``ctx.output_cap``, which the caller then passes on to the upstream as ``max_tokens``."""

    def record(self, ctx: RequestContext) -> None:
        """Settle what ``admit`` reserved and queue the ledger row. Must not block."""

    async def aclose(self) -> None: ...


class NullAccounting:
    """Admits everything and keeps the last records in memory (no store configured, and tests)."""

    def __init__(self) -> None:
        self.records: list[RequestContext] = []

    async def admit(self, ctx: RequestContext) -> None:
        return None

    def record(self, ctx: RequestContext) -> None:
        self.records.append(ctx)
        if len(self.records) > 10_000:
            del self.records[:5_000]

    async def aclose(self) -> None:
        return None
