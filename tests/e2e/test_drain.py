"""``banjia serve`` drains on SIGTERM: it stops accepting connections, says 503 on ``/readyz`` to a
client that still holds a keep-alive connection, lets the requests and streams in flight finish,
writes them to the ledger and exits 0 — with one process and with ``--workers 2``."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import yaml

from banjia.store.schema import ledger
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
PROMPT = "one two three four five six seven eight nine ten"
SLOW = "slow:8.01"  # the fake answers after 8 s
SLOW_STREAM = "slowchunks:0.81"  # the fake streams one word every 0.8 s: 11 words
LONG_STREAM = "slowchunks:0.52"  # 11 words in ~6 s: longer than a 1 s drain
DRAIN = 20
MARGIN = 15  # start-up of the ledger flush and interpreter exit, on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _until(cond: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Served:
    """``banjia serve`` in its own process, on a free port, with a SQLite ledger in ``tmp``."""

    def __init__(self, fake: FakeOpenAI, tmp: Path, workers: int, drain: int = DRAIN) -> None:
        self.db = tmp / "banjia.db"
        config = tmp / "banjia.yaml"
        config.write_text(yaml.safe_dump({
            "server": {"master_key": MASTER_KEY, "drain_seconds": drain},
            "store": {"url": f"sqlite:///{self.db}"},
            "providers": {"fake": fake_provider(fake)},
            "models": {"slow": [f"fake/{SLOW}"], "slow-stream": [f"fake/{SLOW_STREAM}"],
                       "long-stream": [f"fake/{LONG_STREAM}"]},
        }))
        self.port = _free_port()
        self.log_path = tmp / "serve.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banjia", "serve", "--config", str(config), "--port", str(self.port),
             "--workers", str(workers)],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True)  # its own process group: stop() can reach orphaned workers
        self.workers = workers
        _until(self._ready, "the gateway to be ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.log()
        # every worker, not just the first that answers: one still starting holds SQLite's lock
        if self.log().count("Application startup complete") < self.workers:
            return False
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def ledger_rows(self) -> dict[str, int]:
        engine = sa.create_engine(f"sqlite:///{self.db}")
        try:
            with engine.connect() as conn:
                return {r.request_id: r.status
                        for r in conn.execute(sa.select(ledger.c.request_id, ledger.c.status))}
        finally:
            engine.dispose()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()


@pytest.fixture
def serve(fake: FakeOpenAI, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(workers: int, drain: int = DRAIN) -> Served:
        s = Served(fake, tmp_path, workers, drain)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


class InFlight(threading.Thread):
    """One chat request (streamed or not) sent now and read to its end in the background."""

    def __init__(self, url: str, model: str, stream: bool) -> None:
        super().__init__(daemon=True)
        self.request = {"model": model, "messages": [{"role": "user", "content": PROMPT}],
                        "stream": stream}
        self.url = url
        self.status = 0
        self.headers: dict[str, str] = {}
        self.text = ""
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            with httpx.stream("POST", f"{self.url}/v1/chat/completions", json=self.request,
                              headers=AUTH, timeout=120) as r:
                self.status, self.headers = r.status_code, dict(r.headers)
                self.text = "".join(r.iter_text())
        except httpx.HTTPError as e:
            self.error = e

    def answer(self) -> str:
        if not self.request["stream"]:
            content: str = json.loads(self.text)["choices"][0]["message"]["content"]
            return content
        events = [line[6:] for line in self.text.splitlines() if line.startswith("data: ")]
        assert events[-1] == "[DONE]", self.text
        return "".join(json.loads(e)["choices"][0]["delta"].get("content") or ""
                       for e in events[:-1] if json.loads(e)["choices"])


def _arrived(fake: FakeOpenAI, model: str, before: int) -> Callable[[], bool]:
    return lambda: sum(r.body.get("model") == model for r in fake.state.requests) > before


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict[str, str], bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def _keepalive_to_busy_process(s: Served) -> http.client.HTTPConnection:
    """A kept-alive connection served by a process that has a slow request in flight: with
    several workers, a connection belongs to the one that accepted it, and the drain keeps idle
    connections open only in a process with work still in flight. Its /metrics tell."""
    for _ in range(200):
        conn = s.connection()
        status, _, body = _get(conn, "/metrics")
        assert status == 200
        busy = any(line.startswith("banjia_upstream_attempts_total") and '"slow' in line
                   and not line.endswith(" 0") for line in body.decode().splitlines())
        if busy:
            return conn
        conn.close()
    raise AssertionError("no connection reached a worker with a request in flight")


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_in_flight_requests_then_exits_0(
    serve: Callable[..., Served], fake: FakeOpenAI, workers: int
) -> None:
    s = serve(workers)
    before = {m: sum(r.body.get("model") == m for r in fake.state.requests) for m in (SLOW, SLOW_STREAM)}
    plain = InFlight(s.url, "slow", stream=False)
    streamed = InFlight(s.url, "slow-stream", stream=True)
    for model, n in before.items():
        _until(_arrived(fake, model, n), f"{model} to reach the upstream")
    held = _keepalive_to_busy_process(s)
    assert _get(held, "/readyz")[0] == 200  # ready, and the connection stays open

    s.proc.send_signal(signal.SIGTERM)
    # new connections are refused (with workers, once each has its signal), during the drain
    _until(lambda: _refused(s.port), "new connections to be refused", timeout=10)
    assert plain.is_alive() or streamed.is_alive()
    # the process that holds the kept-alive connection answers its health check with 503, and
    # tells the client to go elsewhere
    status, headers, body = _get(held, "/readyz")
    assert status == 503 and json.loads(body)["status"] == "draining"
    assert headers.get("connection") == "close"

    plain.join(60)
    streamed.join(60)
    assert plain.error is None and streamed.error is None, (plain.error, streamed.error, s.log())
    assert plain.status == streamed.status == 200
    assert plain.answer() == streamed.answer() == "echo: " + PROMPT

    assert s.proc.wait(DRAIN + MARGIN) == 0, s.log()
    rows = s.ledger_rows()
    for done in (plain, streamed):
        rid = done.headers["x-request-id"]
        assert [status for r, status in rows.items() if rid.endswith(r)] == [200], rows
    assert "Traceback" not in s.log(), s.log()


def test_a_stream_longer_than_the_drain_is_cut_and_the_process_still_exits_0(
    serve: Callable[..., Served], fake: FakeOpenAI
) -> None:
    s = serve(1, drain=1)
    n = sum(r.body.get("model") == LONG_STREAM for r in fake.state.requests)
    cut = InFlight(s.url, "long-stream", stream=True)
    _until(_arrived(fake, LONG_STREAM, n), "the stream to reach the upstream")

    signalled = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(1 + MARGIN) == 0, s.log()
    assert time.monotonic() - signalled < 1 + MARGIN
    cut.join(10)
    assert "[DONE]" not in cut.text  # cut short, never ended as if complete
    rid = cut.headers["x-request-id"]
    assert [r for r in s.ledger_rows() if rid.endswith(r)], "the cut stream is not in the ledger"
