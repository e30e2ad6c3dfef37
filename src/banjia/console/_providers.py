"""The Providers page and its runtime switches: test, enable/disable, automatic probing.

Providers are configured in the YAML file; these only change the routing state, which
:class:`~banjia.routing.state.SharedRoutingState` carries to every replica through Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from banjia.console._failures import Failure, failures
from banjia.console._queries import Request, last_errors
from banjia.console._web import Page, page
from banjia.errors import APIError
from banjia.protocol.chat import ChatRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.providers import Provider
from banjia.routing.circuit import Availability, Disabled
from banjia.routing.logs import event, failure_reason, redact
from banjia.routing.state import SharedRoutingState
from banjia.routing.telemetry import BUCKETS, Histogram
from banjia.runtime import Runtime, provider_models
from banjia.vendors import model_capabilities

__all__ = ["disable", "enable", "probing", "providers", "quantile", "test_provider"]

OPERATOR_REASON = "operator: disabled in the console"

_log = logging.getLogger("banjia.routing")


@dataclass(frozen=True, slots=True)
class TestResult:
    provider: str
    model: str
    ok: bool
    ms: float
    answer: str = ""
    error: str = ""


def quantile(h: Histogram, q: float) -> float | None:
    """The ``q`` quantile of a latency histogram, in ms, interpolated within its bucket (as
    Prometheus's ``histogram_quantile`` does)."""
    if not h.count:
        return None
    rank = q * h.count
    seen = 0
    for i, n in enumerate(h.counts):
        if n and seen + n >= rank:
            low = BUCKETS[i - 1] if i > 0 else 0.0
            high = BUCKETS[i] if i < len(BUCKETS) else BUCKETS[-1]
            return 1000 * (low + (high - low) * (rank - seen) / n)
        seen += n
    return 1000 * BUCKETS[-1]


def _merged(hs: Iterable[Histogram]) -> Histogram:
    out = Histogram()
    for h in hs:
        out.counts = [a + b for a, b in zip(out.counts, h.counts, strict=True)]
        out.count += h.count
        out.sum += h.sum
    return out


def _models(rt: Runtime, name: str) -> list[str]:
    """What to offer for a test: the models the aliases route to first, then the catalog's."""
    chained = [t.model for r in rt.router.routes.values() for t in r.targets if t.provider == name]
    return list(dict.fromkeys([*chained, *provider_models(rt.config).get(name, [])]))


def _last_error(ledger: Request | None, logged: Failure | None) -> dict[str, Any] | None:
    """The newer of the provider's last failed request (ledger) and its last failed attempt
    (routing log; also attempts that a fallback then saved)."""
    if logged is not None and (ledger is None or logged.at >= ledger.created_at.timestamp()):
        return {"at": logged.at, "status": logged.status, "text": logged.reason,
                "request_id": logged.request_id, "model": logged.model}
    if ledger is None:
        return None
    return {"at": ledger.created_at, "status": ledger.status, "text": ledger.error_code or "",
            "request_id": ledger.request_id, "model": (ledger.upstream or "").partition("/")[2]}


def _unprobed(rt: Runtime) -> set[str]:
    return rt.routing.unprobed if rt.routing is not None else set()


async def _rows(p: Page) -> list[dict[str, Any]]:
    rt = p.rt
    state = rt.routing
    errors = await last_errors(rt.store) if rt.store is not None else {}
    stats = list(rt.telemetry.targets.values()) if rt.telemetry is not None else []
    unprobed = _unprobed(rt)
    seen = failures().latest
    now = state.clock() if state is not None else time.time()
    out = []
    for name, pc in rt.config.providers.items():
        circuits = []
        if state is not None:
            for key, c in sorted(state.circuits.items()):
                provider, _, model = key.partition("/")
                if provider == name and c.failures:
                    state_name = Availability(c.availability(now)).name.lower()
                    circuits.append({"model": model, "failures": c.failures,
                                     "state": "closed_some" if state_name == "closed" else state_name})
        mine = [s for s in stats if s.provider == name]
        latency = _merged(s.latency for s in mine)
        out.append({
            "name": name, "type": pc.type, "models": _models(rt, name),
            "disabled": state.disabled.get(name) if state is not None else None,
            "open": any(c["state"] in ("open", "half_open") for c in circuits), "circuits": circuits,
            "last_error": _last_error(errors.get(name), seen.get(name)),
            "p50": quantile(latency, 0.5), "p95": quantile(latency, 0.95),
            "attempts": sum(s.attempts for s in mine),
            "failures": sum(sum(s.failures.values()) for s in mine),
            "probing": name not in unprobed,
        })
    return out


async def _page(p: Page, result: TestResult | None = None) -> Response:
    shared = isinstance(p.rt.routing, SharedRoutingState)
    return p.render("providers.html", title="providers", providers=await _rows(p), shared=shared,
                    result=result)


@page
async def providers(p: Page) -> Response:
    return await _page(p)


def _name(p: Page) -> str | None:
    name = str(p.request.path_params["name"])
    return name if name in p.rt.providers else None


async def _probe(provider: Provider, model: str, limit: float) -> str:
    """One request as small as it gets, through the provider's real adaptor and transport."""
    caps = model_capabilities(provider.type, model) or frozenset()
    async with asyncio.timeout(limit):
        if "embeddings" in caps and "chat" not in caps:
            await provider.embeddings(EmbeddingRequest.model_validate({"model": model, "input": "ping"}),
                                      model)
            return ""
        req = ChatRequest.model_validate(
            {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1})
        result = await provider.chat(req, model)
    choices = result.get("choices") or [{}]
    message = choices[0].get("message") or {}
    return str(message.get("content") or "")[:200]


@page
async def test_provider(p: Page) -> Response:
    name = _name(p)
    if name is None:
        return p.render("error.html", status=404, title="error_title", message_key="no_such_provider")
    model = p.field("model") or next(iter(_models(p.rt, name)), "")
    started = time.monotonic()
    try:
        answer = await _probe(p.rt.providers[name], model, p.rt.config.routing.probe_timeout)
        result = TestResult(name, model, True, 0.0, answer=answer)
    except APIError as e:
        result = TestResult(name, model, False, 0.0, error=failure_reason(e))
    except TimeoutError:
        result = TestResult(name, model, False, 0.0, error="upstream_timeout: the probe timed out")
    except Exception as e:  # any failure is the test's answer, never a 500
        result = TestResult(name, model, False, 0.0, error=redact(f"{type(e).__name__}: {e}"))
    ms = (time.monotonic() - started) * 1000
    result = TestResult(result.provider, result.model, result.ok, ms, result.answer, result.error)
    event(_log, logging.INFO, "console_provider_test", provider=name, model=model, ok=result.ok)
    if p.htmx:
        return p.render("_test_result.html", result=result)
    return await _page(p, result)


def _set_probing(rt: Runtime, name: str, on: bool) -> None:
    if rt.routing is not None:
        rt.routing.set_probing(name, on)


@page
async def disable(p: Page) -> Response:
    name = _name(p)
    state = p.rt.routing
    if name is not None and state is not None:
        model = next(iter(_models(p.rt, name)), "")
        state.disable(name, Disabled(since=time.time(), reason=OPERATOR_REASON, endpoint="chat", model=model,
                                      by_operator=True))
        # a health probe must not undo an operator's choice
        _set_probing(p.rt, name, False)
        event(_log, logging.WARNING, "provider_disabled", provider=name, by="console")
    return p.redirect("/providers")


@page
async def enable(p: Page) -> Response:
    name = _name(p)
    state = p.rt.routing
    if name is not None and state is not None:
        state.enable(name)
        _set_probing(p.rt, name, True)
        event(_log, logging.WARNING, "provider_enabled", provider=name, by="console")
    return p.redirect("/providers")


@page
async def probing(p: Page) -> Response:
    name = _name(p)
    if name is not None:
        on = p.field("on") == "1"
        _set_probing(p.rt, name, on)
        event(_log, logging.INFO, "provider_probing", provider=name, on=on, by="console")
    return p.redirect("/providers")

