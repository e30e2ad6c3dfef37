"""``banjia check``: a compatibility matrix of any OpenAI-style endpoint (banjia or a vendor's).

About thirty small probes, each a real request through the official ``openai`` SDK, run
concurrently (bounded), each under a timeout. Every probe ends as

- ``pass``: the endpoint behaves as an unmodified OpenAI client expects;
- ``unsupported``: it said clearly that it does not offer the feature (a 400 with an OpenAI error
  envelope, or a 404 for a whole endpoint);
- ``fail``: a wrong shape, a silently ignored parameter, a 5xx, a missing error envelope, a timeout.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from banjia.migrate import _check_chat, _check_other
from banjia.migrate._check_base import PROBES, Outcome, Probe, ProbeContext, RateLimitSeen, classify

if TYPE_CHECKING:
    import openai
    from rich.console import Console

__all__ = ["CheckReport", "Target", "main_check", "register", "run_checks"]

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

    @property
    def failed(self) -> bool:
        return any(r.status == "fail" for r in self.results)

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "model": self.model, "results": [r.as_json() for r in self.results]}

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "unsupported": 0}
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


async def run_checks(
    target: Target,
    *,
    only: Sequence[str] | None = None,
    concurrency: int = 8,
    probe_timeout: float = 60.0,
) -> CheckReport:
    """Run the probes against ``target``; results come back in the probes' order."""
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
    gate = asyncio.Semaphore(max(1, concurrency))
    probes = select(only)

    async def run(p: Probe) -> Outcome:
        async with gate:
            try:
                detail = await asyncio.wait_for(p.fn(ctx, ctx.model_for(p)), timeout)
            except Exception as e:
                return classify(p.feature, p, e, timeout)
            return Outcome(p.feature, "pass", detail)

    try:
        first = await asyncio.gather(*(run(p) for p in probes if not p.last))
        later = [await run(p) for p in probes if p.last]
    finally:
        await http.aclose()
    by_feature = {o.feature: o for o in [*first, *later]}
    return CheckReport(target.base_url, target.model, [by_feature[p.feature] for p in probes])


# -- output --------------------------------------------------------------------------------------
_STYLE = {"pass": "green", "fail": "bold red", "unsupported": "yellow"}


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
    console.print(f"{c['pass']} pass, {c['fail']} fail, {c['unsupported']} unsupported")


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
    report = asyncio.run(
        run_checks(target, only=only, concurrency=args.concurrency, probe_timeout=args.timeout)
    )
    if args.format == "json":
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        render_table(report, Console())
    return 1 if report.failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "check",
        help="compatibility matrix of any OpenAI-style endpoint",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
    )
    p.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="default: $OPENAI_BASE_URL")
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
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--list", action="store_true", help="list the probes and exit")
    p.set_defaults(func=main_check)
