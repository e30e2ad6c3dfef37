"""Fixtures for the transport's tests: the servers of :mod:`tests.transport.servers`, and an
environment without proxy variables unless a test sets them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from banjia.transport import Timeouts
from tests.transport.servers import CA, Proxy, TLSUpstream, make_ca

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
BOUNDS = Timeouts(connect=5, first_byte=10, idle=10, stream=30)


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy variables are read when a client is made: none leak in from outside."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_upstream(ca: CA) -> Iterator[TLSUpstream]:
    u = TLSUpstream(ca)
    yield u
    u.stop()


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    p = Proxy()
    yield p
    p.stop()
