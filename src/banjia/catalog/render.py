"""``banjia models`` and ``banjia providers``: the catalog and the provider types as tables or JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from banjia.catalog import (
    CAPABILITIES,
    ROLES,
    Catalog,
    ModelInfo,
    VendorModels,
    load_catalog,
    preset_role,
)
from banjia.pricing import Rates, Schedule

__all__ = ["models_json", "providers_json", "render_models", "render_providers"]

_UNCONFIRMED = "*"


def render_models(console: Console, vendor: str | None = None, presets: bool = False) -> None:
    """The catalog as a table: every provider type's models, or one type's (``vendor``); with
    ``presets``, each OpenAI model name's preset per vendor and why it was chosen."""
    catalog = load_catalog()
    if vendor is not None:
        _check_vendor(catalog, vendor)
    wide = console.width >= 120  # capabilities and sources need room; 80 columns get the essentials
    console.print(_presets_table(catalog, vendor) if presets else _models_table(catalog, vendor, wide))


def models_json(vendor: str | None = None, presets: bool = False) -> dict[str, Any]:
    """What :func:`render_models` shows, as plain data (same-as types listed in full)."""
    catalog = load_catalog()
    if vendor is not None:
        _check_vendor(catalog, vendor)
    if presets:
        return {"presets": [
            {"openai_model": name, "vendor": v, "model": model, "reason": reason}
            for name, v, model, reason in _preset_rows(catalog, vendor)
        ]}
    return {
        "usd_cny": catalog.usd_cny,
        "models": [_model_dict(m) for v in _vendors(catalog, vendor) for m in v.models],
    }


# below this width the table would break base URLs and variable names mid-word: one block each
_PROVIDER_TABLE_WIDTH = 120


def render_providers(console: Console) -> None:
    """Every provider type banjia can talk to, with its credentials and default endpoint: a table
    on a wide terminal, a block per type on a narrow one (an 80-column terminal keeps every URL
    and variable name whole on one line)."""
    if console.width < _PROVIDER_TABLE_WIDTH:
        _provider_blocks(console)
        return
    table = Table(title="Provider types")
    for header in ("type", "title", "credentials", "default base URL", "key env var", "models"):
        table.add_column(header, overflow="fold")
    for p in providers_json()["providers"]:
        base = p["base_url"] or ("(required)" if p["base_url_required"] else "—")
        table.add_row(
            escape(p["type"]),
            escape(p["title"] + (f" → {p['legacy']}" if p.get("legacy") else "")),
            escape(", ".join(p["credentials"]) or "—"),
            escape(base),
            escape(", ".join(p["key_env"]) or "—"),
            str(p["catalog_models"]),
        )
    console.print(table)


def _provider_blocks(console: Console) -> None:
    console.print("[bold]Provider types[/bold] (--format json for every field)")
    for p in providers_json()["providers"]:
        base = p["base_url"] or ("(required)" if p["base_url_required"] else "—")
        legacy = f" → use {p['legacy']}" if p.get("legacy") else ""
        console.print(f"[bold]{escape(p['type'])}[/bold]  {escape(p['title'] + legacy)}", soft_wrap=False)
        creds = ", ".join(p["credentials"]) or "—"
        env = ", ".join(p["key_env"])
        console.print(f"  credentials  {escape(creds)}" + (f"  ({escape(env)})" if env else ""))
        console.print(f"  base URL     {escape(base)}", overflow="ignore", crop=False)
        console.print(f"  models       {p['catalog_models']} in the catalog")


def providers_json() -> dict[str, Any]:
    """Every registered provider type as plain data."""
    from banjia.adaptors import registry

    catalog = load_catalog()
    out = []
    for spec in registry().values():
        vendor = catalog.vendors.get(spec.type)
        out.append({
            "type": spec.type,
            "title": spec.title,
            "credentials": list(spec.credentials),
            "base_url": spec.base_url or None,
            "base_url_required": spec.base_url_required,
            "key_env": list(spec.key_env),
            "catalog_models": len(vendor.models) if vendor else 0,
            **_descriptor_facts(spec.type),
        })
    return {"providers": out}


def _descriptor_facts(provider_type: str) -> dict[str, Any]:
    """What the type's descriptor (banjia.vendors) adds: capabilities, thinking, legacy status."""
    from banjia.vendors import CAPABILITIES as VENDOR_CAPS
    from banjia.vendors import DESCRIPTORS

    d = DESCRIPTORS.get(provider_type)
    if d is None:
        return {}
    t = d.thinking
    return {
        "capabilities": [c for c in VENDOR_CAPS if c in d.capabilities],
        # what each model serves, by family (a model no family names may serve all of the above)
        "families": [{"name": f.name, "prefixes": list(f.prefixes),
                      "capabilities": [c for c in VENDOR_CAPS if c in f.capabilities]}
                     for f in d.families],
        "thinking": None if t is None else {"switch": t.switch, "replay": t.replay},
        "list_models": d.list_models,
        "legacy": d.legacy,
        "bases": dict(d.bases),
        "quirks": list(d.quirks),
    }


# -- the models table ---------------------------------------------------------------------------


def _models_table(catalog: Catalog, vendor: str | None, wide: bool = True) -> Table:
    table = Table(
        title="Model catalog" + (f": {vendor}" if vendor else ""),
        caption=f"Prices: CNY per million tokens in force today (USD at {catalog.usd_cny:g}); "
                "tiered: by prompt size, banded: by time of day (the first tier / the off-peak "
                f"band shown). {_UNCONFIRMED} unconfirmed; `--format json` has every dated "
                "price with its source URL.",
    )
    table.add_column("type", overflow="fold", max_width=None if wide else 11)
    table.add_column("model", overflow="fold", min_width=None if wide else 18)
    table.add_column("context", justify="right", no_wrap=True)
    if wide:
        table.add_column("capabilities")
    table.add_column("CNY in / out per M", justify="right")
    table.add_column("since", no_wrap=True)
    if wide:
        table.add_column("source", overflow="fold")
    for v in _vendors(catalog, vendor):
        if v.same_as is not None and vendor is None:
            # the full list is one --vendor away; repeating it would bury the rest
            table.add_row(escape(v.type), escape(_same_as_summary(catalog, v)),
                          *[""] * (len(table.columns) - 2), end_section=True)
            continue
        for i, m in enumerate(v.models):
            caps = ", ".join(c for c in CAPABILITIES if c in m.capabilities) + (
                " (stream only)" if m.stream_only else "")
            cells = [
                escape(v.type) if i == 0 else "",
                escape(m.id) + (escape(f" (retired {m.retired} -> {m.successor})")
                                if m.retired_on() else ""),
                _tokens(m.context_window) if wide else _short_tokens(m.context_window),
                *([caps] if wide else []),
                _price(m),
                (m.price_date or "—") + (_UNCONFIRMED if m.price_unconfirmed else ""),
                *([escape(_host(m.price_source))] if wide else []),
            ]
            table.add_row(*cells, end_section=i == len(v.models) - 1)
    return table


def _same_as_summary(catalog: Catalog, v: VendorModels) -> str:
    base = catalog.vendors[v.same_as or ""]
    if len(v.models) == len(base.models):
        return f"(same models as {base.type})"
    return f"({len(v.models)} of {base.type}'s models; --vendor {v.type} lists them)"


def _price(m: ModelInfo) -> str:
    s = m.price
    if s is None:
        return "?"
    r = s.list_rates
    # media models price what they make (images, characters of speech input, seconds of audio)
    media = [(v, unit) for v, unit in ((s.per_image, "image"), (s.per_million_chars, "M chars"),
                                       (s.per_audio_second, "second")) if v is not None]
    if media and r.input is None:
        return "free" if all(v == 0 for v, _ in media) else ", ".join(f"{v:g} / {u}" for v, u in media)
    if r.input == 0 and (r.output == 0 or (not m.is_chat and r.output is None)):
        return "free"
    cin = _num(r.input)
    if r.cache_read is not None:
        cin += f" (hit {_num(r.cache_read)})"
    text = cin if not m.is_chat else f"{cin} / {_num(r.output)}"
    return text if s.shape == "flat" else f"{text} {s.shape}"


def _host(url: str | None) -> str:
    """A source URL shortened to its host and path for the table (the JSON has it whole)."""
    if not url:
        return "—"
    return url.removeprefix("https://").removeprefix("www.")


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _short_tokens(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{round(n / 1024)}K"


def _tokens(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def _schedule_dict(s: Schedule) -> dict[str, Any]:
    def rates(r: Rates) -> dict[str, float | None]:
        return {"input": r.input, "output": r.output, "cache_read": r.cache_read,
                "cache_write": r.cache_write}

    return {
        "date": s.date, "source": s.source, "unconfirmed": s.unconfirmed, "note": s.note,
        **rates(s.rates), "batch": s.batch,
        "tiers": [{"up_to": t.up_to, **rates(t.rates)} for t in s.tiers],
        "bands": [{"when": b.describe(), **rates(b.rates)} for b in s.bands],
        "per_image": s.per_image, "per_audio_second": s.per_audio_second,
        "per_million_chars": s.per_million_chars,
    }


def _model_dict(m: ModelInfo) -> dict[str, Any]:
    from banjia.vendors import descriptor

    d = descriptor(m.provider_type)
    family = d.family(m.id) if d is not None else None
    return {
        "provider_type": m.provider_type,
        "id": m.id,
        "family": family.name if family is not None else None,  # the descriptor's (banjia.vendors)
        "context_window": m.context_window,
        "max_output": m.max_output,
        "capabilities": [c for c in CAPABILITIES if c in m.capabilities],
        "input_cny_per_m": m.input_cny,
        "output_cny_per_m": m.output_cny,
        "cached_input_cny_per_m": m.cached_input_cny,
        "price_date": m.price_date,
        "price_source": m.price_source,
        "prices": [_schedule_dict(s) for s in m.prices],
        "unconfirmed": m.unconfirmed or m.price_unconfirmed,
        "stream_only": m.stream_only,
        "retired": m.retired,
        "successor": m.successor,
        "note": m.note,
    }


# -- the presets table --------------------------------------------------------------------------


def _presets_table(catalog: Catalog, vendor: str | None) -> Table:
    table = Table(title="Model presets" + (f": {vendor}" if vendor else ""),
                  caption="Used when no config file names its own models: aliases (and with "
                          "routing.presets: true). Every OpenAI or Claude model name reaches a role "
                          "by its vendor's naming rules (dated snapshots, sizes, point releases).")
    table.add_column("role")
    table.add_column("OpenAI / Claude names", overflow="fold")
    table.add_column("type")
    table.add_column("model", overflow="fold")
    table.add_column("why", overflow="fold")
    for role in ROLES:
        names = [m.id for m in catalog.openai.values() if m.role == role]
        rows = [(v, r) for v, by_role in catalog.roles.items()
                if (vendor is None or v == vendor) and (r := preset_role(by_role, role))]
        for i, (v, r) in enumerate(rows):
            table.add_row(role if i == 0 else "", escape(", ".join(names)) if i == 0 else "",
                          escape(v), escape(r.model), escape(r.reason),
                          end_section=i == len(rows) - 1)
    return table


def _preset_rows(catalog: Catalog, vendor: str | None) -> list[tuple[str, str, str, str]]:
    """(OpenAI name, vendor, model, reason) in the order clients meet them: OpenAI names as
    presets.py lists them, then vendors as the catalog orders them."""
    from banjia.routing.presets import OPENAI_CHAT, OPENAI_EMBEDDINGS, PRESETS

    rows = []
    for name in OPENAI_CHAT + OPENAI_EMBEDDINGS:
        for v, mapping in PRESETS.items():
            if name not in mapping or (vendor is not None and v != vendor):
                continue
            reason = catalog.presets.get(v, {}).get(name)
            rows.append((name, v, mapping[name], reason.reason if reason else "—"))
    return rows


# -- helpers ------------------------------------------------------------------------------------


def _vendors(catalog: Catalog, vendor: str | None) -> list[VendorModels]:
    if vendor is None:
        return list(catalog.vendors.values())
    return [catalog.vendors[vendor]]


def _check_vendor(catalog: Catalog, vendor: str) -> None:
    if vendor not in catalog.vendors:
        known = ", ".join(catalog.vendors)
        raise ValueError(f"unknown provider type '{vendor}' (known: {known})")
