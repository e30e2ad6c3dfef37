"""The config's layers: the schema knows no provider type, the settings check them, and the two
time bounds are named for what they bound."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest

from banjia.config import parse_config
from banjia.context import NullAccounting
from banjia.errors import ConfigError
from banjia.runtime import build_runtime
from banjia.server.auth import MasterKeyAuth
from tests.conftest import fake_provider, strict_client
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.routing.conftest import FAST, USER, config


def test_the_schema_and_the_transport_load_without_the_adaptors() -> None:
    code = (
        "import sys, banjia.config, banjia.transport, banjia.routing.retry; "
        "print(sorted(m for m in sys.modules if m.startswith('banjia.adaptors')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_a_gateway_does_not_start_with_a_provider_of_unknown_type() -> None:
    cfg = parse_config({"store": {"url": "sqlite:///:memory:"}, "providers": {"x": {"type": "nope"}}})
    with pytest.raises(ConfigError, match=r"providers\.x\.type: unknown provider type 'nope'"):
        await build_runtime(cfg, auth=MasterKeyAuth(MASTER_KEY), accounting=NullAccounting())


def test_a_providers_stream_bound_is_also_read_under_its_older_name_total() -> None:
    cfg = parse_config({"providers": {
        "new": {"type": "local", "timeouts": {"stream": 7}},
        "old": {"type": "local", "timeouts": {"total": 8}},
        "default": {"type": "local"},
    }})
    assert [cfg.providers[p].timeouts.stream for p in ("new", "old", "default")] == [7, 8, 600]
    assert parse_config({}).routing.total_timeout == 180


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    bound = {"connect": 0.5, "first_byte": 0.5, "idle": 0.4}
    providers = {
        "short": fake_provider(fake, timeouts={**bound, "stream": 0.5}),
        "short-old": fake_provider(fake, timeouts={**bound, "total": 0.5}),
        "fake": fake_provider(fake, timeouts=FAST),
    }
    g = Gateway(config(fake, tmp_path_factory.mktemp("settings"), providers=providers))
    yield g
    g.stop()


@pytest.mark.parametrize("provider", ["short", "short-old"])
def test_timeouts_stream_ends_a_stream_that_runs_past_it(gw: Gateway, provider: str) -> None:
    got = []
    with pytest.raises(openai.APIError) as e:
        for c in strict_client(gw).chat.completions.create(
            model=f"{provider}/slowchunks:0.3", messages=USER, stream=True
        ):
            got.append(c)
    assert got, "the stream started"
    assert "0.5 s limit" in e.value.message
