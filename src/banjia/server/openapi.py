"""``GET /openapi.json``: an OpenAPI 3.1 description of banjia's whole HTTP API.

Request and response schemas come from the pydantic models in ``banjia.protocol`` (the same
models that validate requests), so the document cannot drift from what the server checks. The
paths come from the running application's routes: a route without an entry in ``_OPERATIONS``
(one added later, by an optional layer) is still listed, with a generic description, rather
than left out. The web console (HTML pages) is not part of the API and is not listed.

Every error, on every route, is OpenAI's envelope (``ErrorEnvelope``); that is the ``default``
response of each operation.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from banjia import __version__
from banjia.protocol import shapes
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.protocol.responses import ResponsesRequest

__all__ = ["document", "routes"]

_REQUESTS: tuple[type[BaseModel], ...] = (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponsesRequest,
    shapes.KeyCreateRequest,
    shapes.GrantRequest,
)
_RESPONSES: tuple[type[BaseModel], ...] = (
    shapes.ErrorEnvelope,
    shapes.ChatCompletion,
    shapes.Completion,
    shapes.EmbeddingList,
    shapes.Model,
    shapes.ModelList,
    shapes.Response,
    shapes.ResponseDeleted,
    shapes.Health,
    shapes.Readiness,
    shapes.KeyCreated,
    shapes.KeyObject,
    shapes.KeyList,
    shapes.GrantCreated,
    shapes.UsageReport,
)

_TEXT = {"type": "string"}
# one server-sent event: ``data`` is a JSON chunk (or ``[DONE]``); the Responses API names its events
_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": _TEXT, "event": _TEXT, "id": _TEXT},
}
CLIENT: list[dict[str, list[str]]] = [{"ApiKey": []}]
MASTER: list[dict[str, list[str]]] = [{"MasterKey": []}]
OPEN: list[dict[str, list[str]]] = []


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _json_or_stream(model: type[BaseModel]) -> dict[str, Any]:
    answer = _json(model, "The answer; with `stream: true`, server-sent events")
    answer["content"]["text/event-stream"] = {"schema": _SSE_EVENT}
    return answer


def _body(model: type[BaseModel], example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ref(model)}
    if example is not None:
        media["example"] = example
    return {"required": True, "content": {"application/json": media}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _op(
    summary: str,
    security: list[dict[str, list[str]]],
    *,
    ok: dict[str, Any],
    status: str = "200",
    body: type[BaseModel] | None = None,
    example: dict[str, Any] | None = None,
    query: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": security,
        "responses": {status: ok, **(extra or {}), "default": _json(shapes.ErrorEnvelope, "An error")},
    }
    if body is not None:
        op["requestBody"] = _body(body, example)
    if query:
        op["parameters"] = query
    return op


_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/chat/completions"): _op(
        "Create a chat completion", CLIENT, body=ChatRequest, ok=_json_or_stream(shapes.ChatCompletion),
        example={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}]},
    ),
    ("post", "/v1/completions"): _op(
        "Create a completion (legacy)", CLIENT, body=CompletionRequest, ok=_json_or_stream(shapes.Completion),
        example={"model": "gpt-4o", "prompt": "Once upon a time", "max_tokens": 16},
    ),
    ("post", "/v1/embeddings"): _op(
        "Create embeddings", CLIENT, body=EmbeddingRequest, ok=_json(shapes.EmbeddingList),
        example={"model": "text-embedding-3-small", "input": [[15339, 1917]], "encoding_format": "float"},
    ),
    ("get", "/v1/models"): _op("List the models this key may use", CLIENT, ok=_json(shapes.ModelList)),
    ("get", "/v1/models/{model}"): _op("Retrieve a model", CLIENT, ok=_json(shapes.Model)),
    ("post", "/v1/responses"): _op(
        "Create a response (the Responses API)", CLIENT, body=ResponsesRequest,
        ok=_json_or_stream(shapes.Response), example={"model": "gpt-4o", "input": "Hello!"},
    ),
    ("get", "/v1/responses/{response_id}"): _op(
        "Retrieve a stored response", CLIENT, ok=_json(shapes.Response),
        query=[_query("stream", {"type": "string"}, "replaying as a stream is not supported")],
    ),
    ("delete", "/v1/responses/{response_id}"): _op(
        "Delete a stored response", CLIENT, ok=_json(shapes.ResponseDeleted)
    ),
    ("get", "/healthz"): _op("Liveness: the process answers", OPEN, ok=_json(shapes.Health)),
    ("get", "/readyz"): _op(
        "Readiness: the store and at least one provider are ready", OPEN, ok=_json(shapes.Readiness),
        extra={"503": _json(shapes.Readiness, "Not ready (or draining)")},
    ),
    ("get", "/metrics"): _op(
        "Prometheus metrics (open unless server.metrics_require_key)",
        [{}, *MASTER],
        ok={"description": "Prometheus text format", "content": {"text/plain": {"schema": _TEXT}}},
    ),
    ("get", "/openapi.json"): _op(
        "This document", OPEN,
        ok={"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}},
    ),
    ("post", "/admin/keys"): _op(
        "Create a virtual key", MASTER, body=shapes.KeyCreateRequest, status="201",
        ok=_json(shapes.KeyCreated),
        example={"name": "team-a", "quota_tokens": 1000000, "models": ["gpt-4o"], "rpm": 60},
    ),
    ("get", "/admin/keys"): _op(
        "List keys", MASTER, ok=_json(shapes.KeyList),
        query=[_query("active", {"type": "string"}, "`true` leaves out revoked keys")],
    ),
    ("get", "/admin/keys/{id}"): _op("Retrieve a key", MASTER, ok=_json(shapes.KeyObject)),
    ("delete", "/admin/keys/{id}"): _op("Revoke a key", MASTER, status="204", ok={"description": "Revoked"}),
    ("post", "/admin/keys/{id}/grants"): _op(
        "Add tokens and/or CNY to a key's quota", MASTER, body=shapes.GrantRequest, status="201",
        ok=_json(shapes.GrantCreated), example={"tokens": 100000, "note": "top-up"},
    ),
    ("get", "/admin/usage"): _op(
        "Usage report: tokens, cost, OpenAI-equivalent cost, saving", MASTER, ok=_json(shapes.UsageReport),
        query=[
            _query("since", {"type": "string"}, "ISO 8601 date or date-time, or a span such as 7d"),
            _query("by", {"type": "string", "enum": ["key", "model", "provider"]}, "grouping"),
        ],
    ),
    ("get", "/admin/requests"): _op(
        "The latest ledger rows, newest first (never prompts or answers)", MASTER,
        ok={"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "required": ["rows"], "properties": {"rows": {"type": "array"}}}}}},
        query=[
            _query("limit", {"type": "integer", "minimum": 1}, "how many rows"),
            _query("status", {"type": "integer"}, "only rows with this HTTP status"),
            _query("key_id", {"type": "string"}, "only this key's rows"),
            _query("model", {"type": "string"}, "only this model's rows"),
        ],
    ),
}

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_UNLISTED = ("/console",)


def _generic(method: str, path: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": f"{method.upper()} {path}",
        "security": MASTER if path.startswith("/admin") else CLIENT,
        "responses": {"default": {"description": "See the README"}},
    }
    if method in ("post", "put", "patch"):
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return op


def _paths(app_routes: list[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in app_routes:
        if not isinstance(route, Route) or route.path.startswith(_UNLISTED):
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(route.path)
        ]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            m = method.lower()
            op = dict(_OPERATIONS.get((m, path)) or _generic(m, path))
            op["operationId"] = f"{m}{re.sub(r'[^A-Za-z0-9]+', '_', path)}"
            if params:
                op["parameters"] = [*params, *op.get("parameters", [])]
            paths.setdefault(path, {})[m] = op
    return paths


def document(app_routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document for an application with these routes."""
    _, top = models_json_schema(
        [(m, "validation") for m in _REQUESTS] + [(m, "serialization") for m in _RESPONSES],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "banjia",
            "version": __version__,
            "description": "An OpenAI-compatible gateway to Chinese LLM vendors and a local model. "
            "Requests and answers follow OpenAI's API reference; errors are OpenAI's envelope.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(app_routes),
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "ApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A virtual key (or the master key)",
                },
                "MasterKey": {"type": "http", "scheme": "bearer", "description": "The master key"},
            },
        },
    }


async def openapi(request: Request) -> Response:
    body: bytes | None = getattr(request.app.state, "openapi", None)
    if body is None:
        body = request.app.state.openapi = orjson.dumps(document(request.app.routes))
    return Response(body, media_type="application/json")


routes = [Route("/openapi.json", openapi, methods=["GET"])]
