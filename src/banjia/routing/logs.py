"""Structured logs: one JSON object per line, carrying the request id; never keys nor prompts.

Each record's message is the JSON object itself, so any handler prints JSON lines. What goes
in is chosen field by field: ids, names, statuses, codes, timings — and an upstream's error
message only after :func:`redact` has masked anything shaped like a credential, and cut short.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

from banjia.context import RequestContext
from banjia.errors import APIError

__all__ = ["event", "failure_reason", "redact", "request_id"]

# bearer tokens, sk-/ak- style keys, and long opaque runs of letters and digits
_SECRET = re.compile(
    r"(?i)(bearer\s+)\S+|\b(?:sk|ak|pk|key|tok)[-_][A-Za-z0-9_\-*]{6,}|\b[A-Za-z0-9_\-]{32,}\b"
)


def redact(text: str, limit: int = 200) -> str:
    out = _SECRET.sub(lambda m: (m.group(1) or "") + "***", text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def failure_reason(e: APIError) -> str:
    return f"{e.code or e.type}: {redact(e.message)}"


def request_id(ctx: RequestContext) -> str:
    """The id as the client saw it in ``x-request-id``."""
    return "req_" + ctx.request_id


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, orjson.dumps({"event": name, **fields}).decode())
