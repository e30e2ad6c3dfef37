"""``banjia cost`` and ``banjia catalog check``.

Both read the config named by ``--config`` or ``BANJIA_CONFIG`` (the embedded defaults without
either). ``cost`` prices one request with the same function the ledger uses
(:class:`banjia.pricing.Pricer`: the config's ``pricing:`` over the catalog); ``catalog check``
compares each configured provider's upstream model list with the catalog
(:mod:`banjia.catalog.check`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import sys
from typing import Any

from banjia.errors import ConfigError

__all__ = ["register"]


def _config_option(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: an unset subcommand option must not overwrite a --config given before the command
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                   help="config file (default: $BANJIA_CONFIG, else the embedded defaults)")


def _count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of tokens") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"'{value}': token counts are not negative")
    return n


def _when(value: str) -> _dt.datetime:
    try:
        at = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not an ISO 8601 time (e.g. 2026-12-07T10:30:00+08:00)") from None
    return at


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cost = subparsers.add_parser(
        "cost", help="the CNY price of one request (catalog + the config's pricing:)",
        description="Prices one request with the function the ledger uses. --prompt includes the "
                    "cached tokens, which are billed once at the cache rate.")
    cost.add_argument("--model", required=True, metavar="PROVIDER/MODEL",
                      help="a configured provider (or a provider type) and its upstream model")
    cost.add_argument("--prompt", type=_count, required=True, metavar="N")
    cost.add_argument("--completion", type=_count, required=True, metavar="N")
    cost.add_argument("--cached", type=_count, default=0, metavar="N",
                      help="the part of --prompt served from the vendor's cache")
    cost.add_argument("--cache-write", type=_count, default=0, metavar="N",
                      help="the part of --prompt written to the vendor's cache")
    cost.add_argument("--at", type=_when, metavar="ISO-TIME",
                      help="when the request started (default: now; no offset: Beijing time)")
    cost.add_argument("--batch", action="store_true", help="a batch request")
    cost.add_argument("--openai-model", metavar="NAME",
                      help="the OpenAI model to compare with (default: the endpoint's default)")
    cost.add_argument("--format", choices=("text", "json"), default="text")
    _config_option(cost)
    cost.set_defaults(func=_cost)

    catalog = subparsers.add_parser("catalog", help="the catalog against the upstreams")
    cs = catalog.add_subparsers(dest="catalog_command", required=True, metavar="COMMAND")
    check = cs.add_parser(
        "check", help="each configured provider's upstream models against the catalog",
        description="Lists, per configured provider, the models that are missing from the "
                    "catalog, retired, gone upstream, or without a price.")
    check.add_argument("--format", choices=("table", "json"), default="table")
    _config_option(check)
    check.set_defaults(func=_catalog_check)


def _config_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None) or os.environ.get("BANJIA_CONFIG") or None


def _cost(args: argparse.Namespace) -> int:
    from banjia.catalog import load_catalog
    from banjia.config import load_config
    from banjia.pricing import Pricer

    config = load_config(_config_path(args))
    catalog = load_catalog()
    provider, sep, model = args.model.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(f"--model: '{args.model}' must be PROVIDER/MODEL")
    pc = config.providers.get(provider)
    if pc is not None:
        provider_type = pc.type
    elif provider in catalog.vendors:
        provider_type = provider  # the embedded defaults name each provider after its type
    else:
        known = ", ".join(sorted({*config.providers, *catalog.vendors}))
        raise ConfigError(f"--model: no provider or provider type '{provider}' (known: {known})")
    info = catalog.model(provider_type, model)
    endpoint = "embeddings" if info is not None and info.is_embedding else "chat/completions"
    asked = args.openai_model or model
    q = Pricer.from_config(config).quote(
        provider=provider, provider_type=provider_type, model=model, prompt=args.prompt,
        completion=args.completion, cached=args.cached, cache_write=args.cache_write, at=args.at,
        batch=args.batch, asked=asked, endpoint=endpoint)
    if args.format == "json":
        print(json.dumps({"cost_cny": q.cost_cny, "openai_cost_cny": q.openai_cost_cny,
                          "rule": q.rule}, ensure_ascii=False))
    else:
        ref = catalog.openai_equivalent(asked, endpoint)
        shown = "unknown" if q.cost_cny is None else f"CNY {q.cost_cny:.6f}"
        print(f"{args.model}: {shown}  (OpenAI {ref.id}: CNY {q.openai_cost_cny:.6f})")
        print(f"rule: {q.rule}")
    return 0 if q.cost_cny is not None else 1


def _catalog_check(args: argparse.Namespace) -> int:
    from banjia.adaptors import registry
    from banjia.catalog.check import check_providers, format_text
    from banjia.settings import load_settings
    from banjia.transport import Transport
    from banjia.vendors import DESCRIPTORS

    config = load_settings(_config_path(args))
    specs = registry()

    async def run() -> list[Any]:
        transport = Transport()
        # only the providers whose model list (their descriptor's) is fetched; the local model is
        # never loaded
        listed = {t for t, d in DESCRIPTORS.items() if d.list_models and d.protocol != "local"}
        providers = {name: specs[pc.type].build(name, pc, transport)
                     for name, pc in config.providers.items()
                     if pc.type not in DESCRIPTORS or pc.type in listed}
        try:
            return await check_providers(config, providers)
        finally:
            for p in providers.values():
                await p.aclose()
            await transport.aclose()

    reports = asyncio.run(run())
    if args.format == "json":
        print(json.dumps({"providers": [r.as_json() for r in reports]}, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_text(reports))
    return 1 if any(r.status == "error" for r in reports) else 0
