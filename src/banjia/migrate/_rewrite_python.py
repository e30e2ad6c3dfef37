"""Python rewriting with libcst, which keeps every comment, blank line and quote as written.

What changes, and why (the smallest edit that lets the code run against banjia):

* literals: OpenAI/Azure URLs point at the gateway, legacy and Azure variable names become
  ``OPENAI_BASE_URL``/``OPENAI_API_KEY``, model names follow ``--map-models``;
* openai<1 module calls (``openai.ChatCompletion.create``) become their openai>=1 equivalents, and
  dict-style reads of their results become attribute reads, because v1 results are objects;
* Azure clients (SDK and LangChain) become the plain OpenAI ones, without the Azure options;
* ``openai.api_base`` becomes ``openai.base_url``; ``openai.api_type``/``api_version`` go;
  the rest of v0 (``**kwargs`` dicts, exceptions, ``openai.proxy``) is in
  :mod:`banjia.migrate._rewrite_python_v0`;
* strings the app uses as data (dict keys, lookups, comparisons, enum members) keep their text.

A ``# banjia:`` comment is left only where a person has to decide something.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar, cast

import libcst as cst

from banjia.migrate._rewrite_python_ctx import Context, collect_context
from banjia.migrate._rewrite_python_v0 import (
    API_KEY_NOTE,
    ERRORS,
    exception_call,
    fix_import_error,
    fix_spread_dict,
    fix_spread_key,
    proxy_client,
    with_httpx_import,
)
from banjia.migrate._rewrite_rules import Rules

__all__ = ["rewrite_python", "rewrite_python_notes"]

_LEGACY: dict[tuple[str, str], str] = {}
for _res, _path, _methods in (
    ("ChatCompletion", "chat.completions.create", ("create",)),
    ("Completion", "completions.create", ("create",)),
    ("Embedding", "embeddings.create", ("create",)),
    ("Image", "images.generate", ("create",)),
    ("Image", "images.edit", ("create_edit",)),
    ("Image", "images.create_variation", ("create_variation",)),
    ("Moderation", "moderations.create", ("create",)),
    ("Model", "models.list", ("list",)),
    ("Model", "models.retrieve", ("retrieve",)),
    ("File", "files.create", ("create",)),
    ("FineTuningJob", "fine_tuning.jobs.create", ("create",)),
    ("Audio", "audio.transcriptions.create", ("transcribe",)),
    ("Audio", "audio.translations.create", ("translate",)),
):
    for _m in _methods:
        _LEGACY[(_res, _m)] = _path
        _LEGACY[(_res, "a" + _m)] = _path
_GONE = {"Edit": "the Edits API", "FineTune": "the legacy fine-tunes API"}

_ERRORS = ERRORS

# Azure classes, the module that exports them, and their plain OpenAI twins.
_AZURE_CLASSES: dict[str, str] = {
    "AzureOpenAI": "OpenAI", "AsyncAzureOpenAI": "AsyncOpenAI",
    "AzureChatOpenAI": "ChatOpenAI", "AzureOpenAIEmbeddings": "OpenAIEmbeddings",
}
_AZURE_MODULES = frozenset({"openai", "langchain_openai", "langchain_community.chat_models",
                            "langchain_community.embeddings", "langchain.chat_models",
                            "langchain.embeddings"})
_AZURE_ONLY_ARGS = frozenset({"api_version", "openai_api_version", "openai_api_type",
                              "azure_ad_token", "azure_ad_token_provider", "api_type"})
_DEPLOYMENT_ARGS = ("azure_deployment", "deployment_name", "deployment")
_LEGACY_DROPPED = frozenset({"api_type", "api_version", "api_base", "api_key", "organization"})
_MODULE_SETTINGS_DROPPED = frozenset({"api_type", "api_version"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AZURE_DEPLOYMENT = re.compile(r"\.openai\.azure\.com/openai/deployments/([^/?#]+)")
_N = TypeVar("_N", bound=cst.CSTNode)


def rewrite_python(source: str, rules: Rules) -> str:
    """The rewritten module source. Raises libcst.ParserSyntaxError on unparsable input."""
    return rewrite_python_notes(source, rules)[0]


def rewrite_python_notes(source: str, rules: Rules) -> tuple[str, list[str]]:
    """The rewritten source, and the ``# banjia:`` notes it left for a person."""
    module = cst.parse_module(source)
    info = _Imports()
    module.visit(info)
    rewriter = _Rewriter(rules, info)
    rewriter.ctx = collect_context(module, rewriter.rewritten_kind)
    return module.visit(rewriter).code, rewriter.all_notes


def _dotted(node: cst.BaseExpression) -> list[str] | None:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else [*base, node.attr.value]
    return None


def _attr_chain(base: cst.BaseExpression, dotted: str) -> cst.BaseExpression:
    node = base
    for part in dotted.split("."):
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _string_literal(like: cst.SimpleString, text: str) -> cst.SimpleString | None:
    quote = like.quote
    if quote[0] in text or "\\" in text or "\n" in text:
        return None
    return like.with_changes(value=f"{like.prefix}{quote}{text}{quote}")


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def _with_args(call: cst.Call, args: Sequence[cst.Arg]) -> cst.Call:
    """``call`` with new arguments, keeping the layout of the last one's trailing comma."""
    new = list(args)
    if new and call.args and new[-1] is not call.args[-1]:
        new[-1] = new[-1].with_changes(comma=call.args[-1].comma)
    return call.with_changes(args=new)


class _Imports(cst.CSTVisitor):
    """Which local names stand for the openai module and for imported classes."""

    def __init__(self) -> None:
        self.modules: dict[str, str] = {"openai": "openai"}
        self.names: dict[str, tuple[str, str]] = {}  # local → (module, imported name)
        self.plain_openai = False  # `import openai` as such
        self.module_level: set[str] = set()  # names imported outside every function
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if dotted is None:
                continue
            if dotted == ["openai"] and alias.asname is None:
                self.plain_openai = True
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.modules[alias.asname.name.value] = ".".join(dotted)
            else:
                self.modules[dotted[0]] = dotted[0]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _dotted(node.module) if node.module is not None else None
        if module is None or node.relative or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.names[local] = (".".join(module), alias.name.value)
            if self.depth == 0:
                self.module_level.add(local)

    def is_openai(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and self.modules.get(node.value) == "openai"


class _Rewriter(cst.CSTTransformer):
    def __init__(self, rules: Rules, imports: _Imports) -> None:
        super().__init__()
        self.rules = rules
        self.imports = imports
        self.concat_depth = 0
        self.import_depth = 0
        self.notes: list[list[str]] = []  # per enclosing statement
        self.legacy_names: list[set[str]] = [set()]  # per function scope
        self.legacy_calls: set[int] = set()  # ids of rewritten legacy call nodes
        self.ctx = Context()
        self.scopes: list[int] = [0]  # ids of the enclosing functions, as the context saw them
        self.all_notes: list[str] = []
        self.uses_httpx = False
        # unaliased imports of Azure classes: references are renamed with the import
        self.renamed = {local: _AZURE_CLASSES[name] for local, (module, name) in
                        imports.names.items()
                        if name in _AZURE_CLASSES and module in _AZURE_MODULES and local == name}

    # -- notes and scopes ---------------------------------------------------------------------

    def note(self, text: str) -> None:
        if self.notes:
            self.notes[-1].append(text)
        if text not in self.all_notes:
            self.all_notes.append(text)

    def rewritten_kind(self, call: cst.Call) -> str | None:
        """Which of the calls this rewriter moves ``call`` is: its ``**kwargs`` must follow."""
        if self._legacy_target(call) in _LEGACY:
            return "legacy"
        dotted = _dotted(call.func)
        azure = self._azure_class(dotted) if dotted is not None else None
        if azure is None:
            return None
        return "azure_sdk" if azure in ("AzureOpenAI", "AsyncAzureOpenAI") else "azure_wrapper"

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            self.notes.append([])
        return super().on_visit(node)

    def on_leave(self, original_node: _N, updated_node: _N) -> (
        _N | cst.RemovalSentinel | cst.FlattenSentinel[_N]
    ):
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            notes = self.notes.pop()
            if notes and isinstance(result, cst.SimpleStatementLine | cst.BaseCompoundStatement):
                have = {line.comment.value for line in result.leading_lines if line.comment}
                lines = [cst.EmptyLine(comment=cst.Comment(f"# banjia: {n}")) for n in notes
                         if f"# banjia: {n}" not in have]
                return cast(_N, result.with_changes(leading_lines=[*result.leading_lines,
                                                                   *lines]))
        return result

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.legacy_names.append(set())
        self.scopes.append(id(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef,
                          updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self.legacy_names.pop()
        self.scopes.pop()
        return updated_node

    def _legacy_target(self, call: cst.BaseExpression) -> tuple[str, str] | None:
        """(resource, method) when ``call`` is an openai<1 module call such as ChatCompletion."""
        if isinstance(call, cst.Await):
            call = call.expression
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return None
        resource = call.func.value
        if isinstance(resource, cst.Attribute) and self.imports.is_openai(resource.value):
            return resource.attr.value, call.func.attr.value
        return None

    def _bind_legacy(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """Names that hold a legacy result, or a part of one (a stream's chunk, its delta):
        their dict-style reads become attribute reads."""
        legacy = self._legacy_target(value)
        if isinstance(target, cst.Name) and (legacy in _LEGACY or (
                not isinstance(value, cst.Call) and self._is_legacy_result(value))):
            self.legacy_names[-1].add(target.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._bind_legacy(t.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind_legacy(node.target, node.iter)

    # -- literals -----------------------------------------------------------------------------

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self.concat_depth += 1

    def leave_ConcatenatedString(self, original_node: cst.ConcatenatedString,
                                 updated_node: cst.ConcatenatedString) -> cst.BaseExpression:
        self.concat_depth -= 1
        if self.concat_depth:
            return updated_node
        value = original_node.evaluated_value
        first = original_node.left
        if not isinstance(value, str) or not isinstance(first, cst.SimpleString) \
                or id(original_node) in self.ctx.data:
            return updated_node
        literal = self._literal(first, value)
        if literal is None:
            return updated_node
        return literal.with_changes(lpar=original_node.lpar, rpar=original_node.rpar)

    def leave_SimpleString(self, original_node: cst.SimpleString,
                           updated_node: cst.SimpleString) -> cst.SimpleString:
        value = updated_node.evaluated_value
        if self.concat_depth or not isinstance(value, str) or id(original_node) in self.ctx.data:
            return updated_node
        return self._literal(updated_node, value) or updated_node

    def _literal(self, like: cst.SimpleString, value: str) -> cst.SimpleString | None:
        new = self.rules.literal(value)
        literal = _string_literal(like, new) if new is not None else None
        if literal is not None and (m := _AZURE_DEPLOYMENT.search(value)):
            # Azure names the model in the URL; banjia reads it from the body and wants
            # a bearer token, not an `api-key` header
            self.note(f'send "model" (was deployment {m.group(1)!r}) in the body and '
                      '"Authorization: Bearer <key>"')
        return literal

    def leave_FormattedString(self, original_node: cst.FormattedString,
                              updated_node: cst.FormattedString) -> cst.FormattedString:
        parts = list(updated_node.parts)
        if not parts or not isinstance(parts[0], cst.FormattedStringText) \
                or id(original_node) in self.ctx.data:
            return updated_node
        new = self.rules.url_prefix(parts[0].value)
        if new is None:
            return updated_node
        parts[0] = parts[0].with_changes(value=new)
        return updated_node.with_changes(parts=parts)

    # -- names, attributes and imports --------------------------------------------------------

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.import_depth += 1

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if self.import_depth == 0 and original_node.value in self.renamed:
            return updated_node.with_changes(value=self.renamed[original_node.value])
        return updated_node

    def leave_Attribute(self, original_node: cst.Attribute,
                        updated_node: cst.Attribute) -> cst.BaseExpression:
        value, attr = original_node.value, original_node.attr.value
        if self.imports.is_openai(value):
            if attr in _AZURE_CLASSES:
                return updated_node.with_changes(attr=cst.Name(_AZURE_CLASSES[attr]))
            if attr == "api_base":
                return updated_node.with_changes(attr=cst.Name("base_url"))
        if (isinstance(value, cst.Attribute) and value.attr.value == "error"
                and self.imports.is_openai(value.value) and attr in _ERRORS):
            return cst.Attribute(value=value.value, attr=cst.Name(_ERRORS[attr]),
                                 lpar=updated_node.lpar, rpar=updated_node.rpar)
        if updated_node.attr.value != attr:
            # an attribute that merely shares a name with a renamed import keeps its name
            return updated_node.with_changes(attr=original_node.attr)
        return updated_node

    def leave_ImportFrom(self, original_node: cst.ImportFrom,
                         updated_node: cst.ImportFrom) -> (
                             cst.ImportFrom | cst.RemovalSentinel):
        self.import_depth -= 1
        module = _dotted(original_node.module) if original_node.module is not None else None
        names = original_node.names
        if module is None or original_node.relative or isinstance(names, cst.ImportStar):
            return updated_node
        dotted = ".".join(module)
        if dotted == "openai.error":
            return self._legacy_error_import(updated_node, names)
        if dotted not in _AZURE_MODULES:
            return updated_node
        return self._azure_import(updated_node, names)

    def _legacy_error_import(self, node: cst.ImportFrom,
                             names: Sequence[cst.ImportAlias]) -> cst.ImportFrom:
        aliases = []
        for alias in names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else None
            if name in _ERRORS and _ERRORS[name] != name and alias.asname is None:
                alias = alias.with_changes(
                    name=cst.Name(_ERRORS[name]),
                    asname=cst.AsName(name=cst.Name(name)))
            elif name in _ERRORS:
                alias = alias.with_changes(name=cst.Name(_ERRORS[name]))
            aliases.append(alias)
        return node.with_changes(module=cst.Name("openai"), names=aliases)

    def _azure_import(self, node: cst.ImportFrom, names: Sequence[cst.ImportAlias]) -> (
        cst.ImportFrom | cst.RemovalSentinel
    ):
        # a plain class imported already makes the Azure import redundant only at module level:
        # an import inside a function binds a local name there alone
        at_module = len(self.scopes) == 1
        bound = {local for local, (_, name) in self.imports.names.items()
                 if local == name and name not in _AZURE_CLASSES
                 and at_module and local in self.imports.module_level}
        aliases: list[cst.ImportAlias] = []
        seen: set[str] = set()
        for alias in names:
            if not isinstance(alias.name, cst.Name):
                aliases.append(alias)
                continue
            name = alias.name.value
            if name in _AZURE_CLASSES:
                new = _AZURE_CLASSES[name]
                if alias.asname is None and (new in bound or new in seen):
                    continue  # the plain class is imported already
                alias = alias.with_changes(name=cst.Name(new))
                name = new
            if alias.asname is None:
                if name in seen:
                    continue
                seen.add(name)
            aliases.append(alias)
        if not aliases:
            return cst.RemovalSentinel.REMOVE
        if len(aliases) != len(names):
            aliases[-1] = aliases[-1].with_changes(comma=names[-1].comma)
        return node.with_changes(names=aliases)

    # -- statements ---------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        """``openai.api_base = X`` → ``openai.base_url = X`` with a trailing slash, because the
        openai>=1 module client joins paths to ``base_url`` as it is (``…/v1chat/…``);
        ``openai.proxy = X`` → an HTTP client with that proxy; dicts spread into rewritten calls
        lose the keys openai>=1 rejects."""
        spread_fixed = self._fix_spreads(updated_node)
        if spread_fixed is not None:
            return spread_fixed
        proxy = next((t.target for t in original_node.targets
                      if isinstance(t.target, cst.Attribute) and t.target.attr.value == "proxy"
                      and self.imports.is_openai(t.target.value)), None)
        if isinstance(proxy, cst.Attribute) and len(original_node.targets) == 1:
            return proxy_client(updated_node.value, proxy.value)
        if not any(isinstance(t.target, cst.Attribute) and t.target.attr.value == "api_base"
                   and self.imports.is_openai(t.target.value) for t in original_node.targets):
            return updated_node
        value = updated_node.value
        if isinstance(value, cst.SimpleString):
            text = value.evaluated_value
            if isinstance(text, str) and not text.endswith("/"):
                value = _string_literal(value, text + "/") or value
            return updated_node.with_changes(value=value)
        if not isinstance(value, cst.Name | cst.Attribute | cst.Call | cst.Subscript):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        stripped = cst.Call(func=cst.Attribute(value=value, attr=cst.Name("rstrip")),
                            args=[cst.Arg(cst.SimpleString('"/"'))])
        slashed = cst.BinaryOperation(left=stripped, operator=cst.Add(),
                                      right=cst.SimpleString('"/"'))
        return updated_node.with_changes(value=slashed)

    def _fix_spreads(self, node: cst.Assign) -> cst.Assign | None:
        if len(node.targets) != 1:
            return None
        target = node.targets[0].target
        if isinstance(target, cst.Subscript):
            spread = self.ctx.spread(self.scopes[-1], target.value)
            fixed = fix_spread_key(target, spread.kind) if spread is not None else None
            return node.with_changes(targets=[node.targets[0].with_changes(target=fixed)]) \
                if fixed is not None else None
        spread = self.ctx.spread(self.scopes[-1], target)
        if spread is None or not isinstance(node.value, cst.Dict):
            return None
        value, notes = fix_spread_dict(node.value, spread.kind)
        for n in notes:
            self.note(n)
        return node.with_changes(value=value) if value is not node.value else None

    def _dropped(self, stmt: cst.SimpleStatementLine) -> bool:
        """``openai.api_type = …`` and ``openai.api_version = …``, which would make openai>=1
        build its Azure client."""
        return all(isinstance(s, cst.Assign) and len(s.targets) == 1
                   and isinstance(t := s.targets[0].target, cst.Attribute)
                   and self.imports.is_openai(t.value)
                   and t.attr.value in _MODULE_SETTINGS_DROPPED for s in stmt.body)

    def _drop(self, body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        kept: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] = []  # blank lines and comments above a dropped statement
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine) and self._dropped(stmt):
                carried.extend(stmt.leading_lines)
                continue
            if carried and isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement):
                stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
                carried = []
            kept.append(stmt)
        return kept

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = self._drop(updated_node.body)
        if self.uses_httpx:
            body = with_httpx_import(body)
        return updated_node.with_changes(body=body)

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> (
            cst.Import | cst.RemovalSentinel):
        return fix_import_error(updated_node, self.imports.plain_openai and not any(
            isinstance(a.name, cst.Name) and a.name.value == "openai" for a in original_node.names))

    def leave_Comparison(self, original_node: cst.Comparison,
                         updated_node: cst.Comparison) -> cst.BaseExpression:
        """``"content" in delta`` on a legacy result → ``delta.content is not None``."""
        if len(updated_node.comparisons) != 1 or not isinstance(original_node.left,
                                                                cst.SimpleString):
            return updated_node
        target = updated_node.comparisons[0]
        key = original_node.left.evaluated_value
        if not isinstance(target.operator, cst.In | cst.NotIn) or not isinstance(key, str) \
                or not _IDENT.fullmatch(key) \
                or not self._is_legacy_result(original_node.comparisons[0].comparator):
            return updated_node
        op: cst.BaseCompOp = cst.IsNot() if isinstance(target.operator, cst.In) else cst.Is()
        return cst.Comparison(
            left=cst.Attribute(value=target.comparator, attr=cst.Name(key)),
            comparisons=[cst.ComparisonTarget(operator=op, comparator=cst.Name("None"))],
            lpar=updated_node.lpar, rpar=updated_node.rpar)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock,
                            updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        body = self._drop(updated_node.body)
        if not body:  # every statement of the block was dropped
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated_node.with_changes(body=body)

    # -- calls --------------------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        dotted = _dotted(original_node.func)
        if dotted is not None:
            azure = self._azure_class(dotted)
            if azure is not None:
                return self._rewrite_azure_client(azure, updated_node)
            error = self._legacy_error(dotted)
            if error is not None and (made := exception_call(updated_node, error)) is not None:
                self.uses_httpx = True
                return made
        legacy = self._legacy_target(original_node)
        if legacy is not None and isinstance(updated_node.func, cst.Attribute):
            resource = legacy[0]
            if legacy in _LEGACY:
                call = self._rewrite_legacy_call(updated_node, updated_node.func, legacy)
                self.legacy_calls.add(id(call))
                return call
            if resource in _GONE:
                self.note(f"{_GONE[resource]} is gone in openai>=1; use chat completions "
                          "or fine_tuning.jobs")
            return updated_node
        return self._rewrite_result_get(updated_node)

    def _legacy_error(self, dotted: list[str]) -> str | None:
        """The openai>=1 name of an openai<1 exception class being constructed."""
        if len(dotted) == 3 and self.imports.modules.get(dotted[0]) == "openai" \
                and dotted[1] == "error":
            return _ERRORS.get(dotted[2])
        if len(dotted) == 1:
            module, name = self.imports.names.get(dotted[0], ("", ""))
            return _ERRORS.get(name) if module == "openai.error" else None
        return None

    def _azure_class(self, dotted: list[str]) -> str | None:
        if len(dotted) == 1:
            local = dotted[0]
            module, name = self.imports.names.get(local, ("", ""))
            return name if name in _AZURE_CLASSES and module in _AZURE_MODULES else None
        if len(dotted) == 2 and self.imports.modules.get(dotted[0]) in _AZURE_MODULES \
                and dotted[1] in _AZURE_CLASSES:
            return dotted[1]
        return None

    def _rewrite_azure_client(self, cls: str, call: cst.Call) -> cst.Call:
        keywords = {_keyword(a) for a in call.args}
        has_model = bool(keywords & {"model", "model_name"})
        args: list[cst.Arg] = []
        for arg in call.args:
            kw = _keyword(arg)
            if kw in _AZURE_ONLY_ARGS:
                continue
            if kw in ("azure_endpoint", "endpoint"):
                # a hard-coded endpoint becomes the gateway; one read from the environment
                # is dropped, since the client reads OPENAI_BASE_URL itself
                if isinstance(arg.value, cst.SimpleString):
                    args.append(arg.with_changes(keyword=cst.Name("base_url")))
                continue
            if kw in _DEPLOYMENT_ARGS:
                if cls in ("AzureOpenAI", "AsyncAzureOpenAI"):
                    dep = arg.value.evaluated_value if isinstance(
                        arg.value, cst.SimpleString) else None
                    self.note(f"requests now name the model: alias deployment {dep!r} in "
                              "banjia's models:" if isinstance(dep, str) else
                              "requests now name the model, not the Azure deployment")
                elif not has_model:
                    args.append(arg.with_changes(keyword=cst.Name("model")))
                continue
            args.append(arg)
        return _with_args(call, args)

    def _rewrite_legacy_call(self, call: cst.Call, func: cst.Attribute,
                             legacy: tuple[str, str]) -> cst.Call:
        resource, method = legacy
        module = func.value.value if isinstance(func.value, cst.Attribute) else func.value
        receiver: cst.BaseExpression = module
        if method.startswith("a") and (resource, method[1:]) in _LEGACY:
            # openai>=1 has no module-level async client; this one honours the module settings
            settings = [cst.Arg(keyword=cst.Name(name), equal=_EQUAL,
                                value=cst.Attribute(value=module, attr=cst.Name(name)))
                        for name in ("api_key", "base_url")]
            settings[0] = settings[0].with_changes(
                comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            receiver = cst.Call(func=cst.Attribute(value=module, attr=cst.Name("AsyncOpenAI")),
                                args=settings)
            self.note("one shared openai.AsyncOpenAI() would reuse connections")
        keywords = {_keyword(a) for a in call.args}
        args: list[cst.Arg] = []
        positional = ["model", "file"] if resource == "Audio" else []
        for arg in call.args:
            kw = _keyword(arg)
            if kw is None and arg.star == "" and positional:
                arg = arg.with_changes(keyword=cst.Name(positional.pop(0)), equal=_EQUAL)
            elif kw in ("engine", "deployment_id"):
                if "model" in keywords:
                    continue
                arg = arg.with_changes(keyword=cst.Name("model"))
            elif kw == "request_timeout":
                arg = arg.with_changes(keyword=cst.Name("timeout"))
            elif kw in _LEGACY_DROPPED:
                if kw == "api_key":
                    self.note(API_KEY_NOTE)
                elif kw == "organization":
                    self.note("per-request organization is a client option in openai>=1")
                continue
            args.append(arg)
        new_func = _attr_chain(receiver, _LEGACY[legacy])
        return _with_args(call.with_changes(func=new_func), args)

    # -- results of legacy calls --------------------------------------------------------------

    def _is_legacy_result(self, node: cst.BaseExpression) -> bool:
        while True:
            if isinstance(node, cst.Subscript | cst.Attribute):
                node = node.value
            elif isinstance(node, cst.Await):
                node = node.expression
            else:
                break
        if isinstance(node, cst.Name):
            return any(node.value in scope for scope in self.legacy_names)
        return id(node) in self.legacy_calls

    def leave_Subscript(self, original_node: cst.Subscript,
                        updated_node: cst.Subscript) -> cst.BaseExpression:
        # openai>=1 results are objects: `r["choices"][0]` reads `r.choices[0]`
        key = _string_index(updated_node)
        if key is None or not self._is_legacy_result(updated_node.value):
            return updated_node
        return cst.Attribute(value=updated_node.value, attr=cst.Name(key),
                             lpar=updated_node.lpar, rpar=updated_node.rpar)

    def _rewrite_result_get(self, call: cst.Call) -> cst.BaseExpression:
        """``delta.get("content", "")`` on a legacy result → ``(delta.content or "")``."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "get" and call.args
                and 1 <= len(call.args) <= 2 and self._is_legacy_result(func.value)):
            return call
        first = call.args[0].value
        if not isinstance(first, cst.SimpleString):
            return call
        key = first.evaluated_value
        if not isinstance(key, str) or not _IDENT.fullmatch(key):
            return call
        read = cst.Attribute(value=func.value, attr=cst.Name(key))
        if len(call.args) == 1:
            return read.with_changes(lpar=call.lpar, rpar=call.rpar)
        return cst.BooleanOperation(left=read, operator=cst.Or(), right=call.args[1].value,
                                    lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                         whitespace_after=cst.SimpleWhitespace(""))


def _string_index(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if not isinstance(index, cst.Index) or not isinstance(index.value, cst.SimpleString):
        return None
    key = index.value.evaluated_value
    return key if isinstance(key, str) and _IDENT.fullmatch(key) else None
