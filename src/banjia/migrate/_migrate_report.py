"""The migration report: Markdown for the file, and a short version for an 80-column terminal."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from banjia.migrate._term import wrapped
from banjia.migrate.rewrite import unified_diff

if TYPE_CHECKING:
    from rich.console import Console

    from banjia.migrate.migrate import Migration

__all__ = ["render_markdown", "render_terminal"]

_DIFF_LINES = 400  # a longer diff is cut in the report; `banjia rewrite` prints it whole


def _where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def _check_lines(m: Migration) -> list[str]:
    if m.check is None:
        return [f"Not run: {m.check_skipped}."]
    c = m.check.counts()
    lines = [f"`{m.check.target}`, model `{m.check.model}`: {c['pass']} pass, {c['fail']} fail, "
             f"{c['unsupported']} unsupported, {c.get('timeout', 0)} timed out.", "",
             "| feature | status | detail |", "|---|---|---|"]
    for r in m.check.results:
        detail = r.detail.replace("|", "\\|")
        lines.append(f"| {r.feature} | {r.status} | {detail} |")
    return lines


def _compare_lines(m: Migration) -> list[str]:
    if m.compare is None:
        return [f"Not run: {m.compare_skipped}."]
    lines = [f"{m.compare.prompts} prompts on {', '.join(f'`{x}`' for x in m.compare.models)}"
             " (the full report is beside this one, `*-compare.html`).", ""]
    for p in m.compare.picks:
        lines.append(f"- **{p.label}**: " + (f"`{p.model}` — {p.why}" if p.model
                                             else f"none — {p.why}"))
    return lines


def render_markdown(m: Migration) -> str:
    opts = m.options
    summary = m.scan.summary()
    by_kind = summary["by_kind"]
    assert isinstance(by_kind, dict)
    target = f"`{opts.target}`" if opts.target else "not given (features checked against "\
        "what any banjia provider serves)"
    mode = "applied" if m.applied else "dry run (nothing was written; `--apply` writes it)"
    out = [
        f"# Migrating `{opts.path}` onto banjia",
        "",
        f"- Gateway: `{opts.base_url}`",
        f"- Target provider type: {target}",
        f"- Rewrite: {mode}",
        f"- Steps for a person: {len(m.steps)}",
        "",
        "## 1. Scan",
        "",
        f"{summary['findings']} findings in {summary['files_with_findings']} of "
        f"{summary['files_scanned']} files: " + ", ".join(f"{n} {k}" for k, n in
                                                           by_kind.items()) + ".",
        "",
    ]
    per_file = Counter(f.path for f in m.scan.findings)
    if per_file:
        out += ["| file | findings |", "|---|---:|"]
        out += [f"| `{p}` | {n} |" for p, n in sorted(per_file.items())]
        out.append("")
    for skip in m.scan.skipped + m.skipped:
        out.append(f"- skipped `{skip.path}`: {skip.reason}")
    out += ["## 2. Plan per file", ""]
    changed = {c.path: c for c in m.changes}
    steps_by_file: dict[str, list[str]] = {}
    for step in m.steps:
        steps_by_file.setdefault(step.path, []).append(
            f"line {step.line}: {step.reason}" if step.line else step.reason)
    files = sorted(set(per_file) | set(changed) | set(steps_by_file))
    for path in files:
        out.append(f"### `{path}`")
        out.append("")
        change = changed.get(path)
        if change is not None:
            from banjia.migrate.migrate import changed_lines

            out.append(f"- rewrite changes {changed_lines(change)} line(s)")
        else:
            out.append("- rewrite changes nothing here")
        for text in steps_by_file.get(path, []):
            out.append(f"- by hand: {text}")
        out.append("")
    out += ["## 3. What you must do by hand", ""]
    if m.steps:
        out += [f"{i}. **{s.what}** — `{_where(s.path, s.line)}`: {s.reason}"
                for i, s in enumerate(m.steps, 1)]
    else:
        out.append("Nothing: the rewrite covers every change.")
    out += ["", "## 4. Rewrite", ""]
    if not m.changes:
        out.append("Nothing to change.")
    else:
        diff = unified_diff(m.changes).splitlines()
        cut = len(diff) > _DIFF_LINES
        out += [f"{len(m.changes)} file(s), {mode}.", "", "```diff", *diff[:_DIFF_LINES], "```"]
        if cut:
            out.append(f"(cut at {_DIFF_LINES} lines: `banjia rewrite {opts.path}` shows it all)")
    out += ["", "## 5. Compatibility check", "", *_check_lines(m), "",
            "## 6. Model comparison", "", *_compare_lines(m), ""]
    return "\n".join(out)


def render_terminal(m: Migration, console: Console) -> None:
    """The essentials, as plain wrapped lines: readable at 80 columns and when piped."""
    from banjia.migrate.migrate import changed_lines

    opts = m.options
    summary = m.scan.summary()
    wrapped(console, f"banjia migrate {opts.path} -> {opts.base_url}"
            + (f" (target {opts.target})" if opts.target else ""), style="bold")
    wrapped(console, f"scan: {summary['findings']} findings in "
            f"{summary['files_with_findings']} of {summary['files_scanned']} files")
    verb = "changed" if m.applied else "would change"
    wrapped(console, f"rewrite: {verb} {len(m.changes)} file(s)"
            + ("" if m.applied or not m.changes else " (dry run; --apply writes them)"))
    for change in m.changes:
        wrapped(console, f"{change.path} ({changed_lines(change)} line(s))", "    ", "  ")
    wrapped(console, f"by hand: {len(m.steps)} step(s)")
    for i, step in enumerate(m.steps, 1):
        wrapped(console, f"{i}. {_where(step.path, step.line)}: {step.what}", "     ", "  ",
                style="bold")
        wrapped(console, step.reason, "     ")
    if m.check is None:
        wrapped(console, f"check: {m.check_skipped}", "  ", "")
    else:
        c = m.check.counts()
        wrapped(console, f"check: {c['pass']} pass, {c['fail']} fail, {c['unsupported']} "
                f"unsupported, {c.get('timeout', 0)} timed out", "  ", "")
    if m.compare is None:
        wrapped(console, f"compare: {m.compare_skipped}", "  ", "")
    else:
        for p in m.compare.picks:
            wrapped(console, f"compare: {p.label}: {p.model or 'none'} ({p.why})", "  ", "")
    wrapped(console, f"report: {m.report}", "  ", "")
