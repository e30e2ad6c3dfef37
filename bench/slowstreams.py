"""Memory under many slow streams: ``N`` concurrent streams through ``banjia serve`` (1 worker,
SQLite store) from the test suite's fake upstream (model ``slowchunks:<delay>``: 20 chunks
``delay`` seconds apart), in waves (two by default); the gateway's resident set idle, at its peak
and after each wave.

``.venv/bin/python -m bench.slowstreams [--streams 1000] [--delay 0.5] [--waves 2]``; put another
tree's ``src`` first on ``PYTHONPATH`` to measure it (a tree without
``server.max_connections_per_ip`` is run with its default limits).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.client import Connection
from bench.procs import free_port, rss_bytes, start, stop, wait_ready
from bench.targets import REPO

KEY = "sk-bench-slow-0123456789"
WORDS = 20
_MIB = 2**20


def _config(port: int, fake_port: int, db: Path, *, per_ip_limit: bool) -> str:
    server: dict[str, object] = {"host": "127.0.0.1", "port": port, "master_key": KEY, "workers": 1,
                                 "access_log": False}
    if per_ip_limit:
        server["max_connections_per_ip"] = 0  # every client here comes from 127.0.0.1
    return orjson.dumps({
        "server": server,
        "store": {"url": f"sqlite:///{db}"},
        "providers": {"fake": {"type": "openai", "base_url": f"http://127.0.0.1:{fake_port}/v1",
                               "api_key": "sk-fake-upstream"}},
        "models": {"slow": ["fake/slowchunks:{delay}"], "fast": ["fake/echo"]},
    }).decode()


async def _stream(port: int, body: bytes, headers: dict[str, str]) -> bool:
    conn = Connection("127.0.0.1", port)
    try:
        reply = await conn.request("POST", "/v1/chat/completions", body, headers)
        return reply.status == 200 and reply.body.rstrip().endswith(b"data: [DONE]")
    finally:
        await conn.close()


async def run(streams: int, delay: float, waves: int = 2) -> None:
    from banjia.config import ServerConfig

    work = Path(tempfile.mkdtemp(prefix="banjia-slow-"))
    fake_port, port = free_port(), free_port()
    fake_code = ("import sys; sys.path.insert(0, sys.argv[1]); from aiohttp import web; "
                 "from tests.fakes.openai_fake import FakeOpenAI; "
                 "web.run_app(FakeOpenAI().app, host='127.0.0.1', port=int(sys.argv[2]), print=None, "
                 "backlog=4096)")
    fake = start("fake", [sys.executable, "-c", fake_code, str(REPO), str(fake_port)], fake_port, work,
                 cwd=REPO)
    cfg = work / "banjia.yaml"
    per_ip = "max_connections_per_ip" in ServerConfig.model_fields
    cfg.write_text(_config(port, fake_port, work / "ledger.db", per_ip_limit=per_ip)
                   .replace("{delay}", f"{delay:g}"))
    argv = [sys.executable, "-c", "import sys; from banjia.cli import main; sys.exit(main())", "serve",
            "--config", str(cfg), "--port", str(port), "--workers", "1", "--log-level", "warning"]
    server = start("banjia", argv, port, work, cwd=work)
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    text = " ".join(f"w{i}" for i in range(WORDS - 1))
    slow = orjson.dumps({"model": "slow", "messages": [{"role": "user", "content": text}], "stream": True})
    fast = orjson.dumps({"model": "fast", "messages": [{"role": "user", "content": "hi"}], "stream": True})
    try:
        await wait_ready(server, "/v1/chat/completions", fast, headers, 60)
        await asyncio.gather(*(_stream(port, fast, headers) for _ in range(50)))  # warm-up
        await asyncio.sleep(1)
        idle = rss_bytes(server.pid)
        print(f"RSS idle after warm-up: {idle / _MIB:.1f} MiB", flush=True)
        for wave in range(1, waves + 1):
            began = time.perf_counter()
            tasks = [asyncio.create_task(_stream(port, slow, headers)) for _ in range(streams)]
            peak = 0
            while not all(t.done() for t in tasks):
                peak = max(peak, rss_bytes(server.pid))
                await asyncio.sleep(0.25)
            complete = sum(t.result() for t in tasks)
            took = time.perf_counter() - began
            await asyncio.sleep(2)
            after = rss_bytes(server.pid)
            print(f"wave {wave}: {complete}/{streams} complete in {took:.1f} s; RSS peak "
                  f"{peak / _MIB:.1f} MiB (+{(peak - idle) / _MIB:.1f}, "
                  f"{(peak - idle) / streams / 1024:.1f} KiB per stream), after {after / _MIB:.1f} MiB "
                  f"(+{(after - idle) / _MIB:.1f})", flush=True)
    finally:
        stop(server)
        stop(fake)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slowstreams", description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds between two chunks")
    parser.add_argument("--waves", type=int, default=2, help="rounds of streams, one after the other")
    args = parser.parse_args()
    asyncio.run(run(args.streams, args.delay, args.waves))


if __name__ == "__main__":
    main()
