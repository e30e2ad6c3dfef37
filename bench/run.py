"""One run: install what is missing, start every server, measure the scenarios interleaved, soak,
compare the local model, stop everything, print the table and write the results."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from bench import install, report
from bench.client import Connection, HTTPError
from bench.load import LoadSpec, LoadStats, load_tool, run_load
from bench.local import DirectModel, Generation, through_gateway
from bench.plan import (
    B1,
    B1_NOSTORE,
    BASE,
    BN,
    DIRECT,
    LITELLM,
    LOADGEN_CPU,
    Plan,
    Scenario,
    alt_target,
    plan_for,
)
from bench.procs import Server, free_port, rss_bytes, start, stop, wait_ready
from bench.targets import (
    BANJIA_KEY,
    CHAT_PATH,
    LITELLM_ENV,
    LITELLM_KEY,
    MODEL,
    REPO,
    Target,
    alt_argv,
    banjia_argv,
    banjia_config,
    baseline_argv,
    chat_body,
    fake_argv,
    litellm_argv,
    litellm_config,
    nostore_argv,
)

__all__ = ["main"]


def _say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _pythonpath(first: Path) -> str:
    """``first`` ahead of the caller's own PYTHONPATH, if any."""
    return os.pathsep.join(p for p in (str(first), os.environ.get("PYTHONPATH")) if p)


class Bench:
    def __init__(self, plan: Plan, work: Path, *, litellm: bool, local: bool, baseline: Path | None = None,
                 transports: tuple[str, ...] = ()) -> None:
        self.plan = plan
        self.work = work
        self.want_litellm = litellm
        self.want_local = local
        self.baseline = baseline
        self.transports = transports
        # measured wherever banjia 1w is: the baseline tree and the other HTTP clients
        self.extra = ((BASE,) if baseline else ()) + tuple(alt_target(t) for t in transports)
        self.workers = max(2, os.cpu_count() or 2)
        self.servers: dict[str, Server] = {}
        self.targets: dict[str, Target] = {}
        self.results: dict[str, Any] = {"scenarios": {}, "notes": []}

    # -- servers ------------------------------------------------------------------------------
    def _start_all(self) -> None:
        w = self.work
        fake_port = free_port()
        self.servers[DIRECT] = start("fake", fake_argv(fake_port), fake_port, w, cwd=REPO)
        self.targets[DIRECT] = Target(DIRECT, "direct (fake)", fake_port, {})
        auth = {"authorization": f"Bearer {BANJIA_KEY}"}
        if self.want_litellm and (exe := install.ensure_litellm()) is not None:
            port = free_port()
            cfg = w / "litellm.yaml"
            cfg.write_text(litellm_config(fake_port))
            self.servers[LITELLM] = start(LITELLM, litellm_argv(cfg, port), port, w, env=LITELLM_ENV, cwd=w)
            self.targets[LITELLM] = Target(LITELLM, "LiteLLM 1w", port,
                                           {"authorization": f"Bearer {LITELLM_KEY}"})
            self.results["litellm_bin"] = str(exe)
        threads = _llama_threads()

        def banjia(name: str, label: str, argv: Callable[[Path, int], list[str]], *, workers: int = 1,
                   db: str = "", env: dict[str, str] | None = None, cwd: Path = w) -> None:
            """A banjia server on the fake, with a config of its own: another tree, client or app."""
            port = free_port()
            cfg = w / f"{name}.yaml"
            cfg.write_text(banjia_config(port, fake_port, w / (db or f"{name}.db"), workers, threads))
            self.servers[name] = start(name, argv(cfg, port), port, w, env=env, cwd=cwd)
            self.targets[name] = Target(name, label, port, auth)

        for name, workers in ((B1, 1), (BN, self.workers)):
            banjia(name, f"banjia {workers}w", partial(banjia_argv, workers=workers), workers=workers)
        banjia(B1_NOSTORE, "banjia 1w no store", nostore_argv, db="unused.db", cwd=REPO)
        if self.baseline is not None:
            banjia(BASE, f"banjia 1w {self.baseline.name}", baseline_argv,
                   env={"PYTHONPATH": _pythonpath(self.baseline / "src")})
        for transport in self.transports:
            banjia(alt_target(transport), f"banjia 1w {transport}",
                   partial(alt_argv, transport),
                   env={"PYTHONPATH": _pythonpath(REPO), "BENCH_BASELINE": str(self.baseline or "")})

    async def _wait_all(self) -> None:
        body = chat_body(stream=False)

        async def ready(name: str) -> None:
            server = self.servers[name]
            timeout = 180.0 if name == LITELLM else 60.0
            try:
                await wait_ready(server, CHAT_PATH, body, self.targets[name].headers, timeout)
            except RuntimeError as e:
                if name in (LITELLM, B1_NOSTORE, *self.extra):  # optional: the run goes on without them
                    self.results["notes"].append(f"{name} did not start: {str(e).splitlines()[0]}")
                    _say(f"{name} did not start; going on without it:\n{e}")
                    stop(server)
                    del self.servers[name], self.targets[name]
                    return
                raise

        await ready(DIRECT)
        # LiteLLM takes longest to start: the others are warmed up meanwhile
        slow = asyncio.create_task(ready(LITELLM)) if LITELLM in self.servers else None
        try:
            await asyncio.gather(*(ready(n) for n in list(self.servers) if n not in (DIRECT, LITELLM)))
            await self._warm([n for n in self.targets if n != LITELLM])
        finally:
            if slow is not None:
                await slow
        if LITELLM in self.targets:
            await self._warm([LITELLM])
        self.results["ready_after_s"] = {n: round(s.ready_after_s or 0.0, 2) for n, s in self.servers.items()}

    def _stop(self, *names: str) -> None:
        for n in names:
            s = self.servers.pop(n, None)
            if s is not None:
                stop(s)

    # -- throughput and latency ---------------------------------------------------------------
    def _spec(self, target: Target, scenario: Scenario, seconds: float) -> LoadSpec:
        return LoadSpec(target.port, CHAT_PATH, (chat_body(stream=scenario.stream),), target.headers,
                        scenario.connections, seconds)

    async def _warm(self, names: list[str]) -> None:
        """A first run at 32 connections of each kind a target is measured in (one kind in quick
        mode), so that no measured run pays for imports, first connections and caches."""
        scenarios = [s for s in self.plan.scenarios if s.connections > 1]
        for scenario in scenarios[: 1 if self.plan.mode == "quick" else None]:
            for name in names:
                if name in self._names(scenario) and name in self.targets:
                    await run_load(self._spec(self.targets[name], scenario, self.plan.warmup_seconds),
                                   LOADGEN_CPU)

    async def _rounds(self) -> None:
        runs: dict[str, dict[str, list[LoadStats]]] = {s.key: {} for s in self.plan.scenarios}
        for r in range(self.plan.rounds):
            for scenario in self.plan.scenarios:
                names = [n for n in self._names(scenario) if n in self.targets]
                k = r % len(names)
                for name in names[k:] + names[:k]:  # rotate so no target always runs first
                    stats = await run_load(self._spec(self.targets[name], scenario, self.plan.seconds),
                                           LOADGEN_CPU, self.servers[name].pid)
                    runs[scenario.key].setdefault(name, []).append(stats)
                    if not stats.requests:
                        self.results["notes"].append(f"{name}, {scenario.title}: no answer completed "
                                                     f"within a {self.plan.seconds:.0f} s run")
                    _say(f"round {r + 1} {scenario.key:14} {name:18} {stats.rps:10.1f} req/s "
                         f"p50 {stats.p50_ms:8.3f} ms  {stats.cpu_us_per_request or 0:8.0f} µs CPU/req  "
                         f"errors {stats.errors}")
        for scenario in self.plan.scenarios:
            self.results["scenarios"][scenario.key] = {
                "title": scenario.title,
                "stream": scenario.stream,
                "connections": scenario.connections,
                "targets": {name: _summary(stats) for name, stats in runs[scenario.key].items()},
            }

    def _names(self, scenario: Scenario) -> tuple[str, ...]:
        return scenario.targets + (self.extra if B1 in scenario.targets else ())

    # -- time to first byte -------------------------------------------------------------------
    async def _ttfb(self) -> None:
        body = chat_body(stream=True)
        names = [n for n in (DIRECT, B1, BN, LITELLM, *self.extra) if n in self.targets]
        got: dict[str, list[float]] = {n: [] for n in names}
        totals: dict[str, list[float]] = {n: [] for n in names}
        for r in range(self.plan.ttfb_rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                t = self.targets[name]
                conn = Connection("127.0.0.1", t.port)
                try:
                    for _ in range(self.plan.ttfb_requests):
                        reply = await conn.request("POST", CHAT_PATH, body,
                                                   {"content-type": "application/json", **t.headers})
                        if reply.status == 200 and reply.ttfb_ms is not None:
                            got[name].append(reply.ttfb_ms)
                            totals[name].append(reply.latency_ms)
                except (HTTPError, OSError) as e:
                    self.results["notes"].append(f"ttfb {name}: {e}")
                finally:
                    await conn.close()
        self.results["ttfb"] = {
            name: {"n": len(v), "p50_ms": _pct(v, 50), "p90_ms": _pct(v, 90),
                   "stream_total_p50_ms": _pct(totals[name], 50)}
            for name, v in got.items()
        }

    # -- memory over a long run ---------------------------------------------------------------
    async def _soak(self) -> None:
        t = self.targets[B1]
        pid = self.servers[B1].pid
        # nine non-stream requests to one stream, the two paths that hold per-request state
        bodies = (*(chat_body(stream=False) for _ in range(9)), chat_body(stream=True))
        # consecutive wrk runs of a few seconds until enough requests are served (wrk itself has no
        # request count), the resident set sampled meanwhile
        samples: list[tuple[float, int]] = []
        runs: list[LoadStats] = []
        started = time.perf_counter()
        deadline = started + self.plan.soak_seconds
        before = rss_bytes(pid)

        async def load() -> None:
            served = 0
            while served < self.plan.soak_requests and time.perf_counter() < deadline:
                spec = LoadSpec(t.port, CHAT_PATH, bodies, t.headers, 32, self.plan.soak_chunk_s)
                runs.append(await run_load(spec, LOADGEN_CPU))
                served += runs[-1].requests

        task = asyncio.create_task(load())
        while not task.done():
            samples.append((time.perf_counter() - started, rss_bytes(pid)))
            await asyncio.wait({task}, timeout=self.plan.soak_sample_s)
        task.result()
        samples.append((time.perf_counter() - started, rss_bytes(pid)))
        self.results["rss"] = report.rss_summary(before, samples, _merged(runs))

    # -- the local model ----------------------------------------------------------------------
    async def _local(self) -> None:
        from banjia.adaptors.local import bundled_model_path

        t = self.targets[B1]
        threads = _llama_threads()
        direct = DirectModel(bundled_model_path(), threads, 4096, self.plan.local_max_tokens)
        await direct.start()
        try:
            model = "local/default"
            # both sides warm (banjia loads the model on first use) before anything is timed
            await through_gateway(t.port, t.headers, model, 8)
            await direct.generate()
            side: dict[str, list[Generation]] = {"direct": [], "banjia": []}
            calls: dict[str, Callable[[], Awaitable[Generation]]] = {
                "direct": direct.generate,
                "banjia": lambda: through_gateway(t.port, t.headers, model, self.plan.local_max_tokens),
            }
            for r in range(self.plan.local_rounds):
                order = ["direct", "banjia"] if r % 2 == 0 else ["banjia", "direct"]
                for name in order:
                    g = await calls[name]()
                    side[name].append(g)
                    _say(f"local round {r + 1} {name:7} {g.tokens} tokens {g.tokens_per_s:7.1f} tok/s")
        finally:
            await direct.stop()
        self.results["local"] = report.local_summary(side, threads, self.plan.local_max_tokens)

    # -- the whole run ------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.results["load_before"] = os.getloadavg()
        self._start_all()
        try:
            phases = self.results["phases_s"] = {}
            mark = time.perf_counter()

            def lap(name: str) -> None:
                nonlocal mark
                now = time.perf_counter()
                phases[name] = round(now - mark, 1)
                mark = now

            await self._wait_all()
            lap("start_and_warm")
            _say(f"servers ready: {self.results['ready_after_s']}")
            self.results["idle_rss_mib"] = {n: round(rss_bytes(s.pid) / 2**20, 1)
                                            for n, s in self.servers.items()}
            await self._rounds()
            lap("rounds")
            await self._ttfb()
            lap("ttfb")
            # idle, but nothing else should run beside the next two
            self._stop(LITELLM, BN, B1_NOSTORE, *self.extra)
            await self._soak()
            lap("soak")
            if self.want_local:
                try:
                    async with asyncio.timeout(self.plan.local_limit_s):
                        await self._local()
                except TimeoutError:
                    self.results["notes"].append(
                        f"local model scenario stopped after {self.plan.local_limit_s:.0f} s "
                        "(is something else using the CPU?)")
            lap("local")
        finally:
            self._stop(*list(self.servers))
        self.results["load_after"] = os.getloadavg()
        self.results["duration_s"] = round(time.perf_counter() - started, 1)
        self.results["workers_n"] = self.workers
        return self.results


def _llama_threads() -> int:
    """llama.cpp's threads for both sides of the local comparison: one core fewer than the machine
    has, so the gateway's event loop and the client never preempt a decoding thread (with every
    core busy, llama.cpp's threads wait on each other and tokens/s collapses at random)."""
    return max(1, (os.cpu_count() or 1) - 1)


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def _merged(runs: list[LoadStats]) -> LoadStats:
    """Consecutive runs as one: totals, and the medians of their percentiles."""
    requests = sum(s.requests for s in runs)
    seconds = sum(s.seconds for s in runs)
    return LoadStats(
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=statistics.median(s.p50_ms for s in runs),
        p90_ms=statistics.median(s.p90_ms for s in runs),
        p99_ms=statistics.median(s.p99_ms for s in runs),
        mean_ms=statistics.fmean(s.mean_ms for s in runs),
        errors=sum(s.errors for s in runs),
        tool=runs[0].tool,
    )


def _median_or_none(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


def _summary(stats: list[LoadStats]) -> dict[str, Any]:
    answered = [s for s in stats if s.requests]  # a run in which no answer completed has no latency
    return {
        "rps": statistics.median(s.rps for s in stats),
        "p50_ms": statistics.median(s.p50_ms for s in answered) if answered else None,
        "p90_ms": statistics.median(s.p90_ms for s in answered) if answered else None,
        "p99_ms": statistics.median(s.p99_ms for s in answered) if answered else None,
        "cpu_us_per_req": _median_or_none([s.cpu_us_per_request for s in stats]),
        "errors": sum(s.errors for s in stats),
        "requests": sum(s.requests for s in stats),
        "runs": [s.to_json() for s in stats],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="banjia vs the limit vs LiteLLM")
    parser.add_argument("--quick", action="store_true", help="about a minute instead of several")
    parser.add_argument("--out", type=Path, help="results file (default bench/results.json, "
                                                   "bench/results-quick.json with --quick)")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (no install, no run)")
    parser.add_argument("--no-local", action="store_true", help="skip the local model scenario")
    parser.add_argument("--baseline", type=Path, metavar="TREE",
                        help="also measure banjia 1w from TREE/src (e.g. `git worktree add TREE COMMIT`), "
                             "interleaved with this tree's, for old-vs-new ratios")
    parser.add_argument("--transports", default="", metavar="NAMES",
                        help="also measure banjia 1w with these HTTP clients behind its transport, "
                             "comma-separated: aiohttp, httpcore, pyreqwest, http1 (the --baseline "
                             "tree's client) (bench/transports.py)")
    args = parser.parse_args(argv)
    plan = plan_for(args.quick)
    out: Path = args.out or REPO / "bench" / ("results-quick.json" if args.quick else "results.json")
    install.ensure_wrk()
    if not args.no_litellm:
        install.ensure_litellm()  # one-time; outside the timed run
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="banjia-bench-") as d:
        transports = tuple(t for t in args.transports.split(",") if t)
        bench = Bench(plan, Path(d), litellm=not args.no_litellm, local=not args.no_local,
                      baseline=args.baseline.resolve() if args.baseline else None, transports=transports)
        results = asyncio.run(bench.run())
    results["mode"] = plan.mode
    results["plan"] = {k: v for k, v in vars(plan).items() if k != "scenarios"}
    results["load_tool"] = load_tool()
    results["pinning"] = (
        f"load generator (wrk -t1) pinned with `taskset -c {LOADGEN_CPU}`; the fake upstream, banjia and "
        "LiteLLM are not pinned (the scheduler spreads them over every CPU)"
    )
    results["model"] = MODEL
    results["litellm_version"] = install.litellm_version()
    results["wall_s"] = round(time.perf_counter() - began, 1)
    final = report.finish(results)
    out.write_bytes(orjson.dumps(final, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    print(report.render(final))
    _say(f"results written to {out}")
    return 0
