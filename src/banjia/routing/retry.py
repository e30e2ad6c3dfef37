"""What a failed attempt means for the rest of the request, and when an entry is tried again.

Each failure carries its :class:`~banjia.errors.Action` (FAIL, SKIP, NEXT, RETRY, DISABLE), set
where the error was made: by a named constructor of :class:`~banjia.errors.UpstreamError` or an
adaptor's error table. Routing reads that field and nothing else — never the code the client sees.
An error that is not an :class:`~banjia.errors.UpstreamError` is the request's fault: FAIL.

:class:`RetryPolicy` says whether and when an entry that failed with RETRY is tried again: up to
``routing.retries`` times, after the upstream's ``retry-after`` (up to ``max_retry_after``) or an
exponential back-off, always within ``routing.total_timeout``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from banjia.config import RoutingConfig
from banjia.errors import Action, APIError, UpstreamError

__all__ = ["Action", "RetryPolicy", "classify", "retry_after"]


def classify(e: APIError) -> Action:
    return e.action if isinstance(e, UpstreamError) else Action.FAIL


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
    """``routing.retries``, ``retry_backoff`` and ``max_retry_after``; their defaults are the
    config's (:class:`~banjia.config.RoutingConfig`)."""

    retries: int  # attempts of one entry after its first, for RETRY failures
    backoff: float  # seconds before the first retry; doubled for each next one
    max_retry_after: float  # a longer retry-after is not waited for

    @classmethod
    def of(cls, r: RoutingConfig) -> RetryPolicy:
        return cls(retries=r.retries, backoff=r.retry_backoff, max_retry_after=r.max_retry_after)

    def delay(self, e: UpstreamError, retried: int = 0) -> float | None:
        """Seconds before an entry that failed with ``e`` is tried again, having been retried
        ``retried`` times already; None: not again."""
        if e.action is not Action.RETRY or retried >= self.retries:
            return None
        wait = retry_after(e)
        if wait is None:
            return self.backoff * 2.0**retried
        return wait if wait <= self.max_retry_after else None
