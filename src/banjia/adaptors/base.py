"""The adaptor interface: pure translation between OpenAI's wire format and a vendor's.

An adaptor builds the upstream request, parses the upstream response, turns the upstream stream
into OpenAI chunks and maps errors through a table. It never sends anything itself: the core
(:mod:`banjia.providers`) owns sending, timeouts, cancellation and accounting, so every adaptor is
tested the same way. The one exception is an auxiliary request an adaptor needs before it can sign
(Qianfan's OAuth token): it asks the core to send it through the :data:`Fetch` it was given.

A stream translator receives the decoded events of one upstream stream (the ``data`` of each SSE
event, or each WebSocket text frame) and returns OpenAI chunk *fragments*: dicts with ``choices``
(deltas, finish reasons) and/or ``usage``. The core's normaliser gives them a stable id, the role
delta, tool-call indexes and ids, the usage chunk and ``[DONE]``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from banjia.errors import Action, UpstreamError
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.transport import UpstreamRequest, UpstreamResponse

__all__ = [
    "Adaptor",
    "ErrorRule",
    "ErrorTable",
    "Fetch",
    "StreamTranslator",
    "UpstreamRequest",
    "UpstreamResponse",
    "map_status",
]


# UpstreamRequest (what an adaptor builds) and UpstreamResponse (what it parses) are the
# transport's types, handed on from here: an adaptor imports its whole interface from this module.
# Fetch sends an auxiliary request through the core (see the module's docstring).
Fetch = Callable[[UpstreamRequest], Awaitable[UpstreamResponse]]


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """What an upstream error becomes: for the client (status, code, type) and for routing
    (:meth:`action`)."""

    status: int
    code: str | None = None
    type: str | None = None
    retryable: bool | None = None  # None: decided by the status (429 and 5xx retry)
    disable: bool = False  # auth/balance: the provider is unusable until someone acts

    def action(self) -> Action:
        """The routing action this row means. The table states the OpenAI side; this is the one
        place where it is read for routing: a capability code says "not this entry" (SKIP), a
        504 "not worth the same wait again" (NEXT)."""
        if self.disable:
            return Action.DISABLE
        if self.code in _NOT_THIS_ENTRY:
            return Action.SKIP
        retryable = self.retryable if self.retryable is not None else self.status == 429 or self.status >= 500
        if not retryable:
            return Action.FAIL
        return Action.NEXT if self.status == 504 else Action.RETRY


# OpenAI codes saying that this model or provider cannot serve the request, where another may
_NOT_THIS_ENTRY = frozenset(
    {"unsupported_feature", "unsupported_endpoint", "context_length_exceeded", "model_not_found"}
)


# keys: a vendor error code/type (str or int); "__status_<n>" for a bare HTTP status
ErrorTable = Mapping[str | int, ErrorRule]

_DEFAULT_BY_STATUS: dict[int, ErrorRule] = {
    400: ErrorRule(400, type="invalid_request_error"),
    401: ErrorRule(401, "invalid_api_key", "authentication_error", disable=True),
    402: ErrorRule(429, "insufficient_quota", "insufficient_quota", disable=True),
    403: ErrorRule(403, "permission_denied", "permission_error"),
    404: ErrorRule(404, "model_not_found", "invalid_request_error"),
    408: ErrorRule(504, "upstream_timeout", "upstream_error"),
    413: ErrorRule(400, "request_too_large", "invalid_request_error"),
    422: ErrorRule(400, type="invalid_request_error"),
    429: ErrorRule(429, "rate_limit_exceeded", "rate_limit_error"),
}


def map_status(status: int) -> ErrorRule:
    """The OpenAI-side rule for a bare upstream HTTP status."""
    if status in _DEFAULT_BY_STATUS:
        return _DEFAULT_BY_STATUS[status]
    if status == 504:
        return ErrorRule(504, "upstream_timeout", "upstream_error")
    if status == 503:
        return ErrorRule(503, "upstream_overloaded", "upstream_error")
    if status >= 500:
        return ErrorRule(502, "upstream_error", "upstream_error")
    return ErrorRule(400, type="invalid_request_error")


class StreamTranslator(ABC):
    @abstractmethod
    def feed(self, data: str) -> list[dict[str, Any]]:
        """One upstream event's data → OpenAI chunk fragments. Raises UpstreamError on an error event."""

    def finish(self) -> list[dict[str, Any]]:
        """The upstream stream ended; return anything still held back."""
        return []


class Adaptor(ABC):
    """One vendor protocol. ``provider`` is the configured name, used in error messages."""

    # the upstream reports usage in streams (else the core counts tokens locally)
    stream_usage: bool = True
    # no non-streaming call exists (WebSocket protocols): the core collects the stream
    stream_only: bool = False
    # the stream ends with a ``[DONE]`` sentinel; otherwise the end of the connection ends it
    stream_has_done: bool = True

    def __init__(self, provider: str, fetch: Fetch) -> None:
        self.provider = provider
        self.fetch = fetch

    # -- chat ---------------------------------------------------------------------------------
    @abstractmethod
    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        """Build the upstream request for ``req`` sent to the upstream model id ``model``."""

    @abstractmethod
    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        """A successful (status 2xx) upstream body → an OpenAI ``chat.completion`` dict.

        Raises UpstreamError for an error carried inside a 2xx body."""

    @abstractmethod
    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        """A translator for one stream of ``req``."""

    # -- embeddings ---------------------------------------------------------------------------
    async def embeddings_request(self, req: EmbeddingRequest, model: str) -> UpstreamRequest:
        raise UpstreamError.unsupported(
            self.provider,
            f"Provider '{self.provider}' does not serve embeddings.",
            code="unsupported_endpoint",
            param="model",
        )

    def embeddings_response(self, resp: UpstreamResponse, model: str) -> tuple[list[list[float]], int]:
        """→ (vectors in input order, prompt tokens)."""
        raise NotImplementedError

    # -- legacy completions -------------------------------------------------------------------
    def completions_request(
        self, req: CompletionRequest, model: str, *, stream: bool
    ) -> UpstreamRequest | None:
        """A native ``/completions`` request, or None: the core then goes over chat."""
        return None

    def completions_response(self, resp: UpstreamResponse) -> dict[str, Any]:
        raise NotImplementedError

    # -- credentials that go stale ------------------------------------------------------------
    # the adaptor's clock for credential caches (tests give adaptors a fake one)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def credential_refused(self, e: UpstreamError, since: float) -> bool:
        """Whether ``e`` says a cached credential (an OAuth token) was refused for a request that
        started at ``since`` (by :attr:`clock`). If so the adaptor has dropped it and the core sends
        the request once more — only before anything reached the client."""
        return False

    # -- errors -------------------------------------------------------------------------------
    error_table: ErrorTable = MappingProxyType({})

    def error(self, status: int, body: bytes) -> UpstreamError:
        """A non-2xx upstream answer → UpstreamError, through :attr:`error_table`."""
        code, message = self.error_fields(body)
        return self.make_error(status, code, message)

    def error_fields(self, body: bytes) -> tuple[str | int | None, str]:
        """Extract (vendor code, message) from an error body; OpenAI-shaped by default."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None, body[:300].decode("utf-8", "replace").strip()
        if isinstance(data, dict):
            err = data.get("error", data)
            if isinstance(err, dict):
                code = err.get("code") or err.get("type")
                msg = err.get("message") or err.get("msg") or err.get("error_msg") or ""
                return code if isinstance(code, str | int) else None, str(msg)
            if isinstance(err, str):
                return None, err
        return None, body[:300].decode("utf-8", "replace")

    def make_error(
        self, status: int, code: str | int | None, message: str, headers: Mapping[str, str] | None = None
    ) -> UpstreamError:
        rule = self.error_table.get(code) if code is not None else None
        if rule is None and isinstance(code, str):
            # "SensitiveContentDetected.Violence" falls back to "sensitivecontentdetected"
            lowered = code.lower()
            rule = self.error_table.get(lowered) or self.error_table.get(lowered.split(".")[0])
        if rule is None:
            rule = self.error_table.get(f"__status_{status}") or map_status(status)
        shown_code = rule.code or (str(code) if code is not None else None)
        text = message or f"HTTP {status}"
        if rule.status == 401:
            text = f"Provider '{self.provider}' rejected banjia's credentials: {text}"
        else:
            text = f"Provider '{self.provider}': {text}"
        out_headers: dict[str, str] = {}
        if headers:
            for h in ("retry-after", "retry-after-ms"):
                if h in headers:
                    out_headers[h] = headers[h]
        return UpstreamError(
            rule.status,
            text,
            provider=self.provider,
            action=rule.action(),
            type=rule.type or _type_for(rule.status),
            code=shown_code,
            headers=out_headers,
        )


def _type_for(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "invalid_request_error",
        429: "rate_limit_error",
    }.get(status, "upstream_error")
