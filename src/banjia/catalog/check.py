"""``banjia catalog check``: each configured provider's upstream model list against the catalog.

For every provider whose vendor publishes a model list (its descriptor's ``list_models``), the list
is fetched through the provider itself (its adaptor's base URL and credentials, its transport and
timeouts) and compared with the catalog:

- **missing**: the upstream lists it, the catalog does not (a new model to add);
- **retired**: the catalog marks it retired — still listed upstream, or named in this config's
  ``models:`` chains (which banjia takes as written) — with its successor;
- **gone**: the catalog lists it as current, the upstream no longer does (retired upstream?);
- **unpriced**: the upstream lists it (or a chain names it) and neither the catalog nor the
  config's ``pricing:`` gives its price.

So a team sees drift before its users do. Vendors without a model list get the catalog-side
findings only.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from banjia.catalog import VendorModels, load_catalog
from banjia.config import Config
from banjia.errors import APIError
from banjia.pricing import Pricer, to_datetime
from banjia.providers import HTTPProvider, Provider
from banjia.transport import UpstreamRequest
from banjia.vendors import descriptor

__all__ = ["ProviderReport", "check_providers", "format_text", "list_request"]

_WIDTH = 80


@dataclass
class ProviderReport:
    provider: str
    type: str
    listed: int | None = None  # models the upstream listed; None when it was not asked
    status: str = "ok"  # ok | no model list | error
    error: str | None = None
    missing: list[str] = field(default_factory=list)
    retired: list[dict[str, str]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "type": self.type, "status": self.status,
                "error": self.error, "listed": self.listed, "missing": self.missing,
                "retired": self.retired, "gone": self.gone, "unpriced": self.unpriced}


def list_request(provider: Provider, path: str) -> UpstreamRequest | None:
    """The GET that lists ``provider``'s upstream models, built from its adaptor; None when the
    adaptor cannot say where its upstream lives."""
    if not isinstance(provider, HTTPProvider):
        return None
    adaptor: Any = provider.adaptor
    build = getattr(adaptor, "models_request", None)  # a vendor descriptor's own rule, if any
    if callable(build):
        req = build()
        return req if isinstance(req, UpstreamRequest) else None
    base = getattr(adaptor, "base_url", None)
    headers = getattr(adaptor, "headers", None)
    if not isinstance(base, str) or not callable(headers):
        return None
    h = {k: v for k, v in dict(headers()).items() if k.lower() != "content-type"}
    return UpstreamRequest(base.rstrip("/") + path, b"", h, method="GET")


async def _upstream_ids(provider: Provider, path: str) -> list[str]:
    req = list_request(provider, path)
    if req is None:
        raise LookupError("its adaptor does not say where its upstream lives")
    assert isinstance(provider, HTTPProvider)
    resp = await provider.fetch(req)
    if resp.status >= 300:
        raise provider.adaptor.error(resp.status, resp.body)
    try:
        data = orjson.loads(resp.body)
        return [str(m["id"]) for m in data["data"]]
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise LookupError(f"the model list is not OpenAI's shape ({e!r})") from e


def _chain_models(config: Config, provider: str) -> list[str]:
    """The upstream models this config's ``models:`` chains name on ``provider``."""
    out: list[str] = []
    for chain in config.models.values():
        for entry in chain:
            for item in [entry] if isinstance(entry, str) else entry:
                p, _, model = item.partition("/")
                if p == provider and model not in out:
                    out.append(model)
    return out


def _compare(report: ProviderReport, vendor: VendorModels | None, upstream: Sequence[str] | None,
             chains: Iterable[str], prices: Pricer) -> None:
    now = to_datetime(None)

    def priced(model: str) -> bool:
        found = prices.schedule(report.provider, report.type, model, now)
        return found is not None and found[0].list_rates.input is not None

    key = vendor.lookup_key if vendor is not None else (lambda m: m)
    listed = {key(m): m for m in upstream or ()}
    for m in upstream or ():
        if vendor is None or vendor.get(m) is None:
            report.missing.append(m)
    named = list(chains)
    if vendor is not None:
        named_keys = {key(m) for m in named}
        for info in vendor.models:
            k = key(info.id)
            if info.retired_on():
                why = [w for w, hit in (("listed upstream", k in listed),
                                        ("named in models:", k in named_keys)) if hit]
                if why:
                    report.retired.append({"model": info.id, "retired": info.retired or "",
                                           "successor": vendor.final_successor(info).id,
                                           "where": ", ".join(why)})
            elif upstream is not None and k not in listed:
                report.gone.append(info.id)
    for m in [*(upstream or ()), *named]:
        if m not in report.unpriced and not priced(m):
            report.unpriced.append(m)


async def check_providers(config: Config, providers: Mapping[str, Provider],
                          prices: Pricer | None = None) -> list[ProviderReport]:
    """One report per configured provider (see the module docstring)."""
    catalog = load_catalog()
    prices = prices or Pricer.from_config(config)
    reports = []
    for name, pc in config.providers.items():
        vendor = catalog.vendors.get(pc.type)
        report = ProviderReport(name, pc.type)
        upstream: list[str] | None = None
        d = descriptor(pc.type)
        path = d.list_models if d is not None else "/models"
        if d is not None and d.protocol == "local":
            upstream = ["default", *(pc.models or [])]
        elif path is None:
            report.status = "no model list"
        else:
            try:
                upstream = await _upstream_ids(providers[name], path)
            except (APIError, LookupError) as e:
                report.status = "error"
                report.error = e.message if isinstance(e, APIError) else str(e)
        if upstream is not None:
            report.listed = len(upstream)
        _compare(report, vendor, upstream, _chain_models(config, name), prices)
        reports.append(report)
    return reports


def format_text(reports: Sequence[ProviderReport]) -> str:
    """The reports as plain text that reads in 80 columns."""
    if not reports:
        return "no providers are configured\n"
    lines: list[str] = []
    for r in reports:
        head = f"{r.provider} ({r.type})"
        if r.status == "ok":
            head += f": {r.listed} models upstream"
        elif r.status == "error":
            head += f": the model list could not be fetched: {r.error}"
        else:
            head += ": the vendor publishes no model list (catalog-side checks only)"
        lines.extend(textwrap.wrap(head, _WIDTH, subsequent_indent="    "))
        sections: list[tuple[str, list[str]]] = [
            ("missing (upstream lists, catalog lacks)", r.missing),
            ("gone (catalog lists, upstream does not)", r.gone),
            ("unpriced (no catalog or config price)", r.unpriced),
        ]
        shown = False
        for title, items in sections:
            if items:
                shown = True
                lines.extend(textwrap.wrap(f"{title}: {', '.join(items)}", _WIDTH,
                                           initial_indent="  ", subsequent_indent="      "))
        if r.retired:
            shown = True
            lines.append("  retired (served by the successor when a client names them):")
            for x in r.retired:
                lines.extend(textwrap.wrap(
                    f"{x['model']} -> {x['successor']} since {x['retired']} ({x['where']})", _WIDTH,
                    initial_indent="    ", subsequent_indent="      "))
        if not shown and r.status == "ok":
            lines.append("  in step with the catalog")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
