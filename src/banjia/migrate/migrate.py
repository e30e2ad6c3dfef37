"""``banjia migrate``: the guided path from an app on OpenAI to the same app on banjia.

1. **scan** the code and configuration (scan-rules.md);
2. **plan** per file: what rewrite changes, and what a person must do and why
   (:mod:`banjia.migrate._plan`);
3. **rewrite**, as a dry run unless ``--apply``;
4. **check** the target endpoint (``--check-model``, with ``--check-url``/``--check-key``);
   skipped, with the reason, when none is given;
5. **compare** candidate models on the app's prompts (``--prompts`` and ``--models``), optionally;
6. a **Markdown migration report** (``--report``, default ``banjia-migration.md``).

``--format json`` prints ``{"target", "files": [{"path", "changes"}], "needs_human": [{"path",
"line", "reason", "what"}], "check": {…} | null, "report"}`` (interface.md) plus the scan summary,
the reasons for skipped steps and the compare summary.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from banjia.migrate._args import base_url as base_url_arg
from banjia.migrate._args import provider_type
from banjia.migrate._migrate_report import render_markdown, render_terminal
from banjia.migrate._plan import HumanStep, human_steps
from banjia.migrate._rewrite_rules import DEFAULT_BASE_URL
from banjia.migrate.rewrite import FileChange, apply_changes, parse_model_map, rewrite_project
from banjia.migrate.scan import ScanReport, Skipped, scan

if TYPE_CHECKING:
    from banjia.migrate._compare_report import Run
    from banjia.migrate.check import CheckReport

__all__ = ["MigrateOptions", "Migration", "changed_lines", "main_migrate", "migrate", "register"]


@dataclass
class MigrateOptions:
    path: Path
    target: str | None = None
    apply: bool = False
    base_url: str = DEFAULT_BASE_URL
    model_map: dict[str, str] = field(default_factory=dict)
    check_url: str | None = None
    check_key: str | None = None
    check_model: str | None = None
    check_only: list[str] = field(default_factory=list)
    check_timeout: float = 60.0
    prompts: str | None = None
    models: list[str] = field(default_factory=list)
    baseline: str | None = None
    report: Path = Path("banjia-migration.md")


@dataclass
class Migration:
    options: MigrateOptions
    scan: ScanReport
    changes: list[FileChange]
    skipped: list[Skipped]
    steps: list[HumanStep]
    applied: bool = False
    check: CheckReport | None = None
    check_skipped: str | None = None
    compare: Run | None = None
    compare_skipped: str | None = None
    report: Path | None = None

    def files(self) -> list[dict[str, object]]:
        return [{"path": c.path, "changes": changed_lines(c)} for c in self.changes]

    def to_json(self) -> dict[str, Any]:
        compare: dict[str, Any] | None = None
        if self.compare is not None:
            compare = {"picks": [{"label": p.label, "model": p.model, "why": p.why}
                                 for p in self.compare.picks],
                       "summaries": [s.as_json() for s in self.compare.summaries]}
        return {
            "target": self.options.target,
            "base_url": self.options.base_url,
            "applied": self.applied,
            "files": self.files(),
            "needs_human": [s.to_json() for s in self.steps],
            "check": self.check.as_json() if self.check is not None else None,
            "check_skipped": self.check_skipped,
            "compare": compare,
            "compare_skipped": self.compare_skipped,
            "scan": self.scan.summary(),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "report": str(self.report) if self.report is not None else None,
        }


def changed_lines(change: FileChange) -> int:
    """Lines a change touches: each replaced, added or removed line once."""
    matcher = difflib.SequenceMatcher(a=change.old.splitlines(), b=change.new.splitlines(),
                                      autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes()
               if tag != "equal")


def _run_check(opts: MigrateOptions) -> tuple[CheckReport | None, str | None]:
    if not opts.check_model:
        return None, ("no endpoint to check: pass --check-model (with --check-url and "
                      "--check-key) to probe the target before switching traffic")
    from banjia.migrate.check import Target, run_checks, select

    url = opts.check_url or opts.base_url
    try:
        select(opts.check_only)
    except ValueError as e:
        return None, f"not run: {e}"
    target = Target(url, opts.check_key or "none", opts.check_model)
    report = asyncio.run(run_checks(target, only=opts.check_only or None,
                                    probe_timeout=opts.check_timeout))
    return report, None


def _run_compare(opts: MigrateOptions) -> tuple[Run | None, str | None]:
    if not opts.prompts or not opts.models:
        return None, "optional; pass --prompts FILE.jsonl and --models a,b to compare models"
    from banjia.migrate._compare_prompts import PromptError, load_prompts
    from banjia.migrate.compare import CompareOptions, run_compare, write_reports

    try:
        prompts = load_prompts(opts.prompts)
    except PromptError as e:
        return None, f"not run: {e}"
    run = asyncio.run(run_compare(CompareOptions(
        base_url=opts.check_url or opts.base_url, api_key=opts.check_key or "none",
        models=opts.models, prompts=prompts, baseline=opts.baseline, progress=False)))
    write_reports(run, prompts, opts.report.with_name(opts.report.stem + "-compare.html"))
    return run, None


def migrate(opts: MigrateOptions) -> Migration:
    """Every step; writes the files only with ``apply`` and the report always."""
    from banjia.migrate._project import analyze

    report = scan(opts.path, target=opts.target)
    changes, skipped, project = rewrite_project(opts.path, opts.base_url, opts.model_map,
                                                project=analyze(opts.path, report))
    steps = human_steps(project, changes, opts.base_url, opts.target)
    result = Migration(opts, report, changes, skipped, steps)
    if opts.apply and changes:
        apply_changes(opts.path, changes)
        result.applied = True
    result.check, result.check_skipped = _run_check(opts)
    result.compare, result.compare_skipped = _run_compare(opts)
    opts.report.parent.mkdir(parents=True, exist_ok=True)
    opts.report.write_text(render_markdown(result), encoding="utf-8")
    result.report = opts.report
    return result


def main_migrate(args: argparse.Namespace) -> int:
    from rich.console import Console

    root = Path(args.path)
    if not root.exists():
        print(f"banjia migrate: no such file or folder: {args.path}", file=sys.stderr)
        return 2
    try:
        mapping = parse_model_map(args.map_models)
    except ValueError as e:
        print(f"banjia migrate: --map-models: {e}", file=sys.stderr)
        return 2
    models = [m.strip() for m in (args.models or "").split(",") if m.strip()]
    only = [s for part in args.check_only or [] for s in part.split(",") if s]
    opts = MigrateOptions(
        path=root, target=args.target, apply=args.apply, base_url=args.base_url,
        model_map=mapping, check_url=args.check_url, check_key=args.check_key,
        check_model=args.check_model, check_only=only, check_timeout=args.check_timeout,
        prompts=args.prompts, models=models, baseline=args.baseline, report=Path(args.report))
    result = migrate(opts)
    if args.format == "json":
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        render_terminal(result, Console(highlight=False))
    return 1 if result.check is not None and result.check.failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "migrate",
        help="the guided path: scan, plan, rewrite, check, compare, a Markdown report",
        description="Scan an app, plan and (with --apply) rewrite it onto banjia, check the "
                    "target endpoint, and write a Markdown migration report.")
    p.add_argument("path")
    p.add_argument("--target", type=provider_type,
                   help="the provider type the app's traffic goes to (banjia providers)")
    p.add_argument("--apply", action="store_true", help="write the changes (default: dry run)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--base-url", type=base_url_arg, default=DEFAULT_BASE_URL,
                   help=f"the gateway the app moves to (default {DEFAULT_BASE_URL})")
    p.add_argument("--map-models", help="a=b,c=d: also rename model names")
    p.add_argument("--check-url", type=base_url_arg,
                   help="the endpoint to check (default: --base-url)")
    p.add_argument("--check-key", help="its API key")
    p.add_argument("--check-model", help="the chat model to probe; without it, no check")
    p.add_argument("--check-only", action="append", metavar="FEATURES",
                   help="comma-separated probes or groups (banjia check --list)")
    p.add_argument("--check-timeout", type=float, default=60.0, help="seconds per probe")
    p.add_argument("--prompts", help="JSONL prompts to compare models on (banjia compare)")
    p.add_argument("--models", help="comma-separated models to compare")
    p.add_argument("--baseline", help="the model being replaced, for the comparison")
    p.add_argument("--report", default="banjia-migration.md",
                   help="where to write the Markdown report (default banjia-migration.md)")
    p.set_defaults(func=main_migrate)
