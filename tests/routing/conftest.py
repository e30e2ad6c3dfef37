"""Fixtures for the routing tests: gateways with short timeouts, dead, silent and counting
upstreams."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway, _LoopThread

REDIS_URL = "redis://127.0.0.1:6379/0"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there world"}]
ECHO = "echo: hello there world"
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}

# short per-provider timeouts keep every fault quick; the total bound is what clients rely on
FAST = {"connect": 0.5, "first_byte": 0.5, "idle": 0.4, "stream": 5}


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


class CountingUpstream(_LoopThread):
    """An OpenAI-dialect upstream on loopback that counts each request it has read, by the model
    named in its body. The model's first word says how it answers:

        ok      a chat completion, the connection kept alive
        e503    503 overloaded
        hangup  nothing: the connection closes once the request is read (and counted)
        bye     a chat completion, then the connection closes (``closed`` is set once it has)
    """

    def __init__(self) -> None:
        super().__init__("counting-upstream")
        self.received: Counter[str] = Counter()
        self.connections = 0
        self.closed = threading.Event()
        self.server: asyncio.Server = self.call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port: int = self.server.sockets[0].getsockname()[1]

    def provider(self, **extra: Any) -> dict[str, Any]:
        return {"type": "openai", "base_url": f"http://127.0.0.1:{self.port}/v1", "api_key": "x",
                "timeouts": FAST, **extra}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        how = ""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                model = str(orjson.loads(await reader.readexactly(length))["model"])
                self.received[model] += 1
                how = model.split("-")[0]
                if how == "hangup":
                    break
                if how == "e503":
                    body = orjson.dumps({"error": {"message": "overloaded", "type": "server_error"}})
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
                    continue
                body = orjson.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                })
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
                if how == "bye":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if how == "bye":
                self.closed.set()

    def stop(self) -> None:
        # on the server's own loop: asyncio.Server is not thread-safe, and closing it from this
        # thread raced the loop's own bookkeeping (seen once: TypeError in Server._wakeup)
        async def close() -> None:
            self.server.close()
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()  # connections still being served: no "Task was destroyed" at exit

        self.call(close())
        self.stop_loop()


@pytest.fixture(scope="module")
def upstream() -> Iterator[CountingUpstream]:
    u = CountingUpstream()
    yield u
    u.stop()


def counting_gateway(fake: FakeOpenAI, upstream: CountingUpstream, tmp: pytest.TempPathFactory,
                     name: str, **routing: Any) -> Iterator[Gateway]:
    """A gateway whose provider ``up`` is ``upstream``, for a module fixture to ``yield from``;
    the circuit never trips (circuits have their own tests)."""
    g = Gateway(config(fake, tmp.mktemp(name), providers={"up": upstream.provider()},
                       routing={**routing, "circuit": {"failures": 10_000}}))
    yield g
    g.stop()
