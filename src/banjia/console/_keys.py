"""The Keys pages: list, create (the secret is shown this once), grants, revoke.

Every change goes through :class:`banjia.store.Keys`, the functions ``/admin/keys`` calls, with the
admin API's field names; the form's strings are turned into the numbers those functions check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from banjia.console._queries import CST
from banjia.console._web import Page, page
from banjia.errors import APIError
from banjia.store import Store

__all__ = ["add_grant", "create_key", "key_page", "keys_page", "revoke_key"]

_FIELDS = ("name", "quota_tokens", "quota_cny", "models", "rpm", "tpm", "expires_at")


class _FormError(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _int(p: Page, name: str) -> int | None:
    raw = p.field(name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _FormError(name) from None


def _float(p: Page, name: str) -> float | None:
    raw = p.field(name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise _FormError(name) from None


def _expiry(p: Page) -> datetime | None:
    """``datetime-local`` gives a wall-clock time without a zone: the console's, CST."""
    raw = p.field("expires_at")
    if not raw:
        return None
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise _FormError("expires_at") from None
    return t.replace(tzinfo=CST) if t.tzinfo is None else t


def _store(p: Page) -> Store | None:
    store: Store | None = p.rt.store
    return store


async def _list(p: Page, status: int = 200, **context: Any) -> Response:
    store = _store(p)
    keys = await store.keys.all() if store is not None else []
    context["values"] = dict.fromkeys(_FIELDS, "") | context.get("values", {})
    return p.render("keys.html", status, title="keys", store=store is not None, keys=keys,
                    created=context.pop("created", None), secret=context.pop("secret", ""),
                    notice=context.pop("notice", ""), error=context.pop("error", ""), **context)


@page
async def keys_page(p: Page) -> Response:
    notice = {"revoked": "key_revoked"}.get(p.request.query_params.get("done", ""), "")
    return await _list(p, notice=notice)


@page
async def create_key(p: Page) -> Response:
    store = _store(p)
    values = {f: p.field(f) for f in _FIELDS}
    if store is None:
        return await _list(p, 503)
    try:
        models = [m.strip() for m in values["models"].split(",") if m.strip()] or None
        record, secret = await store.keys.create(
            name=values["name"], quota_tokens=_int(p, "quota_tokens"), quota_cny=_float(p, "quota_cny"),
            models=models, rpm=_int(p, "rpm"), tpm=_int(p, "tpm"), expires_at=_expiry(p))
    except _FormError as e:
        return await _list(p, 400, values=values, error=p.t("bad_field").format(field=p.t(e.field)))
    except APIError as e:
        return await _list(p, 400, values=values, error=e.message)
    # the one answer that carries the secret: not cached, not in a URL, not in htmx's history
    response = await _list(p, 201, created=record, secret=secret)
    response.headers["hx-push-url"] = "false"
    return response


@page
async def revoke_key(p: Page) -> Response:
    store = _store(p)
    key_id = str(p.request.path_params["id"])
    if store is None or not await store.keys.revoke(key_id):
        return p.render("error.html", status=404, title="error_title", message_key="no_such_key")
    return p.redirect("/keys", done="revoked")


async def _detail(p: Page, key_id: str, status: int = 200, **context: Any) -> Response:
    store = _store(p)
    record = await store.keys.get(key_id) if store is not None else None
    if store is None or record is None:
        return p.render("error.html", status=404, title="error_title", message_key="no_such_key")
    grants = await store.keys.grants(key_id)
    return p.render("key.html", status, title="keys", key=record, grants=grants,
                    notice=context.get("notice", ""), error=context.get("error", ""))


@page
async def key_page(p: Page) -> Response:
    notice = {"granted": "grant_added"}.get(p.request.query_params.get("done", ""), "")
    return await _detail(p, str(p.request.path_params["id"]), notice=notice)


@page
async def add_grant(p: Page) -> Response:
    store = _store(p)
    key_id = str(p.request.path_params["id"])
    if store is None:
        return await _detail(p, key_id)
    try:
        result = await store.keys.grant(key_id, tokens=_int(p, "tokens"), cny=_float(p, "cny"),
                                        note=p.field("note") or None)
    except _FormError as e:
        return await _detail(p, key_id, 400, error=p.t("bad_field").format(field=p.t(e.field)))
    except APIError as e:
        return await _detail(p, key_id, 400, error=e.message)
    if result is None:
        return p.render("error.html", status=404, title="error_title", message_key="no_such_key")
    return p.redirect(f"/keys/{key_id}", done="granted")
