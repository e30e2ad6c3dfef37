"""Wiring: from a :class:`Config` to running providers, router, gateway, auth and accounting."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from banjia.adaptors import registry
from banjia.catalog import catalog_models
from banjia.config import Config
from banjia.context import Accounting, Authenticator, NullAccounting
from banjia.errors import ConfigError
from banjia.gateway import Gateway
from banjia.providers import Provider
from banjia.routing.router import Router
from banjia.server.auth import MasterKeyAuth
from banjia.transport import Transport

__all__ = ["Runtime", "build_runtime"]

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

    async def aclose(self) -> None:
        await self.accounting.aclose()
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
        if pc.type == "local":
            models = ["default", *models]
        for m in catalog_models(pc.type):
            if m not in models:
                models.append(m)
        if pc.type == "ark":
            models.extend(m for m in pc.endpoints if m not in models)
        served[name] = models
    return served


async def build_runtime(
    config: Config,
    *,
    auth: Authenticator | None = None,
    accounting: Accounting | None = None,
) -> Runtime:
    transport = Transport()
    providers = build_providers(config, transport)
    router = Router(config.models, provider_models(config))
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
    gateway = Gateway(providers, router, accounting)
    return Runtime(config, transport, providers, router, gateway, auth, accounting, store)


async def _open_store(config: Config) -> Any:
    """The store (keys, quotas, ledger) when the store layer is installed, else None."""
    try:
        from banjia.store import open_store  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    return await open_store(config)
