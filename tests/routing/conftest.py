"""Fixtures for the routing tests: gateways with short timeouts, dead and silent upstreams."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there world"}]
ECHO = "echo: hello there world"
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}

# short per-provider timeouts keep every fault quick; the total bound is what clients rely on
FAST = {"connect": 0.5, "first_byte": 0.5, "idle": 0.4, "total": 5}


@pytest.fixture(scope="session")
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel completes the handshake) and never answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(256)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def config(fake: FakeOpenAI, tmp: Path, *, providers: dict[str, Any] | None = None,
           models: dict[str, Any] | None = None, routing: dict[str, Any] | None = None,
           redis: bool = False, **server: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "server": {"master_key": MASTER_KEY, **server},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {"fake": fake_provider(fake, timeouts=FAST), **(providers or {})},
        "models": models or {},
        "routing": {"total_timeout": 2.0, "retries": 1, "retry_backoff": 0.05, "max_retry_after": 1.0,
                    **(routing or {})},
    }
    if redis:
        cfg["store"]["redis_url"] = REDIS_URL
    return cfg


def prefix() -> str:
    """A Redis key prefix of its own for each test, so tests never see each other's state."""
    return f"banjia-test:{uuid.uuid4().hex[:12]}:"


def metrics(g: Gateway) -> str:
    r = httpx.get(g.root + "/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.text


def metric(g: Gateway, name: str, **labels: str) -> float | None:
    """The value of one series on ``g``'s /metrics, or None if absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in metrics(g).splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith(name + "{") and all(f'{k}="{v}"' in series for k, v in labels.items()):
            return float(value)
        if not want and series == name:
            return float(value)
    return None


def eventually(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
