"""The admin API (master key only): virtual keys, grants and usage reports.

    POST   /admin/keys               create; 201 with the key, shown this once
    GET    /admin/keys               list (``?active=true`` leaves out revoked keys)
    GET    /admin/keys/{id}          one key
    DELETE /admin/keys/{id}          revoke; 204
    POST   /admin/keys/{id}/grants   add tokens and/or CNY to its quota; 201
    GET    /admin/usage              ?since=ISO|7d&by=key|model|provider
    GET    /admin/requests           ?limit=1..1000&status=&key_id=&model= : latest ledger rows
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from banjia.errors import APIError, bad_request
from banjia.protocol._base import parse_body
from banjia.server.auth import require_master
from banjia.server.http import json_response

if TYPE_CHECKING:
    from banjia.store import Store

__all__ = ["routes"]

_KEY_FIELDS = {"name", "quota_tokens", "quota_cny", "models", "rpm", "tpm", "expires_at"}
_GRANT_FIELDS = {"tokens", "cny", "note"}
_NO_STORE = {"cache-control": "no-store"}


async def _store(request: Request) -> Store:
    rt = request.app.state.runtime
    await require_master(request, rt.auth)
    store: Store | None = rt.store
    if store is None:
        raise APIError(503, "This gateway runs without a store; keys and usage are unavailable.",
                       type="server_error", code="store_unavailable")
    return store


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise bad_request(f"Unrecognized request argument supplied: {name}", param=name)


_UNIX_MAX = 253_402_214_400  # 9999-12-31T00:00:00Z


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= _UNIX_MAX:  # also NaN
            raise bad_request(f"'expires_at' as a Unix time must be from 0 to {_UNIX_MAX} "
                              "(1970-01-01 to 9999-12-31).", param="expires_at")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return t.replace(tzinfo=UTC) if t.tzinfo is None else t
    raise bad_request("'expires_at' must be an ISO 8601 date-time or a Unix time.",
                      param="expires_at")


def _models(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [m.strip() for m in value.split(",") if m.strip()]
    return value  # type: ignore[no-any-return]  # checked by the store


async def create_key(request: Request) -> Response:
    store = await _store(request)
    body = parse_body(await request.body())
    _only(body, _KEY_FIELDS)
    if "name" not in body:
        raise bad_request("Missing required parameter: 'name'.", param="name")
    record, plaintext = await store.keys.create(
        name=body["name"], quota_tokens=body.get("quota_tokens"), quota_cny=body.get("quota_cny"),
        models=_models(body.get("models")), rpm=body.get("rpm"), tpm=body.get("tpm"),
        expires_at=_expiry(body.get("expires_at")))
    return json_response({**record.to_json(), "key": plaintext}, status=201, headers=_NO_STORE)


async def list_keys(request: Request) -> Response:
    store = await _store(request)
    active_only = request.query_params.get("active", "").lower() in ("1", "true", "yes")
    records = await store.keys.all(include_revoked=not active_only)
    return json_response({"object": "list", "data": [r.to_json() for r in records]})


def _no_such_key(key_id: str) -> APIError:
    return APIError(404, f"No key with id '{key_id}'.", code="key_not_found", param="id")


async def get_key(request: Request) -> Response:
    store = await _store(request)
    key_id = request.path_params["id"]
    record = await store.keys.get(key_id)
    if record is None:
        raise _no_such_key(key_id)
    return json_response(record.to_json())


async def revoke_key(request: Request) -> Response:
    store = await _store(request)
    key_id = request.path_params["id"]
    if not await store.keys.revoke(key_id):
        raise _no_such_key(key_id)
    return Response(status_code=204)


async def add_grant(request: Request) -> Response:
    store = await _store(request)
    key_id = request.path_params["id"]
    body = parse_body(await request.body())
    _only(body, _GRANT_FIELDS)
    result = await store.keys.grant(key_id, tokens=body.get("tokens"), cny=body.get("cny"),
                                    note=body.get("note"))
    if result is None:
        raise _no_such_key(key_id)
    grant, record = result
    return json_response({**grant.to_json(), "key": record.to_json()}, status=201)


async def usage(request: Request) -> Response:
    from banjia.store import parse_since

    store = await _store(request)
    since = parse_since(request.query_params.get("since"))
    by = request.query_params.get("by", "key")
    await store.flush()  # the report includes requests that ended a moment ago
    return json_response(await store.usage(since=since, by=by))


async def requests(request: Request) -> Response:
    store = await _store(request)
    q = request.query_params
    rows = await store.requests(limit=q.get("limit") or 50, status=q.get("status"),
                                key_id=q.get("key_id"), model=q.get("model"))
    return json_response({"rows": rows}, headers=_NO_STORE)


routes = [
    Route("/admin/keys", create_key, methods=["POST"]),
    Route("/admin/keys", list_keys, methods=["GET"]),
    Route("/admin/keys/{id}", get_key, methods=["GET"]),
    Route("/admin/keys/{id}", revoke_key, methods=["DELETE"]),
    Route("/admin/keys/{id}/grants", add_grant, methods=["POST"]),
    Route("/admin/usage", usage, methods=["GET"]),
    Route("/admin/requests", requests, methods=["GET"]),
]
