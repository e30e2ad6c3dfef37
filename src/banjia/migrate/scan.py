"""``banjia scan``: every place a codebase depends on OpenAI, by the rules of scan-rules.md.

Each file goes to the reader for its language (:mod:`ast` for Python, tree-sitter for JavaScript
and TypeScript, real parsers for config); a file that cannot be read is listed as skipped instead
of failing the scan.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from banjia.migrate._scan_config import scan_env, scan_json, scan_toml, scan_yaml
from banjia.migrate._scan_features import FEATURES, support_for
from banjia.migrate._scan_files import (
    mask_vue,
    scan_dockerfile,
    scan_ini,
    scan_notebook,
    scan_shell,
    scan_terraform,
    vue_dialect,
)
from banjia.migrate._scan_js import dialect_for, scan_js
from banjia.migrate._scan_python import scan_python
from banjia.migrate._scan_rules import KINDS, Hit, Kind
from banjia.migrate._term import NARROW, wrapped

__all__ = [
    "SKIP_DIRS",
    "Finding",
    "ScanReport",
    "Skipped",
    "file_type",
    "iter_files",
    "main_scan",
    "render_table",
    "scan",
]

SKIP_DIRS = frozenset({"node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build"})
# Dependency declarations are never findings (scan-rules.md), whatever they mention.
_DEPENDENCY_FILES = frozenset({"package.json", "package-lock.json", "npm-shrinkwrap.json",
                               "pnpm-lock.yaml", "composer.json", "composer.lock"})
_MAX_BYTES = 2_000_000  # larger files are bundles or data, not code anyone edits

FileType = Literal["python", "js", "env", "yaml", "toml", "json", "notebook", "dockerfile",
                   "shell", "vue", "terraform", "ini"]
_CONFIG_SUFFIXES: dict[str, FileType] = {
    ".yml": "yaml", ".yaml": "yaml", ".toml": "toml", ".json": "json", ".ipynb": "notebook",
    ".sh": "shell", ".bash": "shell", ".vue": "vue", ".tf": "terraform", ".ini": "ini",
    ".env": "env", ".dockerfile": "dockerfile",
}
# a `.env.*` file whose name says it holds YAML (`.env.gcp.yaml.example`)
_YAML_PART = re.compile(r"\.ya?ml(\.|$)", re.IGNORECASE)
_DOTENV_LINE = re.compile(rb"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=", re.MULTILINE)
_YAML_LINE = re.compile(rb"^\s*[A-Za-z_][\w.-]*:(\s|$)", re.MULTILINE)


def file_type(path: Path) -> FileType | None:
    """What reader a file needs, or None when it is not scanned."""
    name = path.name
    if name in _DEPENDENCY_FILES:
        return None
    if name == ".env" or name.startswith(".env.") or name == "example.env":
        return "yaml" if _YAML_PART.search(name[4:]) or _holds_yaml(path) else "env"
    if name in ("Dockerfile", "Containerfile") or name.startswith(("Dockerfile.", "Containerfile.")):
        return "dockerfile"
    suffix = path.suffix.lower()
    if suffix == ".py":
        return "python"
    if dialect_for(suffix) is not None:
        return "js"
    return _CONFIG_SUFFIXES.get(suffix)


def _holds_yaml(path: Path) -> bool:
    """A `.env.*` file without a single `KEY=VALUE` line but with `key: value` lines."""
    try:
        head = path.read_bytes()[:65536]
    except OSError:
        return False
    return _DOTENV_LINE.search(head) is None and _YAML_LINE.search(head) is not None


def iter_files(root: Path) -> Iterator[Path]:
    """Scannable files under ``root`` in a stable order, skipping vendored and built trees."""
    if root.is_file():
        if file_type(root) is not None:
            yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if file_type(path) is not None and not path.is_symlink():
                yield path


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: Kind
    detail: str
    features: tuple[str, ...] = ()

    def to_json(self, target: str | None = None) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "line": self.line, "kind": self.kind,
                                  "detail": self.detail}
        if self.kind == "call":
            out["features"] = list(self.features)
            if target is not None:
                out["support"] = support_for(target, self.features)
        return out


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class ScanReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # JS/TS files the parser had to recover inside; their findings may be incomplete
    recovered: list[str] = field(default_factory=list)
    target: str | None = None

    def blocked_calls(self) -> list[Finding]:
        """Calls using a feature the target is known not to serve."""
        if self.target is None:
            return []
        return [f for f in self.findings if f.kind == "call"
                and "unsupported" in support_for(self.target, f.features).values()]

    def summary(self) -> dict[str, object]:
        kinds = Counter(f.kind for f in self.findings)
        features = Counter(x for f in self.findings for x in f.features)
        out: dict[str, object] = {
            "findings": len(self.findings),
            "by_kind": {k: kinds.get(k, 0) for k in KINDS},
            "files_scanned": self.files_scanned,
            "files_with_findings": len({f.path for f in self.findings}),
            "features": {k: features[k] for k in FEATURES if features.get(k)},
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "recovered": list(self.recovered),
        }
        if self.target is not None:
            out["target"] = self.target
            out["calls_with_unsupported_features"] = len(self.blocked_calls())
        return out

    def to_json(self) -> dict[str, object]:
        return {"findings": [f.to_json(self.target) for f in self.findings],
                "summary": self.summary()}


def _hits(path: Path, kind: FileType, data: bytes) -> tuple[list[Hit], bool]:
    if kind == "python":
        return scan_python(data), False
    if kind == "js":
        dialect = dialect_for(path.suffix.lower())
        assert dialect is not None
        return scan_js(data, dialect)
    if kind == "vue":
        return scan_js(mask_vue(data), vue_dialect(data))
    text = data.decode("utf-8-sig")
    readers = {"env": scan_env, "yaml": scan_yaml, "toml": scan_toml, "json": scan_json,
               "notebook": scan_notebook, "dockerfile": scan_dockerfile, "shell": scan_shell,
               "terraform": scan_terraform, "ini": scan_ini}
    return readers[kind](text), False


def _merge(rel: str, hits: list[Hit]) -> list[Finding]:
    """One finding per (line, kind); calls sharing a line pool their features."""
    first: dict[tuple[int, Kind], Hit] = {}
    features: dict[tuple[int, Kind], set[str]] = {}
    for h in hits:
        first.setdefault((h.line, h.kind), h)
        features.setdefault((h.line, h.kind), set()).update(h.features)
    return [Finding(rel, line, kind, h.detail, tuple(f for f in FEATURES
                                                   if f in features[(line, kind)]))
            for (line, kind), h in first.items()]


def scan(root: Path, target: str | None = None) -> ScanReport:
    """Scan a folder (or one file). ``target`` is a banjia provider type to check features on."""
    root = Path(root)
    report = ScanReport(root=root, target=target)
    base = root if root.is_dir() else root.parent
    for path in iter_files(root):
        rel = path.relative_to(base).as_posix()
        kind = file_type(path)
        assert kind is not None
        try:
            if path.stat().st_size > _MAX_BYTES:
                report.skipped.append(Skipped(rel, "too large"))
                continue
            hits, recovered = _hits(path, kind, path.read_bytes())
        except (SyntaxError, ValueError, UnicodeDecodeError, yaml.YAMLError,
                tomllib.TOMLDecodeError, RecursionError) as e:
            report.skipped.append(Skipped(rel, f"cannot parse: {type(e).__name__}"))
            continue
        except OSError as e:
            report.skipped.append(Skipped(rel, f"cannot read: {e.strerror or e}"))
            continue
        report.files_scanned += 1
        if recovered:
            report.recovered.append(rel)
        report.findings.extend(_merge(rel, hits))
    report.findings.sort(key=lambda f: (f.path, f.line, KINDS.index(f.kind)))
    return report


_KIND_STYLES: dict[str, str] = {"client": "cyan", "call": "magenta", "model": "green",
                                "env": "yellow", "endpoint": "red"}
_SUPPORT_STYLES: dict[str, str] = {"supported": "green", "unsupported": "bold red",
                                   "unknown": "dim"}


def _render_list(report: ScanReport, console: Console) -> None:
    """One finding a line, wrapped under itself: for narrow terminals and pipes."""
    wrapped(console, f"OpenAI usage in {report.root}", style="bold")
    for f in report.findings:
        feats = ""
        if f.features:
            support = support_for(report.target, f.features) if report.target else {}
            feats = " [" + ", ".join(
                name + ("" if support.get(name, "supported") == "supported"
                        else f" ({support[name]})") for name in f.features) + "]"
        loc = f"{f.path}:{f.line}"
        wrapped(console, f"{loc}  {f.kind}  {f.detail}{feats}", "      ", "")


def render_table(report: ScanReport, console: Console) -> None:
    if console.width < NARROW:
        _render_list(report, console)
        _render_summary(report, console)
        return
    table = Table(title=f"OpenAI usage in {report.root}", show_lines=False)
    table.add_column("Location", no_wrap=True)
    table.add_column("Kind")
    table.add_column("Detail", overflow="fold")
    table.add_column("Features" if report.target is None else f"Features on {report.target}")
    for f in report.findings:
        feats = Text()
        support = support_for(report.target, f.features) if report.target else {}
        for i, name in enumerate(f.features):
            if i:
                feats.append(", ")
            feats.append(name, style=_SUPPORT_STYLES.get(support.get(name, ""), ""))
        table.add_row(f"{f.path}:{f.line}", Text(f.kind, style=_KIND_STYLES[f.kind]),
                      Text(f.detail), feats)
    console.print(table)
    _render_summary(report, console)


def _render_summary(report: ScanReport, console: Console) -> None:
    summary = report.summary()
    by_kind = summary["by_kind"]
    assert isinstance(by_kind, dict)
    counts = ", ".join(f"{n} {k}" for k, n in by_kind.items())
    wrapped(console, f"{len(report.findings)} findings ({counts}) in "
            f"{summary['files_with_findings']} of {report.files_scanned} files scanned")
    if report.target is not None:
        wrapped(console, f"{len(report.blocked_calls())} calls use features "
                f"{report.target} does not serve")
    for s in report.skipped:
        wrapped(console, f"skipped {s.path}: {s.reason}", "  ", style="yellow")


def main_scan(path: str, fmt: str = "table", target: str | None = None) -> int:
    """The ``banjia scan`` command: prints the report; 0 on success, 2 on bad arguments."""
    root = Path(path)
    if not root.exists():
        print(f"banjia scan: no such file or folder: {path}", file=sys.stderr)
        return 2
    if fmt not in ("table", "json"):
        print(f"banjia scan: unknown format {fmt!r} (table or json)", file=sys.stderr)
        return 2
    report = scan(root, target=target)
    if fmt == "json":
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        render_table(report, Console())
    return 0
