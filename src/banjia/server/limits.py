"""Bounds on what one connection may hold before the app sees a request: body and header sizes,
how long headers and bodies may take, and how many connections one address may keep open.

The checks themselves run in :class:`banjia.server.http.CoalescingHttpProtocol`'s parser
callbacks; this module holds the numbers (:class:`HttpLimits`) and the one timer per server
(:class:`ConnectionGuard`) that closes connections whose headers or body are late, so a request
costs no timer of its own and a body chunk no more than an addition.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from banjia.config import ServerConfig

if TYPE_CHECKING:
    from banjia.server.http import CoalescingHttpProtocol

__all__ = ["MIN_BODY_PROGRESS", "ConnectionGuard", "HttpLimits", "raise_fd_limit"]

log = logging.getLogger("banjia.server")

_MB = 1024 * 1024
# a body that delivers less than this in ``body_timeout`` seconds is stalled: one byte now and
# then must not keep a connection (and its buffer) forever
MIN_BODY_PROGRESS = 1024


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """``server.*`` limits in bytes and seconds (picklable: ``--workers`` sends it to each worker)."""

    max_body: int = 32 * _MB
    max_upload: int = 25 * _MB
    max_head: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 15.0
    max_connections_per_ip: int = 256  # 0: no limit

    @classmethod
    def from_config(cls, server: ServerConfig) -> HttpLimits:
        return cls(
            max_body=int(server.max_body_mb * _MB),
            max_upload=int(server.max_upload_mb * _MB),
            max_head=server.max_header_kb * 1024,
            max_headers=server.max_headers,
            header_timeout=server.header_timeout,
            body_timeout=server.body_timeout,
            max_connections_per_ip=server.max_connections_per_ip,
        )


class ConnectionGuard:
    """One per uvicorn server: counts connections per client address and, while any connection
    is open, wakes a few times per timeout to close those whose headers or body are late."""

    def __init__(self, limits: HttpLimits, loop: asyncio.AbstractEventLoop) -> None:
        self.limits = limits
        self.loop = loop
        self.conns: set[CoalescingHttpProtocol] = set()
        self.per_ip: dict[str, int] = {}
        self.interval = max(0.05, min(1.0, limits.header_timeout / 4, limits.body_timeout / 4))
        self._timer: asyncio.TimerHandle | None = None
        self._closed = {"refused": 0, "header": 0, "body": 0}
        self._reported = 0.0

    @classmethod
    def of(cls, server_state: object, limits: HttpLimits, loop: asyncio.AbstractEventLoop) -> ConnectionGuard:
        guard = _GUARDS.get(server_state)
        if guard is None:
            guard = _GUARDS[server_state] = cls(limits, loop)
        return guard

    def admit(self, conn: CoalescingHttpProtocol, ip: str | None) -> bool:
        """Whether ``conn`` may stay open; if so it is watched until :meth:`release`."""
        cap = self.limits.max_connections_per_ip
        if ip is not None and cap:
            n = self.per_ip.get(ip, 0)
            if n >= cap:
                self._count("refused")
                return False
            self.per_ip[ip] = n + 1
        self.conns.add(conn)
        if self._timer is None:
            self._timer = self.loop.call_later(self.interval, self._sweep)
        return True

    def release(self, conn: CoalescingHttpProtocol, ip: str | None) -> None:
        if conn not in self.conns:
            return
        self.conns.discard(conn)
        if ip is not None and self.limits.max_connections_per_ip:
            n = self.per_ip.get(ip, 0) - 1
            if n > 0:
                self.per_ip[ip] = n
            else:
                self.per_ip.pop(ip, None)

    def _sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.conns):
            late = conn.late(now)
            if late is not None:
                self._count(late)
                conn.expire()
        self._report(now)
        self._timer = self.loop.call_later(self.interval, self._sweep) if self.conns else None

    def _count(self, what: str) -> None:
        self._closed[what] += 1

    def _report(self, now: float) -> None:
        # one line a minute at most: an attack must not flood the log
        if now - self._reported < 60 or not any(self._closed.values()):
            return
        self._reported = now
        c = self._closed
        log.warning(
            "closed connections: %d over server.max_connections_per_ip, %d without complete headers "
            "within server.header_timeout, %d with a stalled body (server.body_timeout)",
            c["refused"], c["header"], c["body"],
        )
        self._closed = dict.fromkeys(c, 0)


# uvicorn's ServerState (one per server) → its guard
_GUARDS: weakref.WeakKeyDictionary[object, ConnectionGuard] = weakref.WeakKeyDictionary()


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (inherited by ``--workers``), so that
    many idle clients exhaust the per-address limit and the timeouts before the descriptors.
    Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target
