"""Counters and histograms for ``/metrics``, in Prometheus's text exposition format (0.0.4).

Recording is a dict lookup and an integer increment (no locks: one event loop per process). The
text is built only when scraped. Series are keyed by names from the configuration and by what
clients send (``provider/<anything>``), so their number is capped: past ``max_series`` new label
sets are counted under ``model="_other_"``. With several worker processes each keeps its own
figures; scrape each worker, or run one per container.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from banjia.context import RequestContext
from banjia.routing.router import Target
from banjia.routing.state import RoutingState

__all__ = ["BUCKETS", "Histogram", "TargetStats", "Telemetry"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_OTHER = "_other_"


class Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, v: float) -> None:
        self.counts[bisect_left(BUCKETS, v)] += 1
        self.sum += v
        self.count += 1


@dataclass(slots=True)
class TargetStats:
    provider: str
    model: str
    attempts: int = 0
    fallbacks: int = 0  # the request moved on from this target
    retries: int = 0
    failures: dict[int, int] = field(default_factory=dict)  # status → count
    latency: Histogram = field(default_factory=Histogram)  # attempt start → answer (first byte)


class Telemetry:
    def __init__(self, providers: Sequence[str] = (), max_series: int = 2000) -> None:
        self.providers = tuple(providers)
        self.max_series = max_series
        self.targets: dict[str, TargetStats] = {}
        self.requests: dict[tuple[str, str, str, str, int], int] = {}
        self.durations: dict[tuple[str, str, str], Histogram] = {}
        self._other: dict[str, TargetStats] = {}
        self.probes: dict[tuple[str, str], int] = {}  # (provider, "ok" | "failed") → health probes
        # more text to append (another layer's figures)
        self.collectors: list[Callable[[], Iterable[str]]] = []

    # -- recording ----------------------------------------------------------------------------
    def target(self, t: Target) -> TargetStats:
        s = self.targets.get(t.key)
        if s is None:
            if len(self.targets) >= self.max_series:
                s = self._other.get(t.provider)
                if s is None:
                    s = self._other[t.provider] = TargetStats(t.provider, _OTHER)
                return s
            s = self.targets[t.key] = TargetStats(t.provider, t.model)
        return s

    def probe(self, provider: str, ok: bool) -> None:
        key = (provider, "ok" if ok else "failed")
        self.probes[key] = self.probes.get(key, 0) + 1

    def request(self, ctx: RequestContext) -> None:
        provider = ctx.provider or ""
        upstream = ctx.upstream_model or ""
        model = ctx.model if provider else ""
        key = (ctx.endpoint, model, provider, upstream, ctx.status)
        n = self.requests.get(key)
        if n is None and len(self.requests) >= self.max_series:
            key = (ctx.endpoint, _OTHER, provider, _OTHER, ctx.status)
            n = self.requests.get(key)
        self.requests[key] = (n or 0) + 1
        if ctx.finished is not None:
            dkey = (ctx.endpoint, provider, upstream)
            h = self.durations.get(dkey)
            if h is None:
                if len(self.durations) >= self.max_series:
                    dkey = (ctx.endpoint, provider, _OTHER)
                    h = self.durations.get(dkey)
                if h is None:
                    h = self.durations[dkey] = Histogram()
            h.observe(ctx.finished - ctx.started)

    # -- exposition ---------------------------------------------------------------------------
    def render(self, state: RoutingState | None = None) -> str:
        out: list[str] = []
        stats = [*self.targets.values(), *self._other.values()]

        _family(out, "banjia_requests_total", "counter", "Client requests by outcome.")
        for (endpoint, model, provider, upstream, status), n in self.requests.items():
            labels = _labels(endpoint=endpoint, model=model, provider=provider, upstream_model=upstream,
                             status=str(status))
            out.append(f"banjia_requests_total{labels} {n}")

        _family(out, "banjia_request_duration_seconds", "histogram",
                "Client request duration, to the end of the answer (streams included).")
        for (endpoint, provider, upstream), h in self.durations.items():
            _histogram(out, "banjia_request_duration_seconds", h,
                       {"endpoint": endpoint, "provider": provider, "model": upstream})

        _family(out, "banjia_upstream_attempts_total", "counter", "Requests sent to a provider/model.")
        for s in stats:
            labels = _labels(provider=s.provider, model=s.model)
            out.append(f"banjia_upstream_attempts_total{labels} {s.attempts}")

        _family(out, "banjia_upstream_failures_total", "counter",
                "Failed attempts by the status the client would have seen.")
        for s in stats:
            for status, n in s.failures.items():
                labels = _labels(provider=s.provider, model=s.model, status=str(status))
                out.append(f"banjia_upstream_failures_total{labels} {n}")

        _family(out, "banjia_fallbacks_total", "counter",
                "Requests that moved on from this provider/model to the next entry.")
        for s in stats:
            out.append(f"banjia_fallbacks_total{_labels(provider=s.provider, model=s.model)} {s.fallbacks}")

        _family(out, "banjia_retries_total", "counter", "Repeated attempts of one provider/model.")
        for s in stats:
            out.append(f"banjia_retries_total{_labels(provider=s.provider, model=s.model)} {s.retries}")

        _family(out, "banjia_upstream_latency_seconds", "histogram",
                "Successful attempts: from sending to the answer (its first byte when streaming).")
        for s in stats:
            _histogram(out, "banjia_upstream_latency_seconds", s.latency,
                       {"provider": s.provider, "model": s.model})

        _family(out, "banjia_health_probes_total", "counter", "Health probes of disabled providers.")
        for (provider, outcome), n in self.probes.items():
            out.append(f"banjia_health_probes_total{_labels(provider=provider, outcome=outcome)} {n}")

        if state is not None:
            _family(out, "banjia_circuit_state", "gauge",
                    "Circuit per provider/model: 0 closed, 1 open, 2 half-open.")
            now = state.clock()
            circuits = list(state.circuits.items())
            for key, c in circuits:
                provider, _, model = key.partition("/")
                value = int(c.availability(now))
                out.append(f"banjia_circuit_state{_labels(provider=provider, model=model)} {value}")
            _family(out, "banjia_circuit_failures", "gauge", "Consecutive failures per provider/model.")
            for key, c in circuits:
                provider, _, model = key.partition("/")
                out.append(f"banjia_circuit_failures{_labels(provider=provider, model=model)} {c.failures}")
            _family(out, "banjia_provider_disabled", "gauge",
                     "1 while a provider is out of rotation after an auth or balance error.")
            for name in dict.fromkeys([*self.providers, *state.disabled]):
                out.append(f"banjia_provider_disabled{_labels(provider=name)} {int(name in state.disabled)}")

        for collect in self.collectors:
            out.extend(collect())
        out.append("")
        return "\n".join(out)


def _family(out: list[str], name: str, kind: str, help_: str) -> None:
    out.append(f"# HELP {name} {help_}")
    out.append(f"# TYPE {name} {kind}")


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _histogram(out: list[str], name: str, h: Histogram, labels: dict[str, str]) -> None:
    running = 0
    for bound, n in zip(BUCKETS, h.counts, strict=False):
        running += n
        out.append(f"{name}_bucket{_labels(**labels, le=_num(bound))} {running}")
    out.append(f"{name}_bucket{_labels(**labels, le='+Inf')} {h.count}")
    out.append(f"{name}_sum{_labels(**labels)} {h.sum!r}")
    out.append(f"{name}_count{_labels(**labels)} {h.count}")


def _num(v: float) -> str:
    return repr(v)
