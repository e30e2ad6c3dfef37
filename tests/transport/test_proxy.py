"""Upstream calls through a forward proxy on loopback: from ``HTTP_PROXY``/``HTTPS_PROXY`` as curl
reads them (``NO_PROXY`` sends the hosts it lists directly), or from a provider's own ``proxy``;
plain HTTP is passed on in absolute form, TLS and WebSockets go through a CONNECT tunnel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from banjia.config import parse_config
from banjia.errors import ConfigError
from banjia.transport import Egress, Transport, UpstreamRequest
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.fakes.spark_fake import API_KEY as SPARK_KEY
from tests.fakes.spark_fake import API_SECRET, APP_ID, FakeSpark
from tests.harness import MASTER_KEY, AioServer, Gateway
from tests.transport.conftest import BOUNDS
from tests.transport.servers import CA, Proxy, TLSUpstream

USER = [{"role": "user", "content": "hello there"}]


def echo_request(fake: FakeOpenAI) -> UpstreamRequest:
    body = orjson.dumps({"model": "echo", "messages": USER})
    return UpstreamRequest(f"{fake.url}/v1/chat/completions", body,  # type: ignore[attr-defined]
                           {"content-type": "application/json", "authorization": f"Bearer {API_KEY}"})


def origin(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


async def test_http_proxy_from_the_environment_carries_plain_http_calls(
    fake: FakeOpenAI, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    transport = Transport()
    try:
        resp = await transport.send(echo_request(fake), BOUNDS, "fake")
    finally:
        await transport.aclose()
    assert resp.status == 200 and resp.json()["choices"][0]["message"]["content"] == "echo: hello there"
    assert proxy.seen == [f"POST {fake.url}/v1/chat/completions"]  # type: ignore[attr-defined]


async def test_https_proxy_from_the_environment_tunnels_tls_calls(
    ca: CA, tls_upstream: TLSUpstream, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    transport = Transport()
    body = orjson.dumps({"model": "m", "messages": USER})
    try:
        resp = await transport.send(UpstreamRequest(f"{tls_upstream.url}/v1/chat/completions", body),
                                    BOUNDS, "tls", Egress(ca_file=str(ca.ca_file)))
    finally:
        await transport.aclose()
    # HTTP/2 is negotiated with the upstream itself, inside the tunnel
    assert resp.json()["choices"][0]["message"]["content"] == "HTTP/2"
    assert proxy.seen == [f"CONNECT {origin(tls_upstream.url)}"]


async def test_no_proxy_sends_the_hosts_it_lists_directly(
    fake: FakeOpenAI, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    transport = Transport()
    try:
        resp = await transport.send(echo_request(fake), BOUNDS, "fake")
    finally:
        await transport.aclose()
    assert resp.status == 200
    assert proxy.seen == []


async def test_a_providers_own_proxy_needs_no_environment(fake: FakeOpenAI, proxy: Proxy) -> None:
    transport = Transport()
    try:
        resp = await transport.send(echo_request(fake), BOUNDS, "fake", Egress(proxy=proxy.url))
        direct = await transport.send(echo_request(fake), BOUNDS, "fake")
    finally:
        await transport.aclose()
    assert resp.status == direct.status == 200
    assert proxy.seen == [f"POST {fake.url}/v1/chat/completions"]  # type: ignore[attr-defined]


async def test_a_proxy_that_cannot_be_reached_is_an_unreachable_upstream(
    fake: FakeOpenAI, proxy: Proxy
) -> None:
    from banjia.errors import UpstreamError

    dead = proxy.url
    proxy.stop()
    transport = Transport()
    try:
        with pytest.raises(UpstreamError) as e:
            await transport.send(echo_request(fake), BOUNDS, "fake", Egress(proxy=dead))
    finally:
        await transport.aclose()
    assert (e.value.status, e.value.code) == (502, "upstream_unreachable")


@pytest.fixture(scope="module")
def spark() -> Iterator[FakeSpark]:
    f = FakeSpark()
    server = AioServer(f.app, "spark-fake")
    f.url = f"ws://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def module_proxy() -> Iterator[Proxy]:
    p = Proxy()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def gateway(fake: FakeOpenAI, spark: FakeSpark, module_proxy: Proxy,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("proxy-gw")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "proxied": fake_provider(fake, proxy=module_proxy.url),
            "sp": {"type": "spark-ws", "base_url": spark.url, "app_id": APP_ID,  # type: ignore[attr-defined]
                   "api_key": SPARK_KEY, "api_secret": API_SECRET, "proxy": module_proxy.url},
        },
        "routing": {"retries": 0},
    })
    yield g
    g.stop()


def test_a_providers_proxy_in_the_config_carries_its_calls(
    gateway: Gateway, fake: FakeOpenAI, module_proxy: Proxy
) -> None:
    client = strict_client(gateway)
    answer = client.chat.completions.create(model="proxied/echo", messages=USER)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "echo: hello there"
    chunks = client.chat.completions.create(model="proxied/echo", messages=USER, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hello there"
    assert f"POST {fake.url}/v1/chat/completions" in module_proxy.seen  # type: ignore[attr-defined]


def test_the_websocket_protocol_goes_through_the_providers_proxy(
    gateway: Gateway, spark: FakeSpark, module_proxy: Proxy
) -> None:
    answer = strict_client(gateway).chat.completions.create(model="sp/lite", messages=USER)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "echo: hello there"
    assert f"CONNECT {origin(spark.url)}" in module_proxy.seen  # type: ignore[attr-defined]


@pytest.mark.parametrize("proxy", ["proxy.example:3128", "ftp://proxy.example", "http://"])
def test_a_proxy_that_is_not_a_url_is_named_at_load(proxy: str) -> None:
    with pytest.raises(ConfigError, match=r"providers\.x\.proxy: .*not a proxy URL"):
        parse_config({"providers": {"x": {"type": "openai", "proxy": proxy}}})

