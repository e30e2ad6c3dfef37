"""What every console page shares: the session check, CSRF, language, rendering and headers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from banjia import __version__
from banjia.console._i18n import LANGS, Translator, pick_lang
from banjia.console._queries import CST
from banjia.console._security import (
    SESSION_COOKIE,
    LoginLimiter,
    Session,
    Signer,
    load_secret,
)
from banjia.runtime import Runtime

__all__ = ["Console", "Page", "console_of", "page", "render", "secure_headers"]

PREFIX = "/console"
LANG_COOKIE = "banjia_lang"

# scripts only from the package (no inline code, no eval); ECharts and htmx set element styles
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'; object-src 'none'")

_env = Environment(
    loader=PackageLoader("banjia.console", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(n: float | None) -> str:
    return "—" if n is None else f"{n:,}" if isinstance(n, int) else f"{n:,.2f}"


def _cny(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0:
        return "¥0"
    sign, x = ("-", -x) if x < 0 else ("", x)
    return f"{sign}¥{x:,.4f}" if x >= 0.01 else f"{sign}¥{x:.6f}"


def _price(x: float | None) -> str:
    return "—" if x is None else f"¥{x:g}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}%"


def _ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x / 1000:.2f} s" if x >= 1000 else f"{x:.0f} ms"


def _ts(t: datetime | float | str | None, short: bool = False) -> str:
    """A time as the console shows it: China Standard Time (``short``: without the year)."""
    if t is None:
        return "—"
    if isinstance(t, str):  # ISO 8601 with an offset, as the admin API writes it
        t = datetime.fromisoformat(t)
    when = datetime.fromtimestamp(t, UTC) if isinstance(t, int | float) else t
    return when.astimezone(CST).strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


_env.filters.update(num=_num, cny=_cny, price=_price, pct=_pct, ms=_ms, ts=_ts)


@dataclass
class Console:
    """Per application: the signer (under the shared secret) and the login limiter."""

    signer: Signer
    limiter: LoginLimiter = field(default_factory=LoginLimiter)


async def console_of(request: Request) -> Console:
    state = request.app.state
    found: Console | None = getattr(state, "console", None)
    if found is not None:
        return found
    if not hasattr(state, "console_lock"):
        state.console_lock = asyncio.Lock()
    async with state.console_lock:
        found = getattr(state, "console", None)
        if found is None:
            rt: Runtime = state.runtime
            found = Console(Signer(await load_secret(rt), rt.config.server.master_key))
            state.console = found
    return found


R = TypeVar("R", bound=Response)


def secure_headers(response: R, *, cache: bool = False) -> R:
    h = response.headers
    h["content-security-policy"] = _CSP
    h["x-frame-options"] = "DENY"
    h["x-content-type-options"] = "nosniff"
    h["referrer-policy"] = "same-origin"
    if not cache:
        h["cache-control"] = "no-store"
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True,
                        secure=request.url.scheme == "https", samesite="strict")


def lang_of(request: Request) -> str:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def _remember_lang(request: Request, response: Response, lang: str) -> None:
    if request.query_params.get("lang") and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=PREFIX,
                            secure=request.url.scheme == "https", samesite="strict", httponly=True)


def _switch_links(request: Request) -> dict[str, str]:
    """The current page in each language (its other query parameters kept)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {code: f"{request.url.path}?{urlencode([*params, ('lang', code)])}" for code in LANGS}


def render(request: Request, template: str, lang: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    t = Translator(lang)
    html = _env.get_template(template).render(
        request=request, lang=lang, t=t, path=request.url.path, switch=_switch_links(request),
        static=lambda name: f"{PREFIX}/static/{name}?v={__version__}", prefix=PREFIX,
        version=__version__, **context)
    response = HTMLResponse(html, status_code=status)
    _remember_lang(request, response, lang)
    return secure_headers(response)


@dataclass
class Page:
    """A signed-in request: what handlers need, and how to answer."""

    request: Request
    rt: Runtime
    console: Console
    session: Session
    lang: str
    form: FormData | None = None

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    @property
    def csrf(self) -> str:
        return self.console.signer.csrf(self.session.nonce)

    @property
    def htmx(self) -> bool:
        """A request htmx made for a fragment (not a boosted page load)."""
        h = self.request.headers
        return h.get("hx-request") == "true" and h.get("hx-boosted") != "true"

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.lang, status, csrf=self.csrf, nav=True, **context)

    def redirect(self, to: str, **params: str) -> RedirectResponse:
        query = {k: v for k, v in params.items() if v}
        url = PREFIX + to + (f"?{urlencode(query)}" if query else "")
        return RedirectResponse(url, status_code=303)


Handler = Callable[[Page], Awaitable[Response]]


async def _still_master(rt: Runtime, key_id: str) -> bool:
    """The session's key is still the master key (a generated one may have been revoked)."""
    if key_id == "master" and (rt.config.server.master_key or rt.store is None):
        return True
    if rt.store is None:
        return False
    record = await rt.store.keys.get(key_id)
    return bool(record is not None and record.is_master and record.active)


async def current_session(request: Request, console: Console) -> Session | None:
    s = console.signer.verify(request.cookies.get(SESSION_COOKIE))
    if s is None or not await _still_master(request.app.state.runtime, s.key_id):
        return None
    return s


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"{PREFIX}/login?{urlencode({'next': target})}"
    return RedirectResponse(url, status_code=303)


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page behind the session: without one, 303 to the login page; a POST needs the CSRF
    token (form field ``csrf`` or header ``x-csrf-token``), else 403."""

    async def endpoint(request: Request) -> Response:
        console = await console_of(request)
        session = await current_session(request, console)
        lang = lang_of(request)
        if session is None:
            return secure_headers(login_redirect(request))
        form = None
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=100)
            token = form.get("csrf")
            token = token if isinstance(token, str) else request.headers.get("x-csrf-token")
            if not console.signer.csrf_ok(session.nonce, token):
                return csrf_refused(request, lang)
        p = Page(request, request.app.state.runtime, console, session, lang, form)
        return secure_headers(await handler(p))

    return endpoint


def csrf_refused(request: Request, lang: str) -> HTMLResponse:
    return render(request, "error.html", lang, status=403, nav=False, csrf="", title="error_title",
                  message_key="csrf_refused")


def query(request: Request, name: str, allowed: Mapping[str, Any] | None = None,
          default: str = "") -> str:
    value = request.query_params.get(name, default).strip()
    if allowed is not None and value not in allowed:
        return default
    return value
