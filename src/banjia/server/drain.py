"""Serving under uvicorn with a graceful drain on SIGTERM (and Ctrl+C).

The drain, from the moment the signal arrives:

1. the listening socket closes (new connections are refused; with ``--workers`` the supervisor
   closes its copy too, else the kernel would keep queueing connections nobody accepts);
2. ``/readyz`` answers 503 and every response carries ``Connection: close``, so a load balancer
   or a client pool that still holds a keep-alive connection moves to another replica;
3. requests and streams in flight finish, for at most ``server.drain_seconds``; idle keep-alive
   connections stay open while any request is in flight (a health check sent on one then gets the
   503 instead of a reset connection), and close once none is;
4. the app's lifespan shutdown flushes the ledger, and the process exits 0.

uvicorn does 1, 3 (without keeping idle connections) and 4 itself; what it lacks is the signal
reaching the app, which is told through the lifespan state every request's scope copies
(``scope["state"]``), and a clean exit status: after a graceful shutdown it re-raises the signal,
so SIGTERM would end the process as killed (status 143).
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from banjia.server.http import CoalescingHttpProtocol

__all__ = ["DRAINING", "DrainingHttpProtocol", "serve"]

# the key in the lifespan state (and so in each request's ``scope["state"]``) set once draining
DRAINING = "banjia.draining"
_CLOSE = (b"connection", b"close")
_POLL = 0.1  # seconds between checks of an idle connection held open during the drain


class DrainingHttpProtocol(CoalescingHttpProtocol):
    """One connection. uvicorn calls :meth:`shutdown` on every open connection when the drain
    starts, right after it stopped listening."""

    def shutdown(self) -> None:
        self.app_state[DRAINING] = True
        # uvicorn adds these to every response it starts from now on, and closes the connection
        # after a response that says ``Connection: close``
        headers = self.server_state.default_headers
        if _CLOSE not in headers:
            self.server_state.default_headers = [*headers, _CLOSE]
        self._close_when_quiet()

    def _close_when_quiet(self) -> None:
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self.tasks:
            self.loop.call_later(_POLL, self._close_when_quiet)
            return
        # idle with nothing in flight: close now; busy: close after this response
        super().shutdown()


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM:
            # the drain is the answer to SIGTERM: not recorded as a captured signal, which
            # uvicorn would raise again once drained and so end the process as killed
            self.should_exit = True
            return
        super().handle_exit(sig, frame)


class _Supervisor(Multiprocess):
    """The ``--workers`` parent: stops listening as soon as it is told to stop, before the
    workers (which get SIGTERM from it and drain as above) finish."""

    def handle_term(self) -> None:
        self._stop_listening()
        super().handle_term()

    def handle_int(self) -> None:
        self._stop_listening()
        super().handle_int()

    def _stop_listening(self) -> None:
        for sock in self.sockets:
            sock.close()


def serve(app: Any, **options: Any) -> int:
    """Run ``app`` (an ASGI app, or an import string with ``workers``) until a signal has been
    drained; the exit status for ``banjia serve``. ``options`` are :class:`uvicorn.Config`'s, with
    ``http=DrainingHttpProtocol`` (or a subclass); ``timeout_graceful_shutdown`` bounds the drain."""
    config = uvicorn.Config(app, **options)
    if config.workers > 1:
        _Supervisor(config, sockets=[config.bind_socket()]).run()
        return 0
    server = _Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C, drained then raised again by uvicorn
        server.run()
    return 0 if server.started else STARTUP_FAILURE
