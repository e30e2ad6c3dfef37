"""What a comparison found: per-model summaries, the picks per budget, and the Markdown summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from banjia.migrate._compare_run import Pricer, Sample
from banjia.migrate._compare_score import JudgeStats

__all__ = ["ModelSummary", "Pick", "Run", "against_baseline", "percentile", "picks",
           "render_markdown", "summarize"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks; ``q`` in [0, 1]."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class ModelSummary:
    model: str
    requests: int
    errors: int
    latency_mean: float | None
    latency_p50: float | None
    latency_p95: float | None
    ttft_mean: float | None
    ttft_p50: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_cny: float | None
    similarity: float | None
    exact_rate: float | None
    match_rate: float | None
    judge: float | None
    quality: float | None
    upstreams: list[str] = field(default_factory=list)
    cost_note: str | None = None
    # against the baseline (--baseline): quality difference, and the share of its cost saved
    quality_delta: float | None = None
    saving_pct: float | None = None
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)

    @property
    def cost_per_1k(self) -> float | None:
        ok = self.requests - self.errors
        return self.cost_cny / ok * 1000 if self.cost_cny is not None and ok else None

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("latencies", "ttfts")}
        out["cost_per_1k_requests_cny"] = self.cost_per_1k
        return out


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(1 for f in flags if f) / len(flags) if flags else None


def _cost_note(samples: Sequence[Sample], pricer: Pricer) -> str | None:
    if pricer.price is None:
        return "the catalog has no price_cny yet"
    for s in samples:
        if s.ok and s.cost_cny is None:
            if s.prompt_tokens is None or s.completion_tokens is None:
                return "the endpoint reported no token usage"
            who = pricer.served_by(s.model, s.upstream)
            if who is None:
                return "who served the answers is not known"
            return f"no catalog price for {who[0]}/{who[1]}"
    return None


def summarize(model: str, samples: Sequence[Sample], pricer: Pricer) -> ModelSummary:
    ok = [s for s in samples if s.ok]
    lat = [s.latency_s for s in ok if s.latency_s is not None]
    ttft = [s.ttft_s for s in ok if s.ttft_s is not None]
    known_tokens = all(s.prompt_tokens is not None and s.completion_tokens is not None for s in ok)
    costs = [s.cost_cny for s in ok]
    qualities = [q for q in (s.quality for s in samples) if q is not None]
    return ModelSummary(
        model=model,
        requests=len(samples),
        errors=len(samples) - len(ok),
        latency_mean=_mean(lat),
        latency_p50=percentile(lat, 0.5),
        latency_p95=percentile(lat, 0.95),
        ttft_mean=_mean(ttft),
        ttft_p50=percentile(ttft, 0.5),
        prompt_tokens=sum(s.prompt_tokens or 0 for s in ok) if known_tokens and ok else None,
        completion_tokens=sum(s.completion_tokens or 0 for s in ok) if known_tokens and ok else None,
        cost_cny=sum(c for c in costs if c is not None) if ok and all(c is not None for c in costs) else None,
        similarity=_mean([s.similarity for s in ok if s.similarity is not None]),
        exact_rate=_rate([s.exact for s in ok if s.exact is not None]),
        match_rate=_rate([s.matched for s in ok if s.matched is not None]),
        judge=_mean([s.judge for s in ok if s.judge is not None]),
        quality=_mean(qualities),
        upstreams=sorted({s.upstream for s in ok if s.upstream}),
        cost_note=_cost_note(samples, pricer),
        latencies=lat,
        ttfts=ttft,
    )


def against_baseline(summaries: Sequence[ModelSummary], baseline: str | None) -> None:
    """Fill each model's quality difference and saving against the baseline model."""
    base = next((s for s in summaries if s.model == baseline), None)
    if base is None:
        return
    for s in summaries:
        if s.quality is not None and base.quality is not None:
            s.quality_delta = s.quality - base.quality
        if s.cost_per_1k is not None and base.cost_per_1k:
            s.saving_pct = (1 - s.cost_per_1k / base.cost_per_1k) * 100


# -- picks ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Pick:
    label: str
    model: str | None
    why: str


def _fmt_cost(s: ModelSummary) -> str:
    c = s.cost_per_1k
    return "cost unknown" if c is None else f"CNY {c:.4g} per 1,000 requests"


def _fmt_q(q: float | None) -> str:
    return "n/a" if q is None else f"{q:.3f}"


def picks(
    summaries: Sequence[ModelSummary],
    *,
    within: Sequence[float] = (5, 10, 20),
    budgets: Sequence[float] = (),
    baseline: str | None = None,
) -> list[Pick]:
    """The best replacement per budget: quality first, then cost, then speed. A model whose
    every request failed is never picked."""
    out: list[Pick] = []
    answered = [s for s in summaries if s.requests > s.errors]
    if not answered:
        return [Pick("Best quality", None, "every request failed: nothing to pick")]
    summaries = answered
    rated = [s for s in summaries if s.quality is not None]
    if not rated:
        priced = [s for s in summaries if s.cost_per_1k is not None and s.requests > s.errors]
        if priced:
            best = min(priced, key=lambda s: (s.cost_per_1k or 0.0, s.latency_p50 or 0.0))
            out.append(
                Pick(
                    "Cheapest (no quality scores: add references, match or --judge)",
                    best.model,
                    _fmt_cost(best),
                )
            )
        timed = [s for s in summaries if s.latency_p50 is not None]
        if timed:
            fast = min(timed, key=lambda s: s.latency_p50 or 0.0)
            out.append(Pick("Fastest", fast.model, f"median latency {fast.latency_p50:.3f} s"))
        return out
    best = max(rated, key=lambda s: (s.quality or 0.0, -(s.cost_per_1k or float("inf"))))
    out.append(Pick("Best quality", best.model, f"quality {_fmt_q(best.quality)}, {_fmt_cost(best)}"))
    base = next((s for s in rated if s.model == baseline), None)
    ref, ref_name = (
        (base.quality or 0.0, f"{baseline}'s quality") if base else (best.quality or 0.0, "the best quality")
    )
    pool = [s for s in rated if s.model != baseline]
    for pct in within:
        close = [s for s in pool if (s.quality or 0.0) >= ref * (1 - pct / 100) - 1e-12]
        priced = [s for s in close if s.cost_per_1k is not None]
        label = f"Cheapest within {pct:g}% of {ref_name}"
        if priced:
            c = min(priced, key=lambda s: (s.cost_per_1k or 0.0, -(s.quality or 0.0)))
            out.append(Pick(label, c.model, f"quality {_fmt_q(c.quality)}, {_fmt_cost(c)}"))
        else:
            why = "no model comes that close" if not close else "none of the close models has a known cost"
            out.append(Pick(label, None, why))
    if within:
        pct = max(within)
        close = [s for s in pool if (s.quality or 0.0) >= ref * (1 - pct / 100) - 1e-12 and s.latency_p50]
        if close:
            f = min(close, key=lambda s: s.latency_p50 or 0.0)
            out.append(
                Pick(
                    f"Fastest within {pct:g}% of {ref_name}", f.model, f"median latency {f.latency_p50:.3f} s"
                )
            )
    for budget in budgets:
        fits = [s for s in pool if s.cost_per_1k is not None and s.cost_per_1k <= budget]
        label = f"Best quality at most CNY {budget:g} per 1,000 requests"
        if fits:
            b = max(fits, key=lambda s: (s.quality or 0.0, -(s.cost_per_1k or 0.0)))
            out.append(Pick(label, b.model, f"quality {_fmt_q(b.quality)}, {_fmt_cost(b)}"))
        else:
            out.append(Pick(label, None, "no model with a known cost fits"))
    return out


# -- the run and its Markdown --------------------------------------------------------------------
@dataclass
class Run:
    endpoint: str
    models: list[str]
    prompts: int
    samples: list[Sample]
    summaries: list[ModelSummary]
    picks: list[Pick]
    judge: JudgeStats | None = None
    warnings: list[str] = field(default_factory=list)
    generated: str = ""
    baseline: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "generated": self.generated,
            "models": self.models,
            "prompts": self.prompts,
            "baseline": self.baseline,
            "summaries": [s.as_json() for s in self.summaries],
            "picks": [{"label": p.label, "model": p.model, "why": p.why} for p in self.picks],
            "judge": self.judge.as_json() if self.judge else None,
            "warnings": self.warnings,
            "samples": [s.as_json() for s in self.samples],
        }


def num(v: float | int | None, digits: int = 3) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:.{digits}f}"


def pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.0f}%"


SUMMARY_COLUMNS = (
    "model",
    "quality",
    "Δ quality",
    "similarity",
    "exact",
    "match",
    "judge",
    "latency p50 (s)",
    "p95 (s)",
    "TTFT p50 (s)",
    "prompt tokens",
    "completion tokens",
    "cost CNY",
    "CNY / 1k req",
    "saving",
    "errors",
)


def summary_row(s: ModelSummary) -> list[str]:
    return [
        s.model,
        _fmt_q(s.quality),
        "–" if s.quality_delta is None else f"{s.quality_delta:+.3f}",
        _fmt_q(s.similarity),
        pct(s.exact_rate),
        pct(s.match_rate),
        _fmt_q(s.judge),
        num(s.latency_p50),
        num(s.latency_p95),
        num(s.ttft_p50),
        num(s.prompt_tokens),
        num(s.completion_tokens),
        num(s.cost_cny, 6),
        num(s.cost_per_1k, 4),
        "–" if s.saving_pct is None else f"{s.saving_pct:.0f}%",
        f"{s.errors}/{s.requests}",
    ]


def notes(run: Run) -> list[str]:
    out: list[str] = []
    for s in run.summaries:
        if s.cost_note:
            out.append(f"`{s.model}`: cost unknown — {s.cost_note}.")
        if s.upstreams and s.upstreams != [s.model]:
            out.append(f"`{s.model}` was served by {', '.join(f'`{u}`' for u in s.upstreams)}.")
    j = run.judge
    if j is not None:
        consistency = "n/a" if j.consistency is None else f"{j.consistency * 100:.0f}%"
        judged = max(1, j.calls - j.errors - j.unparsed)
        first = f"{j.first_wins / judged * 100:.0f}%"
        out.append(
            f"Judge `{j.model}`: {j.calls} calls over {j.pairs} pairs, each judged in both orders; the "
            f"winner survived the swap in {consistency} of pairs; the answer shown first won {first} of "
            f"verdicts ({j.errors} errors, {j.unparsed} unreadable verdicts counted as ties)."
        )
    out.extend(run.warnings)
    return out


def render_markdown(run: Run) -> str:
    lines = [
        f"# banjia compare — {run.prompts} prompts × {len(run.models)} models",
        "",
        f"Endpoint `{run.endpoint}`, generated {run.generated}."
        + (f" Baseline: `{run.baseline}`." if run.baseline else ""),
        "",
        "## Best replacement per budget",
        "",
    ]
    for p in run.picks:
        lines.append(f"- **{p.label}**: " + (f"`{p.model}` — {p.why}" if p.model else f"none — {p.why}"))
    lines += ["", "## Models", "", "| " + " | ".join(SUMMARY_COLUMNS) + " |"]
    lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(SUMMARY_COLUMNS))) + "|")
    for s in run.summaries:
        lines.append("| " + " | ".join(summary_row(s)) + " |")
    lines += [
        "",
        "Quality is the mean per prompt of the scores it has: regex match (1/0), embedding similarity to the "
        "reference, and the judge's pairwise score; a failed request scores 0.",
    ]
    if run.baseline:
        lines += [
            "",
            f"Δ quality and saving are against the baseline `{run.baseline}`: the difference in quality, "
            "and the share of its cost per 1,000 requests that each model saves.",
        ]
    n = notes(run)
    if n:
        lines += ["", "## Notes", ""] + [f"- {x}" for x in n]
    return "\n".join(lines) + "\n"
