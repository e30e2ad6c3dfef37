"""``/v1/completions`` on a ``type: openai`` upstream that has no ``/completions`` (many
OpenAI-compatible servers serve chat only): the 404 or 405 it answers sends the request over
chat, as for every other type, and the provider remembers it, so the next one goes there at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import openai
import pytest
from aiohttp import web

from tests.conftest import strict_client
from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ChatOnly:
    """The fake OpenAI upstream without ``/completions``: unknown there (404) or, with
    ``method_only``, known for GET only (405). Every path asked for is recorded."""

    def __init__(self, method_only: bool) -> None:
        self.fake = FakeOpenAI()
        self.paths: list[str] = []

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.paths.append(request.path)
            return await handler(request)

        app = web.Application(middlewares=[record])
        app.router.add_post("/v1/chat/completions", self.fake.chat)
        if method_only:
            app.router.add_get("/v1/completions", self.fake.chat)
        self.server = AioServer(app, "chat-only")


@pytest.fixture(scope="module", params=[False, True], ids=["404", "405"])
def upstream(request: pytest.FixtureRequest) -> Iterator[ChatOnly]:
    u = ChatOnly(method_only=request.param)
    yield u
    u.server.stop()


@pytest.fixture(scope="module")
def gw(upstream: ChatOnly, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("completions")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "chatonly": {"type": "openai", "base_url": upstream.server.url + "/v1", "api_key": API_KEY},
        },
        "models": {},
    })
    yield g
    g.stop()


@pytest.fixture(scope="module")
def client(gw: Gateway) -> openai.OpenAI:
    return strict_client(gw)


def test_completions_go_over_chat_when_the_upstream_has_no_completions(
    client: openai.OpenAI, upstream: ChatOnly
) -> None:
    r = client.completions.create(model="chatonly/echo", prompt="hello there")
    assert r.choices[0].text == "echo: hello there" and r.object == "text_completion"
    assert r.usage is not None and r.usage.completion_tokens == 3
    assert upstream.paths[-2:] == ["/v1/completions", "/v1/chat/completions"]


def test_the_next_request_goes_straight_to_chat(client: openai.OpenAI, upstream: ChatOnly) -> None:
    client.completions.create(model="chatonly/again", prompt="one")
    before = len(upstream.paths)
    r = client.completions.create(model="chatonly/again", prompt="one two")
    assert r.choices[0].text == "echo: one two"
    assert upstream.paths[before:] == ["/v1/chat/completions"]


def test_a_stream_goes_over_chat_too(gw: Gateway, upstream: ChatOnly) -> None:
    # (the SDK's strict mode refuses the null finish_reason that OpenAI itself sends mid-stream)
    plain = openai.OpenAI(base_url=gw.base_url, api_key=MASTER_KEY, max_retries=0)
    chunks = list(plain.completions.create(
        model="chatonly/streamed", prompt="hello there", stream=True, stream_options={"include_usage": True}
    ))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    assert upstream.paths[-2:] == ["/v1/completions", "/v1/chat/completions"]


def test_echo_needs_a_real_completions_endpoint(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="chatonly/echo-param", prompt="hi", echo=True)
    assert "'echo'" in e.value.message
