"""Bringing disabled providers back: a background probe per disabled provider and interval.

A provider is disabled when its account fails (bad credentials, no balance). Rather than trust a
cheap side door (``GET /models`` answers even when the balance is empty, which would re-enable a
dead provider and disable it again on the next request), the probe repeats what failed, as small
as it gets: a one-token chat, or a one-word embedding, on the model that failed. Only a success
enables the provider again; with replicas, one of them probes per interval (a Redis lock) and
all see the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from banjia.errors import APIError
from banjia.protocol.chat import ChatRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.providers import Provider
from banjia.routing.circuit import Disabled
from banjia.routing.logs import event, failure_reason
from banjia.routing.state import RoutingState
from banjia.routing.telemetry import Telemetry

__all__ = ["HealthProber"]

log = logging.getLogger("banjia.routing")


class HealthProber:
    def __init__(
        self,
        state: RoutingState,
        providers: Mapping[str, Provider],
        telemetry: Telemetry,
        *,
        interval: float,
        timeout: float,
    ) -> None:
        self.state = state
        self.providers = providers
        self.telemetry = telemetry
        self.interval = interval
        self.timeout = timeout
        self._last: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def probe(self, name: str, d: Disabled) -> bool:
        """One probe of a disabled provider; enables it again on success."""
        provider = self.providers.get(name)
        if provider is None:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                if d.endpoint == "embeddings":
                    await provider.embeddings(
                        EmbeddingRequest.model_validate({"model": d.model, "input": "ping"}), d.model
                    )
                else:
                    req = ChatRequest.model_validate(
                        {"model": d.model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
                    )
                    await provider.chat(req, d.model)
        except (APIError, TimeoutError) as e:
            reason = failure_reason(e) if isinstance(e, APIError) else "upstream_timeout: probe timed out"
            event(log, logging.INFO, "health_probe_failed", provider=name, model=d.model, reason=reason)
            self.telemetry.probe(name, False)
            return False
        self.telemetry.probe(name, True)
        if self.state.enable(name):
            event(log, logging.WARNING, "provider_enabled", provider=name, model=d.model, by="health_probe")
        return True

    async def run_once(self) -> None:
        now = time.monotonic()
        due: list[tuple[str, Disabled]] = []
        for name, d in list(self.state.disabled.items()):
            if name in self.state.unprobed or d.by_operator:
                continue  # probing turned off, or an operator's decision that only an operator undoes
            last = self._last.get(name)
            if last is None:
                # the first probe waits an interval: the failure that disabled it is fresh
                self._last[name] = now
                continue
            if now - last >= self.interval:
                self._last[name] = now
                due.append((name, d))
        if due:
            await asyncio.gather(*(self._probe_claimed(name, d) for name, d in due))
        for name in list(self._last):
            if name not in self.state.disabled:
                del self._last[name]

    async def _probe_claimed(self, name: str, d: Disabled) -> None:
        if await self.state.claim_health(name, self.interval):
            await self.probe(name, d)

    async def _run(self) -> None:
        tick = min(self.interval / 4, 1.0)
        while True:
            await asyncio.sleep(tick)
            try:
                await self.run_once()
            except Exception:  # a probe must never end the loop
                log.exception("health probe loop")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
