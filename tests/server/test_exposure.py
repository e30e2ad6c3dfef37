"""What the HTTP layer gives away (issue 17, items 10 and 15): redirects that follow the Host header,
the master key on the start banner, keys in the access log, the open /metrics, and the CORS
answers a browser needs (Private Network Access, readable retry headers)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from banjia import cli
from banjia.config import parse_config
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY
from tests.server.conftest import Served, connect, read_response, served_config

ACCESS_LINES = io.StringIO()  # uvicorn's access handler writes here (see access_logged)


@pytest.fixture(scope="module")
def served(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = Served(served_config(fake, tmp_path_factory.mktemp("exposure")))
    yield s
    s.stop()


# -- redirects ---------------------------------------------------------------------------------


def test_trailing_slash_redirect_is_a_path_whatever_the_host_header(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(b"GET /healthz/?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        status, headers, _ = read_response(s)
    assert status == 307
    assert headers["location"] == "/healthz?x=1"


# -- keys --------------------------------------------------------------------------------------


def test_key_in_the_query_string_is_not_accepted(served: Served) -> None:
    r = httpx.get(served.root + "/v1/models", params={"api_key": MASTER_KEY, "key": MASTER_KEY})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"


@pytest.fixture
def access_logged(fake: FakeOpenAI, tmp_path: Path) -> Iterator[Served]:
    """A server with ``server.access_log: true`` and ``banjia serve``'s logging config, its access
    lines going to ACCESS_LINES; the loggers it reconfigures are put back afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "banjia")
    saved: dict[str, dict[str, Any]] = {}
    for name in names:
        lg = logging.getLogger(name)
        saved[name] = {"handlers": lg.handlers[:], "filters": lg.filters[:], "level": lg.level,
                       "propagate": lg.propagate, "disabled": lg.disabled}
    log_config = cli._log_config("info")
    log_config["handlers"]["access"]["stream"] = f"ext://{__name__}.ACCESS_LINES"  # type: ignore[index]
    ACCESS_LINES.seek(0)
    ACCESS_LINES.truncate()
    s = Served(served_config(fake, tmp_path, access_log=True), log_config=log_config, log_level="info")
    try:
        yield s
    finally:
        s.stop()
        for name, state in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = state.pop("handlers")
            lg.filters[:] = state.pop("filters")
            for attr, value in state.items():
                setattr(lg, attr, value)


def test_access_log_keeps_the_path_but_not_the_query_string(access_logged: Served) -> None:
    httpx.get(access_logged.root + "/v1/models", params={"api_key": MASTER_KEY})
    lines = ACCESS_LINES.getvalue()
    assert "/v1/models?[redacted]" in lines
    assert MASTER_KEY not in lines


def test_configured_master_key_is_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = "sk-banjia-configured-0123456789abcd"
    config = parse_config(
        {"server": {"master_key": key}, "store": {"url": f"sqlite:///{tmp_path / 'b.db'}"}}, None
    )
    cli._banner(config, "127.0.0.1", 8000, asyncio.run(cli._master_key(config)), 1)
    out = capsys.readouterr().out
    assert key not in out
    assert "ending in abcd" in out


def test_generated_master_key_is_printed_at_the_first_start_and_the_later_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = parse_config({"store": {"url": f"sqlite:///{tmp_path / 'b.db'}"}}, None)
    first = asyncio.run(cli._master_key(config))
    again = asyncio.run(cli._master_key(config))
    assert first is not None and first == again
    cli._banner(config, "127.0.0.1", 8000, again, 1)
    assert first in capsys.readouterr().out


def test_metrics_are_open_by_default(served: Served) -> None:
    r = httpx.get(served.root + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")


# -- CORS --------------------------------------------------------------------------------------

ORIGIN = {"Origin": "https://app.example"}


def test_private_network_access_preflight_is_allowed(served: Served) -> None:
    r = httpx.options(
        served.root + "/v1/chat/completions",
        headers={
            **ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-private-network"] == "true"
    assert r.headers["access-control-allow-origin"] == "*"


def test_retry_headers_and_request_id_are_readable_by_browsers(served: Served) -> None:
    r = httpx.get(served.root + "/v1/models", headers=ORIGIN)
    assert r.status_code == 401
    exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "retry-after-ms", "x-should-retry", "x-request-id", "x-banjia-upstream"} <= exposed
