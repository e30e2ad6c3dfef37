"""JavaScript and TypeScript sources, read with the tree-sitter grammars.

Comments are their own nodes in the tree and are never looked at; only string literals, template
literals, ``new`` expressions, calls and ``process.env`` reads produce findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Literal

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Tree

from banjia.migrate._scan_features import UNKNOWN, Value, body_features, url_feature
from banjia.migrate._scan_rules import (
    API_METHODS,
    CLIENT_CTORS,
    FOREIGN_MODULES,
    FOREIGN_NAME_HINTS,
    HTTP_METHODS,
    SDK_RESOURCES,
    V3_METHODS,
    Hit,
    appends_api_path,
    is_api_url,
    is_env_name,
    is_sdk_method,
    literal_hits,
    match_api_method,
    openai_urls,
)

__all__ = ["Dialect", "dialect_for", "parse_js", "scan_js", "string_value"]

Dialect = Literal["js", "ts", "tsx"]

_DIALECTS: dict[str, Dialect] = {".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "js",
                                  ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx"}
# Constructors that only mean OpenAI when imported from the `openai` package (v3).
_V3_CTORS = frozenset({"Configuration", "OpenAIApi"})
_FACTORIES = frozenset({"createOpenAI", "createAzure"})
_AXIOS_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
_FUNCTIONS = frozenset({"function_declaration", "function_expression", "arrow_function",
                        "method_definition", "generator_function_declaration",
                        "generator_function", "function"})
_ENV_OBJECTS = frozenset({"process.env", "import.meta.env"})
_HOLE = "{…}"
# request functions beyond `fetch` and `axios`: wrappers such as `fetchSSE`, `fetchEventSource`,
# a proxy-aware `options.fetch`, and the common request libraries
_FETCH_LIKE = re.compile(r"(?i)\$?o?fetch\w*|\w*Fetch|got|ky|request|superagent")
# clients of wrapper libraries: the `chatgpt` package's ChatGPTAPI (scan-rules.md, extension 3)
_WRAPPER_CTORS = frozenset({"ChatGPTAPI"})
_WRAPPER_CALLS = frozenset({"sendMessage"})
# the Vercel AI SDK: its default providers, and the functions that call a model
_AI_SDK_DEFAULTS = {"@ai-sdk/openai": "openai", "@ai-sdk/azure": "azure"}
_AI_SDK_MODULES = frozenset({"ai", "ai/rsc", "ai/react"})
_AI_SDK_CALLS: dict[str, str] = {
    "generateText": "", "streamText": "streaming", "generateObject": "json_schema",
    "streamObject": "json_schema", "streamUI": "streaming", "render": "streaming",
    "embed": "embeddings", "embedMany": "embeddings", "generateImage": "images",
    "experimental_generateImage": "images", "transcribe": "audio",
    "experimental_transcribe": "audio", "generateSpeech": "audio",
    "experimental_generateSpeech": "audio",
}


def dialect_for(suffix: str) -> Dialect | None:
    return _DIALECTS.get(suffix)


@cache
def _parser(dialect: Dialect) -> Parser:
    if dialect == "js":
        lang = tree_sitter_javascript.language()
    elif dialect == "ts":
        lang = tree_sitter_typescript.language_typescript()
    else:
        lang = tree_sitter_typescript.language_tsx()
    return Parser(Language(lang))


def parse_js(source: bytes, dialect: Dialect) -> Tree:
    return _parser(dialect).parse(source)


def scan_js(source: bytes, dialect: Dialect) -> tuple[list[Hit], bool]:
    """Every finding in one file, and whether the parser had to recover from syntax errors."""
    tree = parse_js(source, dialect)
    return list(_Scanner(tree.root_node).run()), tree.root_node.has_error


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def _line(node: Node) -> int:
    return node.start_point.row + 1


def string_value(node: Node) -> tuple[str, bool] | None:
    """The text of a string or template literal, and whether it has no ``${…}`` holes."""
    if node.type == "string":
        return _text(node)[1:-1], True
    if node.type == "template_string":
        parts: list[str] = []
        whole = True
        for child in node.named_children:
            if child.type == "template_substitution":
                parts.append(_HOLE)
                whole = False
            else:
                parts.append(_text(child))
        return "".join(parts), whole
    return None


def _openai_target(text: str | None) -> str | None:
    """The OpenAI URL a request URL holds, or its text when it appends an OpenAI API path to a
    base known only at run time (scan-rules.md, extension 2)."""
    if text is None:
        return None
    urls = openai_urls(text)
    if urls:
        return urls[0]
    return text if appends_api_path(text) else None


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def _unwrap(node: Node | None) -> Node | None:
    while node is not None and node.type in ("await_expression", "parenthesized_expression",
                                              "non_null_expression", "as_expression",
                                              "satisfies_expression"):
        node = node.named_children[0] if node.named_children else None
    return node


def _chain(func: Node) -> tuple[list[str], Node]:
    """Property names from the receiver to the method, looking through ``withOptions(...)``."""
    path: list[str] = []
    node: Node | None = func
    while node is not None:
        if node.type == "member_expression":
            path.append(_text(node.child_by_field_name("property")))
            node = node.child_by_field_name("object")
        elif node.type == "call_expression":
            inner = node.child_by_field_name("function")
            if inner is None or inner.type != "member_expression" \
                    or _text(inner.child_by_field_name("property")) != "withOptions":
                break
            node = inner.child_by_field_name("object")
        elif node.type == "non_null_expression" and node.named_children:
            node = node.named_children[0]
        else:
            break
    path.reverse()
    assert node is not None
    return path, node


def literal_value(node: Node | None) -> Value:
    """An argument as a plain value; anything computed is UNKNOWN."""
    node = _unwrap(node)
    if node is None:
        return None
    t = node.type
    if t in ("string", "template_string"):
        sv = string_value(node)
        return sv[0] if sv and sv[1] else UNKNOWN
    if t in ("true", "false"):
        return t == "true"
    if t in ("null", "undefined"):
        return None
    if t == "number":
        try:
            return int(_text(node))
        except ValueError:
            return UNKNOWN
    if t == "object":
        out: dict[str, Value] = {}
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                if key is None:
                    continue
                sv = string_value(key)
                name = sv[0] if sv else _text(key)
                out[name] = literal_value(child.child_by_field_name("value"))
            elif child.type == "shorthand_property_identifier":
                out[_text(child)] = UNKNOWN
        return out
    if t == "array":
        return [literal_value(c) for c in node.named_children]
    if t == "call_expression" and _text(node.child_by_field_name("function")) == "JSON.stringify":
        args = node.child_by_field_name("arguments")
        return literal_value(args.named_children[0]) if args and args.named_children else UNKNOWN
    return UNKNOWN


def _args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    return [a for a in args.named_children if a.type != "comment"]


def _pattern_names(node: Node) -> Iterator[tuple[str, Node | None]]:
    """Identifiers a parameter pattern binds, with their default values."""
    t = node.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        yield _text(node), None
    elif t in ("required_parameter", "optional_parameter"):
        pattern = node.child_by_field_name("pattern")
        default = node.child_by_field_name("value")
        if pattern is not None:
            for name, _ in _pattern_names(pattern):
                yield name, default
    elif t == "assignment_pattern":
        left = node.child_by_field_name("left")
        if left is not None:
            for name, _ in _pattern_names(left):
                yield name, node.child_by_field_name("right")
    else:
        for child in node.named_children:
            yield from _pattern_names(child)


class _Scanner:
    def __init__(self, root: Node) -> None:
        self.root = root
        self.imports: dict[str, tuple[str, str]] = {}  # local name → (module, imported name)
        self.foreign: set[str] = set()
        # names that also hold an OpenAI client somewhere in the file are never foreign
        self.openai_bound: set[str] = set()
        self.url_names: dict[str, str] = {}
        self.params: list[frozenset[str]] = []
        self.hits: list[Hit] = []
        self.wrapper_bound: set[str] = set()  # names holding a ChatGPTAPI
        self.ai_providers: set[str] = set()  # names of AI SDK providers: default or made here
        self.ai_models: set[str] = set()  # names bound to one of their models
        self._collect()

    # -- pre-pass -----------------------------------------------------------------------------

    def _collect(self) -> None:
        nodes = list(_walk(self.root))
        for node in nodes:
            if node.type == "import_statement":
                self._collect_import(node)
            elif node.type == "variable_declarator":
                value = _unwrap(node.child_by_field_name("value"))
                if value is not None and value.type == "call_expression" \
                        and _text(value.child_by_field_name("function")) == "require":
                    args = _args(value)
                    sv = string_value(args[0]) if args else None
                    name = node.child_by_field_name("name")
                    if sv and name is not None:
                        self._collect_require(name, sv[0])
        for local, (module, imported) in self.imports.items():
            if module in FOREIGN_MODULES or module.split("/")[0] in FOREIGN_MODULES:
                self.foreign.add(local)
            if _AI_SDK_DEFAULTS.get(module) == imported:
                self.ai_providers.add(local)
        for _ in range(3):  # a few rounds settle chains like `const URL = BASE + "/chat"`
            for node in nodes:
                self._collect_binding(node)

    def _collect_import(self, node: Node) -> None:
        source = node.child_by_field_name("source")
        sv = string_value(source) if source is not None else None
        if not sv:
            return
        for child in _walk(node):
            if child.type == "import_specifier":
                name = _text(child.child_by_field_name("name"))
                alias = child.child_by_field_name("alias")
                self.imports[_text(alias) if alias else name] = (sv[0], name)
            elif child.type == "identifier" and child.parent is not None:
                if child.parent.type == "import_clause":
                    self.imports[_text(child)] = (sv[0], "default")
                elif child.parent.type == "namespace_import":
                    self.imports[_text(child)] = (sv[0], "*")

    def _collect_require(self, pattern: Node, module: str) -> None:
        if pattern.type == "identifier":
            self.imports[_text(pattern)] = (module, "*")
            return
        for child in pattern.named_children:
            if child.type == "shorthand_property_identifier_pattern":
                self.imports[_text(child)] = (module, _text(child))
            elif child.type == "pair_pattern":
                key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
                if key is not None and value is not None and value.type == "identifier":
                    self.imports[_text(value)] = (module, _text(key))

    def _ctor_name(self, callee: Node) -> str:
        """The class a `new` expression builds, seen through import aliases."""
        if callee.type == "member_expression":
            return _text(callee.child_by_field_name("property"))
        local = _text(callee)
        module, imported = self.imports.get(local, ("", local))
        if imported == "default" and module == "openai":
            return "OpenAI"
        return local if imported in ("default", "*") else imported

    def _collect_binding(self, node: Node) -> None:
        name_node: Node | None = None
        value: Node | None = None
        if node.type == "variable_declarator":
            name_node, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        elif node.type == "assignment_expression":
            name_node, value = node.child_by_field_name("left"), node.child_by_field_name("right")
        elif node.type in ("public_field_definition", "field_definition"):
            name_node = node.child_by_field_name("name") or node.child_by_field_name("property")
            value = node.child_by_field_name("value")
        elif node.type in ("assignment_pattern", "required_parameter", "optional_parameter"):
            for name, default in _pattern_names(node):
                if default is not None and (url := self._url_of(default)):
                    self.url_names[name] = url
            return
        if name_node is None or value is None:
            return
        if name_node.type == "member_expression":
            name_node = name_node.child_by_field_name("property")
        if name_node is None or name_node.type not in ("identifier", "property_identifier",
                                                       "private_property_identifier"):
            return
        name = _text(name_node)
        if self._is_foreign_value(value):
            self.foreign.add(name)
        inner = _unwrap(value)
        ctor = inner.child_by_field_name("constructor") if inner is not None \
            and inner.type == "new_expression" else None
        if ctor is not None and self._ctor_name(ctor) in CLIENT_CTORS:
            self.openai_bound.add(name)
        if ctor is not None and self._ctor_name(ctor) in _WRAPPER_CTORS:
            self.wrapper_bound.add(name)
        if inner is not None and inner.type == "call_expression":
            callee = _text(inner.child_by_field_name("function"))
            if callee in _FACTORIES:
                self.ai_providers.add(name)
            elif self._is_ai_model(inner):
                self.ai_models.add(name)
        text = self._url_text(value)
        if text != _HOLE and (_openai_target(text) or "://" in text or text.endswith(_HOLE)
                              or text.startswith(_HOLE)):
            self.url_names[name] = text

    def _is_foreign_value(self, value: Node) -> bool:
        value = _unwrap(value) or value
        if value.type in ("new_expression", "call_expression"):
            callee = value.child_by_field_name("constructor") or value.child_by_field_name(
                "function")
            root = callee
            while root is not None and root.type == "member_expression":
                root = root.child_by_field_name("object")
            return root is not None and _text(root) in self.foreign
        return False

    # -- URL expressions ----------------------------------------------------------------------

    def _url_of(self, node: Node | None) -> str | None:
        """What an expression reaches when it is an OpenAI URL: the URL, or its text with
        ``{…}`` holes when it appends an API path to a base known only at run time."""
        return _openai_target(self._url_text(node))

    def _url_text(self, node: Node | None, depth: int = 0) -> str:
        """The text of a URL expression, every part not known here written ``{…}``."""
        node = _unwrap(node)
        if node is None or depth > 20:
            return _HOLE
        t = node.type
        if t == "string":
            return _text(node)[1:-1]
        if t == "template_string":
            parts = []
            for child in node.named_children:
                if child.type == "template_substitution":
                    inner = child.named_children[0] if child.named_children else None
                    parts.append(self._url_text(inner, depth + 1))
                else:
                    parts.append(_text(child))
            return "".join(parts)
        if t == "binary_expression":
            op = node.child_by_field_name("operator")
            left = self._url_text(node.child_by_field_name("left"), depth + 1)
            right = self._url_text(node.child_by_field_name("right"), depth + 1)
            if _text(op) == "+":
                return left + right
            if _text(op) in ("??", "||"):  # `process.env.BASE ?? "https://api.openai.com"`
                return next((x for x in (left, right) if _openai_target(x)), _HOLE)
            return _HOLE
        if t == "ternary_expression":
            texts = [self._url_text(node.child_by_field_name(f), depth + 1)
                     for f in ("consequence", "alternative")]
            return next((x for x in texts if _openai_target(x)), _HOLE)
        if t == "identifier":
            if any(_text(node) in p for p in self.params):
                return _HOLE  # a parameter: the URL comes from the caller
            return self.url_names.get(_text(node), _HOLE)
        if t == "member_expression":
            return self.url_names.get(_text(node.child_by_field_name("property")), _HOLE)
        if t == "new_expression" and _text(node.child_by_field_name("constructor")) == "URL":
            args = _args(node)
            if len(args) >= 2:  # new URL(path, base)
                return self._url_text(args[1], depth + 1).rstrip("/") + "/" + \
                    self._url_text(args[0], depth + 1).lstrip("/")
            return self._url_text(args[0], depth + 1) if args else _HOLE
        return _HOLE

    # -- walking ------------------------------------------------------------------------------

    def run(self) -> Iterator[Hit]:
        self._visit(self.root)
        return iter(self.hits)

    def _visit(self, node: Node) -> None:
        t = node.type
        if t == "comment":
            return
        if t in _FUNCTIONS:
            self._visit_function(node)
            return
        if t in ("string", "template_string"):
            sv = string_value(node)
            if sv is not None:
                self.hits.extend(literal_hits(sv[0], _line(node), whole=sv[1]))
            if t == "string":
                return
        elif t == "new_expression":
            self._visit_new(node)
        elif t == "call_expression":
            self._visit_call(node)
        elif t == "member_expression":
            if _text(node.child_by_field_name("object")) in _ENV_OBJECTS:
                prop = node.child_by_field_name("property")
                if prop is not None and is_env_name(_text(prop)):
                    self.hits.append(Hit(_line(prop), "env", _text(prop)))
        elif t == "variable_declarator":
            self._visit_env_destructuring(node)
        for child in node.children:
            if t == "template_string" and child.type != "template_substitution":
                continue
            self._visit(child)

    def _visit_function(self, node: Node) -> None:
        params = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
        names: set[str] = set()
        if params is not None:
            for name, default in _pattern_names(params):
                if default is None or self._url_of(default) is None:
                    names.add(name)
        self.params.append(frozenset(names))
        for child in node.children:
            self._visit(child)
        self.params.pop()

    def _visit_env_destructuring(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name is None or name.type != "object_pattern" or _text(value) not in _ENV_OBJECTS:
            return
        for child in name.named_children:
            key = child.child_by_field_name("key") if child.type == "pair_pattern" else child
            if key is not None and is_env_name(_text(key)):
                self.hits.append(Hit(_line(key), "env", _text(key)))

    def _visit_new(self, node: Node) -> None:
        ctor = node.child_by_field_name("constructor")
        if ctor is None:
            return
        name = self._ctor_name(ctor)
        module = self.imports.get(_text(ctor), ("", ""))[0]
        if name in CLIENT_CTORS or (name in _V3_CTORS and module == "openai") or (
                name in _WRAPPER_CTORS and module in ("chatgpt", "")):
            self.hits.append(Hit(_line(node), "client", f"new {name}(…)"))

    def _imports_openai(self) -> bool:
        # v3 method names are generic (`createCompletion`); they count in files using the SDK
        return any(module == "openai" for module, _ in self.imports.values())

    def _is_foreign_receiver(self, path: list[str], root: Node) -> bool:
        if root.type == "call_expression" or root.type == "new_expression":
            return self._is_foreign_value(root)
        if root.type == "this":
            name = path[0] if path else ""
        elif root.type == "identifier":
            name = _text(root)
        else:
            return False
        if name in self.openai_bound:
            return False
        lowered = name.lower()
        return name in self.foreign or any(h in lowered for h in FOREIGN_NAME_HINTS)

    def _is_ai_model(self, node: Node | None) -> bool:
        """A model of an AI SDK OpenAI provider: `openai("gpt-4o")`, `openai.chat(…)`, a
        provider made with `createOpenAI`, or a name bound to one of these."""
        node = _unwrap(node)
        if node is None:
            return False
        if node.type == "identifier":
            return _text(node) in self.ai_models
        if node.type == "ternary_expression":
            return any(self._is_ai_model(node.child_by_field_name(f))
                       for f in ("consequence", "alternative"))
        if node.type == "binary_expression" and _text(node.child_by_field_name("operator")) in (
                "??", "||"):
            return any(self._is_ai_model(node.child_by_field_name(f)) for f in ("left", "right"))
        if node.type != "call_expression":
            return False
        func = node.child_by_field_name("function")
        if func is not None and func.type == "member_expression":
            func = func.child_by_field_name("object")
        return func is not None and func.type == "identifier" and _text(func) in self.ai_providers

    def _is_openai_receiver(self, path: list[str], root: Node) -> bool:
        """A receiver that holds an OpenAI client: bound to a constructor, or named so."""
        if root.type in ("call_expression", "new_expression"):
            ctor = root.child_by_field_name("constructor")
            return ctor is not None and self._ctor_name(ctor) in CLIENT_CTORS
        if root.type == "this":
            name = path[-1] if path else ""
        elif root.type == "identifier":
            name = path[-1] if path else _text(root)
        else:
            return False
        lowered = name.lower()
        return name in self.openai_bound or "client" in lowered or "openai" in lowered

    def _visit_ai_sdk(self, node: Node, name: str, line: int) -> None:
        """`streamText({ model: openai("gpt-4o"), … })` and the other AI SDK model calls."""
        module, imported = self.imports.get(name, ("", ""))
        if module not in _AI_SDK_MODULES or imported not in _AI_SDK_CALLS:
            return
        args = _args(node)
        options = _unwrap(args[0]) if args else None
        if options is None or options.type != "object":
            return
        model: Node | None = None
        keys: set[str] = set()
        for pair in options.named_children:
            key = _text(pair.child_by_field_name("key")) if pair.type == "pair" else _text(pair)
            keys.add(key)
            if key == "model":
                model = pair.child_by_field_name("value") if pair.type == "pair" else pair
        if model is None or not self._is_ai_model(model):
            return
        implied = [_AI_SDK_CALLS[imported], "tools" if "tools" in keys else ""]
        feats = body_features({}, implied)
        self.hits.append(Hit(line, "call", f"{imported}(…)", feats))

    def _visit_call(self, node: Node) -> None:
        func = node.child_by_field_name("function")
        if func is None:
            return
        line = _line(node)
        if func.type == "identifier":
            name = _text(func)
            if name in _FACTORIES or (name in self.ai_providers and name not in self._made_providers()):
                self.hits.append(Hit(line, "client", f"{name}(…)"))
            elif name in ("fetch", "axios"):
                self._visit_http(node, name, name == "axios")
            elif name in self.imports and self.imports[name][0] in _AI_SDK_MODULES:
                self._visit_ai_sdk(node, name, line)
            elif _FETCH_LIKE.fullmatch(name):
                self._visit_http(node, name, False)
            return
        if func.type != "member_expression":
            return
        prop_node = func.child_by_field_name("property")
        prop = _text(prop_node)
        if prop_node is not None:
            line = _line(prop_node)  # in a chain split over lines, the line of `.create(`
        path, root = _chain(func)
        if prop == "withOptions" and not self._is_foreign_receiver(path[:-1], root):
            self.hits.append(Hit(line, "client", "withOptions(…)"))
            return
        obj_node = func.child_by_field_name("object")
        obj = _text(obj_node)
        if obj in self.ai_providers and obj not in self._made_providers():
            self.hits.append(Hit(line, "client", f"{obj}.{prop}(…)"))
            return
        if prop in _WRAPPER_CALLS and self._holds_wrapper(path, root):
            self.hits.append(Hit(line, "call", f"ChatGPTAPI.{prop}", body_features({}, [])))
            return
        method = match_api_method(path)
        if method is None and prop in V3_METHODS and self._imports_openai():
            method = (prop,)
        implied: str | None = None
        if method is not None:
            implied = API_METHODS.get(method, V3_METHODS.get(method[-1], ""))
        else:
            resource = is_sdk_method(path)
            if resource is not None and (len(resource) > 1 or self._is_openai_receiver(
                    path[:-len(resource) - 1], root)):
                method, implied = (*resource, prop), SDK_RESOURCES[resource]
        if method is not None and implied is not None and not self._is_foreign_receiver(path, root):
            args = _args(node)
            body = literal_value(args[0]) if args else {}
            feats = body_features(body if isinstance(body, dict) else {}, [implied])
            self.hits.append(Hit(line, "call", ".".join(method), feats))
            return
        if obj == "axios":
            if prop in _AXIOS_VERBS:
                self._visit_http(node, f"axios.{prop}", True)
        elif prop == "fetch" or (_FETCH_LIKE.fullmatch(prop) and prop not in HTTP_METHODS):
            self._visit_http(node, prop, False)
        elif prop in HTTP_METHODS:
            self._visit_http(node, prop, True, api_only=True)

    def _made_providers(self) -> set[str]:
        """Providers the app made itself with `createOpenAI`: only their literals count."""
        return {n for n in self.ai_providers if n not in self.imports}

    def _holds_wrapper(self, path: list[str], root: Node) -> bool:
        if root.type == "this":
            name = path[0] if len(path) > 1 else ""
        elif root.type == "identifier":
            name = _text(root)
        else:
            return False
        return name in self.wrapper_bound

    def _visit_http(self, node: Node, name: str, config_url: bool, api_only: bool = False) -> None:
        args = _args(node)
        if not args:
            return
        first = _unwrap(args[0])
        url = self._url_of(first)
        body: Value = None
        if url is None and config_url and first is not None and first.type == "object":
            for pair in first.named_children:
                key = pair.child_by_field_name("key") if pair.type == "pair" else None
                if key is not None and _text(key) in ("url", "baseURL"):
                    url = self._url_of(pair.child_by_field_name("value"))
                if key is not None and _text(key) == "data":
                    body = literal_value(pair.child_by_field_name("value"))
        # `.get` and friends also belong to maps: a client's call must reach the API itself
        if url is None or (api_only and openai_urls(url) and not is_api_url(url)):
            return
        if name != "axios" and not name.startswith("axios.") and len(args) > 1:
            options = literal_value(args[1])
            body = options.get("body") if isinstance(options, dict) else None
        elif body is None and len(args) > 1:
            body = literal_value(args[1])
        feats = body_features(body if isinstance(body, dict) else {}, [url_feature(url)])
        func = node.child_by_field_name("function")
        prop = func.child_by_field_name("property") if func is not None else None
        self.hits.append(Hit(_line(prop or node), "call", f"{name} {url}", feats))
