"""From measurements to the results file and the table: machine and commit, ratios, the issue's
targets met or missed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LoadStats
from bench.local import Generation
from bench.plan import B1, B1_NOSTORE, BASE, BN, DIRECT, LITELLM

__all__ = ["finish", "local_summary", "render", "rss_summary"]

REPO = Path(__file__).resolve().parent.parent
_COLUMNS = (DIRECT, B1, BN, B1_NOSTORE, LITELLM)
_LABELS = {DIRECT: "direct", B1: "banjia 1w", BN: "banjia Nw", B1_NOSTORE: "banjia 1w no store",
           LITELLM: "LiteLLM", BASE: "banjia 1w baseline"}
_ALT = "banjia-1w-"  # banjia 1w with another HTTP client (bench.plan.alt_target)


def _columns(r: dict[str, Any]) -> list[str]:
    """The fixed columns, with the baseline and the other HTTP clients after banjia 1w."""
    seen = {col for s in r["scenarios"].values() for col in s["targets"]}
    extra = sorted(c for c in seen if c == BASE or (c.startswith(_ALT) and c not in _COLUMNS))
    ordered = [DIRECT, B1, *extra, BN, B1_NOSTORE, LITELLM]
    return [c for c in ordered if c in seen]


def _label(col: str) -> str:
    return _LABELS.get(col) or f"banjia 1w {col.removeprefix(_ALT)}"


# -- pieces computed during the run -------------------------------------------------------------
def rss_summary(before: int, samples: list[tuple[float, int]], stats: LoadStats) -> dict[str, Any]:
    """Warm-up is the first 10% of the soak; after it the resident set should stay within ±10%."""
    end_t = samples[-1][0]
    warm = [rss for t, rss in samples if t >= end_t * 0.1] or [samples[-1][1]]
    base = warm[0]
    half = [rss for t, rss in samples if t >= end_t * 0.5] or [samples[-1][1]]
    mib = 2**20
    return {
        "requests": stats.requests,
        "seconds": round(stats.seconds, 1),
        "rps": round(stats.rps, 1),
        "errors": stats.errors,
        "samples": len(samples),
        "before_mib": round(before / mib, 1),
        "after_warmup_mib": round(base / mib, 1),
        "end_mib": round(warm[-1] / mib, 1),
        "min_mib": round(min(warm) / mib, 1),
        "max_mib": round(max(warm) / mib, 1),
        "drift_pct": round((warm[-1] - base) / base * 100, 2),
        "band_pct": round(max(abs(max(warm) - base), abs(min(warm) - base)) / base * 100, 2),
        # the second half alone: a cache that fills for a while is not a leak, steady growth is
        "second_half_band_pct": round((max(half) - min(half)) / half[0] * 100, 2),
        "series_mib": [[round(t, 2), round(r / mib, 1)] for t, r in samples],
    }


def local_summary(side: dict[str, list[Generation]], threads: int, max_tokens: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n_threads": threads, "n_ctx": 4096, "max_tokens": max_tokens,
                           "temperature": 0.0}
    for name, gens in side.items():
        out[name] = {
            "tokens_per_s": statistics.median(g.tokens_per_s for g in gens),
            "tokens": [g.tokens for g in gens],
            "first_token_ms": statistics.median(g.first_token_s * 1000 for g in gens),
            "runs": [g.to_json() for g in gens],
        }
    return out


# -- machine and commit -------------------------------------------------------------------------
def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _mem_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return 0.0


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    wrk = _run(["wrk", "-v"]).splitlines()[0] if shutil.which("wrk") else None
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "mem_gib": _mem_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "wrk": wrk,
        "versions": {d: _version(d) for d in ("banjia", "uvicorn", "uvloop", "httptools", "starlette",
                                               "aiohttp", "pydantic", "orjson", "llama_cpp_python")},
    }


def commit() -> dict[str, Any]:
    # changed and new files by name (``git status --porcelain`` starts with a status column that
    # the output's .strip() would eat on its first line, and with it a letter of the path)
    changed = _run(["git", "diff", "--name-only", "HEAD", "--", "src"]).splitlines()
    added = _run(["git", "ls-files", "--others", "--exclude-standard", "--", "src"]).splitlines()
    dirty = sorted({p for p in (*changed, *added) if p})
    spec = importlib.util.find_spec("banjia")
    measured = str(Path(spec.origin).parent) if spec is not None and spec.origin else None
    return {"sha": _run(["git", "rev-parse", "HEAD"]), "subject": _run(["git", "log", "-1", "--format=%s"]),
            "src_changes_not_committed": dirty,
            # the banjia that ran: this checkout's src/, unless PYTHONPATH put another tree first
            "banjia_measured": measured}


# -- targets ------------------------------------------------------------------------------------
def _get(d: dict[str, Any], *path: str) -> Any:
    cur: Any = d
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    ns32 = ("scenarios", "nonstream_c32", "targets")
    ns1 = ("scenarios", "nonstream_c1", "targets")
    b1 = _get(r, *ns32, B1, "rps")
    rows: list[tuple[str, str, float | None, float, bool]] = [
        ("1w non-stream 32 conns vs LiteLLM", "≥ 20×", _ratio(b1, _get(r, *ns32, LITELLM, "rps")), 20, True),
        ("1w non-stream 32 conns vs direct", "≥ 15%", _ratio(b1, _get(r, *ns32, DIRECT, "rps")), 0.15, True),
        ("added median latency, 1 conn (ms)", "≤ 1 ms",
         _diff(_get(r, *ns1, B1, "p50_ms"), _get(r, *ns1, DIRECT, "p50_ms")), 1.0, False),
        ("added TTFB p50, stream (ms)", "≤ 1 ms",
         _diff(_get(r, "ttfb", B1, "p50_ms"), _get(r, "ttfb", DIRECT, "p50_ms")), 1.0, False),
        ("RSS band after warm-up (%)", "within ±10%", _get(r, "rss", "band_pct"), 10.0, False),
        ("local tokens/s, banjia vs direct", "≥ 95%",
         _ratio(_get(r, "local", "banjia", "tokens_per_s"), _get(r, "local", "direct", "tokens_per_s")),
         0.95, True),
        ("N workers vs 1, non-stream 32 conns", "≥ 1.7×", _ratio(_get(r, *ns32, BN, "rps"), b1), 1.7, True),
    ]
    if _get(r, *ns32, BASE) is not None:  # a --baseline run: the speed targets are ratios to it
        s32 = ("scenarios", "stream_c32", "targets")
        rows += [
            ("1w non-stream 32 conns vs baseline", "≥ 2×", _ratio(b1, _get(r, *ns32, BASE, "rps")), 2.0,
             True),
            ("1w stream 32 conns vs baseline", "≥ 3×",
             _ratio(_get(r, *s32, B1, "rps"), _get(r, *s32, BASE, "rps")), 3.0, True),
        ]
    out = []
    for name, target, value, bound, higher in rows:
        met = None if value is None else (value >= bound if higher else value <= bound)
        out.append({"target": name, "goal": target, "measured": value, "met": met})
    return out


def finish(results: dict[str, Any]) -> dict[str, Any]:
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"] = machine()
    results["commit"] = commit()
    results["store"] = (
        "banjia.store present: keys and the usage ledger in a temporary SQLite file (banjia 1w, Nw); "
        "'banjia 1w no store' runs the same app with NullAccounting and the master key only"
        if importlib.util.find_spec("banjia.store") is not None
        else "banjia.store absent: every banjia run used in-memory accounting"
    )
    results["targets"] = targets(results)
    return results


# -- the table ----------------------------------------------------------------------------------
def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "–"
    if unit == "×":
        return f"{v:.2f}×" if v < 10 else f"{v:.1f}×"
    if unit == "%":
        return f"{v * 100:.1f}%"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    c = r["commit"]
    head = [
        f"banjia benchmark ({r['mode']}), commit {c['sha'][:10]}"
        + (" + uncommitted changes in src/" if c["src_changes_not_committed"] else "")
        + ("" if c.get("banjia_measured") == str(REPO / "src" / "banjia") else
           f" (banjia measured from {c.get('banjia_measured')})")
        + f", {r['finished_at']}",
        f"machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}; "
        f"load average before/after {r['load_before'][0]:.2f}/{r['load_after'][0]:.2f}",
        f"load: {r['load_tool']}; {r['pinning']}; N = {r['workers_n']}; "
        f"LiteLLM {r.get('litellm_version') or '–'}",
        f"store: {r['store']}",
        "",
    ]
    cols = _columns(r)
    table = [
        _row(["scenario", "metric", *(_label(col) for col in cols), "banjia/direct", "banjia/LiteLLM"]),
        _row(["---"] * (len(cols) + 4)),
    ]
    for s in r["scenarios"].values():
        t = s["targets"]
        for metric, key in (("req/s", "rps"), ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"),
                            ("µs CPU/req", "cpu_us_per_req")):
            vals = [_get(t, col, key) for col in cols]
            b1 = _get(t, B1, key)
            table.append(_row([s["title"], metric, *(_fmt(v) for v in vals),
                               _fmt(_ratio(b1, _get(t, DIRECT, key)), "×"),
                               _fmt(_ratio(b1, _get(t, LITELLM, key)), "×")]))
    tt = r.get("ttfb", {})
    table.append(_row(["stream TTFB (own client)", "p50 ms", *(_fmt(_get(tt, col, "p50_ms")) for col in cols),
                       _fmt(_ratio(_get(tt, B1, "p50_ms"), _get(tt, DIRECT, "p50_ms")), "×"),
                       _fmt(_ratio(_get(tt, B1, "p50_ms"), _get(tt, LITELLM, "p50_ms")), "×")]))
    idle = r.get("idle_rss_mib", {})
    table.append(_row(["RSS after warm-up", "MiB", *(_fmt(idle.get(col)) for col in cols), "", ""]))
    lines = head + table + [""]
    rss = r.get("rss")
    if rss:
        lines.append(
            f"RSS, banjia 1w over {rss['requests']:,} requests (9 non-stream : 1 stream, 32 conns, "
            f"{rss['rps']:.0f} req/s, {rss['errors']} errors): {rss['before_mib']} MiB before, "
            f"{rss['after_warmup_mib']} after warm-up, {rss['end_mib']} at the end "
            f"(min {rss['min_mib']}, max {rss['max_mib']}; drift {rss['drift_pct']:+.1f}%; "
            f"second half of the run within {rss.get('second_half_band_pct', 0.0):.1f}%)"
        )
    loc = r.get("local")
    if loc:
        lines.append(
            f"local model (bundled SmolLM2-135M GGUF, n_threads={loc['n_threads']}, greedy, "
            f"{loc['max_tokens']} max tokens): direct {loc['direct']['tokens_per_s']:.1f} tok/s, "
            f"through banjia {loc['banjia']['tokens_per_s']:.1f} tok/s; first token "
            f"{loc['direct']['first_token_ms']:.1f} vs {loc['banjia']['first_token_ms']:.1f} ms"
        )
    lines += ["", _row(["target", "goal", "measured", "met"]), _row(["---"] * 4)]
    for t in r["targets"]:
        v = t["measured"]
        goal = t["goal"]
        shown = "–" if v is None else (
            f"{v * 100:.1f}%" if "%" in goal and "RSS" not in t["target"] else
            f"{v:.2f}×" if "×" in goal else f"{v:.2f}"
        )
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(_row([t["target"], goal, shown, met]))
    for note in r.get("notes", []):
        lines.append(f"note: {note}")
    lines.append(f"\nwall time {r['wall_s']} s (measurement {r['duration_s']} s)")
    return "\n".join(lines)
