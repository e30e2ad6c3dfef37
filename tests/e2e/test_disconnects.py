"""A client that goes away, or stops reading, ends its request at once: the upstream connection is
closed (the local model stops generating), and the ledger row says what happened.

The upstreams here are raw sockets that record when a request reached them and when the gateway
closed the connection: one never answers, one streams large chunks for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.ledger_rows import wait_rows
from tests.harness import MASTER_KEY, Gateway

WAIT = 20.0  # seconds: far below every upstream timeout configured here (120 s), so only a cut ends it


@dataclass
class Connection:
    received: threading.Event = field(default_factory=threading.Event)  # a whole request is in
    closed: threading.Event = field(default_factory=threading.Event)  # the gateway hung up


class RawUpstream:
    """``silent``: reads the request, never answers. ``endless``: answers with an SSE stream of
    large chunks that never ends."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections: queue.Queue[Connection] = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"upstream-{mode}", daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        ).result(10)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        conn.received.set()
        self.connections.put(conn)
        sending = asyncio.ensure_future(self._stream(writer)) if self.mode == "endless" else None
        with contextlib.suppress(ConnectionError):
            await reader.read()  # returns at EOF: the gateway closed the connection
        conn.closed.set()
        if sending is not None:
            sending.cancel()
        writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "endless",
                 "choices": [{"index": 0, "delta": {"content": "x" * 2000}, "finish_reason": None}]}
        data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
        try:
            while True:
                writer.write(data)
                await writer.drain()
                await asyncio.sleep(0.005)
        except ConnectionError:
            return

    def next_connection(self) -> Connection:
        conn = self.connections.get(timeout=WAIT)
        assert conn.received.wait(WAIT)
        return conn

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def silent() -> Iterator[RawUpstream]:
    u = RawUpstream("silent")
    yield u
    u.stop()


@pytest.fixture(scope="module")
def endless() -> Iterator[RawUpstream]:
    u = RawUpstream("endless")
    yield u
    u.stop()


def _gateway(silent: RawUpstream, endless: RawUpstream, tmp: Path, http: str | None = None) -> Gateway:
    slow = {"connect": 5, "first_byte": 120, "idle": 120}
    return Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "silent": {"type": "openai", "base_url": silent.url, "api_key": "k", "timeouts": slow},
            "endless": {"type": "openai", "base_url": endless.url, "api_key": "k",
                        "timeouts": {**slow, "stream": 2}},
            "local": {"type": "local", "n_ctx": 2048},
        },
        "models": {},
        "routing": {"total_timeout": 150},
    }, http=http)


@pytest.fixture(scope="module")
def gw(
    silent: RawUpstream, endless: RawUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    g = _gateway(silent, endless, tmp_path_factory.mktemp("disconnects"))
    yield g
    g.stop()


@pytest.fixture(scope="module")
def plain_gw(
    silent: RawUpstream, endless: RawUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """The same app under uvicorn's own protocol: no ``banjia.exchange``, so a hang-up is seen by
    the plain-ASGI path (a task waiting for ``http.disconnect``), as under another server."""
    g = _gateway(silent, endless, tmp_path_factory.mktemp("disconnects-plain"), http="httptools")
    yield g
    g.stop()


def open_request(g: Gateway, path: str, body: dict[str, Any], *, rcvbuf: int | None = None) -> socket.socket:
    """A client that sends ``body`` on a raw socket (and then does what the test says)."""
    data = json.dumps(body).encode()
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", g.port))
    s.sendall(
        f"POST /v1{path} HTTP/1.1\r\nhost: banjia\r\nauthorization: Bearer {MASTER_KEY}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n".encode() + data
    )
    return s


REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    "chat-stream": ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": True}),
    "completions": ("/completions", {"prompt": "hi"}),
    "completions-stream": ("/completions", {"prompt": "hi", "stream": True}),
    "embeddings": ("/embeddings", {"input": "hi"}),
    "responses": ("/responses", {"input": "hi"}),
    "responses-stream": ("/responses", {"input": "hi", "stream": True}),
}


def hang_up_while_the_upstream_thinks(g: Gateway, silent: RawUpstream, kind: str, model: str) -> None:
    """A client sends a ``kind`` request for ``model`` (a model of its own, to find the row) and
    hangs up before the answer: the upstream call is cancelled and the row says so."""
    path, body = REQUESTS[kind]
    client = open_request(g, path, {"model": model, **body})
    upstream = silent.next_connection()
    client.close()
    assert upstream.closed.wait(WAIT), "the upstream request was left running"
    (got,) = wait_rows(g, 1, model=model)
    assert got["client_disconnected"] is True and got["status"] == 499
    assert got["error_code"] == "client_disconnected"


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_a_client_that_hangs_up_while_the_upstream_thinks_cancels_it(
    gw: Gateway, silent: RawUpstream, kind: str
) -> None:
    hang_up_while_the_upstream_thinks(gw, silent, kind, f"silent/{kind}")


@pytest.mark.parametrize("kind", ["chat", "chat-stream", "responses"])
def test_under_another_asgi_server_a_client_that_hangs_up_cancels_the_upstream_too(
    plain_gw: Gateway, silent: RawUpstream, kind: str
) -> None:
    hang_up_while_the_upstream_thinks(plain_gw, silent, kind, f"silent/plain-{kind}")


def test_a_client_that_stops_reading_a_stream_is_cut_at_the_streams_deadline(
    gw: Gateway, endless: RawUpstream
) -> None:
    """Its sends wait for ever once the socket buffers are full; at the provider's
    ``timeouts.stream`` (2 s here) the stream is cut, the upstream closed, and the row says why."""
    gw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # fills after a few chunks
    client = open_request(gw, "/chat/completions", {
        "model": "endless/x", "stream": True, "messages": [{"role": "user", "content": "hi"}],
    }, rcvbuf=4096)
    try:
        upstream = endless.next_connection()
        assert upstream.closed.wait(WAIT), "the stalled stream kept its upstream"
        (got,) = wait_rows(gw, 1, model="endless/x")
        assert got["client_disconnected"] is True and got["error_code"] == "client_timeout"
        assert got["completion_tokens"] > 0  # billed for what was produced
    finally:
        client.close()


def test_the_local_model_stops_generating_when_its_client_hangs_up(gw: Gateway) -> None:
    local = gw.runtime.providers["local"]
    before = local._cancel  # replaced when a generation starts on the worker
    max_tokens = 1000
    client = open_request(gw, "/completions", {
        "model": "local/default", "prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_tokens": max_tokens,
        "temperature": 0,
    })
    try:
        end = time.monotonic() + WAIT
        while local._cancel is before:
            assert time.monotonic() < end, "the local model never started"
            time.sleep(0.02)
        client.close()
        (got,) = wait_rows(gw, 1, WAIT, model="local/default")
        assert got["client_disconnected"] is True and got["status"] == 499
        # the next job on the model's one worker runs once the cancelled one has ended
        prompt = len(gw.call(local._run(lambda: local._llm.tokenize(b"1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"))))
        generated = gw.call(local._run(lambda: local._llm.n_tokens), timeout=WAIT) - prompt
        assert generated < max_tokens // 2
    finally:
        client.close()
