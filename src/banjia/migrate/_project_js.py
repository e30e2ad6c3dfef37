"""The facts of :mod:`banjia.migrate._project_facts`, read from one JavaScript or TypeScript file
with the tree-sitter grammars (Vue files arrive with everything but their scripts blanked)."""

from __future__ import annotations

import re

from tree_sitter import Node

from banjia.migrate._project_facts import (
    FileFacts,
    KeyCheck,
    SettingUse,
    appended_host_only,
    is_base_name,
    openai_default,
)
from banjia.migrate._scan_js import (  # one tree-walking toolkit
    Dialect,
    _line,
    _text,
    _unwrap,
    _walk,
    parse_js,
)
from banjia.migrate._scan_rules import appends_api_path, is_env_name, openai_urls

__all__ = ["js_facts"]

_ENV_OBJECTS = frozenset({"process.env", "import.meta.env"})
_CONFIG_RECEIVERS = re.compile(r"(?i)(conf|config|settings|options|cfg)")
# option names that carry a base URL into a client: openai-node, the chatgpt package, the AI
# SDK, openai-node v3's Configuration
_BASE_OPTIONS = frozenset({"baseURL", "apiBaseUrl", "basePath", "baseUrl"})
_SDK_CTORS = frozenset({"OpenAI", "AzureOpenAI", "ChatOpenAI", "OpenAIEmbeddings"})
_FACTORIES = frozenset({"createOpenAI", "createAzure"})
_HOLE = "{…}"
_STRING_METHODS = frozenset({"replace", "replaceAll", "trim", "trimEnd", "toString", "slice"})
_FETCH = re.compile(r"(?i)\$?o?fetch\w*|\w*Fetch|axios|got|ky|request|post|get")


def _string(node: Node | None) -> str | None:
    node = _unwrap(node)
    if node is None:
        return None
    if node.type == "string":
        return _text(node)[1:-1]
    if node.type == "template_string" and not any(
            c.type == "template_substitution" for c in node.named_children):
        return _text(node)[1:-1]
    return None


class _Facts:
    def __init__(self, root: Node) -> None:
        self.root = root
        self.facts = FileFacts()
        self.values: dict[str, Node] = {}
        self.imports: dict[str, tuple[str, str]] = {}
        for node in _walk(root):
            if node.type == "variable_declarator":
                name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if name is not None and value is not None and name.type == "identifier":
                    self.values.setdefault(_text(name), value)
            elif node.type in ("public_field_definition", "field_definition"):
                name = node.child_by_field_name("name") or node.child_by_field_name("property")
                value = node.child_by_field_name("value")
                if name is not None and value is not None:
                    self.values.setdefault(_text(name), value)
            elif node.type == "import_statement":
                module = _string(node.child_by_field_name("source")) or ""
                for child in _walk(node):
                    if child.type == "import_specifier":
                        local = child.child_by_field_name("alias") or child.child_by_field_name(
                            "name")
                        self.imports[_text(local)] = (module, _text(
                            child.child_by_field_name("name")))

    def read(self, node: Node) -> tuple[str, str] | None:
        """``process.env.X`` → ("X", "env"); ``config.customOpenAiApiUrl`` → (…, "config")."""
        if node.type == "member_expression":
            obj = _text(node.child_by_field_name("object"))
            prop = _text(node.child_by_field_name("property"))
            if obj in _ENV_OBJECTS:
                return prop, "env"
            if is_base_name(prop) and _CONFIG_RECEIVERS.search(obj.split(".")[-1]):
                return prop, "config"
        if node.type == "subscript_expression" and _text(
                node.child_by_field_name("object")) in _ENV_OBJECTS:
            name = _string(node.child_by_field_name("index"))
            return (name, "env") if name else None
        return None

    def reads_in(self, node: Node | None, depth: int = 0) -> list[tuple[str, str, int, str, str]]:
        """(name, source, line, appended text, literal default) of each setting ``node`` reads."""
        node = _unwrap(node)
        if node is None or depth > 8:
            return []
        found = self.read(node)
        if found is not None:
            return [(found[0], found[1], _line(node), "", "")]
        t = node.type
        if t == "identifier" and _text(node) in self.values:
            return self.reads_in(self.values[_text(node)], depth + 1)
        if t == "member_expression" and _text(node.child_by_field_name("property")) in self.values:
            return self.reads_in(self.values[_text(node.child_by_field_name("property"))],
                                 depth + 1)
        if t == "binary_expression" and _text(node.child_by_field_name("operator")) in (
                "??", "||"):
            parts = [node.child_by_field_name("left"), node.child_by_field_name("right")]
            default = next((d for p in parts if (d := self._literal(p))), "")
            return [(n, s, ln, a, d or default) for p in parts
                    for n, s, ln, a, d in self.reads_in(p, depth + 1)]
        if t == "ternary_expression":
            parts = [node.child_by_field_name("consequence"),
                     node.child_by_field_name("alternative")]
            default = next((d for p in parts if (d := self._literal(p))), "")
            return [(n, s, ln, a, d or default) for p in parts
                    for n, s, ln, a, d in self.reads_in(p, depth + 1)]
        pieces: list[Node | str] = []
        if t == "template_string":
            for child in node.named_children:
                if child.type == "template_substitution":
                    inner = child.named_children[0] if child.named_children else None
                    if inner is not None:
                        pieces.append(inner)
                else:
                    pieces.append(_text(child))
        elif t == "binary_expression" and _text(node.child_by_field_name("operator")) == "+":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            pieces = [p for p in (left, right) if p is not None]
        elif t == "call_expression":
            # `config.azureEndpoint.replace(/\/$/, "")`: the string it was called on
            func = node.child_by_field_name("function")
            if func is not None and func.type == "member_expression" and _text(
                    func.child_by_field_name("property")) in _STRING_METHODS:
                return self.reads_in(func.child_by_field_name("object"), depth + 1)
        out: list[tuple[str, str, int, str, str]] = []
        for i, piece in enumerate(pieces):
            if isinstance(piece, str):
                continue
            after = "".join(p if isinstance(p, str) else (_string(p) or _HOLE)
                            for p in pieces[i + 1:])
            out.extend((n, s, ln, a + after, d) for n, s, ln, a, d in self.reads_in(piece,
                                                                                     depth + 1))
        return out

    def _literal(self, node: Node | None) -> str | None:
        text = _string(node)
        node = _unwrap(node)
        if text is None and node is not None and node.type == "identifier" \
                and _text(node) in self.values:
            text = _string(self.values[_text(node)])
        return text

    def setting(self, node: Node | None, how: str, host_only: bool | None = None,
                url: bool = False) -> None:
        for name, source, line, appended, default in self.reads_in(node):
            if url and not appends_api_path(_HOLE + appended) and not openai_urls(default) \
                    and openai_default(default) is None:
                continue
            ho = appended_host_only(appended)
            if ho is None:
                ho = openai_default(default) if default else host_only
            if "openai/deployments/" in appended:
                how = "builds Azure OpenAI request URLs from it (/openai/deployments/…)"
            self.facts.settings.append(SettingUse(name, "env" if source == "env" else "config",
                                                  line, ho, how))

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> FileFacts:
        for node in _walk(self.root):
            t = node.type
            found = self.read(node)
            if found is not None and found[1] == "env":
                self.facts.env_reads.add(found[0])
                if is_env_name(found[0]) and is_base_name(found[0]):
                    self.facts.settings.append(SettingUse(found[0], "env", _line(node), None,
                                                          f"reads {found[0]}"))
            if t == "new_expression":
                self.client(node, _text(node.child_by_field_name("constructor")).split(".")[-1])
            elif t == "call_expression":
                self.call(node)
            elif t == "pair" and _text(node.child_by_field_name("key")) in ("apiKey", "api_key"):
                for name, source, line, _, _ in self.reads_in(node.child_by_field_name("value")):
                    self.facts.settings.append(SettingUse(name, "env" if source == "env" else
                                                          "config", line, None, "apiKey: …",
                                                          "key"))
            elif t == "pair" and _text(node.child_by_field_name("key")) in _BASE_OPTIONS:
                self.setting(node.child_by_field_name("value"),
                             f"{_text(node.child_by_field_name('key'))}: …", False)
            elif t == "assignment_expression":
                left = node.child_by_field_name("left")
                if left is not None and left.type == "member_expression" and _text(
                        left.child_by_field_name("property")) in _BASE_OPTIONS:
                    self.setting(node.child_by_field_name("right"),
                                 f"{_text(left.child_by_field_name('property'))} = …", False)
            elif t == "binary_expression" and _text(node.child_by_field_name("operator")) in (
                    "??", "||") and any(openai_default(self._literal(node.child_by_field_name(f))
                                                       or "") is not None for f in ("left",
                                                                                    "right")):
                self.setting(node, "falls back to an OpenAI URL")
            elif t == "regex" and "sk-" in _text(node):
                pattern = _text(node.child_by_field_name("pattern"))
                self.facts.key_checks.append(KeyCheck(_line(node), pattern))
        return self.facts

    def _options(self, node: Node) -> Node | None:
        args = node.child_by_field_name("arguments")
        first = _unwrap(args.named_children[0]) if args is not None and args.named_children \
            else None
        return first if first is not None and first.type == "object" else None

    def _has_base_option(self, options: Node | None) -> bool:
        if options is None:
            return False
        for pair in _walk(options):
            if pair.type == "pair" and _text(pair.child_by_field_name("key")) in _BASE_OPTIONS:
                return True
        return any(c.type == "spread_element" for c in options.named_children)

    def client(self, node: Node, ctor: str) -> None:
        module = self.imports.get(ctor, ("", ""))[0]
        if ctor in _SDK_CTORS and module != "@langchain/anthropic" \
                and not self._has_base_option(self._options(node)):
            self.facts.implicit.append((_line(node), f"new {ctor}()"))

    def call(self, node: Node) -> None:
        func = node.child_by_field_name("function")
        name = _text(func)
        module, imported = self.imports.get(name.split(".")[0], ("", ""))
        made = name in _FACTORIES and not self._has_base_option(self._options(node))
        if made or (module == "@ai-sdk/openai" and imported == "openai"):
            self.facts.ai_sdk.append((_line(node), f"{name}()"))
        elif func is not None and func.type == "member_expression" and _text(
                func.child_by_field_name("property")) == "startsWith":
            args = node.child_by_field_name("arguments")
            prefix = _string(args.named_children[0]) if args and args.named_children else None
            if prefix and prefix.startswith("sk-"):
                self.facts.key_checks.append(KeyCheck(_line(node), f"prefix:{prefix}"))
        last = name.split(".")[-1]
        if _FETCH.fullmatch(last):
            args = node.child_by_field_name("arguments")
            first = args.named_children[0] if args is not None and args.named_children else None
            if first is not None and first.type not in ("string", "object"):
                self.setting(first, "builds request URLs from it", url=True)


def js_facts(source: bytes, dialect: Dialect) -> FileFacts:
    tree = parse_js(source, dialect)
    return _Facts(tree.root_node).run()
