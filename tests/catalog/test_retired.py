"""A request that names a retired model is served by its successor, and ``x-banjia-retired`` says
so; a chain the operator wrote is taken as written. Real requests through banjia over the fake
upstream with the official openai SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from banjia.context import RequestContext
from banjia.server.routes import upstream_headers
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

MESSAGES: list[dict[str, str]] = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("retired")
    g = Gateway({"server": {"master_key": MASTER_KEY}, "store": {"url": f"sqlite:///{tmp / 'b.db'}"},
                 "providers": {"ds": fake_provider(fake, "deepseek")},
                 "models": {"legacy": ["ds/deepseek-chat"]}})
    yield g
    g.stop()


def sent_model(fake: FakeOpenAI) -> str:
    return str(fake.state.requests[-1].body["model"])


def test_a_retired_provider_model_is_served_by_its_successor(gw: Gateway, fake: FakeOpenAI) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="ds/deepseek-chat", messages=MESSAGES)  # type: ignore[arg-type]
    assert sent_model(fake) == "deepseek-v4-flash"
    assert raw.headers["x-banjia-upstream"] == "ds/deepseek-v4-flash"
    assert raw.headers["x-banjia-retired"] == "deepseek-chat -> deepseek-v4-flash"
    assert raw.parse().choices[0].message.content == "echo: hello there"


def test_a_retired_bare_id_is_served_by_its_successor(gw: Gateway, fake: FakeOpenAI) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="deepseek-reasoner", messages=MESSAGES)  # type: ignore[arg-type]
    assert sent_model(fake) == "deepseek-v4-flash"
    assert raw.headers["x-banjia-retired"] == "deepseek-reasoner -> deepseek-v4-flash"


def test_a_stream_says_so_too(gw: Gateway, fake: FakeOpenAI) -> None:
    with strict_client(gw).chat.completions.with_streaming_response.create(
            model="ds/deepseek-chat", messages=MESSAGES, stream=True) as resp:  # type: ignore[arg-type]
        assert resp.headers["x-banjia-retired"] == "deepseek-chat -> deepseek-v4-flash"
        text = "".join(c.choices[0].delta.content or "" for c in resp.parse() if c.choices)
    assert text == "echo: hello there"


def test_a_current_model_has_no_retirement_header(gw: Gateway) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="ds/deepseek-v4-pro", messages=MESSAGES)  # type: ignore[arg-type]
    assert "x-banjia-retired" not in raw.headers


def test_a_chain_the_operator_wrote_is_taken_as_written(gw: Gateway, fake: FakeOpenAI) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="legacy", messages=MESSAGES)  # type: ignore[arg-type]
    assert sent_model(fake) == "deepseek-chat"
    assert "x-banjia-retired" not in raw.headers


def test_retired_models_are_not_listed_but_still_found(gw: Gateway) -> None:
    client = strict_client(gw)
    ids = {m.id for m in client.models.list()}
    assert "ds/deepseek-v4-flash" in ids and "ds/deepseek-chat" not in ids


def test_an_unknown_model_is_still_a_404(gw: Gateway) -> None:
    with pytest.raises(openai.NotFoundError):
        strict_client(gw).chat.completions.create(model="ds-nothing", messages=MESSAGES)  # type: ignore[arg-type]


def test_the_header_is_ascii_with_the_ids_percent_encoded() -> None:
    ctx = RequestContext(request_id="r", endpoint="chat", provider="z", upstream_model="新模型",
                         retired={"z/新模型": "旧 模型"})
    headers = upstream_headers(ctx)
    assert headers["x-banjia-retired"] == "%E6%97%A7%20%E6%A8%A1%E5%9E%8B -> %E6%96%B0%E6%A8%A1%E5%9E%8B"
    assert headers["x-banjia-retired"].isascii()
