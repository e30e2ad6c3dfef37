"""The web console at ``/console/``: served by ``banjia serve`` itself, in Chinese by default
(``?lang=en`` for English), for the master key only.

Pages are rendered on the server (Jinja2); htmx and ECharts, shipped in ``static/``, only add to
them, so every page and form also works without JavaScript. Providers and models stay in the
YAML config: the console changes only runtime state (a provider's enable/disable and its
automatic probing) and the store (keys, grants), through the same functions as ``/admin/*``.

    GET  /console/login, POST /console/login (field ``key``), POST /console/logout
    GET  /console/                     overview
    GET  /console/providers            POST …/{name}/test | enable | disable | probing
    GET  /console/models
    GET  /console/keys, POST /console/keys, GET /console/keys/{id},
         POST /console/keys/{id}/revoke, POST /console/keys/{id}/grants
    GET  /console/usage, GET /console/usage.csv
    GET  /console/logs, GET /console/logs/{request id}
    GET  /console/playground, POST /console/playground, POST /console/playground/stream
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from banjia.console import _keys, _login, _pages, _playground, _providers
from banjia.console._failures import failures

__all__ = ["routes"]

failures()  # from the start: failures before anyone opens the console count too


async def _to_overview(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=303)


routes: list[BaseRoute] = [
    Route("/console", _to_overview, methods=["GET"]),
    Mount("/console", routes=[
        Route("/", _pages.overview, methods=["GET"]),
        Route("/login", _login.login_form, methods=["GET"]),
        Route("/login", _login.login_submit, methods=["POST"]),
        Route("/logout", _login.logout, methods=["POST"]),
        Route("/providers", _providers.providers, methods=["GET"]),
        Route("/providers/{name}/test", _providers.test_provider, methods=["POST"]),
        Route("/providers/{name}/enable", _providers.enable, methods=["POST"]),
        Route("/providers/{name}/disable", _providers.disable, methods=["POST"]),
        Route("/providers/{name}/probing", _providers.probing, methods=["POST"]),
        Route("/models", _pages.models, methods=["GET"]),
        Route("/keys", _keys.keys_page, methods=["GET"]),
        Route("/keys", _keys.create_key, methods=["POST"]),
        Route("/keys/{id}", _keys.key_page, methods=["GET"]),
        Route("/keys/{id}/revoke", _keys.revoke_key, methods=["POST"]),
        Route("/keys/{id}/grants", _keys.add_grant, methods=["POST"]),
        Route("/usage", _pages.usage, methods=["GET"]),
        Route("/usage.csv", _pages.usage_csv, methods=["GET"]),
        Route("/logs", _pages.logs, methods=["GET"]),
        Route("/logs/{rid}", _pages.one_log, methods=["GET"]),
        Route("/playground", _playground.playground, methods=["GET"]),
        Route("/playground", _playground.chat, methods=["POST"]),
        Route("/playground/stream", _playground.chat_stream, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("banjia.console", "static")]), name="console-static"),
    ]),
]
