"""What the Python rewriter must know about a module before it changes anything.

* **Data strings**: literals the app uses as data rather than as settings — dict keys, lookups
  (``d.get(…)``, ``d[…]``), comparisons, enum members and ``Literal[…]`` types. A model
  registry keyed by ``"gpt-3.5-turbo"`` or an enum member ``"AZURE_OPENAI_ENDPOINT"`` must keep
  its text, or the app's own lookups stop matching (scan-rules.md, extension 6). Environment
  reads (``os.environ["…"]``, ``os.getenv("…")``) are settings, not data.
* **Spreads**: names whose dicts reach an openai<1 call or an Azure client as ``**kwargs``;
  their keys must follow the call (``request_timeout`` → ``timeout``, no ``deployment_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from banjia.migrate._scan_rules import is_env_name

__all__ = ["CallKind", "Context", "Spread", "collect_context", "dotted"]

# which calls the rewriter rewrites: "legacy" (openai<1), "azure_sdk", "azure_wrapper" or None
CallKind = Callable[[cst.Call], str | None]
_KINDS = ("legacy", "azure_sdk", "azure_wrapper")

_LOOKUPS = frozenset({"get", "pop", "setdefault", "index", "count", "startswith", "endswith",
                      "__contains__", "remove", "discard"})
_ENV_READERS = (["os", "environ"], ["environ"], ["os", "getenv"], ["getenv"])
_ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum", "Flag", "IntFlag"})
_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)


def dotted(node: cst.BaseExpression) -> list[str] | None:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else [*base, node.attr.value]
    return None


@dataclass(frozen=True)
class Spread:
    """A dict spread into a rewritten call: by a local name in one function, or by an attribute
    (``self.args``) anywhere in the module."""

    scope: int  # id of the enclosing function node, or 0 for attributes
    name: str
    kind: str  # one of CallKind's answers


@dataclass
class Context:
    data: set[int] = field(default_factory=set)  # ids of string nodes that hold data
    spreads: set[Spread] = field(default_factory=set)

    def spread(self, scope: int, target: cst.BaseExpression) -> Spread | None:
        """The spread a dict assigned to ``target`` feeds, if any."""
        for kind in _KINDS:
            if isinstance(target, cst.Name) and Spread(scope, target.value, kind) in self.spreads:
                return Spread(scope, target.value, kind)
            if isinstance(target, cst.Attribute) and Spread(0, target.attr.value, kind) \
                    in self.spreads:
                return Spread(0, target.attr.value, kind)
        return None


class _Collector(cst.CSTVisitor):
    def __init__(self, is_rewritten: CallKind) -> None:
        super().__init__()
        self.ctx = Context()
        self.is_rewritten = is_rewritten
        self.scopes: list[int] = [0]
        # `args = self.args`, `args = defaults.copy()`: (scope, name) ← (scope or 0, source)
        self.aliases: list[tuple[tuple[int, str], tuple[int, str]]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
                and value.func.attr.value == "copy" and not value.args:
            value = value.func.value
        if isinstance(value, cst.Name):
            source = (self.scopes[-1], value.value)
        elif isinstance(value, cst.Attribute):
            source = (0, value.attr.value)
        else:
            return
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                self.aliases.append(((self.scopes[-1], t.target.value), source))

    def settle(self) -> None:
        """Spreads reach back through aliases: `args = self.args; f(**args)` spreads self.args."""
        changed = True
        while changed:
            changed = False
            for spread in list(self.ctx.spreads):
                for (scope, name), (src_scope, src) in self.aliases:
                    new = Spread(src_scope, src, spread.kind)
                    if (scope, name) == (spread.scope, spread.name) and new not in self.ctx.spreads:
                        self.ctx.spreads.add(new)
                        changed = True

    def _mark(self, node: cst.CSTNode | None) -> None:
        if isinstance(node, _STRINGS):
            self.ctx.data.add(id(node))

    def _mark_lookup(self, node: cst.CSTNode | None) -> None:
        """A lookup key, unless it names an environment variable: `settings.get("OPENAI_…")`
        reads the environment and follows the variable's rename."""
        if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str) \
                and is_env_name(node.evaluated_value):
            return
        self._mark(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(id(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = {(dotted(b.value) or [""])[-1] for b in node.bases}
        if bases & _ENUM_BASES:
            for stmt in node.body.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign | cst.AnnAssign) and small.value:
                            self._mark(small.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self._mark(node.key)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if dotted(node.value) in _ENV_READERS:
            return
        for element in node.slice:
            if isinstance(element.slice, cst.Index):
                self._mark_lookup(element.slice.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._mark(node.left)
        for target in node.comparisons:
            self._mark(target.comparator)
            if isinstance(target.comparator, cst.List | cst.Tuple | cst.Set):
                for element in target.comparator.elements:  # `model in ["gpt-35-turbo", …]`
                    self._mark(element.value)

    def visit_Annotation(self, node: cst.Annotation) -> None:
        for child in _walk(node):
            self._mark(child)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _LOOKUPS and node.args \
                and dotted(func.value) not in _ENV_READERS:
            self._mark_lookup(node.args[0].value)
        kind = self.is_rewritten(node)
        if kind is None:
            return
        for arg in node.args:
            if arg.star == "**":
                if isinstance(arg.value, cst.Name):
                    self.ctx.spreads.add(Spread(self.scopes[-1], arg.value.value, kind))
                elif isinstance(arg.value, cst.Attribute):
                    self.ctx.spreads.add(Spread(0, arg.value.attr.value, kind))


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


def collect_context(module: cst.Module, is_rewritten: CallKind) -> Context:
    collector = _Collector(is_rewritten)
    module.visit(collector)
    collector.settle()
    return collector.ctx
