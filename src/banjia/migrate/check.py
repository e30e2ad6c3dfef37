"""``banjia check``: a compatibility matrix of any OpenAI-style endpoint (banjia or a vendor's).

About thirty small probes, each a real request through the official ``openai`` SDK, run
concurrently under a timeout each. Concurrency adapts to the endpoint (``--concurrency auto``,
the default): it grows while answers come quickly and falls back when they slow down or time
out, and a probe that timed out runs once more on its own at the end, because a single local
model queues concurrent requests. Every probe ends as

- ``pass``: the endpoint behaves as an unmodified OpenAI client expects;
- ``unsupported``: it said clearly that it does not offer the feature (a 400 with an OpenAI error
  envelope, or a 404 for a whole endpoint);
- ``fail``: a wrong shape, a silently ignored parameter, a 5xx, a missing error envelope;
- ``timeout``: no answer in time, twice — slow or busy, not incompatible.

Some endpoints serve features on other models (vision, tools, JSON): ``--model-for GROUP=MODEL``
(or ``FEATURE=MODEL``) sends those probes elsewhere; ``banjia check --list`` shows the groups.
``--format json`` prints ``{"target", "model", "results": [{"feature", "status", "detail"}]}``;
the exit code is 0 when nothing fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from banjia.migrate import _check_chat, _check_other
from banjia.migrate._check_base import PROBES, Outcome, Probe, ProbeContext, RateLimitSeen, classify

if TYPE_CHECKING:
    import openai
    from rich.console import Console

__all__ = ["CheckReport", "Target", "Window", "main_check", "register", "run_checks"]

MAX_CONCURRENCY = 8

_LOADED = (_check_chat, _check_other)  # importing them registers their probes


@dataclass(frozen=True, slots=True)
class Target:
    base_url: str
    api_key: str
    model: str
    embedding_model: str = "text-embedding-3-small"
    models_for: dict[str, str] = field(default_factory=dict)


@dataclass
class CheckReport:
    target: str
    model: str
    results: list[Outcome]
    # probes that timed out while others ran, and ran once more on their own
    retried: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "model": self.model, "results": [r.as_json() for r in self.results]}

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "unsupported": 0, "timeout": 0}
        for r in self.results:
            out[r.status] += 1
        return out


def _client_factory(target: Target, timeout: float, seen: list[RateLimitSeen]) -> tuple[Any, Any]:
    """One HTTP connection pool for the whole run (a new one per client costs an SSL context each),
    with a hook that records every 429; and a factory of SDK clients over it."""
    import openai

    async def on_response(response: Any) -> None:
        if response.status_code == 429:
            seen.append(
                RateLimitSeen(str(response.request.url), {k.lower(): v for k, v in response.headers.items()})
            )

    http = openai.DefaultAsyncHttpxClient(event_hooks={"response": [on_response]}, timeout=timeout)

    def make(**options: Any) -> openai.AsyncOpenAI:
        settings: dict[str, Any] = {
            "base_url": target.base_url,
            "api_key": target.api_key,
            "timeout": timeout,
            "max_retries": 1,
            **options,
        }
        return openai.AsyncOpenAI(http_client=http, **settings)

    return http, make


def select(only: Sequence[str] | None = None) -> list[Probe]:
    if not only:
        return list(PROBES)
    wanted = set(only)
    unknown = wanted - {p.feature for p in PROBES} - {p.group for p in PROBES}
    if unknown:
        raise ValueError(f"unknown probe or group: {', '.join(sorted(unknown))}")
    return [p for p in PROBES if p.feature in wanted or p.group in wanted]


class Window:
    """How many probes may be in flight: additive increase while answers come back in less than
    half the timeout, halving when they come slower, one after a timeout or a 429 (a single
    local model, or a rate limit, queues what it is sent)."""

    def __init__(self, limit: int = MAX_CONCURRENCY, start: int = 2, fixed: bool = False) -> None:
        self.limit = max(1, limit)
        self.size = self.limit if fixed else max(1, min(start, self.limit))
        self.fixed = fixed
        self.active = 0
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> Window:
        async with self._changed:
            await self._changed.wait_for(lambda: self.active < self.size)
            self.active += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._changed:
            self.active -= 1
            self._changed.notify_all()

    def record(self, seconds: float, timeout: float, status: str, throttled: bool = False) -> None:
        """Adjust to one answer: its latency, against the probe timeout, and its outcome."""
        if self.fixed:
            return
        if status == "timeout" or throttled:
            self.size = 1
        elif seconds > timeout / 2:
            self.size = max(1, self.size // 2)
        else:
            self.size = min(self.limit, self.size + 1)


async def run_checks(
    target: Target,
    *,
    only: Sequence[str] | None = None,
    concurrency: int | None = None,
    probe_timeout: float = 60.0,
) -> CheckReport:
    """Run the probes against ``target``; results come back in the probes' order.
    ``concurrency`` None adapts to the endpoint (:class:`Window`); a number fixes it."""
    timeout = probe_timeout
    seen: list[RateLimitSeen] = []
    http, make = _client_factory(target, timeout, seen)
    client = make()
    ctx = ProbeContext(
        client=client,
        base_url=target.base_url,
        api_key=target.api_key,
        model=target.model,
        embedding_model=target.embedding_model,
        timeout=timeout,
        models_for=target.models_for,
        rate_limits=seen,
        make_client=make,
    )
    window = Window(concurrency or MAX_CONCURRENCY, fixed=concurrency is not None)
    probes = select(only)

    async def run(p: Probe, limit: float = timeout) -> Outcome:
        async with window:
            throttled = len(seen)
            started = time.monotonic()
            try:
                detail = await asyncio.wait_for(p.fn(ctx, ctx.model_for(p)), limit)
                outcome = Outcome(p.feature, "pass", detail)
            except Exception as e:
                outcome = classify(p.feature, p, e, limit)
            window.record(time.monotonic() - started, limit, outcome.status,
                          throttled=len(seen) > throttled)
            return outcome

    try:
        first = await asyncio.gather(*(run(p) for p in probes if not p.last))
        # what timed out while others queued gets one more try, alone and with twice the time:
        # an endpoint that queues still works off what the abandoned requests asked for
        retry = {o.feature for o in first if o.status == "timeout"}
        if retry:
            window.size, window.fixed = 1, True
            again = {o.feature: o for o in [await run(p, 2 * timeout) for p in probes
                                            if p.feature in retry]}
            first = [again.get(o.feature, o) for o in first]
        later = [await run(p) for p in probes if p.last]
    finally:
        await http.aclose()
    by_feature = {o.feature: o for o in [*first, *later]}
    return CheckReport(target.base_url, target.model, [by_feature[p.feature] for p in probes],
                       sorted(retry))


# -- output --------------------------------------------------------------------------------------
_STYLE = {"pass": "green", "fail": "bold red", "unsupported": "yellow", "timeout": "magenta"}


def render_table(report: CheckReport, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"banjia check — {report.target} — model {report.model}", title_justify="left")
    table.add_column("feature", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for r in report.results:
        table.add_row(r.feature, f"[{_STYLE[r.status]}]{r.status}[/]", r.detail)
    console.print(table)
    c = report.counts()
    console.print(f"{c['pass']} pass, {c['fail']} fail, {c['unsupported']} unsupported"
                  + (f", {c['timeout']} timed out (slow or busy, not incompatible)"
                     if c["timeout"] else ""))
    if report.retried:
        console.print(f"{len(report.retried)} probe(s) timed out while others ran and were "
                      "run again alone: the endpoint serves few requests at a time")


def render_list(console: Console) -> None:
    from rich.table import Table

    table = Table(title="banjia check probes")
    table.add_column("feature", no_wrap=True)
    table.add_column("group", no_wrap=True)
    table.add_column("what it checks")
    for p in PROBES:
        table.add_row(p.feature, p.group, p.summary)
    console.print(table)


def _pairs(values: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, model = v.partition("=")
        if not sep or not key or not model:
            raise ValueError(f"--model-for takes GROUP=MODEL or FEATURE=MODEL, not {v!r}")
        out[key.strip()] = model.strip()
    return out


def main_check(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.list:
        render_list(Console())
        return 0
    missing = [n for n, v in (("--base-url", args.base_url), ("--model", args.model)) if not v]
    if missing:
        print(f"banjia check: {' and '.join(missing)} required", file=sys.stderr)
        return 2
    try:
        models_for = _pairs(args.model_for)
        only = [s for part in args.only or [] for s in part.split(",") if s]
        select(only)
        target = Target(args.base_url, args.api_key or "none", args.model, args.embedding_model, models_for)
    except ValueError as e:
        print(f"banjia check: {e}", file=sys.stderr)
        return 2
    try:
        import openai  # noqa: F401
    except ModuleNotFoundError:
        print("banjia check needs the openai package: pip install openai", file=sys.stderr)
        return 2
    concurrency = None if args.concurrency == "auto" else int(args.concurrency)
    report = asyncio.run(
        run_checks(target, only=only, concurrency=concurrency, probe_timeout=args.timeout)
    )
    if args.format == "json":
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        render_table(report, Console())
    return 1 if report.failed else 0


def _base_url(value: str) -> str:
    from banjia.migrate._args import base_url

    return base_url(value)


def _concurrency(value: str) -> str:
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: pass auto or a number of probes, 1 or more")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "check",
        help="compatibility matrix of any OpenAI-style endpoint",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
    )
    p.add_argument("--base-url", type=_base_url, default=os.environ.get("OPENAI_BASE_URL"),
                   help="default: $OPENAI_BASE_URL")
    p.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"), help="default: $OPENAI_API_KEY")
    p.add_argument("--model", help="the chat model to probe")
    p.add_argument("--embedding-model", default="text-embedding-3-small")
    p.add_argument(
        "--model-for",
        action="append",
        metavar="GROUP=MODEL",
        help="probe a group (tools, json, vision, responses…) or one feature on another model; repeatable",
    )
    p.add_argument("--only", action="append", metavar="FEATURES", help="comma-separated probes or groups")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per probe (default 60)")
    p.add_argument("--concurrency", type=_concurrency, default="auto",
                   help="probes at once: auto (adapts to the endpoint, default) or a number")
    p.add_argument("--list", action="store_true", help="list the probes and exit")
    p.set_defaults(func=main_check)
