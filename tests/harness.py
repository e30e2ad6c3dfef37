"""Real servers on loopback for tests: fakes (aiohttp) and the banjia gateway (uvicorn).

Each runs in its own thread with its own event loop and a socket bound to a free port, so tests
can drive them with synchronous clients (the official openai SDK) as a user's app would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from aiohttp import web

from banjia.config import Config, parse_config
from banjia.server.app import create_app
from banjia.server.http import http_options

MASTER_KEY = "sk-banjia-test-master"


def _bind() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    s.setblocking(False)
    return s


class _LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class AioServer(_LoopThread):
    """An aiohttp application (a provider fake) on 127.0.0.1:<free port>."""

    def __init__(self, app: web.Application, name: str = "fake") -> None:
        super().__init__(name)
        self.app = app
        self.sock = _bind()
        self.port = self.sock.getsockname()[1]
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        self.call(self._start())

    async def _start(self) -> None:
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.call(self.runner.cleanup())
        self.stop_loop()


class Gateway(_LoopThread):
    """banjia itself, from a config mapping, served by uvicorn on 127.0.0.1:<free port>."""

    def __init__(self, config: Config | dict[str, Any], *, http: str | None = None,
                 **app_kwargs: Any) -> None:
        """``http``: one of uvicorn's own protocols (``"httptools"``, ``"h11"``) instead of
        banjia's, to test the plain-ASGI paths another server takes."""
        super().__init__("gateway")
        self.config = config if isinstance(config, Config) else parse_config(config, "test")
        self.app = create_app(self.config, **app_kwargs)
        self.sock = _bind()
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            # banjia's own HTTP layer, as `banjia serve` runs it (its limits; one write per response:
            # uvicorn's default protocol writes head and body apart, which costs a client that
            # keeps the connection a delayed-ACK wait of ~40 ms per request)
            uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2,
                           **({"http": http} if http else http_options(self.config.server)))
        )
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[self.sock]), self.loop)
        _wait(lambda: self.server.started or self.serving.done(), 30)
        if self.serving.done():
            self.serving.result()  # raises the start-up error

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def stop(self) -> None:
        self.server.should_exit = True
        try:
            self.serving.result(15)
        finally:
            self.stop_loop()


def _wait(cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start")
        time.sleep(0.01)
