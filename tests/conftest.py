"""Shared fixtures: the fake OpenAI-dialect upstream and a gateway pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY, AioServer, Gateway


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeOpenAI]:
    f = FakeOpenAI()
    server = AioServer(f.app, "openai-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


def fake_provider(fake: FakeOpenAI, type_: str = "openai", **extra: Any) -> dict[str, Any]:
    base = f"{fake.url}/v1"  # type: ignore[attr-defined]
    return {"type": type_, "base_url": base, "api_key": API_KEY, **extra}


def gateway_config(fake: FakeOpenAI, tmp: Path, **overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "fake": fake_provider(fake),
            "deepseek": fake_provider(fake, "deepseek"),
            "spark": fake_provider(fake, "spark"),
            "minimax": fake_provider(fake, "minimax"),
            "moonshot": fake_provider(fake, "moonshot"),
            "zhipu": fake_provider(fake, "zhipu"),
            "dashscope": fake_provider(fake, "dashscope"),
            "siliconflow": fake_provider(fake, "siliconflow"),
            "baichuan": fake_provider(fake, "baichuan"),
            "ark": fake_provider(fake, "ark", endpoints={"doubao-pro-32k": "ep-20240607-echo"}),
            "local": {"type": "local", "n_ctx": 2048},
        },
        "models": {
            "gpt-4o": ["fake/echo"],
            "gpt-4o-mini": ["local/default"],
            "text-embedding-3-small": ["fake/embed"],
            "fallback-model": ["fake/e503", "fake/echo"],
        },
    }
    cfg.update(overrides)
    return cfg


@pytest.fixture(scope="session")
def gateway(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(gateway_config(fake, tmp_path_factory.mktemp("gw")))
    yield g
    g.stop()


def strict_client(g: Gateway, key: str = MASTER_KEY, **kw: Any) -> openai.OpenAI:
    """The official openai SDK on ``g``, failing on any answer that does not match its types."""
    return openai.OpenAI(
        base_url=g.base_url, api_key=key, max_retries=0, _strict_response_validation=True, **kw
    )


def strict_anthropic(g: Gateway, key: str = MASTER_KEY, **kw: Any) -> anthropic.Anthropic:
    """The official anthropic SDK on ``g`` (it adds /v1 itself), in strict validation."""
    return anthropic.Anthropic(
        base_url=g.root, api_key=key, max_retries=0, _strict_response_validation=True, **kw
    )


@pytest.fixture(scope="session")
def client(gateway: Gateway) -> openai.OpenAI:
    return strict_client(gateway)
