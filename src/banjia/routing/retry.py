"""What a failed attempt means for the rest of the request: give up, move on, or try again later.

    FATAL     the request itself is at fault (bad parameter, content filter): every entry would
              refuse it, so the client gets the error at once
    SKIP      this entry cannot serve this request (a feature it lacks, a shorter context window);
              another may — move on, and the entry is not counted as failing
    DISABLE   the provider's account is unusable (credentials, balance): move on, and take the
              provider out of rotation until a health probe sees it answer
    TRANSIENT connection error, timeout, 429, 5xx, error inside a 200 body: move on, count a
              failure for the circuit, and perhaps retry the entry once the chain is done

Which one is decided from :class:`UpstreamError`'s ``retryable``/``disable`` (set by the
adaptors' error tables) and the error code, never from message text.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from banjia.errors import APIError, UpstreamError

__all__ = ["Action", "RetryPolicy", "classify", "retry_after"]

# codes meaning "not this entry" rather than "not this request"
_CAPABILITY = frozenset(
    {"unsupported_feature", "unsupported_endpoint", "context_length_exceeded", "model_not_found"}
)


class Action(enum.Enum):
    FATAL = "fatal"
    SKIP = "skip"
    DISABLE = "disable"
    TRANSIENT = "transient"


def classify(e: APIError) -> Action:
    if e.code in _CAPABILITY:
        return Action.SKIP
    if not isinstance(e, UpstreamError):
        return Action.FATAL
    if e.disable:
        return Action.DISABLE
    return Action.TRANSIENT if e.retryable else Action.FATAL


def retry_after(e: APIError) -> float | None:
    """Seconds the upstream asked to wait (``retry-after-ms``, then ``retry-after``), if any."""
    h = e.headers
    ms = h.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = h.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 1  # extra attempts per entry
    backoff: float = 0.25
    max_retry_after: float = 5.0

    def delay(self, e: UpstreamError) -> float | None:
        """Seconds before this entry may be tried again, or None: not worth retrying it."""
        if e.code == "upstream_timeout":
            return None  # it already cost a whole timeout; the next entry is a better bet
        wait = retry_after(e)
        if wait is None:
            return self.backoff
        return wait if wait <= self.max_retry_after else None
