"""banjia served the way ``banjia serve`` serves it (banjia's HTTP protocol with ``server.*``'s
limits), on loopback, for tests that speak raw HTTP over sockets."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import uvicorn

from banjia.config import Config, parse_config
from banjia.server.app import create_app
from banjia.server.http import http_options
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, _bind, _LoopThread, _wait

AUTH = f"Authorization: Bearer {MASTER_KEY}\r\n"


class Served(_LoopThread):
    """The app under uvicorn with ``http_options(config.server)``, as ``banjia serve`` runs it."""

    def __init__(self, config: Config, **uvicorn_options: Any) -> None:
        super().__init__("served")
        self.config = config
        self.app = create_app(config)
        self.sock = _bind()
        self.port: int = self.sock.getsockname()[1]
        options: dict[str, Any] = {
            "log_level": "warning",
            "lifespan": "on",
            "timeout_graceful_shutdown": 2,
            **http_options(config.server),
            **uvicorn_options,
        }
        self.server = uvicorn.Server(uvicorn.Config(self.app, **options))
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[self.sock]), self.loop)
        _wait(lambda: self.server.started or self.serving.done(), 30)
        if self.serving.done():
            self.serving.result()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        try:
            self.serving.result(15)
        finally:
            self.stop_loop()


def served_config(fake: FakeOpenAI, tmp: Path, **server: Any) -> Config:
    return parse_config(
        {
            "server": {"master_key": MASTER_KEY, **server},
            "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
            "providers": {"fake": fake_provider(fake)},
            "models": {"gpt-4o": ["fake/echo"]},
        },
        "test",
    )


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return s


def read_response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body: status, headers (lower-case), body."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a complete response: {buf!r}")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_server(s: socket.socket) -> bool:
    """Whether the server closes ``s`` (EOF or reset) before the socket's timeout; whatever it
    sent before closing is skipped."""
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
