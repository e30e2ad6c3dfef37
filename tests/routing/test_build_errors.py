"""Only upstream behaviour moves a circuit. An exception raised while banjia builds the upstream
request is banjia's (or the request's) fault: the caller gets 500 ``internal_error``, no circuit
counts it, and every other request keeps being served.

(It used to become a 502 "could not be read", counted against the provider twice per request
because of the retry, so a few such requests locked every key out for the cool-down.)
"""

from __future__ import annotations

from typing import Any

import pytest

from banjia.adaptors import http_provider
from banjia.adaptors.base import Fetch, UpstreamRequest
from banjia.adaptors.openai_compat import OpenAICompatAdaptor
from banjia.adaptors.vendors import VENDORS
from banjia.config import ProviderConfig
from banjia.context import NullAccounting, RequestContext
from banjia.errors import APIError, UpstreamError
from banjia.gateway import Gateway
from banjia.protocol._base import validate
from banjia.protocol.chat import ChatRequest
from banjia.providers import Provider
from banjia.routing.circuit import Availability
from banjia.routing.router import Router, Target
from banjia.transport import Transport
from tests.fakes.openai_fake import API_KEY, FakeOpenAI

ECHO = Target("fake", "echo")


class Faulty(OpenAICompatAdaptor):
    """The OpenAI-dialect adaptor with a bug: building a request from ``user: "boom"`` fails."""

    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        if req.user == "boom":
            raise KeyError("a bug in the adaptor")
        return await super().chat_request(req, model, stream=stream)


def provider(fake: FakeOpenAI, transport: Transport) -> Provider:
    cfg = ProviderConfig(type="openai", base_url=f"{fake.url}/v1", api_key=API_KEY)  # type: ignore[attr-defined]

    def make(fetch: Fetch, base: str) -> OpenAICompatAdaptor:
        return Faulty("fake", fetch, VENDORS["openai"], base_url=base, api_key=API_KEY)

    return http_provider("fake", cfg, transport, make, "")


def chat(user: str | None = None, **extra: Any) -> ChatRequest:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}], **extra}
    if user is not None:
        body["user"] = user
    return validate(ChatRequest, body)


@pytest.fixture
async def gateway(fake: FakeOpenAI) -> Any:
    transport = Transport()
    router = Router({"m": ["fake/echo"]}, {"fake": []})
    g = Gateway({"fake": provider(fake, transport)}, router, NullAccounting())
    yield g
    await transport.aclose()


async def test_a_request_banjia_cannot_build_is_an_internal_error_that_no_circuit_hears_of(
    gateway: Gateway,
) -> None:
    accounting = gateway.accounting
    assert isinstance(accounting, NullAccounting)
    for i in range(10):  # twice the failures that open a circuit
        with pytest.raises(APIError) as e:
            await gateway.chat(RequestContext(request_id=f"bad{i}", endpoint="chat"), chat(user="boom"))
        assert not isinstance(e.value, UpstreamError)
        assert e.value.status == 500 and e.value.code == "internal_error"
    assert gateway.dispatcher.state.check(ECHO) is Availability.CLOSED
    assert [r.status for r in accounting.records] == [500] * 10
    answer = await gateway.chat(RequestContext(request_id="good", endpoint="chat"), chat())
    assert answer["choices"][0]["message"]["content"] == "echo: hello there"


async def test_a_stream_banjia_cannot_build_is_an_internal_error_too(gateway: Gateway) -> None:
    for i in range(10):
        with pytest.raises(APIError) as e:
            await gateway.chat_stream(RequestContext(request_id=f"s{i}", endpoint="chat"),
                                      chat(user="boom", stream=True))
        assert e.value.code == "internal_error"
    assert gateway.dispatcher.state.check(ECHO) is Availability.CLOSED
