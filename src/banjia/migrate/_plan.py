"""What a person must still do once ``banjia rewrite`` has done what it can, and why.

Each step names the file (and line, where there is one) and says, in words a developer can act
on, which setting is involved: the app's own base-URL setting, the variable nothing sets yet, a
key-format check that rejects banjia keys, a feature no target serves, a model the gateway does
not map, a decision the rewrite left as a ``banjia:`` comment. A problem the rewrite itself fixed
(a URL it moved, a variable it set) is not a step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from banjia.migrate._project import Project
from banjia.migrate._rewrite_python_v0 import API_KEY_NOTE
from banjia.migrate._rewrite_rules import BASE_URL_VAR
from banjia.migrate._scan_features import CAPABILITIES, support_for
from banjia.migrate.rewrite import FileChange
from banjia.migrate.scan import file_type, iter_files

__all__ = ["SAMPLE_KEY", "HumanStep", "human_steps"]

# the shape of a banjia key (banjia.store.keys.generate_key: "sk-banjia-" + 40 URL-safe
# characters), with the `-` and `_` real keys contain; a check it fails rejects real keys too
SAMPLE_KEY = "sk-banjia-" + "Q3v_x-9Lk2" * 4
_DEPLOY = frozenset({"env", "yaml", "dockerfile", "shell", "terraform", "ini", "toml", "json"})
_NOTE = re.compile(r"(?:#|//)\s*banjia:\s*(.+?)\s*$")
# what the rewrite's short `banjia:` comments mean for the person who reads the plan
_NOTE_REASONS = {
    API_KEY_NOTE: "the call passed its own api_key, which openai>=1 takes only on a client: the "
                  "rewrite dropped it, so the client's key (OPENAI_API_KEY) is used; if users "
                  "bring their own keys, make one client per key with openai.OpenAI(api_key=…)",
}
_FEATURE_WORDS = {
    "assistants": "the Assistants API (assistants, threads, runs, vector stores)",
    "files": "the Files API", "batch": "the Batch API", "fine_tuning": "fine-tuning",
    "images": "image generation", "audio": "audio in chat or translations",
    "speech": "speech", "transcription": "transcription", "rerank": "rerank",
    "moderations": "moderations", "vision": "image input", "tools": "tool calls",
    "json_schema": "structured output (json_schema)", "json_object": "JSON mode",
    "logprobs": "logprobs", "n": "several choices (n > 1)", "embeddings": "embeddings",
    "responses": "the Responses API", "completions": "legacy completions",
    "streaming": "streaming",
}


@dataclass(frozen=True)
class HumanStep:
    path: str
    line: int | None
    reason: str
    what: str  # a short title: the kind of step

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "reason": self.reason, "what": self.what}


def _texts_after(project: Project, changes: Sequence[FileChange]) -> dict[str, str]:
    """Every deployment and environment file of the project, as the rewrite leaves it."""
    root = project.root
    base = root if root.is_dir() else root.parent
    new = {c.path: c.new for c in changes}
    texts: dict[str, str] = {}
    for path in iter_files(root):
        if file_type(path) not in _DEPLOY:
            continue
        rel = path.relative_to(base).as_posix()
        try:
            texts[rel] = new.get(rel) or path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def _sets(texts: dict[str, str], name: str, value: str) -> bool:
    """Whether some file sets ``name`` to the gateway: the name and the value in one file."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    return any(pattern.search(t) and value in t for t in texts.values())


def _base_steps(project: Project, texts: dict[str, str], base_url: str) -> list[HumanStep]:
    steps: list[HumanStep] = []
    renamed = project.renames()
    for s in project.settings():
        if s.source == "env" and s.name in renamed:
            continue  # renamed to OPENAI_BASE_URL along with the code that reads it
        value = s.value(base_url)
        root_note = " (the host alone: the app appends /v1 itself)" if s.host_only else ""
        if "Azure" in s.how:
            reason = (f"the app builds Azure OpenAI URLs (…/openai/deployments/…) from its "
                      f"setting {s.name}; banjia serves OpenAI's paths: switch the app to its "
                      f"OpenAI API mode with the base URL {base_url}")
            steps.append(HumanStep(s.path, s.line, reason, "Azure-style URLs"))
        elif s.source == "env":
            if _sets(texts, s.name, value):
                continue
            reason = (f"the app reads its OpenAI base URL from {s.name}, not {BASE_URL_VAR}: "
                      f"set {s.name}={value} where the app runs{root_note}")
            steps.append(HumanStep(s.path, s.line, reason, f"set {s.name}"))
        else:
            reason = (f"the app takes its OpenAI base URL from its own setting {s.name!r} "
                      f"({s.how}), which lives outside the code: set it to {value}{root_note}")
            steps.append(HumanStep(s.path, s.line, reason, f"set {s.name}"))
    return steps


def _env_steps(project: Project, texts: dict[str, str], base_url: str) -> list[HumanStep]:
    readers = project.implicit_readers()
    if not readers or _sets(texts, BASE_URL_VAR, base_url):
        return []
    path, line, what = readers[0]
    more = f" (and {len(readers) - 1} more)" if len(readers) > 1 else ""
    reason = (f"{what}{more} reads {BASE_URL_VAR}, and no environment file of the project "
              f"sets it: set {BASE_URL_VAR}={base_url} where the app runs")
    return [HumanStep(path, line, reason, f"set {BASE_URL_VAR}")]


def _ai_sdk_steps(project: Project) -> list[HumanStep]:
    steps: list[HumanStep] = []
    seen: set[str] = set()
    for path, line, what in project.old_ai_sdk_uses():
        if path in seen:
            continue
        seen.add(path)
        reason = (f"@ai-sdk/openai {project.ai_sdk_spec} ignores {BASE_URL_VAR} (it reads it "
                  f"from 3.0 on), so {what} still calls OpenAI: make the provider with "
                  f"createOpenAI({{ baseURL: process.env.{BASE_URL_VAR} }}) or upgrade "
                  "@ai-sdk/openai")
        steps.append(HumanStep(path, line, reason, "old @ai-sdk/openai"))
    return steps


def _rejects_banjia_keys(pattern: str) -> bool:
    if pattern.startswith("prefix:"):
        return not SAMPLE_KEY.startswith(pattern[len("prefix:"):])
    try:
        return re.search(pattern, SAMPLE_KEY) is None
    except re.error:
        return True


def _key_steps(project: Project) -> list[HumanStep]:
    steps = []
    for path, check in project.key_checks():
        if not _rejects_banjia_keys(check.pattern):
            continue
        shown = check.pattern.removeprefix("prefix:")
        reason = (f"this key-format check ({shown}) rejects banjia keys, which look like "
                  f"sk-banjia-… ({len(SAMPLE_KEY)} characters with - and _): relax it or drop it")
        steps.append(HumanStep(path, check.line, reason, "key-format check"))
    return steps


def _unserved(target: str | None, features: Sequence[str]) -> list[str]:
    if target is not None and target in CAPABILITIES:
        support = support_for(target, features)
        return [f for f in features if support[f] == "unsupported"]
    served = set().union(*CAPABILITIES.values())
    return [f for f in features if f not in served]


def _feature_steps(project: Project, target: str | None) -> list[HumanStep]:
    steps = []
    who = target or "banjia"
    for f in project.report.findings:
        if f.kind == "call":
            missing = _unserved(target, f.features)
            if missing:
                words = ", ".join(_FEATURE_WORDS.get(m, m) for m in missing)
                reason = (f"{f.detail} uses {words}, which {who} does not serve: keep this "
                          "call on OpenAI (its own client and key) or drop the feature")
                if target is None:
                    reason = (f"{f.detail} uses {words}, which no banjia provider serves: "
                              "keep this call on OpenAI (its own client and key) or drop the "
                              "feature")
                steps.append(HumanStep(f.path, f.line, reason, "feature not served"))
        elif f.kind == "endpoint" and f.detail.lower().startswith(("ws://", "wss://")):
            steps.append(HumanStep(f.path, f.line, "banjia does not serve the Realtime API "
                                   f"({f.detail}): keep it on OpenAI", "feature not served"))
    return steps


def _key_setting_steps(project: Project) -> list[HumanStep]:
    """The gateway takes its own keys: wherever the app takes its OpenAI key from."""
    why = ("banjia takes its own keys, not OpenAI's: create one with `banjia keys create "
           "--name <app>` (or use the master key)")
    steps = []
    names = set()
    renamed = project.renames()
    for name, source, path, line in project.key_settings():
        if source == "env" and name in renamed:
            name = renamed[name]
        if name in names:
            continue
        names.add(name)
        where = "the environment variable" if source == "env" else "the app's own setting"
        steps.append(HumanStep(path, line, f"{why} and put it in {where} {name}",
                               f"a banjia key in {name}"))
    readers = project.implicit_readers()
    if readers and "OPENAI_API_KEY" not in names:
        path, line, what = readers[0]
        steps.append(HumanStep(path, line, f"{why} and set OPENAI_API_KEY to it ({what} reads "
                               "it)", "a banjia key in OPENAI_API_KEY"))
    if not steps:
        call = next((f for f in project.report.findings if f.kind in ("call", "client")), None)
        if call is not None:
            steps.append(HumanStep(call.path, call.line, f"{why} and give it to the app "
                                   "wherever it takes its OpenAI key", "a banjia key"))
    return steps


def _manifest_steps(project: Project, base_url: str) -> list[HumanStep]:
    """A browser extension may only reach hosts its manifest allows."""
    calls = any(f.kind in ("call", "client") for f in project.report.findings)
    if not calls:
        return []
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    pattern = f"{parts.scheme}://{parts.hostname}/*"
    return [HumanStep(path, None, f"the extension now calls the gateway from the browser: add "
                      f'"{pattern}" to host_permissions in {path}, or the browser blocks the '
                      "request", "allow the gateway in the manifest")
            for path in project.browser_manifests()]


def _model_steps(project: Project, target: str | None) -> list[HumanStep]:
    if target is None:
        return []
    from banjia.catalog import load_catalog
    from banjia.routing.presets import OPENAI_CHAT, OPENAI_EMBEDDINGS, PRESETS
    from banjia.vendors import descriptor

    local = (d := descriptor(target)) is not None and d.protocol == "local"
    covered = set(OPENAI_CHAT + OPENAI_EMBEDDINGS) if local else set(
        PRESETS.get(target, {}))
    catalog = load_catalog()
    known = {n.lower() for m in catalog.openai.values() for n in (m.id, *m.aliases)}
    steps = []
    seen: set[str] = set()
    for f in project.report.findings:
        if f.kind != "model" or f.detail in covered or f.detail in seen:
            continue
        name = f.detail.lower()
        if name not in known and re.sub(r"-\d{4}(-\d{2}-\d{2})?$", "", name) not in known:
            continue  # not a model OpenAI sells (`"gpt-3.5"` in a prefix test): nothing to map
        seen.add(f.detail)
        reason = (f"the app asks for {f.detail}, which banjia's presets for {target} do not "
                  f"name: map it under models: in banjia's config ({f.detail}: "
                  "[provider/model])")
        steps.append(HumanStep(f.path, f.line, reason, "map a model"))
    return steps


def _note_steps(changes: Sequence[FileChange]) -> list[HumanStep]:
    """The ``banjia:`` comments the rewrite left where a person has to decide."""
    steps = []
    for c in changes:
        old = set(c.old.splitlines())
        for n, line in enumerate(c.new.splitlines(), 1):
            m = _NOTE.search(line)
            if m and line not in old:
                steps.append(HumanStep(c.path, n, _NOTE_REASONS.get(m.group(1), m.group(1)),
                                       "decide"))
    return steps


def human_steps(project: Project, changes: Sequence[FileChange], base_url: str,
                target: str | None = None) -> list[HumanStep]:
    texts = _texts_after(project, changes)
    steps = (_base_steps(project, texts, base_url) + _env_steps(project, texts, base_url)
             + _key_setting_steps(project) + _manifest_steps(project, base_url)
             + _ai_sdk_steps(project) + _key_steps(project) + _note_steps(changes)
             + _feature_steps(project, target) + _model_steps(project, target))
    unique: dict[tuple[str, int | None, str], HumanStep] = {}
    for s in steps:
        unique.setdefault((s.path, s.line, s.reason), s)
    return sorted(unique.values(), key=lambda s: (s.path, s.line or 0))

