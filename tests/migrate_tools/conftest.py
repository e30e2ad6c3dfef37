"""Servers for the check and compare tests: banjia over the fakes, and the limited endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import gateway_config
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import AioServer, Gateway
from tests.migrate_tools.limited_fake import LimitedEndpoint
from tests.migrate_tools.scripted_fake import API_KEY as SCRIPTED_KEY
from tests.migrate_tools.scripted_fake import ScriptedOpenAI

# gateway names the tests use; each maps to a fake behaviour (tests/fakes/openai_fake.py)
ALIASES = {
    "check-chat": ["fake/echo"],
    "check-tools": ["fake/repeat-ids"],  # tool calls; streamed as two calls with repeated ids
    "check-json": ["fake/json"],
    "check-429": ["fake/e429:0"],
    "text-embedding-3-small": ["fake/embed"],
    "cmp-alias": ["deepseek/deepseek-chat"],
}


@pytest.fixture(scope="session")
def own_fake() -> Iterator[FakeOpenAI]:
    """A fake upstream of our own: the probes' slow and throttled calls stay out of the shared fake's
    counters, which other suites assert on."""
    f = FakeOpenAI()
    server = AioServer(f.app, "migrate-tools-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="session")
def scripted() -> Iterator[ScriptedOpenAI]:
    s = ScriptedOpenAI()
    server = AioServer(s.app, "scripted-fake")
    s.url = server.url  # type: ignore[attr-defined]
    yield s
    server.stop()


@pytest.fixture(scope="session")
def limited() -> Iterator[str]:
    """The base URL of the deliberately limited endpoint."""
    server = AioServer(LimitedEndpoint().app, "limited-fake")
    yield server.url + "/v1"
    server.stop()


def tools_config(fake: FakeOpenAI, scripted: ScriptedOpenAI, tmp: Any) -> dict[str, Any]:
    cfg = gateway_config(fake, tmp)
    del cfg["providers"]["local"]  # no llama.cpp start-up: every model here is a fake
    cfg["providers"]["scripted"] = {
        "type": "openai",
        "base_url": scripted.url + "/v1",  # type: ignore[attr-defined]
        "api_key": SCRIPTED_KEY,
    }
    cfg["models"] = dict(ALIASES)
    return cfg


@pytest.fixture(scope="session")
def tools_gateway(
    own_fake: FakeOpenAI, scripted: ScriptedOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    g = Gateway(tools_config(own_fake, scripted, tmp_path_factory.mktemp("migrate-tools")))
    yield g
    g.stop()
