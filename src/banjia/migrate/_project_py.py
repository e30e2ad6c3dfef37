"""The facts of :mod:`banjia.migrate._project_facts`, read from one Python file with :mod:`ast`."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from banjia.migrate._project_facts import (
    FileFacts,
    KeyCheck,
    SettingUse,
    appended_host_only,
    is_base_name,
    openai_default,
)
from banjia.migrate._scan_rules import (
    CLIENT_CTORS,
    LEGACY_RESOURCES,
    appends_api_path,
    is_env_name,
    openai_urls,
)

__all__ = ["python_facts"]

_SDK_CLIENTS = frozenset({"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Client",
                          "AsyncClient"})
_BASE_KEYWORDS = {"base_url": False, "openai_api_base": False, "api_base": False,
                  "api_base_url": False}
_CONFIG_RECEIVERS = re.compile(r"(?i)(conf|config|settings|options|cfg|env)")
_ENV_FUNCS = (["os", "getenv"], ["getenv"], ["os", "environ", "get"], ["environ", "get"])
_HOLE = "{…}"


def _dotted(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else [*base, node.attr]
    if isinstance(node, ast.Call):  # `conf().get` reads as `conf.get`
        return _dotted(node.func)
    return None


def _const(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@dataclass(frozen=True)
class _Read:
    name: str
    source: str
    line: int
    default: str | None


class _Facts:
    def __init__(self, tree: ast.Module) -> None:
        self.facts = FileFacts()
        self.values: dict[str, ast.expr] = {}
        self.imports: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    name = t.id if isinstance(t, ast.Name) else (
                        t.attr if isinstance(t, ast.Attribute) else None)
                    if name:
                        self.values.setdefault(name, node.value)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.imports[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        self.imports[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    self.imports[a.asname or a.name] = f"{node.module}.{a.name}"

    # -- setting reads ------------------------------------------------------------------------

    def read(self, node: ast.expr) -> _Read | None:
        """``os.getenv("X")``, ``os.environ["X"]``, ``conf().get("x")``, ``config["x"]``."""
        if isinstance(node, ast.Call) and node.args:
            dotted = _dotted(node.func)
            name = _const(node.args[0])
            default = _const(node.args[1]) if len(node.args) > 1 else None
            if dotted in _ENV_FUNCS and name:
                return _Read(name, "env", node.lineno, default)
            if dotted and dotted[-1] == "get" and name and len(dotted) > 1 \
                    and _CONFIG_RECEIVERS.search(dotted[-2]):
                return _Read(name, "config", node.lineno, default)
        if isinstance(node, ast.Subscript):
            name = _const(node.slice)
            dotted = _dotted(node.value)
            if name and dotted in (["os", "environ"], ["environ"]):
                return _Read(name, "env", node.lineno, None)
            if name and dotted and _CONFIG_RECEIVERS.search(dotted[-1]):
                return _Read(name, "config", node.lineno, None)
        if isinstance(node, ast.Attribute) and is_base_name(node.attr):
            dotted = _dotted(node.value)
            if (dotted and _CONFIG_RECEIVERS.search(dotted[-1]) and dotted[0] != "self") or (
                    dotted == ["self", "config"]):
                return _Read(node.attr, "config", node.lineno, None)
        return None

    def reads_in(self, node: ast.expr | None, depth: int = 0) -> list[tuple[_Read, str, str]]:
        """Setting reads an expression is built from, each with the literal text appended after
        it and the literal default beside it (``… or "https://api.openai.com"``)."""
        if node is None or depth > 8:
            return []
        found = self.read(node)
        if found is not None:
            return [(found, "", found.default or "")]
        if isinstance(node, ast.Name) and node.id in self.values:
            return self.reads_in(self.values[node.id], depth + 1)
        if isinstance(node, ast.Attribute) and node.attr in self.values \
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            return self.reads_in(self.values[node.attr], depth + 1)
        if isinstance(node, ast.BoolOp | ast.IfExp):
            parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            default = next((d for p in parts if (d := self._literal(p, depth))), "")
            return [(r, a, d or default) for p in parts for r, a, d in self.reads_in(p, depth + 1)]
        pieces: list[ast.expr] = []
        if isinstance(node, ast.JoinedStr):
            pieces = [v.value if isinstance(v, ast.FormattedValue) else v for v in node.values]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            pieces = [node.left, node.right]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("rstrip", "strip", "format"):
            pieces = [node.func.value, *node.args]
        out: list[tuple[_Read, str, str]] = []
        for i, piece in enumerate(pieces):
            after = "".join(_const(p) or _HOLE for p in pieces[i + 1:])
            out.extend((r, a + after, d) for r, a, d in self.reads_in(piece, depth + 1))
        return out

    def _literal(self, node: ast.expr, depth: int) -> str | None:
        text = _const(node)
        if text is None and isinstance(node, ast.Name) and node.id in self.values and depth < 8:
            text = _const(self.values[node.id])
        return text

    def key_setting(self, node: ast.expr | None, how: str) -> None:
        """Record the settings ``node`` reads as the app's OpenAI key."""
        for r, _, _ in self.reads_in(node):
            self.facts.settings.append(SettingUse(r.name, "env" if r.source == "env" else
                                                  "config", r.line, None, how, "key"))

    def setting(self, node: ast.expr | None, how: str, host_only: bool | None = None,
                url: bool = False) -> None:
        """Record the settings ``node`` reads as the app's base URL."""
        for r, appended, default in self.reads_in(node):
            if url and not appends_api_path(_HOLE + appended) and not openai_urls(default):
                continue
            ho = appended_host_only(appended)
            if ho is None:
                ho = openai_default(default) if default else host_only
            if "openai/deployments/" in appended:
                how = "builds Azure OpenAI request URLs from it (/openai/deployments/…)"
            self.facts.settings.append(SettingUse(r.name, "env" if r.source == "env" else
                                                  "config", r.line, ho, how))

    # -- the walk -----------------------------------------------------------------------------

    def run(self, tree: ast.Module) -> FileFacts:
        has_module_base = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Attribute) and t.attr == "api_key" \
                            and _dotted(t.value) == ["openai"]:
                        self.key_setting(node.value, "openai.api_key = …")
                    if isinstance(t, ast.Attribute) and t.attr in ("api_base", "base_url") \
                            and _dotted(t.value) == ["openai"]:
                        has_module_base = True
                        self.facts.module_base.append(node.lineno)
                        self.setting(node.value, f"openai.{t.attr} = …", False)
            elif isinstance(node, ast.Call):
                self.call(node)
            r = self.read(node) if isinstance(node, ast.expr) else None
            if r is not None and r.source == "env":
                self.facts.env_reads.add(r.name)
                if is_env_name(r.name) and is_base_name(r.name):
                    self.facts.settings.append(SettingUse(
                        r.name, "env", r.line, openai_default(r.default or ""),
                        f"reads {r.name}"))
            if isinstance(node, ast.BoolOp | ast.Call) and self._has_openai_default(node):
                self.setting(node, "falls back to an OpenAI URL")
        if has_module_base:
            self.facts.module_client.clear()
        return self.facts

    @staticmethod
    def _has_openai_default(node: ast.expr) -> bool:
        literals = node.values if isinstance(node, ast.BoolOp) else (
            node.args[1:2] if isinstance(node, ast.Call) else [])
        return any(openai_default(_const(v) or "") is not None for v in literals)

    def call(self, node: ast.Call) -> None:
        dotted = _dotted(node.func) or []
        target = self.imports.get(dotted[0], dotted[0]).split(".") + dotted[1:] if dotted else []
        last = target[-1] if target else ""
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if last in CLIENT_CTORS and target[0] not in ("anthropic",) and (
                last not in ("OpenAI", "AzureOpenAI") or target[0] in ("openai", "llama_index")
                or len(target) == 1):
            key = next((k for k in ("api_key", "openai_api_key") if k in keywords), None)
            if key is not None:
                self.key_setting(keywords[key], f"{last}({key}=…)")
            base = next((k for k in _BASE_KEYWORDS if k in keywords), None)
            if base is None:
                if last in _SDK_CLIENTS or target[0].startswith("langchain"):
                    self.facts.implicit.append((node.lineno, f"{last}()"))
            else:
                self.setting(keywords[base], f"{last}({base}=…)", False)
        elif target[:1] == ["openai"] and (
                (len(target) == 3 and target[1] in LEGACY_RESOURCES)
                or target[1:3] in (["chat", "completions"], ["embeddings", "create"])):
            self.facts.module_client.append(node.lineno)
        elif last == "init_chat_model":
            self.facts.implicit.append((node.lineno, "init_chat_model()"))
        elif last in ("startswith",) and node.args and (prefix := _const(node.args[0])) \
                and prefix.startswith("sk-"):
            self.facts.key_checks.append(KeyCheck(node.lineno, f"prefix:{prefix}"))
        elif target[:1] == ["re"] and last in ("match", "fullmatch", "search", "compile") \
                and node.args and (pattern := _const(node.args[0])) and "sk-" in pattern:
            self.facts.key_checks.append(KeyCheck(node.lineno, pattern))
        # a request whose URL appends an API path to a setting
        url = next((k.value for k in node.keywords if k.arg == "url"), None)
        if url is None and node.args:
            url = node.args[1] if last in ("request", "stream") and len(node.args) > 1 \
                else node.args[0]
        if url is not None and not isinstance(url, ast.Constant):
            self.setting(url, "builds request URLs from it", url=True)


def python_facts(source: bytes) -> FileFacts:
    """Raises SyntaxError or ValueError when the file does not parse."""
    tree = ast.parse(source)
    return _Facts(tree).run(tree)
