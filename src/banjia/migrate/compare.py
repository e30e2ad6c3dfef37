"""``banjia compare``: replay prompts on candidate models and weigh quality, latency and cost.

Every prompt goes to every candidate concurrently (bounded by ``--concurrency``), streamed so the
time to the first token is measured beside the whole answer's latency; tokens come from the
stream's usage chunk and CNY costs from banjia's catalog. Quality is scored against the prompts'
references (embedding cosine similarity on the same endpoint, exact and regex match) and, with
``--judge``, by a judge model comparing every pair of candidates twice, positions swapped, so a
judge's preference for the first (or second) answer cancels out.

Writes ``--out report.html`` (self-contained, inline SVG plots), ``report.md`` beside it (the
summary, naming the best replacement per budget) and ``report.json`` (every number). Prompts come
from ``--prompts FILE.jsonl`` or ``--from-capture`` (prompts captured from banjia's traffic); both
formats are described in :mod:`banjia.migrate._compare_prompts`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from banjia.migrate._compare_prompts import Prompt, PromptError, load_capture, load_prompts
from banjia.migrate._compare_report import Run, against_baseline, picks, render_markdown, summarize
from banjia.migrate._compare_run import Pricer, Sample, replay
from banjia.migrate._compare_score import judge_pairs, score_references

if TYPE_CHECKING:
    import openai
    from rich.console import Console

__all__ = ["CompareOptions", "Unreachable", "main_compare", "register", "run_compare",
           "write_reports"]


class Unreachable(Exception):
    """The endpoint does not answer at all: there is nothing to compare."""

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


@dataclass
class CompareOptions:
    base_url: str
    api_key: str
    models: list[str]
    prompts: list[Prompt]
    judge: str | None = None
    embedding_model: str = "text-embedding-3-small"
    concurrency: int = 4
    request_timeout: float = 120.0
    baseline: str | None = None
    within: list[float] = field(default_factory=lambda: [5.0, 10.0, 20.0])
    budgets: list[float] = field(default_factory=list)
    # configured provider name → provider type, for prices (from the gateway's config when at hand)
    provider_types: dict[str, str] = field(default_factory=dict)
    progress: bool = True


async def _owners(client: openai.AsyncOpenAI, base_url: str) -> dict[str, str]:
    """``owned_by`` per model from ``/models``; nothing when the endpoint has no such list.
    Raises :class:`Unreachable` when the endpoint does not answer at all."""
    import openai

    try:
        page = await client.models.list()
    except openai.APIConnectionError as e:
        raise Unreachable(f"cannot reach {base_url}: {e.__cause__ or e}") from None
    except openai.APIError:
        return {}
    return {m.id: m.owned_by for m in page.data if getattr(m, "owned_by", None)}


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


async def run_compare(opts: CompareOptions) -> Run:
    import openai

    client = openai.AsyncOpenAI(
        base_url=opts.base_url, api_key=opts.api_key, max_retries=2, timeout=opts.request_timeout
    )
    gate = asyncio.Semaphore(max(1, opts.concurrency))
    warnings: list[str] = []
    try:
        pricer = Pricer(await _owners(client, opts.base_url), opts.provider_types)
        with _progress(opts.progress) as bar:
            task = bar.add_task("replaying", total=len(opts.prompts) * len(opts.models))

            async def one(p: Prompt, m: str) -> Sample:
                async with gate:
                    s = await replay(client, p, m, pricer, opts.request_timeout)
                bar.advance(task)
                return s

            samples = list(await asyncio.gather(*(one(p, m) for p in opts.prompts for m in opts.models)))
            by_id = {p.id: p for p in opts.prompts}
            judging = bool(opts.judge) and len(opts.models) > 1
            for s in samples:
                p = by_id[s.prompt_id]
                s.scored = judging or p.reference is not None or p.match is not None
            if any(p.reference or p.match for p in opts.prompts):
                bar.update(task, description="scoring")
                warning = await score_references(client, by_id, samples, opts.embedding_model, gate)
                if warning:
                    warnings.append(warning)
            judged = None
            if opts.judge and len(opts.models) > 1:
                bar.update(task, description=f"judging with {opts.judge}")
                keyed = {(s.prompt_id, s.model): s for s in samples}
                judged = await judge_pairs(
                    client, opts.judge, opts.prompts, keyed, opts.models, gate, opts.request_timeout
                )
            elif opts.judge:
                warnings.append("--judge needs at least two models to compare; the judge was not asked.")
    finally:
        await client.close()
    summaries = [summarize(m, [s for s in samples if s.model == m], pricer) for m in opts.models]
    against_baseline(summaries, opts.baseline)
    if opts.baseline and opts.baseline not in opts.models:
        warnings.append(
            f"the baseline {opts.baseline!r} is not among the models; picks use the best quality."
        )
    return Run(
        endpoint=opts.base_url,
        models=list(opts.models),
        prompts=len(opts.prompts),
        samples=samples,
        summaries=summaries,
        picks=picks(summaries, within=opts.within, budgets=opts.budgets, baseline=opts.baseline),
        judge=judged,
        warnings=warnings,
        generated=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        baseline=opts.baseline,
    )


def write_reports(run: Run, prompts: Sequence[Prompt], out: str | Path) -> tuple[Path, Path, Path]:
    """``out`` (HTML), and the Markdown and JSON beside it; returns the three paths."""
    import json

    from banjia.migrate._compare_html import render_html

    html = Path(out)
    html.parent.mkdir(parents=True, exist_ok=True)
    md, js = html.with_suffix(".md"), html.with_suffix(".json")
    html.write_text(render_html(run, prompts), encoding="utf-8")
    md.write_text(render_markdown(run), encoding="utf-8")
    js.write_text(json.dumps(run.as_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    return html, md, js


# -- the command ---------------------------------------------------------------------------------
def _floats(text: str | None, flag: str) -> list[float]:
    if not text:
        return []
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers, not {text!r}") from None


def _endpoint(args: argparse.Namespace) -> tuple[str, str, dict[str, str]]:
    """Base URL, key and provider types: flags first, then the gateway's config, then the environment."""
    base, key, types = None, None, {}
    if args.config or os.environ.get("BANJIA_CONFIG"):
        from banjia.config import load_config

        cfg = load_config(args.config)
        host = "127.0.0.1" if cfg.server.host in ("0.0.0.0", "::") else cfg.server.host
        base, key = f"http://{host}:{cfg.server.port}/v1", cfg.server.master_key
        types = {name: p.type for name, p in cfg.providers.items()}
    base_url = args.base_url or base or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    api_key = args.api_key or key or os.environ.get("BANJIA_API_KEY") or os.environ.get("OPENAI_API_KEY")
    return base_url, api_key or "none", types


def _print_summary(run: Run, paths: Sequence[Path], console: Console) -> None:
    from rich.table import Table

    from banjia.migrate._compare_report import SUMMARY_COLUMNS, summary_row
    from banjia.migrate._term import NARROW, wrapped

    # the terminal gets the essentials; the reports have every column
    shown = ("model", "quality", "Δ quality", "latency p50 (s)", "CNY / 1k req", "saving",
             "errors")
    idx = [SUMMARY_COLUMNS.index(c) for c in shown]
    if console.width < NARROW:  # a list: a squeezed table is unreadable, piped or at 80 columns
        wrapped(console, f"banjia compare — {run.prompts} prompts", style="bold")
        for s in run.summaries:
            row = summary_row(s)
            wrapped(console, row[0], "    ", "")
            wrapped(console, ", ".join(f"{c} {row[i]}" for c, i in zip(shown[1:], idx[1:],
                                                                        strict=True)), "    ")
    else:
        table = Table(title=f"banjia compare — {run.prompts} prompts", title_justify="left")
        for i, c in enumerate(shown):
            table.add_column(c, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for s in run.summaries:
            row = summary_row(s)
            table.add_row(*(row[i] for i in idx))
        console.print(table)
    for p in run.picks:
        wrapped(console, f"{p.label}: " + (f"{p.model} — {p.why}" if p.model else f"none — {p.why}"),
                "  ", "")
    for w in run.warnings:
        wrapped(console, f"warning: {w}", "  ", "")
    wrapped(console, "reports: " + ", ".join(str(p) for p in paths), "  ", "")


def main_compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    try:
        if bool(args.prompts) == bool(args.from_capture):
            raise ValueError("give either --prompts FILE.jsonl or --from-capture PATH")
        prompts = load_prompts(args.prompts) if args.prompts else load_capture(args.from_capture)
        if args.limit:
            prompts = prompts[: args.limit]
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        if not models:
            raise ValueError("--models names no model")
        if len(set(models)) != len(models):
            raise ValueError("--models names a model twice")
        within = _floats(args.within, "--within")
        budgets = _floats(args.budgets, "--budgets")
    except (PromptError, ValueError) as e:
        print(f"banjia compare: {e}", file=sys.stderr)
        return 2
    try:
        import openai  # noqa: F401
    except ModuleNotFoundError:
        print("banjia compare needs the openai package: pip install openai", file=sys.stderr)
        return 2
    base_url, api_key, types = _endpoint(args)
    opts = CompareOptions(
        base_url=base_url,
        api_key=api_key,
        models=models,
        prompts=prompts,
        judge=args.judge,
        embedding_model=args.embedding_model,
        concurrency=args.concurrency,
        request_timeout=args.timeout,
        baseline=args.baseline,
        within=within,
        budgets=budgets,
        provider_types=types,
        progress=not args.no_progress,
    )
    try:
        run = asyncio.run(run_compare(opts))
    except Unreachable as e:
        print(f"banjia compare: {e}; nothing compared, no report written", file=sys.stderr)
        return 2
    paths = write_reports(run, prompts, args.out)
    _print_summary(run, paths, Console())
    return 1 if all(not s.ok for s in run.samples) else 0


def _base_url(value: str) -> str:
    from banjia.migrate._args import base_url

    return base_url(value)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "compare",
        help="replay prompts on candidate models: quality, latency, cost",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
    )
    p.add_argument("--prompts", help="JSONL: messages, optional reference, match, id, params")
    p.add_argument(
        "--from-capture", help="prompts captured from banjia's traffic (a .jsonl file or a folder)"
    )
    p.add_argument(
        "--models", required=True, help="comma-separated candidates, e.g. qwen/qwen-plus,deepseek/…"
    )
    p.add_argument(
        "--base-url", type=_base_url,
        help=f"default: the gateway of --config, else $OPENAI_BASE_URL, else {DEFAULT_BASE_URL}"
    )
    p.add_argument(
        "--api-key", help="default: the config's master key, else $BANJIA_API_KEY / $OPENAI_API_KEY"
    )
    p.add_argument(
        "--config", help="the gateway's config (default $BANJIA_CONFIG): its address, key, providers"
    )
    p.add_argument("--judge", help="a judge model for pairwise comparisons (positions swapped)")
    p.add_argument("--embedding-model", default="text-embedding-3-small")
    p.add_argument(
        "--out", default="report.html", help="the HTML report; report.md and report.json beside it"
    )
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    p.add_argument("--baseline", help="the model being replaced: picks are measured against its quality")
    p.add_argument(
        "--within", default="5,10,20", help="quality tolerances in %% for the picks (default 5,10,20)"
    )
    p.add_argument("--budgets", help="CNY per 1,000 requests: the best model within each budget")
    p.add_argument("--limit", type=int, help="replay only the first N prompts")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main_compare)
