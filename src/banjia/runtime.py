"""Wiring: from a :class:`Config` to running providers, router, gateway, auth and accounting."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from banjia.adaptors import registry
from banjia.capture import PromptCapture
from banjia.catalog import catalog_models
from banjia.config import Config
from banjia.context import Accounting, Authenticator, NullAccounting
from banjia.errors import ConfigError
from banjia.gateway import Gateway
from banjia.providers import Provider
from banjia.reasoning import build_reasoning
from banjia.routing.dispatch import Dispatcher
from banjia.routing.health import HealthProber
from banjia.routing.presets import preset_aliases
from banjia.routing.retry import RetryPolicy
from banjia.routing.router import Router
from banjia.routing.state import RoutingState, SharedRoutingState
from banjia.routing.telemetry import Telemetry
from banjia.server.auth import MasterKeyAuth
from banjia.settings import check_providers
from banjia.transport import Transport
from banjia.vendors import DESCRIPTORS

__all__ = ["Runtime", "build_runtime", "build_state"]

log = logging.getLogger("banjia")


@dataclass
class Runtime:
    config: Config
    transport: Transport
    providers: dict[str, Provider]
    router: Router
    gateway: Gateway
    auth: Authenticator
    accounting: Accounting
    store: Any = None  # banjia.store.Store when the store layer is present (admin routes use it)
    routing: RoutingState | None = None  # circuits and disabled providers (shared via Redis if set)
    telemetry: Telemetry | None = None  # what /metrics shows
    health: HealthProber | None = None

    async def aclose(self) -> None:
        if self.gateway.capture is not None:
            await self.gateway.capture.aclose()
        if self.health is not None:
            await self.health.aclose()
        if self.routing is not None:
            await self.routing.aclose()
        await self.accounting.aclose()
        await self.gateway.reasoning.aclose()
        if self.store is not None:
            await self.store.aclose()
        for p in self.providers.values():
            await p.aclose()
        await self.transport.aclose()


def build_providers(config: Config, transport: Transport) -> dict[str, Provider]:
    specs = registry()
    out: dict[str, Provider] = {}
    for name, pc in config.providers.items():
        spec = specs[pc.type]
        out[name] = spec.build(name, pc, transport)
    return out


def provider_models(config: Config) -> dict[str, list[str]]:
    served: dict[str, list[str]] = {}
    for name, pc in config.providers.items():
        models = list(pc.models or [])
        d = DESCRIPTORS.get(pc.type)
        if d is not None and d.protocol == "local":
            models = ["default", *models]
        # an `openai`-type provider is any OpenAI-compatible server (vLLM, Ollama…): OpenAI's own
        # catalog says nothing about what it serves (its descriptor's serves_catalog)
        for m in catalog_models(pc.type) if d is not None and d.serves_catalog else ():
            if m not in models:
                models.append(m)
        if d is not None and d.endpoint_ids:
            models.extend(m for m in pc.endpoints if m not in models)
        served[name] = models
    return served


async def build_runtime(
    config: Config,
    *,
    auth: Authenticator | None = None,
    accounting: Accounting | None = None,
) -> Runtime:
    r = config.routing
    check_providers(config)  # however it was loaded: nothing is built from a provider of unknown type
    transport = Transport()
    providers = build_providers(config, transport)
    aliases: dict[str, Iterable[str | Iterable[str]]] = {}
    if r.presets:
        aliases.update(preset_aliases({name: pc.type for name, pc in config.providers.items()}))
    aliases.update(config.models)  # the configured chains win over the presets
    router = Router(aliases, provider_models(config), {n: pc.type for n, pc in config.providers.items()})
    store = None
    if auth is None or accounting is None:
        store = await _open_store(config)
        if store is None:
            if not config.server.master_key:
                raise ConfigError("server.master_key: required (set BANJIA_MASTER_KEY)")
            auth = auth or MasterKeyAuth(config.server.master_key)
            accounting = accounting or NullAccounting()
        else:
            auth = auth or store.authenticator
            accounting = accounting or store.accounting
    state = build_state(config)
    telemetry = Telemetry(list(providers))
    dispatcher = Dispatcher(
        providers,
        state,
        telemetry,
        policy=RetryPolicy.of(r),
        total_timeout=r.total_timeout,
        weights={name: pc.weight for name, pc in config.providers.items()},
    )
    capture = None
    if config.capture.enabled:
        capture = PromptCapture(config.capture.dir, config.capture.retention_days)
    gateway = Gateway(
        providers, router, accounting, dispatcher=dispatcher, capture=capture,
        reasoning=build_reasoning(config),
    )
    await state.start()
    health = HealthProber(state, providers, telemetry, interval=r.health_interval, timeout=r.probe_timeout)
    health.start()
    return Runtime(
        config,
        transport,
        providers,
        router,
        gateway,
        auth,
        accounting,
        store,
        routing=state,
        telemetry=telemetry,
        health=health,
    )


def build_state(config: Config) -> RoutingState:
    """Routing state in the process, or shared by every replica when ``store.redis_url`` is set."""
    r = config.routing
    if not config.store.redis_url:
        return RoutingState(failures=r.circuit.failures, cooldown=r.circuit.cooldown)
    from redis.asyncio import Redis

    client = Redis.from_url(
        config.store.redis_url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
    )
    return SharedRoutingState(
        client,
        prefix=r.redis_prefix,
        failures=r.circuit.failures,
        cooldown=r.circuit.cooldown,
        sync_interval=r.sync_interval,
    )


async def _open_store(config: Config) -> Any:
    """The store (keys, quotas, ledger) when the store layer is installed, else None."""
    try:
        from banjia.store import open_store  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return await open_store(config)
