"""TLS to an upstream: a CA of the provider's own (``ca_file``), and HTTP/2 where the upstream
offers it, against a real HTTPS server on loopback whose certificate the test's CA issued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from banjia.config import parse_config
from banjia.errors import ConfigError, UpstreamError
from banjia.transport import Egress, Transport, UpstreamRequest, UpstreamResponse
from tests.conftest import strict_client
from tests.harness import MASTER_KEY, Gateway
from tests.transport.conftest import BOUNDS
from tests.transport.servers import CA, TLSUpstream

CHAT = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
STREAM = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})


def chat_request(upstream: TLSUpstream, body: bytes = CHAT) -> UpstreamRequest:
    return UpstreamRequest(f"{upstream.url}/v1/chat/completions", body, {"content-type": "application/json"})


def said(body: bytes) -> str:
    return str(orjson.loads(body)["choices"][0]["message"]["content"])


async def send_once(upstream: TLSUpstream, egress: Egress) -> UpstreamResponse:
    """One chat request on a transport of its own, closed afterwards."""
    transport = Transport()
    try:
        return await transport.send(chat_request(upstream), BOUNDS, "tls", egress)
    finally:
        await transport.aclose()


async def test_an_upstream_whose_ca_is_not_trusted_is_not_reached(tls_upstream: TLSUpstream) -> None:
    answered = len(tls_upstream.versions)
    transport = Transport()
    try:
        with pytest.raises(UpstreamError) as e:
            await transport.send(chat_request(tls_upstream), BOUNDS, "tls")
    finally:
        await transport.aclose()
    assert (e.value.status, e.value.code) == (502, "upstream_unreachable")
    assert "could not be reached" in e.value.message
    assert len(tls_upstream.versions) == answered


async def test_the_providers_ca_file_makes_its_upstream_trusted(ca: CA, tls_upstream: TLSUpstream) -> None:
    resp = await send_once(tls_upstream, Egress(ca_file=str(ca.ca_file)))
    assert resp.status == 200 and said(resp.body).startswith("HTTP/")


async def test_http2_is_spoken_where_the_upstream_offers_it(ca: CA, tls_upstream: TLSUpstream) -> None:
    resp = await send_once(tls_upstream, Egress(ca_file=str(ca.ca_file)))
    assert said(resp.body) == "HTTP/2"
    assert tls_upstream.versions[-1] == "2"


async def test_a_stream_over_http2_arrives_as_events(ca: CA, tls_upstream: TLSUpstream) -> None:
    transport = Transport()
    try:
        opened = await transport.open_stream(chat_request(tls_upstream, STREAM), BOUNDS, "tls",
                                             Egress(ca_file=str(ca.ca_file)))
        events = [e async for e in opened.events()]
    finally:
        await transport.aclose()
    assert opened.status == 200
    assert events[-1] == "[DONE]"
    assert orjson.loads(events[0])["choices"][0]["delta"]["content"] == "HTTP/2"


async def test_http2_can_be_switched_off(ca: CA, tls_upstream: TLSUpstream) -> None:
    resp = await send_once(tls_upstream, Egress(ca_file=str(ca.ca_file), http2=False))
    assert said(resp.body) == "HTTP/1.1"


async def test_an_upstream_without_http2_is_spoken_to_in_http1(ca: CA) -> None:
    upstream = TLSUpstream(ca, http2=False)
    try:
        resp = await send_once(upstream, Egress(ca_file=str(ca.ca_file)))
    finally:
        upstream.stop()
    assert said(resp.body) == "HTTP/1.1" and upstream.versions == ["1.1"]


@pytest.fixture(scope="module")
def gateway(ca: CA, tls_upstream: TLSUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("tls-gw")
    base = {"type": "openai", "base_url": f"{tls_upstream.url}/v1", "api_key": "x"}
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {"trusted": {**base, "ca_file": str(ca.ca_file)}, "untrusted": base},
        "routing": {"retries": 0},
    })
    yield g
    g.stop()


def test_a_providers_ca_file_in_the_config_reaches_the_transport(gateway: Gateway) -> None:
    client = strict_client(gateway)
    answer = client.chat.completions.create(model="trusted/m", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "HTTP/2"
    chunks = client.chat.completions.create(model="trusted/m", messages=[{"role": "user", "content": "hi"}],
                                            stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "HTTP/2"


def test_a_provider_without_the_ca_file_cannot_reach_the_same_upstream(gateway: Gateway) -> None:
    import openai

    with pytest.raises(openai.APIStatusError) as e:
        strict_client(gateway).chat.completions.create(
            model="untrusted/m", messages=[{"role": "user", "content": "hi"}])
    assert (e.value.status_code, e.value.code) == (502, "upstream_unreachable")


def test_a_ca_file_without_a_certificate_is_named_at_load(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"providers\.x\.ca_file: .*holds no PEM certificate"):
        parse_config({"providers": {"x": {"type": "openai", "ca_file": str(empty)}}})
    with pytest.raises(ConfigError, match=r"providers\.x\.ca_file: .*cannot read"):
        parse_config({"providers": {"x": {"type": "openai", "ca_file": str(tmp_path / "missing.pem")}}})
