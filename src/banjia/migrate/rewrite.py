"""``banjia rewrite``: the smallest change that moves a codebase from OpenAI onto banjia.

The preferred change is configuration: ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` in ``.env`` files,
compose and Kubernetes environments, which openai>=1 clients read on their own. Code changes only
where code pins OpenAI: hard-coded URLs, openai<1 module calls, Azure clients, and (with
``--map-models``) model names. The result is shown as a unified diff, or written with ``--apply``;
a second run finds nothing left to change.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import libcst
import yaml

from banjia.migrate._project import Project, analyze
from banjia.migrate._rewrite_config import rewrite_env, rewrite_json, rewrite_toml, rewrite_yaml
from banjia.migrate._rewrite_files import rewrite_lines, rewrite_notebook, rewrite_pin, rewrite_vue
from banjia.migrate._rewrite_js import rewrite_js
from banjia.migrate._rewrite_python import rewrite_python
from banjia.migrate._rewrite_rules import DEFAULT_BASE_URL, Rules
from banjia.migrate._scan_js import dialect_for
from banjia.migrate.scan import Skipped, file_type, iter_files, scan

__all__ = [
    "DEFAULT_BASE_URL",
    "FileChange",
    "apply_changes",
    "main_rewrite",
    "parse_model_map",
    "plan",
    "rewrite_project",
    "rules_for",
    "unified_diff",
]

_BOM = "\ufeff"


@dataclass(frozen=True)
class FileChange:
    """One file's rewrite; ``path`` is relative to the rewritten folder and uses ``/``."""

    path: str
    old: str
    new: str


def parse_model_map(spec: str | None) -> dict[str, str]:
    """``"gpt-4o=qwen-plus,gpt-4o-mini=qwen-turbo"`` → a dict. Raises ValueError when malformed."""
    mapping: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"expected OLD=NEW, got {item.strip()!r}")
        mapping[old.strip()] = new.strip()
    return mapping


def _rewriter(path: Path) -> Callable[[str, Rules], str] | None:
    kind = file_type(path)
    if kind == "python":
        return rewrite_python
    if kind == "js":
        dialect = dialect_for(path.suffix.lower())
        assert dialect is not None
        return lambda text, rules: rewrite_js(text, dialect, rules)
    readers: dict[str, Callable[[str, Rules], str]] = {
        "env": rewrite_env, "yaml": rewrite_yaml, "toml": rewrite_toml, "json": rewrite_json,
        "vue": rewrite_vue, "notebook": rewrite_notebook}
    if kind in ("dockerfile", "shell", "terraform", "ini"):
        line_kind: str = kind
        return lambda text, rules: rewrite_lines(text, rules, line_kind)
    return readers.get(kind) if kind is not None else None


# Everything some rewriter acts on; a file with none of these is left unparsed, which keeps
# libcst (the slow part) to the few files that matter.
_TRIGGERS = re.compile(
    r"api\.openai\.com|\.openai\.azure\.com|OPENAI_(API_BASE|BASE_URL|API_KEY|API_TYPE)|openai\.proxy"
    r"|AZURE_OPENAI_|gpt-35|Azure(OpenAI|ChatOpenAI|OpenAIEmbeddings)|createAzure"
    r"|api_(base|type|version)|openai\.error"
    r"|\.(ChatCompletion|Completion|Embedding|Image|Moderation|Edit|Audio|Model|File|FineTune"
    r"|FineTuningJob)\.")


def _worth_parsing(text: str, rules: Rules) -> bool:
    return _TRIGGERS.search(text) is not None or any(old in text for old in rules.model_map) \
        or any(name in text for name in rules.set_values)


def _plan(root: Path, rules: Rules) -> tuple[list[FileChange], list[Skipped]]:
    changes: list[FileChange] = []
    skipped: list[Skipped] = []
    base = root if root.is_dir() else root.parent
    for path in iter_files(root):
        rel = path.relative_to(base).as_posix()
        rewrite = _rewriter(path)
        if rewrite is None:
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            skipped.append(Skipped(rel, f"cannot read: {type(e).__name__}"))
            continue
        if not _worth_parsing(text, rules):
            continue
        bom = _BOM if text.startswith(_BOM) else ""
        try:
            new = bom + rewrite(text[len(bom):], rules)
        except (libcst.ParserSyntaxError, SyntaxError, ValueError, yaml.YAMLError,
                tomllib.TOMLDecodeError, RecursionError) as e:
            skipped.append(Skipped(rel, f"cannot parse: {type(e).__name__}"))
            continue
        if new != text:
            changes.append(FileChange(rel, text, new))
    return changes, skipped


def rules_for(project: Project, base_url: str = DEFAULT_BASE_URL,
              model_map: dict[str, str] | None = None) -> Rules:
    """The rewrite's options for a project: variables are renamed and added only where
    something reads them, and the app's own base-URL settings point at the gateway."""
    return Rules(base_url=base_url, model_map=dict(model_map or {}), renames=project.renames(),
                 add_base_url=project.adds_base_url(), set_values=project.set_values(base_url))


def _pin_changes(root: Path, project: Project) -> list[FileChange]:
    """openai pins that exclude v1, in a project whose Python code is moved to v1."""
    python = any(f.path.endswith((".py", ".ipynb")) and f.kind in ("client", "call")
                 for f in project.report.findings)
    if not python:
        return []
    base = root if root.is_dir() else root.parent
    by_file: dict[str, set[int]] = {}
    for pin in project.pins:
        by_file.setdefault(pin.path, set()).add(pin.line)
    changes = []
    for rel, lines in sorted(by_file.items()):
        try:
            old = (base / rel).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        new = rewrite_pin(old, lines)
        if new != old:
            changes.append(FileChange(rel, old, new))
    return changes


def rewrite_project(root: Path, base_url: str = DEFAULT_BASE_URL,
                    model_map: dict[str, str] | None = None,
                    project: Project | None = None) -> tuple[list[FileChange], list[Skipped],
                                                             Project]:
    """Scan, read what the project reads, and plan its rewrite."""
    root = Path(root)
    if project is None:
        project = analyze(root, scan(root))
    changes, skipped = _plan(root, rules_for(project, base_url, model_map))
    changes += _pin_changes(root, project)
    changes.sort(key=lambda c: c.path)
    return changes, skipped, project


def plan(root: Path, base_url: str = DEFAULT_BASE_URL,
         model_map: dict[str, str] | None = None) -> list[FileChange]:
    """The changes that move the project at ``root`` onto the gateway at ``base_url``."""
    return rewrite_project(Path(root), base_url, model_map)[0]


def unified_diff(changes: Iterable[FileChange]) -> str:
    out: list[str] = []
    for c in changes:
        diff = difflib.unified_diff(c.old.splitlines(keepends=True),
                                    c.new.splitlines(keepends=True),
                                    fromfile=f"a/{c.path}", tofile=f"b/{c.path}")
        for line in diff:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def apply_changes(root: Path, changes: Iterable[FileChange]) -> None:
    base = root if root.is_dir() else root.parent
    for c in changes:
        (base / c.path).write_bytes(c.new.encode("utf-8"))


def main_rewrite(path: str, apply: bool = False, base_url: str = DEFAULT_BASE_URL,
                 model_map: str | None = None) -> int:
    """The ``banjia rewrite`` command: prints the diff (or applies it); 2 on bad arguments."""
    root = Path(path)
    if not root.exists():
        print(f"banjia rewrite: no such file or folder: {path}", file=sys.stderr)
        return 2
    try:
        mapping = parse_model_map(model_map)
    except ValueError as e:
        print(f"banjia rewrite: --map-models: {e}", file=sys.stderr)
        return 2
    from banjia.migrate._plan import human_steps

    changes, skipped, project = rewrite_project(root, base_url, mapping)
    for s in skipped:
        print(f"banjia rewrite: skipped {s.path}: {s.reason}", file=sys.stderr)
    if not changes:
        print("banjia rewrite: nothing to change", file=sys.stderr)
    elif apply:
        apply_changes(root, changes)
        for c in changes:
            print(f"rewrote {c.path}")
    else:
        sys.stdout.write(unified_diff(changes))
    for step in human_steps(project, changes, base_url):
        where = f"{step.path}:{step.line}" if step.line else step.path
        print(f"banjia rewrite: to do by hand: {where}: {step.reason}", file=sys.stderr)
    return 0
