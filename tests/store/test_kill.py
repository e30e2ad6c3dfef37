"""A gateway process killed with SIGKILL under load, then restarted on the same database: no
request is written twice, nothing committed goes missing, and after a graceful stop every
request the clients saw is in the ledger."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from banjia.store import open_store
from banjia.store.schema import ledger
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY
from tests.store.conftest import config_for

PROMPT = "one two three four five"  # the fake answers "echo: one … five": 5 prompt, 6 completion


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, config: Path, log: Path) -> None:
        self.port = _port()
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "banjia", "serve", "--config", str(config), "--port",
             str(self.port), "--log-level", "warning"],
            stdout=self.log, stderr=self.log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)
        assert self.proc.wait(60) is not None
        self.log.close()


async def _load(url: str, answers: int, workers: int = 16, kill: Server | None = None,
                key: str = MASTER_KEY) -> set[str]:
    """Requests with ``key`` from ``workers`` clients (half streaming) until they got ``answers``
    answers in full; the ids of those answers. With ``kill``, the server is SIGKILLed then, while
    requests are in flight."""
    seen: set[str] = set()
    stop, enough = asyncio.Event(), asyncio.Event()

    def answered(request_id: str) -> None:
        seen.add(request_id)
        if len(seen) >= answers:
            enough.set()

    headers = {"Authorization": f"Bearer {key}"}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}

    async def worker(i: int, client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                if i % 2:
                    r = await client.post(f"{url}/v1/chat/completions", json=body)
                    if r.status_code == 200:
                        answered(r.headers["x-request-id"])
                    continue
                async with client.stream("POST", f"{url}/v1/chat/completions",
                                         json={**body, "stream": True}) as r:
                    text = "".join([chunk async for chunk in r.aiter_text()])
                    if r.status_code == 200 and text.rstrip().endswith("[DONE]"):
                        answered(r.headers["x-request-id"])
            except httpx.HTTPError:
                await asyncio.sleep(0.01)

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        tasks = [asyncio.create_task(worker(i, client)) for i in range(workers)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), 60)
        if kill is not None:
            kill.stop(signal.SIGKILL)
        stop.set()
        await asyncio.gather(*tasks)
    return seen


async def _rows(db_url: str) -> list[dict[str, Any]]:
    store = await open_store(config_for(db_url), background=False)
    try:
        async with store.db.read() as conn:
            result = await conn.execute(select(ledger))
            return [dict(r._mapping) for r in result.all()]
    finally:
        await store.aclose()


async def test_sigkill_under_load_then_restart(fake: FakeOpenAI, db_url: str,
                                               tmp_path: Path) -> None:
    config = tmp_path / "banjia.yaml"
    config.write_text(yaml.safe_dump({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": db_url, "journal_dir": str(tmp_path / "journal")},
        "providers": {"fake": fake_provider(fake)},
        "models": {"gpt-4o": ["fake/echo"]},
    }))
    log = tmp_path / "gateway.log"

    first = Server(config, log)
    seen_first = await _load(first.url, 100, kill=first)
    committed = await _rows(db_url)
    ids = [r["request_id"] for r in committed]
    assert len(ids) == len(set(ids))
    assert len(seen_first) >= 100 and committed  # killed mid-run, after writing some rows

    second = Server(config, log)
    seen_second = await _load(second.url, 50)
    second.stop(signal.SIGTERM)  # graceful: the ledger is flushed before the process exits
    final = await _rows(db_url)
    final_ids = [r["request_id"] for r in final]
    assert len(final_ids) == len(set(final_ids)), "a request was written twice"
    assert set(ids) <= set(final_ids), "a committed row went missing"
    assert {i[4:] for i in seen_second} <= set(final_ids), "a graceful stop lost rows"
    for r in final:
        if r["status"] == 200 and not r["usage_estimated"]:
            assert (r["prompt_tokens"], r["completion_tokens"]) == (5, 6)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
