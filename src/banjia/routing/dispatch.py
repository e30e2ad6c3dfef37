"""One request along its route: which entry to try next, when to retry, when to give up.

The order is the route's tiers, equals drawn by weight (:mod:`banjia.routing.balance`). Each
entry is tried once, skipping open circuits (a half-open one is tried by the one request that
claims its probe) and disabled providers (kept as a last resort: if nothing else answers, they are
tried after all, and a success enables them again). Then the entries that failed with RETRY are
tried again, up to ``routing.retries`` times each, after their ``retry-after`` (capped) or a
back-off (:class:`banjia.routing.retry.RetryPolicy`). Every attempt is bounded by what is left of
``total_timeout``, counted from the request's arrival, so a client never waits past it: with the
bound reached the answer is a 504.

What each failure means is the error's :class:`~banjia.errors.Action`, read by
:func:`banjia.routing.retry.classify`; this module applies it, keeps the circuits, metrics and
logs informed, and raises the error the client should see.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from banjia.context import RequestContext
from banjia.deadline import Deadline
from banjia.errors import APIError, UpstreamError
from banjia.providers import Provider
from banjia.routing import balance
from banjia.routing.circuit import Availability, Disabled
from banjia.routing.logs import event, failure_reason
from banjia.routing.logs import request_id as _rid
from banjia.routing.retry import Action, RetryPolicy, classify
from banjia.routing.router import Route, Target
from banjia.routing.state import RoutingState
from banjia.routing.telemetry import TargetStats, Telemetry

__all__ = ["Dispatcher"]

T = TypeVar("T")

log = logging.getLogger("banjia.routing")

_CLOSED = Availability.CLOSED
_OPEN = Availability.OPEN
_DISABLED = Availability.DISABLED


class Dispatcher:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        state: RoutingState,
        telemetry: Telemetry,
        *,
        policy: RetryPolicy,
        total_timeout: float,
        weights: Mapping[str, int],
    ) -> None:
        self.providers = providers
        self.state = state
        self.telemetry = telemetry
        self.policy = policy
        self.total_timeout = total_timeout
        self.weights = weights

    async def run(
        self,
        ctx: RequestContext,
        route: Route,
        call: Callable[[Provider, Target], Awaitable[T]],
        *,
        stream: bool = False,
    ) -> tuple[T, Target]:
        """``call`` along ``route`` until one entry answers: (its answer, that entry).

        With ``stream``, the answer is only the start of a stream: the entry's health is settled
        when it ends, by :meth:`stream_ended` or :meth:`after_first_byte`."""
        state = self.state
        order = balance.order(route, self.weights) if route.balanced else route.targets
        deadline = ctx.started + self.total_timeout
        last: APIError | None = None
        later: list[tuple[Target, float]] | None = None  # transient failures to retry: (entry, not before)
        held: list[Target] | None = None  # disabled providers, the last resort
        blocked: list[Target] | None = None  # open circuits
        switched_off: list[Target] = []  # disabled by an operator: never tried
        moved_from: TargetStats | None = None
        retried: dict[str, int] = {}  # entry → times it was retried
        i, n = 0, len(order)
        while True:
            forced = False
            not_before = 0.0
            if i < n:
                t = order[i]
                i += 1
            elif held:
                t = held.pop(0)
                forced = True
            elif later:
                t, not_before = later.pop(0)
            else:
                break
            probing = False
            avail = state.check(t)
            if avail is not _CLOSED and not forced:
                if avail is _DISABLED:
                    down = state.disabled.get(t.provider)
                    if down is not None and down.by_operator:
                        switched_off.append(t)
                    elif not not_before:
                        held = held or []  # first pass: keep it as a last resort
                        held.append(t)
                    continue
                if avail is _OPEN or not await state.claim_probe(t):
                    blocked = blocked or []
                    blocked.append(t)
                    moved_from = self.telemetry.target(t)
                    continue
                probing = True
            now = time.monotonic()
            if not_before > now:
                if not_before >= deadline:
                    continue  # cannot wait that long
                await asyncio.sleep(not_before - now)
                now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                if probing:
                    state.release_probe(t)
                last = self._deadline_error(ctx, t)
                break

            stats = self.telemetry.target(t)
            stats.attempts += 1
            if not_before:
                stats.retries += 1
            elif moved_from is not None:
                moved_from.fallbacks += 1
            moved_from = None
            provider = self.providers[t.provider]
            ctx.provider, ctx.provider_type, ctx.upstream_model = t.provider, provider.type, t.model
            ctx.attempts.append(t.key)
            timer = Deadline()
            err: APIError
            try:
                result = await timer.run(remaining, call(provider, t))
            except TimeoutError as e:
                if timer.fired:
                    self._cut_by_deadline(ctx, t, probing=probing, started=now)
                    last = self._deadline_error(ctx, t)
                    break
                err = _unforeseen(t, e)
            except APIError as e:
                err = e
            except Exception as e:
                # an answer no adaptor rule foresaw: the next entry may do better; the trace is logged
                log.exception("unexpected failure calling %s (request %s)", t.key, _rid(ctx))
                err = _unforeseen(t, e)
            except BaseException:
                if probing:
                    state.release_probe(t)  # the client went away: no verdict
                raise
            else:
                stats.latency.observe(time.monotonic() - now)
                if not stream:
                    state.success(t)
                if forced and state.enable(t.provider):
                    event(log, logging.WARNING, "provider_enabled", provider=t.provider, model=t.model,
                          by="request", request_id=_rid(ctx))
                return result, t

            action = classify(err)
            if action is Action.FAIL:
                if isinstance(err, UpstreamError):
                    state.success(t)  # it answered: the request was at fault, not the upstream
                elif probing:
                    state.release_probe(t)  # refused before reaching the upstream: no verdict
                raise err
            if not (forced and action is Action.DISABLE and last is not None):
                last = err  # (a last resort failing as before says less than the error before it)
            moved_from = stats
            delay = self._failed(ctx, t, err, action, stats, probing=probing, started=now,
                                 retried=None if forced else retried.get(t.key, 0))
            if delay is not None:
                retried[t.key] = retried.get(t.key, 0) + 1
                later = later or []
                later.append((t, time.monotonic() + delay))

        if last is None:
            if switched_off and not blocked:
                names = ", ".join(sorted({t.provider for t in switched_off}))
                raise APIError(503, f"No upstream for '{route.name}' is available: {names} disabled by "
                               "an operator (enable it in the console).", type="upstream_error",
                               code="upstream_unavailable")
            raise self._unavailable(route, blocked or [])
        raise last

    def _failed(
        self,
        ctx: RequestContext,
        t: Target,
        err: APIError,
        action: Action,
        stats: TargetStats,
        *,
        probing: bool,
        started: float,
        retried: int | None,
    ) -> float | None:
        """Record a failed attempt; the seconds before retrying the entry, or None. ``retried``:
        how often the entry was retried already (None: it may not be)."""
        state = self.state
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        if action is Action.SKIP:
            if probing:
                state.release_probe(t)
            event(log, logging.INFO, "upstream_skipped", request_id=_rid(ctx), provider=t.provider,
                  model=t.model, status=err.status, reason=failure_reason(err))
            return None
        stats.failures[err.status] = stats.failures.get(err.status, 0) + 1
        if action is Action.DISABLE:
            if probing:
                state.release_probe(t)
            down = Disabled(
                since=time.time(),
                reason=failure_reason(err),
                endpoint="embeddings" if ctx.endpoint == "embeddings" else "chat",
                model=t.model,
            )
            fresh = state.disable(t.provider, down)
            event(log, logging.WARNING, "provider_disabled" if fresh else "upstream_failed",
                  request_id=_rid(ctx), provider=t.provider, model=t.model, status=err.status,
                  reason=down.reason, elapsed_ms=elapsed_ms)
            return None
        assert isinstance(err, UpstreamError)  # only those are transient
        circuit = state.failure(t)
        delay = self.policy.delay(err, retried) if retried is not None else None
        if circuit.open_until:
            delay = None
        event(log, logging.WARNING, "upstream_failed", request_id=_rid(ctx), provider=t.provider,
              model=t.model, status=err.status, reason=failure_reason(err), elapsed_ms=elapsed_ms,
              failures=circuit.failures, circuit="open" if circuit.open_until else "closed",
              retry_in_s=delay)
        return delay

    def _cut_by_deadline(self, ctx: RequestContext, t: Target, *, probing: bool, started: float) -> None:
        # it only counts against the entry if it had most of the bound to answer in
        if time.monotonic() - started >= self.total_timeout / 2:
            self.state.failure(t)
        elif probing:
            self.state.release_probe(t)
        event(log, logging.WARNING, "deadline_reached", request_id=_rid(ctx), provider=t.provider,
              model=t.model, bound_s=self.total_timeout, attempts=ctx.attempts)

    def stream_ended(self, t: Target, *, complete: bool) -> None:
        """A stream opened by :meth:`run` ended: complete (a success), or the client went away."""
        if complete:
            self.state.success(t)
        else:
            self.state.release_probe(t)

    def after_first_byte(self, ctx: RequestContext, t: Target, e: APIError) -> None:
        """A stream broke after its first byte: no fallback, but the entry's health hears of it."""
        if classify(e) not in (Action.RETRY, Action.NEXT):
            self.state.success(t)  # it answered; the request was at fault
            return
        stats = self.telemetry.target(t)
        stats.failures[e.status] = stats.failures.get(e.status, 0) + 1
        circuit = self.state.failure(t)
        event(log, logging.WARNING, "stream_broken", request_id=_rid(ctx), provider=t.provider,
              model=t.model, status=e.status, reason=failure_reason(e), failures=circuit.failures,
              circuit="open" if circuit.open_until else "closed")

    def _deadline_error(self, ctx: RequestContext, t: Target) -> UpstreamError:
        return UpstreamError(
            504,
            f"No upstream answered within {self.total_timeout:g} s "
            f"(tried: {', '.join(ctx.attempts) or t.key}).",
            provider=t.provider,
            action=Action.NEXT,
            code="upstream_timeout",
        )

    def _unavailable(self, route: Route, blocked: list[Target]) -> APIError:
        now = self.state.clock()
        untils = [self.state.open_until(t) for t in blocked]
        wait = max(1, math.ceil(min(untils) - now)) if untils else 1
        names = ", ".join(t.key for t in blocked) or route.name
        return APIError(
            503,
            f"No upstream for '{route.name}' is available right now ({names}: failing, paused for "
            f"up to {wait} s).",
            type="upstream_error",
            code="upstream_unavailable",
            headers={"retry-after": str(wait)},
        )


def _unforeseen(t: Target, e: Exception) -> UpstreamError:
    """An exception a provider let through (instead of an UpstreamError): a transient failure."""
    if isinstance(e, TimeoutError):
        return UpstreamError.timeout(t.provider, "no answer within the time limit")
    return UpstreamError.broken(t.provider, f"the answer could not be read ({type(e).__name__})")
