"""One gateway for the Responses tests: the shared OpenAI-dialect fake (as several provider types),
the scenario fake (reasoning, agent turns, length cut-offs) and DashScope's native protocol (``ds``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import gateway_config, strict_client
from tests.fakes.dashscope_fake import API_KEY as DASHSCOPE_KEY
from tests.fakes.dashscope_fake import FakeDashScope
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import AioServer, Gateway
from tests.responses.scenario_fake import API_KEY as SCENARIO_KEY
from tests.responses.scenario_fake import ScenarioFake


@pytest.fixture(scope="session")
def scenario() -> Iterator[ScenarioFake]:
    f = ScenarioFake()
    server = AioServer(f.app, "scenario-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="session")
def dashscope() -> Iterator[FakeDashScope]:
    f = FakeDashScope()
    server = AioServer(f.app, "dashscope-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


def _scenario_provider(f: ScenarioFake, type_: str) -> dict[str, Any]:
    return {"type": type_, "base_url": f"{f.url}/v1", "api_key": SCENARIO_KEY}  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def rgateway(
    fake: FakeOpenAI,
    scenario: ScenarioFake,
    dashscope: FakeDashScope,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    cfg = gateway_config(fake, tmp_path_factory.mktemp("responses"))
    cfg["providers"]["scenario"] = _scenario_provider(scenario, "deepseek")
    cfg["providers"]["qwen"] = _scenario_provider(scenario, "dashscope")
    ds_url = dashscope.url  # type: ignore[attr-defined]
    cfg["providers"]["ds"] = {"type": "dashscope-native", "base_url": ds_url, "api_key": DASHSCOPE_KEY}
    cfg["models"]["qwen-plus"] = ["ds/qwen-plus"]
    g = Gateway(cfg)
    yield g
    g.stop()


@pytest.fixture(scope="session")
def rclient(rgateway: Gateway) -> openai.OpenAI:
    return strict_client(rgateway)
