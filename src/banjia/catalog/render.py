"""``banjia models`` and ``banjia providers``: the catalog and the provider types as tables or JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from banjia.catalog import CAPABILITIES, Catalog, ModelInfo, VendorModels, load_catalog

__all__ = ["models_json", "providers_json", "render_models", "render_providers"]

_UNCONFIRMED = "*"


def render_models(console: Console, vendor: str | None = None, presets: bool = False) -> None:
    """The catalog as a table: every provider type's models, or one type's (``vendor``); with
    ``presets``, each OpenAI model name's preset per vendor and why it was chosen."""
    catalog = load_catalog()
    if vendor is not None:
        _check_vendor(catalog, vendor)
    console.print(_presets_table(catalog, vendor) if presets else _models_table(catalog, vendor))


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


def render_providers(console: Console) -> None:
    """Every provider type banjia can talk to, with its credentials and default endpoint."""
    table = Table(title="Provider types")
    for header in ("type", "title", "credentials", "default base URL", "key env var", "models"):
        table.add_column(header, overflow="fold")
    for p in providers_json()["providers"]:
        base = p["base_url"] or ("(required)" if p["base_url_required"] else "—")
        table.add_row(
            escape(p["type"]),
            escape(p["title"]),
            escape(", ".join(p["credentials"]) or "—"),
            escape(base),
            escape(", ".join(p["key_env"]) or "—"),
            str(p["catalog_models"]),
        )
    console.print(table)


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
        })
    return {"providers": out}


# -- the models table ---------------------------------------------------------------------------


def _models_table(catalog: Catalog, vendor: str | None) -> Table:
    table = Table(
        title="Model catalog" + (f": {vendor}" if vendor else ""),
        caption=f"Prices: CNY per million tokens (USD at {catalog.usd_cny:g}). "
                f"{_UNCONFIRMED} some figure unconfirmed; see `--format json` notes.",
    )
    table.add_column("type")
    table.add_column("model", overflow="fold")
    table.add_column("context", justify="right")
    table.add_column("max out", justify="right")
    table.add_column("capabilities")
    table.add_column("CNY in / out per M", justify="right")
    table.add_column("price date")
    for v in _vendors(catalog, vendor):
        if v.same_as is not None and vendor is None:
            # the full list is one --vendor away; repeating it would bury the rest
            table.add_row(escape(v.type), escape(_same_as_summary(catalog, v)), *[""] * 5,
                          end_section=True)
            continue
        for i, m in enumerate(v.models):
            table.add_row(
                escape(v.type) if i == 0 else "",
                escape(m.id),
                _tokens(m.context_window),
                _tokens(m.max_output),
                ", ".join(c for c in CAPABILITIES if c in m.capabilities)
                + (" (stream only)" if m.stream_only else ""),
                _price(m),
                (m.price_date or "—") + (_UNCONFIRMED if m.unconfirmed else ""),
                end_section=i == len(v.models) - 1,
            )
    return table


def _same_as_summary(catalog: Catalog, v: VendorModels) -> str:
    base = catalog.vendors[v.same_as or ""]
    if len(v.models) == len(base.models):
        return f"(same models as {base.type})"
    return f"({len(v.models)} of {base.type}'s models; --vendor {v.type} lists them)"


def _price(m: ModelInfo) -> str:
    if m.input_cny == 0 and (m.output_cny == 0 or (m.is_embedding and m.output_cny is None)):
        return "free"
    cin = _num(m.input_cny)
    if m.cached_input_cny is not None:
        cin += f" (hit {_num(m.cached_input_cny)})"
    if m.is_embedding and not m.is_chat:
        return cin
    return f"{cin} / {_num(m.output_cny)}"


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _tokens(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def _model_dict(m: ModelInfo) -> dict[str, Any]:
    return {
        "provider_type": m.provider_type,
        "id": m.id,
        "context_window": m.context_window,
        "max_output": m.max_output,
        "capabilities": [c for c in CAPABILITIES if c in m.capabilities],
        "input_cny_per_m": m.input_cny,
        "output_cny_per_m": m.output_cny,
        "cached_input_cny_per_m": m.cached_input_cny,
        "price_date": m.price_date,
        "unconfirmed": m.unconfirmed,
        "stream_only": m.stream_only,
        "note": m.note,
    }


# -- the presets table --------------------------------------------------------------------------


def _presets_table(catalog: Catalog, vendor: str | None) -> Table:
    table = Table(title="OpenAI model presets" + (f": {vendor}" if vendor else ""),
                  caption="Used when no config file names its own models: aliases.")
    table.add_column("OpenAI model")
    table.add_column("type")
    table.add_column("model", overflow="fold")
    table.add_column("context (vendor / OpenAI)", justify="right")
    table.add_column("why", overflow="fold")
    rows = _preset_rows(catalog, vendor)
    for i, (name, v, model, reason) in enumerate(rows):
        info = catalog.model(v, model)
        ref = catalog.openai_model(name)
        context = (f"{_tokens(info.context_window if info else None)} / "
                   f"{_tokens(ref.context_window if ref else None)}")
        first = i == 0 or rows[i - 1][0] != name
        last = i == len(rows) - 1 or rows[i + 1][0] != name
        table.add_row(escape(name) if first else "", escape(v), escape(model), context,
                      escape(reason), end_section=last)
    return table


def _preset_rows(catalog: Catalog, vendor: str | None) -> list[tuple[str, str, str, str]]:
    """(OpenAI name, vendor, model, reason) in the order clients meet them: OpenAI names as
    presets.py lists them, then vendors as presets.py orders them."""
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
