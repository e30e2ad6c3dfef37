"""Python sources, read with :mod:`ast`: comments never reach the tree and docstrings are dropped."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from banjia.migrate._scan_features import UNKNOWN, Value, body_features, url_feature
from banjia.migrate._scan_rules import (
    API_METHODS,
    CLIENT_CTORS,
    FOREIGN_MODULES,
    FOREIGN_NAME_HINTS,
    HTTP_METHODS,
    LEGACY_METHODS,
    LEGACY_RESOURCES,
    SDK_RESOURCES,
    WITH_OPTIONS_ELSEWHERE,
    Hit,
    appends_api_path,
    is_api_url,
    is_sdk_method,
    literal_hits,
    match_api_method,
    openai_urls,
)

__all__ = ["scan_python"]

_PASS_THROUGH = frozenset({"with_raw_response", "with_streaming_response"})
_HTTP_MODULES = frozenset({"requests", "httpx"})
_HTTP_MODULE_FUNCS = frozenset({"get", "post", "put", "patch", "delete", "head", "options",
                                "request", "stream"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
# functions that send a request given its URL first: `urllib.request.Request`, `urlopen`, and
# the app's own wrappers (`fetch_sse`, `_post`, `do_request`…)
_REQUEST_FUNC = re.compile(r"(?i)(urlopen|Request|a?fetch\w*|\w*_(fetch|request|post|sse)|post|request)")
# wrappers that are clients even when only referenced (`{"openai": ChatOpenAI}`)
_WRAPPER_MODULES = ("langchain", "llama_index")
_MAPPINGS = (ast.Dict, ast.DictComp)
# stands for a hole in an f-string; it can sit in a host, so `f"https://{name}.openai.azure.com"`
# is still an Azure URL
_HOLE = "{…}"


def scan_python(source: bytes) -> list[Hit]:
    """Every finding in one Python file. Raises SyntaxError or ValueError when it does not parse."""
    tree = ast.parse(source)
    return list(_Scanner(tree).run())


def _docstrings(nodes: list[ast.AST]) -> set[int]:
    ids: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                ids.add(id(body[0].value))
    return ids


def _dotted(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else [*base, node.attr]
    return None


def _chain(func: ast.expr) -> tuple[list[str], ast.expr]:
    """The attribute names from the receiver to the method, and the receiver.

    ``with_options(...)``, ``with_raw_response`` and ``with_streaming_response`` are looked
    through, so ``client.with_options(timeout=5).chat.completions.create`` ends in the API path.
    """
    path: list[str] = []
    node = func
    while True:
        if isinstance(node, ast.Attribute):
            if node.attr not in _PASS_THROUGH:
                path.append(node.attr)
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "with_options"):
            node = node.func.value
        else:
            break
    path.reverse()
    return path, node


def _call_line(node: ast.Call) -> int:
    """The line of the called name: in a chain split over lines, the line of `.create(`."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.end_lineno is not None:
        return func.end_lineno
    return node.lineno


def _is_client_ctor(resolved: list[str]) -> bool:
    if resolved[0] in FOREIGN_MODULES:
        return False
    # `openai.Client` and `openai.AsyncClient` are the SDK's aliases of its two clients
    return resolved[-1] in CLIENT_CTORS or resolved in (["openai", "Client"],
                                                        ["openai", "AsyncClient"])


def _fstring_text(node: ast.JoinedStr) -> tuple[str, bool]:
    parts: list[str] = []
    whole = True
    for v in node.values:
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            parts.append(v.value)
        else:
            parts.append(_HOLE)
            whole = False
    return "".join(parts), whole


def _literal(node: ast.expr | None) -> Value:
    """A literal argument as a plain value; anything computed is UNKNOWN."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        c = node.value
        return c if c is None or isinstance(c, str | int | float | bool) else UNKNOWN
    if isinstance(node, ast.Dict):
        out: dict[str, Value] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                out[k.value] = _literal(v)
        return out
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
    return UNKNOWN


def _kwargs(call: ast.Call) -> dict[str, Value]:
    body: dict[str, Value] = {}
    for kw in call.keywords:
        if kw.arg is not None:
            body[kw.arg] = _literal(kw.value)
        else:
            spread = _literal(kw.value)
            if isinstance(spread, dict):
                body.update(spread)
    return body


def _openai_target(text: str | None) -> str | None:
    """What a request URL reaches, when it is OpenAI: the OpenAI URL it holds, or the URL text
    (holes as ``{…}``) when it appends an OpenAI API path to a base known only at run time."""
    if text is None:
        return None
    urls = openai_urls(text)
    if urls:
        return urls[0]
    return text if appends_api_path(text) else None


class _Scanner:
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.nodes = list(ast.walk(tree))
        self.parents: dict[int, ast.AST] = {
            id(child): node for node in self.nodes for child in ast.iter_child_nodes(node)}
        # names bound to dicts: their `.get(url)` is a lookup, not a request
        self.mappings: set[str] = set()
        self.docstrings = _docstrings(self.nodes)
        self.aliases: dict[str, str] = {}
        self.foreign: set[str] = set()
        # names that also hold an OpenAI client somewhere in the file are never foreign
        self.openai_bound: set[str] = set()
        self.url_names: dict[str, str] = {}
        self.url_attrs: dict[str, str] = {}
        self.params: list[frozenset[str]] = []
        self.hits: list[Hit] = []
        self._collect_imports()
        self._collect_bindings()

    # -- pre-passes ---------------------------------------------------------------------------

    def _collect_imports(self) -> None:
        for node in self.nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        for local, target in self.aliases.items():
            if target.split(".")[0] in FOREIGN_MODULES:
                self.foreign.add(local)

    def _resolve(self, parts: list[str]) -> list[str]:
        target = self.aliases.get(parts[0])
        return [*target.split("."), *parts[1:]] if target else parts

    def _is_foreign_call(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Await):
            node = node.value
        if not isinstance(node, ast.Call):
            return False
        dotted = _dotted(node.func)
        return dotted is not None and (dotted[0] in self.foreign
                                       or self._resolve(dotted)[0] in FOREIGN_MODULES)

    def _is_client_call(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Await):
            node = node.value
        dotted = _dotted(node.func) if isinstance(node, ast.Call) else None
        return dotted is not None and _is_client_ctor(self._resolve(dotted))

    def _collect_bindings(self) -> None:
        """Names bound to other vendors' clients, and names that hold OpenAI URLs."""
        binders = [n for n in self.nodes if isinstance(
            n, ast.Assign | ast.AnnAssign | ast.NamedExpr | ast.withitem | ast.arguments)]
        for _ in range(3):  # a few rounds settle chains like `URL = BASE + "/chat/completions"`
            known = (len(self.foreign), len(self.url_names), len(self.url_attrs))
            for node in binders:
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                    targets, value = [node.target], node.value
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    targets, value = [node.optional_vars], node.context_expr
                elif isinstance(node, ast.arguments):
                    self._bind_defaults(node)
                if value is None:
                    continue
                foreign = self._is_foreign_call(value)
                ours = self._is_client_call(value)
                url = self._url_of(value)
                mapping = isinstance(value, _MAPPINGS) or (
                    isinstance(value, ast.Call) and _dotted(value.func) in (
                        ["dict"], ["defaultdict"], ["collections", "defaultdict"], ["OrderedDict"]))
                for t in targets:
                    name = t.id if isinstance(t, ast.Name) else (
                        t.attr if isinstance(t, ast.Attribute) else None)
                    if name is None:
                        continue
                    if foreign:
                        self.foreign.add(name)
                    if ours:
                        self.openai_bound.add(name)
                    if mapping:
                        self.mappings.add(name)
                    if url is not None:
                        (self.url_names if isinstance(t, ast.Name) else self.url_attrs)[name] = url
            if known == (len(self.foreign), len(self.url_names), len(self.url_attrs)):
                break

    def _bind_defaults(self, args: ast.arguments) -> None:
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults,
                         strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
        for arg, default in pairs:
            url = self._url_of(default)
            if url is not None:
                self.url_names[arg.arg] = url

    # -- URL expressions ----------------------------------------------------------------------

    def _url_of(self, node: ast.expr) -> str | None:
        """What an expression reaches when it is an OpenAI URL (as far as can be told): the URL,
        or its text with ``{…}`` holes when it appends an API path to a run-time base."""
        return _openai_target(self._url_text(node))

    def _url_text(self, node: ast.expr | None, depth: int = 0) -> str:
        """The text of a URL expression, every part not known here written ``{…}``."""
        if node is None or depth > 20:
            return _HOLE
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                           else self._url_text(v.value, depth + 1)
                           if isinstance(v, ast.FormattedValue) else _HOLE for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._url_text(node.left, depth + 1) + self._url_text(node.right, depth + 1)
        if isinstance(node, ast.BoolOp):  # `os.getenv("X") or "https://api.openai.com/v1"`
            texts = [self._url_text(v, depth + 1) for v in node.values]
            return next((t for t in texts if _openai_target(t)), _HOLE)
        if isinstance(node, ast.IfExp):
            texts = [self._url_text(v, depth + 1) for v in (node.body, node.orelse)]
            return next((t for t in texts if _openai_target(t)), _HOLE)
        if isinstance(node, ast.Name):
            if any(node.id in p for p in self.params):
                return _HOLE  # a parameter: the base comes from the caller
            return self.url_names.get(node.id, _HOLE)
        if isinstance(node, ast.Attribute):
            return self.url_attrs.get(node.attr, _HOLE)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "format":
                template = self._url_text(func.value, depth + 1)
                return re.sub(r"\{[^{}]*\}", _HOLE, template) if template != _HOLE else _HOLE
            if isinstance(func, ast.Attribute) and func.attr in ("rstrip", "strip", "removesuffix"):
                return self._url_text(func.value, depth + 1)
            dotted = _dotted(func)
            if dotted and dotted[-1] in ("urljoin", "join") and len(node.args) >= 2 \
                    and dotted[0] != "str":
                return "/".join(self._url_text(a, depth + 1).rstrip("/") for a in node.args)
            # an environment lookup whose default is an OpenAI URL
            if dotted and dotted[-1] in ("getenv", "get") and len(node.args) >= 2:
                default = self._url_text(node.args[1], depth + 1)
                return default if _openai_target(default) else _HOLE
        return _HOLE

    # -- walking ------------------------------------------------------------------------------

    def run(self) -> Iterator[Hit]:
        self._visit(self.tree)
        return iter(self.hits)

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, _FUNCS):
            self._visit_function(node)
            return
        if isinstance(node, ast.JoinedStr):
            self._visit_fstring(node)
            return
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and id(node) not in self.docstrings:
                self.hits.extend(literal_hits(node.value, node.lineno))
            return
        if isinstance(node, ast.Call):
            self._visit_call(node)
        elif isinstance(node, ast.Name):
            self._visit_name(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            self._visit_assignment(node)
        for child in ast.iter_child_nodes(node):
            self._visit(child)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        # A parameter whose default is an OpenAI URL still counts as holding one.
        names -= {n for n in names if n in self.url_names and self._has_url_default(args, n)}
        for child in ast.iter_child_nodes(node):
            if child is args:
                self._visit(child)  # defaults belong to the enclosing scope
        self.params.append(frozenset(names))
        for child in ast.iter_child_nodes(node):
            if child is not args:
                self._visit(child)
        self.params.pop()

    def _has_url_default(self, args: ast.arguments, name: str) -> bool:
        positional = [*args.posonlyargs, *args.args]
        pairs = zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True)
        kw = ((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d)
        return any(a.arg == name and self._url_of(d) is not None for a, d in [*pairs, *kw])

    def _visit_fstring(self, node: ast.JoinedStr) -> None:
        text, whole = _fstring_text(node)
        self.hits.extend(literal_hits(text, node.lineno, whole=whole))
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self._visit(v.value)

    def _visit_assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        flat: list[ast.expr] = []
        for t in targets:
            flat.extend(t.elts if isinstance(t, ast.Tuple | ast.List) else [t])
        for t in flat:
            dotted = _dotted(t.value) if isinstance(t, ast.Attribute) else None
            if isinstance(t, ast.Attribute) and dotted and self._resolve(dotted) == ["openai"]:
                self.hits.append(Hit(t.lineno, "client", f"openai.{t.attr} = …"))

    # -- calls --------------------------------------------------------------------------------

    def _is_foreign_receiver(self, path: list[str], root: ast.expr) -> bool:
        if self._is_foreign_call(root):
            return True
        name: str | None = None
        if isinstance(root, ast.Name):
            name = path[0] if root.id in ("self", "cls") and path else root.id
        if name is None:
            return False
        if name in self.openai_bound:
            return False
        lowered = name.lower()
        return name in self.foreign or any(h in lowered for h in FOREIGN_NAME_HINTS)

    def _visit_call(self, node: ast.Call) -> None:
        func = node.func
        dotted = _dotted(func)
        resolved = self._resolve(dotted) if dotted else None
        line = _call_line(node)
        if resolved and _is_client_ctor(resolved):
            self.hits.append(Hit(line, "client", f"{resolved[-1]}(…)"))
            return
        if resolved and resolved[-1] == "init_chat_model" and self._inits_openai(node):
            self.hits.append(Hit(line, "client", "init_chat_model(…)"))
            return
        if not isinstance(func, ast.Attribute):
            if isinstance(func, ast.Name):
                self._visit_http(node, func, resolved)
            return
        path, root = _chain(func)
        if func.attr == "with_options" and not self._is_foreign_receiver(path[:-1], root) \
                and self._with_options_is_openai():
            self.hits.append(Hit(line, "client", "with_options(…)"))
            return
        if resolved and len(resolved) == 3 and resolved[0] == "openai" \
                and resolved[1] in LEGACY_RESOURCES and resolved[2] in LEGACY_METHODS:
            feats = body_features(_kwargs(node), [LEGACY_RESOURCES[resolved[1]]])
            self.hits.append(Hit(line, "call", ".".join(resolved), feats))
            return
        method = match_api_method(path)
        if method is not None and not self._is_foreign_receiver(path, root):
            feats = body_features(_kwargs(node), [API_METHODS[method]])
            self.hits.append(Hit(line, "call", ".".join(method), feats))
            return
        resource = is_sdk_method(path)
        if resource is not None and not self._is_foreign_receiver(path, root) and (
                len(resource) > 1 or self._is_openai_receiver(path[:-len(resource) - 1], root)):
            feats = body_features(_kwargs(node), [SDK_RESOURCES[resource]])
            self.hits.append(Hit(line, "call", ".".join([*resource, path[-1]]), feats))
            return
        self._visit_http(node, func, resolved)

    @staticmethod
    def _inits_openai(node: ast.Call) -> bool:
        """LangChain's `init_chat_model("openai:gpt-4o")` or `(…, model_provider="openai")`."""
        provider = next((k.value for k in node.keywords if k.arg == "model_provider"), None)
        if isinstance(provider, ast.Constant):
            return provider.value in ("openai", "azure_openai")
        first = node.args[0] if node.args else next(
            (k.value for k in node.keywords if k.arg == "model"), None)
        return isinstance(first, ast.Constant) and isinstance(first.value, str) \
            and first.value.startswith(("openai:", "azure_openai:"))

    def _visit_name(self, node: ast.Name) -> None:
        """A LangChain or LlamaIndex wrapper class used as a value (`{"openai": ChatOpenAI}`):
        the app builds its client from it later (scan-rules.md, extension 3)."""
        if not isinstance(node.ctx, ast.Load) or node.id not in CLIENT_CTORS:
            return
        target = self.aliases.get(node.id, "")
        if not target.startswith(_WRAPPER_MODULES):
            return
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Call) and (parent.func is node or _dotted(parent.func) in (
                ["isinstance"], ["issubclass"])):
            return
        if isinstance(parent, ast.Attribute | ast.arg | ast.ExceptHandler | ast.Subscript) or (
                isinstance(parent, ast.AnnAssign) and parent.annotation is node) or (
                isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef)):
            return
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.BitOr):
            return  # a union type
        self.hits.append(Hit(node.lineno, "client", f"{node.id} (as a value)"))

    def _is_openai_receiver(self, path: list[str], root: ast.expr) -> bool:
        """A receiver that holds an OpenAI client: the module, a name bound to a constructor,
        or a name that says so (`client`, `self.openai_client`)."""
        if isinstance(root, ast.Call):
            return self._is_client_call(root)
        if not isinstance(root, ast.Name):
            return False
        name = path[-1] if path else root.id
        if root.id in ("self", "cls") and not path:
            return False
        if not path and self.aliases.get(root.id) == "openai":
            return True
        lowered = name.lower()
        return name in self.openai_bound or "client" in lowered or "openai" in lowered

    def _with_options_is_openai(self) -> bool:
        modules = {target.split(".")[0] for target in self.aliases.values()}
        return "openai" in modules or not modules & WITH_OPTIONS_ELSEWHERE

    def _visit_http(self, node: ast.Call, func: ast.expr, resolved: list[str] | None) -> None:
        """A request whose URL reaches OpenAI: `requests.*`, `httpx.*`, a session's or client's
        method, `urllib.request.Request`, or the app's own request function."""
        method = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else "")
        module_call = resolved is not None and len(resolved) == 2 and resolved[0] in _HTTP_MODULES
        if module_call and method not in _HTTP_MODULE_FUNCS:
            return
        is_method = isinstance(func, ast.Attribute) and not module_call
        if not module_call and method not in HTTP_METHODS and not _REQUEST_FUNC.fullmatch(method):
            return
        if isinstance(func, ast.Attribute) and not module_call and method == "get" \
                and self._is_mapping_lookup(node, func):
            return
        url_arg: ast.expr | None = next((k.value for k in node.keywords if k.arg == "url"), None)
        index = 1 if method in ("request", "stream") and (is_method or module_call) else 0
        if url_arg is None and len(node.args) > index:
            url_arg = node.args[index]
        url = self._url_of(url_arg) if url_arg is not None else None
        # a client's `.get` and friends must reach the API itself, not a page on the same host
        if url is None or (is_method and method in HTTP_METHODS and openai_urls(url)
                           and not is_api_url(url)):
            return
        kwargs = _kwargs(node)
        body = kwargs.get("json")
        if body is None:
            data = next((k.value for k in node.keywords if k.arg in ("data", "content")), None)
            if isinstance(data, ast.Call) and data.args:  # json.dumps({...})
                body = _literal(data.args[0])
        feats = body_features(body if isinstance(body, dict) else {}, [url_feature(url)])
        name = ".".join(resolved) if module_call and resolved else method
        self.hits.append(Hit(_call_line(node), "call", f"{name} {url}", feats))

    def _is_mapping_lookup(self, node: ast.Call, func: ast.Attribute) -> bool:
        """`PRICES.get(url)`, `d.get(url, default)`: a dict lookup (scan-rules.md, ext. 6)."""
        if len(node.args) >= 2 or isinstance(func.value, _MAPPINGS):
            return True
        receiver = func.value
        name = receiver.id if isinstance(receiver, ast.Name) else (
            receiver.attr if isinstance(receiver, ast.Attribute) else None)
        return name is not None and name in self.mappings
