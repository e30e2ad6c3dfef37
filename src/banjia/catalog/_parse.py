"""Reading ``models.yaml``: every mistake is a :class:`~banjia.catalog.CatalogError` naming the
section, vendor and model (``vendors.deepseek.deepseek-v4-flash.price[1].bands[0].hours[0]: …``)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, cast

import yaml

from banjia.catalog import (
    CAPABILITIES,
    EMBEDDING_ROLES,
    ROLES,
    Capability,
    Catalog,
    CatalogError,
    ModelInfo,
    OpenAIModel,
    PresetReason,
    Role,
    VendorModels,
    _day,
    claude_names,
)
from banjia.pricing import PricingError, Schedule, parse_schedule

__all__ = ["parse"]

_MODEL_KEYS = {"id", "caps", "context", "max_output", "price", "unconfirmed", "note",
               "stream_only", "retired", "successor"}
_OPENAI_KEYS = {"id", "role", "caps", "context", "price", "aliases", "unconfirmed", "note"}


def parse(text: str) -> Catalog:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as e:
        raise CatalogError(f"models.yaml: not valid YAML: {e}") from e
    root = _mapping(data, "models.yaml")
    _only_keys(root, {"schema", "openai_reference", "vendors", "presets"}, "models.yaml")
    usd_cny, openai, equivalents = _parse_openai(root.get("openai_reference"))
    vendors = _parse_vendors(root.get("vendors"), openai)
    roles = _parse_presets(root.get("presets", {}), vendors)
    return Catalog(
        usd_cny=usd_cny,
        vendors=MappingProxyType(vendors),
        openai=MappingProxyType(openai),
        equivalents=MappingProxyType(equivalents),
        roles=MappingProxyType(roles),
    )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise CatalogError(f"models.yaml line {key_node.start_mark.line + 1}: "
                               f"key '{key}' appears twice in one mapping")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# -- prices -----------------------------------------------------------------------------------------


def _prices(raw: object, where: str, *, scale: float = 1.0) -> tuple[Schedule, ...]:
    """``price:``: one schedule, or a list of dated ones (oldest first); each with its ``date``
    and ``source``. ``null`` (price unknown) gives no schedule."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    many = isinstance(raw, list)
    if many and not items:
        raise CatalogError(f"{where}: an empty list (write null with a note if unknown)")
    out: list[Schedule] = []
    for i, body in enumerate(items):
        w = f"{where}[{i}]" if many else where
        try:
            s = parse_schedule(body, w, scale=scale, provenance=True)
        except PricingError as e:
            raise CatalogError(str(e)) from e
        if s.date is None:
            raise CatalogError(f"{w}.date: required (the day the figures apply from)")
        if s.source is None:
            raise CatalogError(f"{w}.source: required (the URL the figures come from)")
        if out and _day(s.date) <= _day(out[-1].date or s.date):
            raise CatalogError(f"{w}.date: {s.date} must be after the previous price's "
                               f"{out[-1].date}")
        out.append(s)
    return tuple(out)


# -- OpenAI's reference models ----------------------------------------------------------------------


def _parse_openai(raw: object) -> tuple[float, dict[str, OpenAIModel], dict[str, str]]:
    where = "openai_reference"
    ref = _mapping(raw, where)
    _only_keys(ref, {"usd_cny", "openai_equivalent", "models"}, where)
    usd_cny = ref.get("usd_cny")
    if isinstance(usd_cny, bool) or not isinstance(usd_cny, int | float) or usd_cny <= 0:
        raise CatalogError(f"{where}.usd_cny: must be a positive number")
    models: dict[str, OpenAIModel] = {}
    names: set[str] = set()
    for item in _sequence(ref.get("models"), f"{where}.models"):
        m = _parse_openai_model(item, where, float(usd_cny))
        for name in (m.id, *m.aliases):
            if name.lower() in names:
                raise CatalogError(f"{where}.models.{m.id}: '{name}' is listed twice")
            names.add(name.lower())
        models[m.id] = m
    equivalents: dict[str, str] = {}
    eq_where = f"{where}.openai_equivalent"
    for endpoint, name in _mapping(ref.get("openai_equivalent"), eq_where).items():
        target = models.get(str(name))
        if target is None:
            raise CatalogError(f"{eq_where}.{endpoint}: '{name}' is not in {where}.models")
        if target.is_embedding != (endpoint == "embeddings"):
            raise CatalogError(f"{eq_where}.{endpoint}: '{name}' is the wrong kind of model")
        equivalents[str(endpoint)] = target.id
    for needed in ("chat/completions", "embeddings"):
        if needed not in equivalents:
            raise CatalogError(f"{eq_where}: missing '{needed}'")
    return float(usd_cny), models, equivalents


def _parse_openai_model(raw: object, section: str, usd_cny: float) -> OpenAIModel:
    item = _mapping(raw, f"{section}.models")
    mid = _model_id(item, f"{section}.models")
    where = f"{section}.models.{mid}"
    _only_keys(item, _OPENAI_KEYS, where)
    caps = _capabilities(item.get("caps"), where)
    role = item.get("role")
    if role not in ROLES:
        raise CatalogError(f"{where}.role: must be one of {', '.join(ROLES)}, got {role!r}")
    if (role in EMBEDDING_ROLES) != ("embeddings" in caps):
        raise CatalogError(f"{where}.role: '{role}' does not fit caps {sorted(caps)}")
    if "price" not in item or item["price"] is None:
        raise CatalogError(f"{where}.price: required (savings are measured against it)")
    aliases = tuple(str(a) for a in _sequence(item.get("aliases", []), f"{where}.aliases"))
    return OpenAIModel(
        id=mid,
        capabilities=caps,
        role=cast(Role, role),
        prices=_prices(item["price"], f"{where}.price", scale=usd_cny),
        usd=_prices(item["price"], f"{where}.price"),
        context_window=_count(item.get("context"), f"{where}.context"),
        aliases=aliases,
        unconfirmed=_flag(item.get("unconfirmed"), f"{where}.unconfirmed"),
        note=_text(item.get("note"), f"{where}.note"),
    )


# -- vendors ----------------------------------------------------------------------------------------


def _parse_vendors(raw: object, openai: Mapping[str, OpenAIModel]) -> dict[str, VendorModels]:
    section = _mapping(raw, "vendors")
    own: dict[str, VendorModels] = {}
    derived: dict[str, Mapping[str, Any]] = {}
    for vtype, body in section.items():
        where = f"vendors.{vtype}"
        spec = _mapping(body, where)
        docs = _url(spec.get("docs"), f"{where}.docs")
        if "list_models" in spec:
            # how a vendor lists its models is its descriptor's (banjia.vendors), said once
            raise CatalogError(f"{where}.list_models: the model-list rule is the provider type's "
                               "descriptor's (banjia.vendors.table), not the catalog's")
        if "same_as" in spec:
            _only_keys(spec, {"same_as", "only", "case_insensitive", "docs"}, where)
            derived[str(vtype)] = spec
        elif "from" in spec:
            _only_keys(spec, {"from", "docs"}, where)
            if spec["from"] != "openai_reference":
                raise CatalogError(f"{where}.from: only 'openai_reference' is supported")
            own[str(vtype)] = _openai_vendor(str(vtype), openai, docs)
        else:
            _only_keys(spec, {"models", "case_insensitive", "docs"}, where)
            insensitive = _flag(spec.get("case_insensitive"), f"{where}.case_insensitive")
            models = tuple(_parse_model(str(vtype), item, where)
                           for item in _sequence(spec.get("models"), f"{where}.models"))
            if not models:
                raise CatalogError(f"{where}.models: lists no models")
            vendor = VendorModels(str(vtype), models, insensitive, None, docs)
            _check_vendor(vendor, where)
            own[str(vtype)] = vendor
    vendors: dict[str, VendorModels] = {}
    for vtype in section:
        key = str(vtype)
        vendors[key] = own[key] if key in own else _derive(key, derived[key], own)
    return vendors


def _parse_model(vtype: str, raw: object, vendor_where: str) -> ModelInfo:
    item = _mapping(raw, f"{vendor_where}.models")
    mid = _model_id(item, f"{vendor_where}.models")
    where = f"{vendor_where}.{mid}"
    _only_keys(item, _MODEL_KEYS, where)
    caps = _capabilities(item.get("caps"), where)
    if "price" not in item:
        raise CatalogError(f"{where}.price: missing (write null with a note if unknown)")
    prices = _prices(item["price"], f"{where}.price")
    note = _text(item.get("note"), f"{where}.note")
    if not prices and not note:
        raise CatalogError(f"{where}: price unknown, but no note says why")
    for i, s in enumerate(prices):
        r = s.list_rates
        if "chat" in caps and r.output is None and not (note or s.note):
            raise CatalogError(f"{where}.price[{i}]: output price unknown, but no note says why")
    retired = _date(item.get("retired"), f"{where}.retired")
    successor = _text(item.get("successor"), f"{where}.successor") or None
    if (retired is None) != (successor is None):
        raise CatalogError(f"{where}: 'retired' and 'successor' go together")
    return ModelInfo(
        provider_type=vtype,
        id=mid,
        capabilities=caps,
        context_window=_count(item.get("context"), f"{where}.context"),
        max_output=_count(item.get("max_output"), f"{where}.max_output"),
        prices=prices,
        unconfirmed=_flag(item.get("unconfirmed"), f"{where}.unconfirmed"),
        note=note,
        stream_only=_flag(item.get("stream_only"), f"{where}.stream_only"),
        retired=retired,
        successor=successor,
    )


def _check_vendor(vendor: VendorModels, where: str) -> None:
    seen: set[str] = set()
    for m in vendor.models:
        key = vendor.lookup_key(m.id)
        if key in seen:
            raise CatalogError(f"{where}.{m.id}: listed twice")
        seen.add(key)
    for m in vendor.models:
        if m.successor is None:
            continue
        chain = [m.id]
        nxt = vendor.get(m.successor)
        while nxt is not None:
            if nxt.id in chain:
                raise CatalogError(f"{where}.{m.id}.successor: the successors loop "
                                   f"({' -> '.join([*chain, nxt.id])})")
            chain.append(nxt.id)
            nxt = vendor.get(nxt.successor) if nxt.successor else None
        if vendor.get(m.successor) is None:
            raise CatalogError(f"{where}.{m.id}.successor: '{m.successor}' is not listed for "
                               f"{vendor.type}")
        last = vendor.final_successor(m)
        if last.is_embedding != m.is_embedding or last.is_chat != m.is_chat:
            raise CatalogError(f"{where}.{m.id}.successor: '{last.id}' is another kind of model")


def _openai_vendor(vtype: str, openai: Mapping[str, OpenAIModel], docs: str | None) -> VendorModels:
    models = tuple(
        ModelInfo(provider_type=vtype, id=m.id, capabilities=m.capabilities,
                  context_window=m.context_window, prices=m.prices, unconfirmed=m.unconfirmed,
                  note=m.note)
        for m in openai.values()
        if claude_names.parse(m.id) is None  # Claude's reference models are no OpenAI model
    )
    return VendorModels(vtype, models, docs=docs)


def _derive(vtype: str, spec: Mapping[str, Any], own: Mapping[str, VendorModels]) -> VendorModels:
    where = f"vendors.{vtype}"
    base = own.get(str(spec["same_as"]))
    if base is None:
        raise CatalogError(f"{where}.same_as: '{spec['same_as']}' is not a vendor with its own models")
    models = base.models
    if "only" in spec:
        wanted = [str(m) for m in _sequence(spec["only"], f"{where}.only")]
        missing = [m for m in wanted if base.get(m) is None]
        if missing:
            raise CatalogError(f"{where}.only: not in {base.type}: {', '.join(missing)}")
        keep = {base.lookup_key(m) for m in wanted}
        models = tuple(m for m in models if base.lookup_key(m.id) in keep)
        # a retirement whose successor this type does not serve cannot be followed here
        kept = {base.lookup_key(m.id) for m in models}
        models = tuple(replace(m, retired=None, successor=None)
                       if m.successor and base.lookup_key(m.successor) not in kept else m
                       for m in models)
    insensitive = (_flag(spec["case_insensitive"], f"{where}.case_insensitive")
                   if "case_insensitive" in spec else base.case_insensitive)
    retyped = tuple(replace(m, provider_type=vtype) for m in models)
    docs = _url(spec.get("docs"), f"{where}.docs") or base.docs
    return VendorModels(vtype, retyped, insensitive, base.type, docs)


def _parse_presets(raw: object, vendors: Mapping[str, VendorModels]
                   ) -> dict[str, Mapping[str, PresetReason]]:
    out: dict[str, Mapping[str, PresetReason]] = {}
    for vtype, entries in _mapping(raw, "presets").items():
        where = f"presets.{vtype}"
        vendor = vendors.get(str(vtype))
        if vendor is None:
            raise CatalogError(f"{where}: not a vendor in the catalog")
        reasons: dict[str, PresetReason] = {}
        for role, body in _mapping(entries, where).items():
            ewhere = f"{where}.{role}"
            if role not in ROLES:
                raise CatalogError(f"{ewhere}: not a role ({', '.join(ROLES)})")
            entry = _mapping(body, ewhere)
            _only_keys(entry, {"model", "why"}, ewhere)
            model = _text(entry.get("model"), f"{ewhere}.model")
            why = _text(entry.get("why"), f"{ewhere}.why")
            if not model or not why:
                raise CatalogError(f"{ewhere}: needs both 'model' and 'why'")
            info = vendor.get(model)
            if info is None:
                raise CatalogError(f"{ewhere}.model: '{model}' is not listed for {vtype}")
            if info.retired is not None:
                raise CatalogError(f"{ewhere}.model: '{model}' is retired ({info.retired}); "
                                   f"name its successor '{info.successor}'")
            if info.is_embedding != (role in EMBEDDING_ROLES) or (
                    role not in EMBEDDING_ROLES and not info.is_chat):
                raise CatalogError(f"{ewhere}.model: '{model}' is the wrong kind of model")
            reasons[str(role)] = PresetReason(str(vtype), str(role), info.id, why)
        out[str(vtype)] = MappingProxyType(reasons)
    return out


# -- small validators: each names where the bad value is ------------------------------------------


def _mapping(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return cast(Mapping[str, Any], raw)


def _sequence(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: expected a list, got {type(raw).__name__}")
    return raw


def _only_keys(item: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    extra = sorted(str(k) for k in set(item) - set(allowed))
    if extra:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(extra)}")


def _model_id(item: Mapping[str, Any], where: str) -> str:
    mid = item.get("id")
    if not isinstance(mid, str | int | float) or isinstance(mid, bool) or not str(mid).strip():
        raise CatalogError(f"{where}: an entry has no 'id' ({dict(item)!r})")
    return str(mid)


def _capabilities(raw: object, where: str) -> frozenset[Capability]:
    caps = _sequence(raw, f"{where}.caps")
    unknown = [c for c in caps if c not in CAPABILITIES]
    if unknown:
        raise CatalogError(f"{where}.caps: unknown capability {unknown!r}")
    if not {"chat", "embeddings", "rerank", "images", "speech", "transcription"} & set(caps):
        raise CatalogError(f"{where}.caps: needs 'chat', 'embeddings', 'rerank', 'images', "
                           "'speech' or 'transcription'")
    return frozenset(cast(list[Capability], caps))


def _count(raw: object, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise CatalogError(f"{where}: must be a positive whole number of tokens, got {raw!r}")
    return raw


def _flag(raw: object, where: str) -> bool:
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise CatalogError(f"{where}: must be true or false, got {raw!r}")
    return raw


def _text(raw: object, where: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise CatalogError(f"{where}: must be text, got {raw!r}")
    return raw


def _url(raw: object, where: str) -> str | None:
    text = _text(raw, where)
    if text and not text.startswith("https://"):
        raise CatalogError(f"{where}: must be an https:// URL, got {raw!r}")
    return text or None


def _date(raw: object, where: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, _dt.date):
        return raw.isoformat()
    text = str(raw)
    try:
        _day(text)
    except ValueError:
        raise CatalogError(f"{where}: expected YYYY-MM-DD, got {raw!r}") from None
    return text
