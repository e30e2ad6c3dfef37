"""Signing in and out. Only the master key signs in; the key is read from the form field ``key``
and never echoed, logged or put in a URL."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from banjia.console._security import LOGIN_COOKIE, LOGIN_TTL, SESSION_COOKIE, SESSION_TTL
from banjia.console._web import (
    PREFIX,
    Page,
    console_of,
    current_session,
    lang_of,
    page,
    render,
    secure_headers,
    set_cookie,
)
from banjia.runtime import Runtime

__all__ = ["login_form", "login_submit", "logout"]

log = logging.getLogger("banjia.console")

_MAX_KEY = 200  # longer than any key banjia issues or accepts


def _next(value: object) -> str:
    """Where to go after signing in: a console path, never another site."""
    if isinstance(value, str) and value.startswith(PREFIX + "/") and not value.startswith("//") \
            and "\\" not in value and not value.startswith(PREFIX + "/login"):
        return value
    return PREFIX + "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form_page(request: Request, *, status: int = 200, error: str = "",
                     retry_after: int = 0, next_url: str = "") -> Response:
    console = await console_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if len(nonce) < 16 or len(nonce) > 64:
        nonce = secrets.token_urlsafe(16)
    response = render(request, "login.html", lang_of(request), status=status, nav=False,
                      title="login", csrf=console.signer.csrf("login:" + nonce), error=error,
                      retry_after=retry_after, next=next_url or _next(request.query_params.get("next")))
    set_cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_TTL)
    if retry_after:
        response.headers["retry-after"] = str(retry_after)
    return response


async def login_form(request: Request) -> Response:
    console = await console_of(request)
    if await current_session(request, console) is not None:
        return secure_headers(RedirectResponse(_next(request.query_params.get("next")), 303))
    return await _form_page(request)


async def login_submit(request: Request) -> Response:
    console = await console_of(request)
    rt: Runtime = request.app.state.runtime
    form = await request.form(max_files=0, max_fields=10)
    next_url = _next(form.get("next"))
    nonce = request.cookies.get(LOGIN_COOKIE)
    token = form.get("csrf")
    if not nonce or not console.signer.csrf_ok("login:" + nonce, token if isinstance(token, str) else None):
        return await _form_page(request, status=403, error="csrf_refused", next_url=next_url)
    client = _client(request)
    wait = console.limiter.retry_after(client)
    if wait:
        return await _form_page(request, status=429, error="too_many_attempts", retry_after=wait,
                                next_url=next_url)
    submitted = form.get("key")
    key = None
    if isinstance(submitted, str) and 0 < len(submitted.strip()) <= _MAX_KEY:
        key = await rt.auth.authenticate(submitted.strip())
    if key is None or not key.is_master:
        console.limiter.failed(client)
        log.info("console: sign-in refused from %s (%s)", client,
                 "not the master key" if key is not None else "wrong key")
        error = "not_master" if key is not None else "wrong_key"
        return await _form_page(request, status=403 if key is not None else 401, error=error,
                                next_url=next_url)
    console.limiter.succeeded(client)
    cookie, _ = console.signer.issue(key.id)
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, cookie, SESSION_TTL)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    log.info("console: signed in from %s", client)
    return secure_headers(response)


@page
async def logout(p: Page) -> Response:
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response
