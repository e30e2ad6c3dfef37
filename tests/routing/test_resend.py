"""A request reaches its upstream once per attempt that routing decides on, never twice on its own.

An upstream that reads a request and closes the connection without answering may have received
(and billed) it: banjia does not send it again unless ``routing.retries`` says so. Only a pooled
connection that the upstream had provably closed before the request is sent is replaced silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from banjia.transport import Timeouts, Transport, UpstreamRequest
from tests.conftest import strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import Gateway
from tests.routing.conftest import USER, CountingUpstream, counting_gateway


@pytest.fixture(scope="module")
def no_retries(fake: FakeOpenAI, upstream: CountingUpstream,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from counting_gateway(fake, upstream, tmp_path_factory, "resend0", retries=0)


@pytest.fixture(scope="module")
def two_retries(fake: FakeOpenAI, upstream: CountingUpstream,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from counting_gateway(fake, upstream, tmp_path_factory, "resend2", retries=2)


def _hang_up_on_a_kept_alive_connection(g: Gateway, tag: str) -> openai.APIStatusError:
    client = strict_client(g)
    # the first call leaves a kept-alive connection in the gateway's pool; the second reuses it
    assert client.chat.completions.create(model=f"up/ok-{tag}", messages=USER).choices[0].message.content
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model=f"up/hangup-{tag}", messages=USER)
    return e.value


def test_a_request_the_upstream_read_without_answering_reaches_it_once(
    no_retries: Gateway, upstream: CountingUpstream
) -> None:
    connections = upstream.connections
    err = _hang_up_on_a_kept_alive_connection(no_retries, "once")
    assert (err.status_code, err.code) == (502, "upstream_unreachable")
    assert "without answering" in err.message
    assert upstream.received["hangup-once"] == 1
    assert upstream.connections - connections <= 1  # the hang-up was on the reused connection


def test_routing_retries_are_the_only_resends(two_retries: Gateway, upstream: CountingUpstream) -> None:
    err = _hang_up_on_a_kept_alive_connection(two_retries, "retried")
    assert err.status_code == 502
    assert upstream.received["hangup-retried"] == 3  # the attempt and routing.retries: 2


async def test_an_idle_connection_the_upstream_closed_is_replaced_before_sending(
    upstream: CountingUpstream,
) -> None:
    transport = Transport()
    url = f"http://127.0.0.1:{upstream.port}/v1/chat/completions"
    bounds = Timeouts(connect=5, first_byte=5, idle=5, stream=5)
    try:
        r = await transport.send(UpstreamRequest(url, b'{"model": "bye-idle"}'), bounds, "up")
        assert r.status == 200 and r.body
        # the upstream closes the pooled connection (the wait blocks this event loop on purpose:
        # the client must notice on its own, not because this loop happened to read the close)
        assert upstream.closed.wait(5)
        r = await transport.send(UpstreamRequest(url, b'{"model": "ok-idle"}'), bounds, "up")
        assert r.status == 200 and r.body
    finally:
        await transport.aclose()
    assert (upstream.received["bye-idle"], upstream.received["ok-idle"]) == (1, 1)
