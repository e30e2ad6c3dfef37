"""Closed-loop load: wrk (pinned to one CPU with taskset) with a Lua script that reports its summary
as JSON, or our own asyncio client when wrk is not installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.client import closed_loop
from bench.procs import cpu_seconds

__all__ = ["LoadSpec", "LoadStats", "load_tool", "run_load"]

_MARK = "BENCHJSON "


@dataclass(frozen=True)
class LoadSpec:
    port: int
    path: str
    bodies: tuple[bytes, ...]  # sent in turn; one body is the usual case
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = 1
    seconds: float = 5.0
    limit: int | None = None  # stop after this many answers (seconds stays an upper bound)


@dataclass
class LoadStats:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    tool: str
    server_cpu_s: float | None = None  # CPU time the server under test used during the run

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s * 1e6 / self.requests

    def to_json(self) -> dict[str, float | int | str | None]:
        return {**asdict(self), "cpu_us_per_request": self.cpu_us_per_request}


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def _lua_string(b: bytes) -> str:
    text = b.decode()
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def _script(spec: LoadSpec) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(spec.bodies[0])}"]
    for k, v in {"Content-Type": "application/json", **spec.headers}.items():
        lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
    if len(spec.bodies) > 1:
        bodies = ", ".join(_lua_string(b) for b in spec.bodies)
        lines += [
            f"local bodies = {{{bodies}}}",
            "local formatted = {}",
            "local turn = 0",
            "init = function(args)",
            "  for i, b in ipairs(bodies) do formatted[i] = wrk.format(nil, nil, nil, b) end",
            "end",
            "request = function()",
            "  turn = turn + 1",
            "  return formatted[(turn % #formatted) + 1]",
            "end",
        ]
    if spec.limit is not None:
        lines += [
            "local answered = 0",
            "response = function(status, headers, body)",
            "  answered = answered + 1",
            f"  if answered >= {spec.limit} then wrk.thread:stop() end",
            "end",
        ]
    lines += [
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        f'  io.write(string.format("{_MARK}{{\\"requests\\": %d, \\"duration_us\\": %d, '
        '\\"errors\\": %d, \\"p50\\": %d, \\"p90\\": %d, \\"p99\\": %d, \\"mean\\": %f}\\n", '
        "summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, "
        "latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _wrk_argv(spec: LoadSpec, script: Path, cpu: int | None) -> list[str]:
    argv = ["wrk", "-t1", f"-c{spec.connections}", f"-d{max(1, round(spec.seconds))}s", "--timeout", "30s",
            "-s", str(script), f"http://127.0.0.1:{spec.port}{spec.path}"]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu), *argv]
    return argv


async def _run_wrk(spec: LoadSpec, cpu: int | None) -> LoadStats:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as d:
        script = Path(d) / "load.lua"
        script.write_text(_script(spec))
        proc = await asyncio.create_subprocess_exec(
            *_wrk_argv(spec, script, cpu), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), spec.seconds + 60)
    text = out.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith(_MARK):
            got = json.loads(line[len(_MARK):])
            seconds = got["duration_us"] / 1e6
            return LoadStats(
                requests=got["requests"],
                seconds=seconds,
                rps=got["requests"] / seconds if seconds else 0.0,
                p50_ms=got["p50"] / 1000,
                p90_ms=got["p90"] / 1000,
                p99_ms=got["p99"] / 1000,
                mean_ms=got["mean"] / 1000,
                errors=got["errors"],
                tool="wrk",
            )
    tail = f"{text[-500:]} {err.decode(errors='replace')[-500:]}"
    raise RuntimeError(f"wrk printed no summary (exit {proc.returncode}): {tail}")


async def _run_python(spec: LoadSpec, cpu: int | None) -> LoadStats:
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        got = await closed_loop("127.0.0.1", spec.port, spec.path, spec.bodies[0],
                                {"content-type": "application/json", **spec.headers},
                                spec.connections, spec.seconds)
    finally:
        os.sched_setaffinity(0, before)
    lat = sorted(got.latencies_ms) or [0.0]
    return LoadStats(
        requests=got.requests,
        seconds=got.seconds,
        rps=got.requests / got.seconds if got.seconds else 0.0,
        p50_ms=lat[len(lat) // 2],
        p90_ms=lat[min(len(lat) - 1, int(len(lat) * 0.9))],
        p99_ms=lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        mean_ms=statistics.fmean(lat),
        errors=got.errors,
        tool="python",
    )


async def run_load(spec: LoadSpec, cpu: int | None, server_pid: int | None = None) -> LoadStats:
    """One closed-loop run; the load generator is pinned to ``cpu`` when given, and the CPU time
    of ``server_pid`` (with its children) over the run is recorded."""
    before = cpu_seconds(server_pid) if server_pid is not None else 0.0
    stats = await (_run_wrk(spec, cpu) if load_tool() == "wrk" else _run_python(spec, cpu))
    if server_pid is not None:
        stats.server_cpu_s = cpu_seconds(server_pid) - before
    return stats
