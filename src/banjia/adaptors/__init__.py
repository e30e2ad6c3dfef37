"""Provider types: the OpenAI-dialect vendors (data) and one module per native protocol.

Every type's facts (credentials, base URL, capabilities, thinking, legacy status) are its descriptor
in :mod:`banjia.vendors.table`. A native module declares ``SPEC = ProviderSpec.of(type, build)``;
:func:`registry` finds it by scanning this package, so the code that builds, checks
(:mod:`banjia.settings`) and lists providers needs no change for a new protocol. What does: its
descriptor, its fake and tests, and its models, prices and presets in ``catalog/models.yaml``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from banjia.adaptors.base import Adaptor, Fetch
from banjia.vendors import DESCRIPTORS, Descriptor

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["ProviderSpec", "http_provider", "registry"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A provider type's builder; its facts are its descriptor's (banjia.vendors), read through."""

    type: str
    build: Callable[[str, ProviderConfig, Transport], Provider]

    @classmethod
    def of(
        cls, provider_type: str, build: Callable[[str, ProviderConfig, Transport], Provider]
    ) -> ProviderSpec:
        """The spec of ``provider_type``; a type with no descriptor fails here, at import."""
        return cls(DESCRIPTORS[provider_type].type, build)

    @property
    def descriptor(self) -> Descriptor:
        return DESCRIPTORS[self.type]

    @property
    def title(self) -> str:
        return self.descriptor.title

    @property
    def credentials(self) -> tuple[str, ...]:
        """ProviderConfig fields that must be set."""
        return self.descriptor.credentials

    @property
    def key_env(self) -> tuple[str, ...]:
        """The environment variable for each credential (embedded defaults)."""
        return self.descriptor.key_env

    @property
    def base_url(self) -> str:
        """The default upstream; the config's base_url overrides it."""
        return self.descriptor.base_url

    @property
    def base_url_required(self) -> bool:
        return self.descriptor.base_url_required


def http_provider(
    name: str,
    cfg: ProviderConfig,
    transport: Transport,
    make: Callable[[Fetch, str], Adaptor],
    default_base_url: str | None = None,
) -> Provider:
    """A provider that sends over HTTP/WebSocket: ``make(fetch, base_url)`` builds its adaptor.

    The base URL is the config's, else ``default_base_url``, else the type's descriptor's."""
    from banjia.providers import HTTPProvider
    from banjia.transport import Egress, Timeouts

    t = cfg.timeouts
    timeouts = Timeouts(connect=t.connect, first_byte=t.first_byte, idle=t.idle, stream=t.stream)
    egress = Egress(proxy=cfg.proxy, ca_file=cfg.ca_file, http2=cfg.http2,
                    max_connections=cfg.pool.max_connections, max_idle=cfg.pool.max_idle,
                    keepalive=cfg.pool.keepalive)
    holder: list[HTTPProvider] = []

    async def fetch(req):  # type: ignore[no-untyped-def]
        return await holder[0].fetch(req)

    if default_base_url is None:
        default_base_url = DESCRIPTORS[cfg.type].base_url
    adaptor = make(fetch, (cfg.base_url or default_base_url).rstrip("/"))
    p = HTTPProvider(name, cfg.type, adaptor, transport, timeouts, egress)
    holder.append(p)
    return p


def _compat_specs() -> list[ProviderSpec]:
    from banjia.adaptors.openai_compat import OpenAICompatAdaptor
    from banjia.adaptors.vendors import VENDORS, Vendor

    def builder(v: Vendor) -> Callable[[str, ProviderConfig, Transport], Provider]:
        def build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
            return http_provider(
                name,
                cfg,
                transport,
                lambda fetch, base: OpenAICompatAdaptor(
                    name, fetch, v, base_url=base, api_key=cfg.api_key, endpoints=cfg.endpoints
                ),
            )

        return build

    return [ProviderSpec.of(v.type, builder(v)) for v in VENDORS.values()]


@cache
def registry() -> dict[str, ProviderSpec]:
    specs = {s.type: s for s in _compat_specs()}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_") or mod.name in {"base", "vendors", "openai_compat"}:
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, ProviderSpec):
            specs[spec.type] = spec
    return specs
