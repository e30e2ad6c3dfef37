"""Starting, probing, measuring and stopping the servers under test.

Each server runs in its own session (process group) so that stopping it also stops the workers it
spawned; nothing else is ever signalled. Memory is the resident set of the process and all its
descendants, read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Connection, HTTPError

__all__ = ["Server", "cpu_seconds", "free_port", "rss_bytes", "start", "stop", "wait_ready"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    ready_after_s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(name: str, argv: list[str], port: int, log_dir: Path, *, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Server:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
    return Server(name, port, proc, log)


def stop(server: Server, timeout: float = 10.0) -> None:
    """SIGTERM to the server's own process group, then SIGKILL if it lingers."""
    if server.proc.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.proc.wait(timeout)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out.extend(int(c) for c in text.split())
    return out


def _tree(pid: int) -> list[int]:
    seen = [pid]
    i = 0
    while i < len(seen) and len(seen) < 1000:
        seen.extend(c for c in _children(seen[i]) if c not in seen)
        i += 1
    return seen


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and every process below it."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every live process below it: per request, a figure
    that other load on the machine disturbs far less than throughput."""
    ticks = 0
    for p in _tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / _TICK


async def wait_ready(server: Server, path: str, body: bytes, headers: dict[str, str],
                     limit_s: float) -> None:
    """Poll with a real request until it answers 200 (the server, its routes and its upstream all
    work), or fail with the end of the server's log."""
    started = time.perf_counter()
    deadline = started + limit_s
    last = "no answer"
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
        conn = Connection("127.0.0.1", server.port)
        try:
            reply = await conn.request("POST", path, body, headers)
            if reply.status == 200:
                server.ready_after_s = time.perf_counter() - started
                return
            last = f"status {reply.status}: {reply.body[:300]!r}"
        except (HTTPError, OSError) as e:
            last = str(e)
        finally:
            await conn.close()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {limit_s:.0f} s ({last}):\n{server.log_tail()}")
