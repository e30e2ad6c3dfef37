"""openai<1 code that the plain call rewrite does not reach, moved to openai>=1:

* dicts spread into a rewritten call (``openai.ChatCompletion.create(**self.args)``): their v0-only
  keys (``request_timeout``, ``deployment_id``, ``api_type``…) would raise TypeError in v1;
* exceptions raised with v0's signature (``raise openai.error.RateLimitError("…")``): v1's status
  errors need the HTTP response they describe, so one is made up for them;
* ``openai.proxy``, which v1 ignores: the module client gets an HTTP client with that proxy;
* ``import openai.error``, a module v1 no longer has.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from banjia.migrate._rewrite_python_ctx import _walk  # the same node walk as the context pass

__all__ = [
    "API_KEY_NOTE",
    "ERRORS",
    "exception_call",
    "fix_import_error",
    "fix_spread_dict",
    "fix_spread_key",
    "needs_httpx",
    "proxy_client",
    "with_httpx_import",
]

API_KEY_NOTE = "per-request api_key dropped: openai>=1 takes the key on a client"

# openai<1 exceptions (`openai.error.X`) and their openai>=1 names
ERRORS = {
    "OpenAIError": "OpenAIError", "APIError": "APIError", "Timeout": "APITimeoutError",
    "APIConnectionError": "APIConnectionError", "InvalidRequestError": "BadRequestError",
    "AuthenticationError": "AuthenticationError", "PermissionError": "PermissionDeniedError",
    "RateLimitError": "RateLimitError", "ServiceUnavailableError": "InternalServerError",
    "TryAgain": "APIError",
}
# openai>=1 status errors and the status their made-up response carries
_STATUS = {
    "BadRequestError": 400, "AuthenticationError": 401, "PermissionDeniedError": 403,
    "NotFoundError": 404, "ConflictError": 409, "UnprocessableEntityError": 422,
    "RateLimitError": 429, "InternalServerError": 500, "APIStatusError": 500,
}
_V1_ERRORS = frozenset({*_STATUS, "APIError", "APITimeoutError", "APIConnectionError"})

# keys of a dict spread into a rewritten call: renamed (→ str) or dropped (→ None)
_LEGACY_KEYS: dict[str, str | None] = {
    "request_timeout": "timeout", "engine": "model", "deployment_id": "model",
    "api_type": None, "api_version": None, "api_base": None, "organization": None,
    "api_key": None,
}
_AZURE_KEYS: dict[str, str | None] = {
    "api_version": None, "openai_api_version": None, "openai_api_type": None, "api_type": None,
    "azure_ad_token": None, "azure_ad_token_provider": None, "azure_endpoint": None,
    "endpoint": None,
}
_DEPLOYMENT_KEYS = ("azure_deployment", "deployment_name", "deployment")


def _key_table(kind: str) -> dict[str, str | None]:
    if kind == "legacy":
        return _LEGACY_KEYS
    table = dict(_AZURE_KEYS)
    for k in _DEPLOYMENT_KEYS:
        # LangChain's wrappers take the deployment as the model; the SDK client takes neither
        table[k] = "model" if kind == "azure_wrapper" else None
    return table


def _string_key(element: cst.BaseDictElement) -> str | None:
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        value = element.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _requoted(like: cst.SimpleString, text: str) -> cst.SimpleString:
    return like.with_changes(value=f"{like.prefix}{like.quote}{text}{like.quote}")


def fix_spread_dict(node: cst.Dict, kind: str) -> tuple[cst.Dict, list[str]]:
    """The dict with the keys a v1 call rejects renamed or dropped, and notes on what was
    dropped that a person may still need (a per-request key)."""
    table = _key_table(kind)
    present = {_string_key(e) for e in node.elements}
    kept: list[cst.BaseDictElement] = []
    notes: list[str] = []
    for element in node.elements:
        key = _string_key(element)
        if key is None or key not in table:
            kept.append(element)
            continue
        new = table[key]
        if new is None or new in present:
            if key == "api_key":
                notes.append(API_KEY_NOTE)
            continue
        assert isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
        present.add(new)
        kept.append(element.with_changes(key=_requoted(element.key, new)))
    if len(kept) != len(node.elements) and kept and node.elements:
        kept[-1] = kept[-1].with_changes(comma=node.elements[-1].comma)
    return node.with_changes(elements=kept), notes


def fix_spread_key(node: cst.Subscript, kind: str) -> cst.Subscript | None:
    """``args["deployment_id"] = …`` → ``args["model"] = …``; None when the key stays."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    if not isinstance(index, cst.SimpleString) or not isinstance(index.evaluated_value, str):
        return None
    new = _key_table(kind).get(index.evaluated_value, "")
    if not new:
        return None
    return node.with_changes(slice=[node.slice[0].with_changes(
        slice=cst.Index(_requoted(index, new)))])


def _request() -> cst.Call:
    """``httpx.Request("POST", "http://localhost")``: the request a made-up error refers to."""
    return cst.Call(func=cst.Attribute(value=cst.Name("httpx"), attr=cst.Name("Request")),
                    args=[cst.Arg(cst.SimpleString('"POST"'), comma=_COMMA),
                          cst.Arg(cst.SimpleString('"http://localhost"'))])


_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                         whitespace_after=cst.SimpleWhitespace(""))


def _kw(name: str, value: cst.BaseExpression, last: bool = False) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=_EQUAL, comma=cst.MaybeSentinel.DEFAULT
                   if last else _COMMA)


def exception_call(call: cst.Call, v1_name: str) -> cst.Call | None:
    """A v1 exception built with v0's arguments (a message, maybe more) → v1's signature."""
    if v1_name not in _V1_ERRORS or any(a.keyword is not None for a in call.args) \
            or any(a.star for a in call.args):
        return None
    message: cst.BaseExpression = call.args[0].value if call.args else cst.SimpleString('""')
    if v1_name in _STATUS:
        response = cst.Call(
            func=cst.Attribute(value=cst.Name("httpx"), attr=cst.Name("Response")),
            args=[cst.Arg(cst.Integer(str(_STATUS[v1_name])), comma=_COMMA),
                  _kw("request", _request(), last=True)])
        args = [cst.Arg(message, comma=_COMMA), _kw("response", response),
                _kw("body", cst.Name("None"), last=True)]
    elif v1_name == "APIError":
        args = [cst.Arg(message, comma=_COMMA), cst.Arg(_request(), comma=_COMMA),
                _kw("body", cst.Name("None"), last=True)]
    elif v1_name == "APIConnectionError":
        args = [_kw("message", message), _kw("request", _request(), last=True)]
    else:  # APITimeoutError takes only the request
        args = [cst.Arg(_request())]
    return call.with_changes(args=args)


def needs_httpx(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Name) and n.value == "httpx" for n in _walk(node))


def with_httpx_import(body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """``import httpx`` after the module's first block of imports, unless it is there."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Import) and any(
                        isinstance(a.name, cst.Name) and a.name.value == "httpx"
                        and a.asname is None for a in small.names):
                    return list(body)
    out = list(body)
    last = -1
    for i, stmt in enumerate(out):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body):
            last = i
        elif last >= 0 or not (isinstance(stmt, cst.SimpleStatementLine)
                               and isinstance(stmt.body[0], cst.Expr)):
            break
    out.insert(last + 1, cst.SimpleStatementLine(
        [cst.Import(names=[cst.ImportAlias(name=cst.Name("httpx"))])]))
    return out


def proxy_client(value: cst.BaseExpression, module: cst.BaseExpression) -> cst.Assign:
    """``openai.proxy = X`` → ``openai.http_client = openai.DefaultHttpxClient(proxy=X)``."""
    client = cst.Call(func=cst.Attribute(value=module, attr=cst.Name("DefaultHttpxClient")),
                      args=[_kw("proxy", value, last=True)])
    return cst.Assign(targets=[cst.AssignTarget(cst.Attribute(value=module,
                                                              attr=cst.Name("http_client")))],
                      value=client)


def fix_import_error(node: cst.Import, has_plain_import: bool) -> (
        cst.Import | cst.RemovalSentinel):
    """``import openai.error`` (a module v1 does not have) → ``import openai``, or nothing when
    the module imports openai already."""
    names = []
    for alias in node.names:
        name = alias.name
        if isinstance(name, cst.Attribute) and isinstance(name.value, cst.Name) \
                and name.value.value == "openai" and name.attr.value == "error" \
                and alias.asname is None:
            if has_plain_import:
                continue
            has_plain_import = True
            alias = alias.with_changes(name=cst.Name("openai"))
        names.append(alias)
    if not names:
        return cst.RemovalSentinel.REMOVE
    if len(names) != len(node.names):
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=names)
