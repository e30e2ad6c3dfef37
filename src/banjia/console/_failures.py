"""The latest upstream failure of each provider, read from the routing layer's log events.

A request that failed on one provider and succeeded on the next is a success in the ledger; the
failure shows only in the routing log (``upstream_failed``, ``provider_disabled``,
``stream_broken``: JSON lines whose reasons are already free of secrets). This handler keeps the
newest of them per provider name, in this process, for the Providers page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson

__all__ = ["Failure", "FailureLog", "failures"]

_EVENTS = (b'"event":"upstream_failed"', b'"event":"provider_disabled"', b'"event":"stream_broken"',
           b'"event":"health_probe_failed"')
_MAX_PROVIDERS = 1000


@dataclass(frozen=True, slots=True)
class Failure:
    at: float  # epoch seconds
    provider: str
    model: str
    status: int | None
    reason: str
    request_id: str | None


class FailureLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.latest: dict[str, Failure] = {}

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg
        if not isinstance(msg, str) or not msg.startswith('{"event":"'):
            return
        raw = msg.encode()
        if not any(e in raw[:40] for e in _EVENTS):
            return
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        provider = data.get("provider")
        if not isinstance(provider, str):
            return
        if provider not in self.latest and len(self.latest) >= _MAX_PROVIDERS:
            return
        status = data.get("status")
        self.latest[provider] = Failure(
            at=record.created, provider=provider, model=str(data.get("model") or ""),
            status=status if isinstance(status, int) else None, reason=str(data.get("reason") or ""),
            request_id=data.get("request_id") if isinstance(data.get("request_id"), str) else None)


_log: FailureLog | None = None


def failures() -> FailureLog:
    """The process's handler, attached to the ``banjia.routing`` logger on first use."""
    global _log
    if _log is None:
        _log = FailureLog()
        logging.getLogger("banjia.routing").addHandler(_log)
    return _log
