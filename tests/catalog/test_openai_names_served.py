"""Every OpenAI model name a client may send reaches a model on the embedded defaults (the bundled
local model, no keys) and is priced against OpenAI's own price: a sample of each naming pattern,
sent with the official openai SDK (and the openai-agents SDK's default model) to a real server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest
from agents import Agent, Runner, set_default_openai_client, set_tracing_disabled
from agents.models import get_default_model
from openai import AsyncOpenAI

from banjia.adaptors import registry
from banjia.settings import embedded_defaults
from tests.conftest import strict_client
from tests.harness import MASTER_KEY, Gateway

set_tracing_disabled(True)

CHAT_NAMES = [
    "gpt-5.2", "gpt-5-mini", "gpt-5.1-codex-mini", "gpt-5-chat-latest",  # GPT-5.x family
    "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125",  # dated snapshots
    "o1", "o3", "o4-mini", "o1-preview",  # o-series
    "gpt-4.1", "gpt-4.1-mini-2025-04-14", "gpt-4.1-nano",  # gpt-4.1*
    "chatgpt-4o-latest", "gpt-4-turbo-preview",
]
EMBEDDING_NAMES = ["text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("embedded")
    keys = {var for spec in registry().values() for var in spec.key_env}
    clean = {k: v for k, v in os.environ.items() if k not in keys}
    with mock.patch.dict(os.environ, clean, clear=True):
        cfg = embedded_defaults()  # no vendor key set: the local model alone
    assert list(cfg.providers) == ["local"]
    cfg.server.master_key = MASTER_KEY
    cfg.store.url = f"sqlite:///{tmp / 'b.db'}"
    g = Gateway(cfg)
    yield g
    g.stop()


@pytest.mark.parametrize("name", CHAT_NAMES)
def test_an_openai_chat_name_is_served(gw: Gateway, name: str) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model=name, messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    assert raw.headers["x-banjia-upstream"] == "local/default"
    assert raw.parse().model


def test_gpt_35_turbo_instruct_is_served_on_completions(gw: Gateway) -> None:
    raw = strict_client(gw).completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt="Once upon a time", max_tokens=2)
    assert raw.headers["x-banjia-upstream"] == "local/default"
    assert raw.parse().choices[0].text is not None


@pytest.mark.parametrize("name", EMBEDDING_NAMES)
def test_an_openai_embedding_name_is_served(gw: Gateway, name: str) -> None:
    out = strict_client(gw).embeddings.create(model=name, input=["hello"], encoding_format="float")
    assert len(out.data[0].embedding) > 0


def test_a_name_reached_by_the_rules_is_a_model_owned_by_banjia(gw: Gateway) -> None:
    got = strict_client(gw).models.retrieve("gpt-4o-2024-08-06")
    assert got.owned_by == "banjia"


async def test_the_openai_agents_sdks_default_model_is_served(gw: Gateway) -> None:
    set_default_openai_client(AsyncOpenAI(base_url=gw.base_url, api_key=MASTER_KEY, max_retries=0))
    agent = Agent(name="hello", instructions="Answer in one word.")  # no model: the SDK's default
    result = await Runner.run(agent, "Hi")
    assert isinstance(result.final_output, str)
    async with httpx.AsyncClient() as http:
        r = await http.get(gw.root + "/admin/requests?limit=5", timeout=30,
                           headers={"Authorization": f"Bearer {MASTER_KEY}"})
    row = r.json()["rows"][0]
    assert row["model"] == get_default_model() and row["status"] == 200


def test_each_name_is_priced_against_openais_price_for_it(gw: Gateway) -> None:
    # its own requests: under xdist the tests above may run in another worker's gateway
    for name in ("o1", "gpt-4o-2024-08-06", "gpt-5.1-codex-mini"):
        strict_client(gw).chat.completions.create(
            model=name, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    usage = httpx.get(gw.root + "/admin/usage?by=model", timeout=30,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()["rows"]
    by_model = {r["group"]: r for r in usage}
    for name in ("o1", "gpt-4o-2024-08-06", "gpt-5.1-codex-mini"):
        row = by_model[name]
        assert row["cost_cny"] == 0  # the local model is free
        assert row["openai_cost_cny"] > 0 and row["saving_cny"] == row["openai_cost_cny"]
