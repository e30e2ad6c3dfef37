"""Provider types: the OpenAI-dialect vendors (data) and one module per native protocol.

A native module declares ``SPEC = ProviderSpec(...)``; :func:`registry` finds it by scanning this
package, so adding a protocol is one new module (plus its fake and tests) and nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from banjia.adaptors.base import Adaptor, Fetch

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["ProviderSpec", "http_provider", "registry"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    type: str
    title: str
    credentials: tuple[str, ...]  # ProviderConfig fields that must be set
    key_env: tuple[str, ...]  # the environment variable for each credential (embedded defaults)
    base_url: str  # default upstream; the config's base_url overrides it
    build: Callable[[str, ProviderConfig, Transport], Provider]
    base_url_required: bool = False


def http_provider(
    name: str,
    cfg: ProviderConfig,
    transport: Transport,
    make: Callable[[Fetch, str], Adaptor],
    default_base_url: str,
) -> Provider:
    """A provider that sends over HTTP/WebSocket: ``make(fetch, base_url)`` builds its adaptor."""
    from banjia.providers import HTTPProvider
    from banjia.transport import Timeouts

    t = cfg.timeouts
    timeouts = Timeouts(connect=t.connect, first_byte=t.first_byte, idle=t.idle, total=t.total)
    holder: list[HTTPProvider] = []

    async def fetch(req):  # type: ignore[no-untyped-def]
        return await holder[0].fetch(req)

    adaptor = make(fetch, (cfg.base_url or default_base_url).rstrip("/"))
    p = HTTPProvider(name, cfg.type, adaptor, transport, timeouts)
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
                v.base_url,
            )

        return build

    return [
        ProviderSpec(
            type=v.type,
            title=v.title,
            credentials=("api_key",) if v.type != "openai" else (),
            key_env=v.key_env[:1],
            base_url=v.base_url,
            build=builder(v),
            base_url_required=v.type == "openai",
        )
        for v in VENDORS.values()
    ]


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
