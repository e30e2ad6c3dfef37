"""Circuit breaking and fallback details through one gateway (state in the process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.routing.conftest import FAST, USER, config, metric

COOLDOWN = 30


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory, closed_port: int) -> Iterator[Gateway]:
    providers = {"dead": {"type": "openai", "base_url": f"http://127.0.0.1:{closed_port}/v1", "api_key": "x",
                          "timeouts": FAST}}
    models = {
        "legacy": ["dead/x", "fake/echo"],
        "embed": ["dead/x", "fake/embed"],
    }
    routing = {"retries": 0, "circuit": {"failures": 2, "cooldown": COOLDOWN}}
    g = Gateway(config(fake, tmp_path_factory.mktemp("circuit"), providers=providers, models=models,
                       routing=routing))
    yield g
    g.stop()


def test_an_open_circuit_fails_fast_with_503_and_retry_after(gw: Gateway, fake: FakeOpenAI) -> None:
    client = strict_client(gw)
    fake.state.failing.add("always-a")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="fake/switch:always-a", messages=USER)
    calls = fake.state.model_calls["switch:always-a"]
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="fake/switch:always-a", messages=USER)
    assert time.monotonic() - started < 0.3
    assert e.value.status_code == 503 and e.value.code == "upstream_unavailable"
    assert 1 <= int(e.value.response.headers["retry-after"]) <= COOLDOWN
    assert fake.state.model_calls["switch:always-a"] == calls
    assert metric(gw, "banjia_circuit_state", provider="fake", model="switch:always-a") == 1


def test_errors_caused_by_the_request_never_open_the_circuit(gw: Gateway) -> None:
    client = strict_client(gw)
    for _ in range(4):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="fake/e400", messages=USER)
    assert metric(gw, "banjia_circuit_state", provider="fake", model="e400") is None


def test_streams_broken_after_the_first_byte_count_against_the_entry(gw: Gateway) -> None:
    client = strict_client(gw)
    for _ in range(2):
        with pytest.raises(openai.APIError):
            for _chunk in client.chat.completions.create(model="fake/cut", messages=USER, stream=True):
                pass
    assert metric(gw, "banjia_circuit_state", provider="fake", model="cut") == 1


def test_legacy_completions_fall_back_natively(gw: Gateway) -> None:
    client = strict_client(gw)
    raw = client.completions.with_raw_response.create(model="legacy", prompt="hello there")
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    assert raw.parse().choices[0].text == "echo: hello there"
    # (the SDK's strict types refuse the null finish_reason of legacy stream chunks, OpenAI's own too)
    plain = openai.OpenAI(base_url=gw.base_url, api_key=MASTER_KEY, max_retries=0)
    stream = plain.completions.create(model="legacy", prompt="hello there", stream=True)
    assert "".join(c.choices[0].text for c in stream if c.choices) == "echo: hello there"


def test_embeddings_fall_back(gw: Gateway) -> None:
    raw = strict_client(gw).embeddings.with_raw_response.create(
        model="embed", input=["a b", "c"], encoding_format="float"
    )
    assert raw.headers["x-banjia-upstream"] == "fake/embed"
    assert len(raw.parse().data) == 2
