"""A whole project's view of how it reaches OpenAI: which settings its code reads the base URL
from, what reads ``OPENAI_BASE_URL`` on its own, which versions it pins. Rewrite uses it to
change only settings something reads; migrate uses it to say what a person must still do.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from banjia.migrate._project_facts import FileFacts, KeyCheck, Source
from banjia.migrate._project_js import js_facts
from banjia.migrate._project_py import python_facts
from banjia.migrate._rewrite_rules import BASE_URL_VAR, ENV_RENAMES, KEY_VAR
from banjia.migrate._scan_files import mask_vue, notebook_cells, vue_dialect
from banjia.migrate._scan_js import dialect_for
from banjia.migrate.scan import SKIP_DIRS, ScanReport, file_type, iter_files

__all__ = ["AI_SDK_READS_ENV_FROM", "BaseSetting", "Pin", "Project", "analyze"]

# @ai-sdk/openai reads OPENAI_BASE_URL from 3.0.0 on (vercel/ai#8990, packages/openai/CHANGELOG.md)
AI_SDK_READS_ENV_FROM = 3
_CODE = frozenset({"python", "js", "vue", "notebook"})
_PIN = re.compile(r"^(\s*openai\s*)((?:[=~<>!]=?|===)\s*[\w.*]+(?:\s*,\s*[=~<>!]=?\s*[\w.*]+)*)",
                  re.IGNORECASE)


@dataclass(frozen=True)
class BaseSetting:
    """A setting the app takes its OpenAI base URL from."""

    name: str
    source: Source  # "env": an environment variable; "config": a key of the app's own config
    path: str
    line: int
    host_only: bool  # the app appends /v1 itself: the setting wants the gateway's root
    how: str

    def value(self, base_url: str) -> str:
        from banjia.migrate._rewrite_rules import gateway_root

        return gateway_root(base_url) if self.host_only else base_url


@dataclass(frozen=True)
class Pin:
    """A dependency declaration of openai that excludes openai>=1."""

    path: str
    line: int
    spec: str


@dataclass
class Project:
    root: Path
    report: ScanReport
    facts: dict[str, FileFacts] = field(default_factory=dict)
    pins: list[Pin] = field(default_factory=list)
    ai_sdk_spec: str | None = None  # the @ai-sdk/openai version range package.json asks for

    @property
    def has_code(self) -> bool:
        """Whether the project holds code that talks to OpenAI (else it is only deployment
        files, for apps kept elsewhere, and nothing tells what reads which variable)."""
        base = self.root if self.root.is_dir() else self.root.parent
        return any(file_type(base / f.path) in _CODE for f in self.report.findings)

    @property
    def env_reads(self) -> set[str]:
        return {n for f in self.facts.values() for n in f.env_reads}

    def implicit_readers(self) -> list[tuple[str, int, str]]:
        """SDK clients that read OPENAI_BASE_URL and OPENAI_API_KEY on their own."""
        out = [(p, line, what) for p, f in self.facts.items() for line, what in f.implicit]
        module_base = any(f.module_base for f in self.facts.values())
        if not module_base:
            out += [(p, line, "the openai module client") for p, f in self.facts.items()
                    for line in f.module_client]
        if self.ai_sdk_reads_env():
            out += [(p, line, what) for p, f in self.facts.items() for line, what in f.ai_sdk]
        return sorted(set(out))

    def ai_sdk_reads_env(self) -> bool:
        major = _major(self.ai_sdk_spec)
        return major is None or major >= AI_SDK_READS_ENV_FROM

    def old_ai_sdk_uses(self) -> list[tuple[str, int, str]]:
        if self.ai_sdk_reads_env():
            return []
        return sorted((p, line, what) for p, f in self.facts.items() for line, what in f.ai_sdk)

    def reads_base_url_var(self) -> bool:
        return bool(self.implicit_readers()) or BASE_URL_VAR in self.env_reads

    def key_checks(self) -> list[tuple[str, KeyCheck]]:
        return [(p, k) for p, f in sorted(self.facts.items()) for k in f.key_checks]

    def settings(self) -> list[BaseSetting]:
        """Each base-URL setting once, where the code first reads it; ``OPENAI_BASE_URL`` and
        the names rewrite renames are the SDKs' own, not the app's."""
        merged: dict[tuple[str, str], BaseSetting] = {}
        host_only: dict[tuple[str, str], bool] = {}
        for path, f in sorted(self.facts.items()):
            for s in f.settings:
                if s.name in (BASE_URL_VAR, KEY_VAR) or s.role != "base":
                    continue
                key = (s.name, s.source)
                if s.host_only is not None:
                    host_only[key] = host_only.get(key, False) or s.host_only
                first = merged.get(key)
                if first is None or (first.how.startswith("reads ")
                                     and not s.how.startswith("reads ")):
                    merged[key] = BaseSetting(s.name, s.source, path, s.line, False, s.how)
        return [BaseSetting(s.name, s.source, s.path, s.line, host_only.get((s.name, s.source),
                                                                            False), s.how)
                for s in merged.values()]

    def key_settings(self) -> list[tuple[str, str, str, int]]:
        """(name, source, path, line) of each setting the app takes its OpenAI key from."""
        seen: dict[tuple[str, str], tuple[str, str, str, int]] = {}
        for path, f in sorted(self.facts.items()):
            for s in f.settings:
                if s.role == "key":
                    seen.setdefault((s.name, s.source), (s.name, s.source, path, s.line))
        return list(seen.values())

    def browser_manifests(self) -> list[str]:
        """Browser extension manifests (``manifest_version``) in the project."""
        root = self.root
        if root.is_file():
            return []
        found = []
        for path in sorted(root.rglob("manifest.json")):
            if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
                continue
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            if isinstance(data, dict) and "manifest_version" in data:
                found.append(path.relative_to(root).as_posix())
        return found

    def renames(self) -> dict[str, str]:
        """The legacy and Azure variable names to move to what openai>=1 reads, in code and
        config alike: only when an SDK client reads the new names on its own. Code that reads a
        variable itself keeps it (and migrate says to set it)."""
        if not self.has_code or self.implicit_readers():
            return dict(ENV_RENAMES)
        return {}

    def adds_base_url(self) -> bool:
        """Whether env files and container environments should gain OPENAI_BASE_URL."""
        return not self.has_code or self.reads_base_url_var()

    def set_values(self, base_url: str) -> dict[str, str]:
        """Environment settings of the app's own to point at the gateway, with their values."""
        renamed = self.renames()
        return {s.name: s.value(base_url) for s in self.settings()
                if s.source == "env" and s.name not in renamed}


def _major(spec: str | None) -> int | None:
    if not spec:
        return None
    m = re.search(r"\d+", spec)
    return int(m.group(0)) if m else None


def _file_facts(path: Path, kind: str | None, data: bytes) -> FileFacts | None:
    try:
        if kind == "python":
            return python_facts(data)
        if kind == "js":
            dialect = dialect_for(path.suffix.lower())
            return js_facts(data, dialect) if dialect else None
        if kind == "vue":
            return js_facts(mask_vue(data), vue_dialect(data))
        if kind == "notebook":
            merged = FileFacts()
            for cell in notebook_cells(data.decode("utf-8-sig")):
                try:
                    f = python_facts(cell.source.encode("utf-8"))
                except (SyntaxError, ValueError):
                    continue
                merged.env_reads |= f.env_reads
                merged.implicit += [(cell.lines[min(n, len(cell.lines)) - 1], w)
                                    for n, w in f.implicit]
                merged.settings += f.settings
                merged.key_checks += f.key_checks
            return merged
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return None


def _requirements(root: Path) -> list[Path]:
    if root.is_file():
        return []
    found: list[Path] = []
    for path in sorted(root.rglob("*")):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        name = path.name.lower()
        if path.is_file() and ((name.startswith("requirements") and name.endswith(".txt"))
                               or name == "pyproject.toml"):
            found.append(path)
    return found


def _excludes_v1(spec: str) -> bool:
    """Whether a version spec (``==0.27.8``, ``<1``, ``~=0.28``) rules out openai 1.x."""
    for part in spec.split(","):
        m = re.match(r"\s*(===|==|~=|<=|<|>=|>|!=)\s*([\w.*]+)", part)
        if m is None:
            continue
        op, version = m.groups()
        major = _major(version)
        if major is None:
            continue
        if op in ("==", "===", "~=") and major < 1:
            return True
        if op in ("<", "<=") and (major < 1 or (op == "<" and version.strip() in ("1", "1.0"))):
            return True
    return False


def _pins(root: Path) -> list[Pin]:
    pins: list[Pin] = []
    base = root if root.is_dir() else root.parent
    for path in _requirements(root):
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = path.relative_to(base).as_posix()
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip().strip("\"',")
            m = _PIN.match(line)
            if m and _excludes_v1(m.group(2)):
                pins.append(Pin(rel, n, m.group(2).strip()))
    return pins


def _ai_sdk_spec(root: Path) -> str | None:
    if root.is_file():
        return None
    for path in sorted(root.rglob("package.json")):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        for section in ("dependencies", "devDependencies"):
            deps = data.get(section) if isinstance(data, dict) else None
            if isinstance(deps, dict) and isinstance(deps.get("@ai-sdk/openai"), str):
                return str(deps["@ai-sdk/openai"])
    return None


def analyze(root: Path, report: ScanReport) -> Project:
    root = Path(root)
    project = Project(root, report, pins=_pins(root), ai_sdk_spec=_ai_sdk_spec(root))
    base = root if root.is_dir() else root.parent
    for path in iter_files(root):
        kind = file_type(path)
        if kind not in _CODE:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        facts = _file_facts(path, kind, data)
        if facts is not None:
            project.facts[path.relative_to(base).as_posix()] = facts
    return project
