"""The model catalog: every vendor's models, context windows, capabilities and CNY prices.

The data lives in ``models.yaml`` beside this module (its header explains the conventions); it is
parsed once, validated, and exposed as frozen dataclasses. Costs are CNY; prices are CNY per
million tokens.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

import yaml

from banjia.errors import BanjiaError

__all__ = [
    "CAPABILITIES",
    "Capability",
    "Catalog",
    "CatalogError",
    "ModelInfo",
    "OpenAIModel",
    "PresetReason",
    "VendorModels",
    "catalog_models",
    "load_catalog",
    "model_info",
    "openai_cost_cny",
    "parse_catalog",
    "preset_reasons",
    "price_cny",
]

Capability = Literal["chat", "tools", "vision", "json_mode", "reasoning", "embeddings"]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)

_PER = 1_000_000  # prices are per million tokens
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
# a dated snapshot suffix: -2024-08-06, -0125
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_ENDPOINT_ALIASES = {"chat": "chat/completions"}


class CatalogError(BanjiaError):
    """``models.yaml`` is malformed; the message names the section, vendor and model."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One upstream model as a provider type serves it. Prices are CNY per million tokens."""

    provider_type: str
    id: str
    capabilities: frozenset[Capability]
    context_window: int | None = None
    max_output: int | None = None
    input_cny: float | None = None
    output_cny: float | None = None
    cached_input_cny: float | None = None  # cache-hit input price, where the vendor has one
    price_date: str | None = None
    unconfirmed: bool = False
    note: str = ""
    stream_only: bool = False

    @property
    def is_chat(self) -> bool:
        return "chat" in self.capabilities

    @property
    def is_embedding(self) -> bool:
        return "embeddings" in self.capabilities

    def cost_cny(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
    ) -> float | None:
        """The list-price cost of one call, or None if a price it needs is unknown.

        ``cached_tokens`` are the part of ``prompt_tokens`` the vendor served from its cache: they
        are priced at the cache-hit price if there is one, else as ordinary input, and never on top
        of ``prompt_tokens``."""
        for name, n in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens),
                        ("cached_tokens", cached_tokens)):
            if n < 0:
                raise ValueError(f"{name} must not be negative, got {n}")
        cached = min(cached_tokens, prompt_tokens)
        fresh = prompt_tokens - cached
        if prompt_tokens and self.input_cny is None:
            return None
        if completion_tokens and self.output_cny is None:
            return None
        input_price = self.input_cny or 0.0
        cache_price = self.cached_input_cny if self.cached_input_cny is not None else input_price
        total = (fresh * input_price + cached * cache_price
                 + completion_tokens * (self.output_cny or 0.0))
        return total / _PER


@dataclass(frozen=True, slots=True)
class OpenAIModel:
    """An OpenAI model's list price in USD per million tokens, for savings comparisons."""

    id: str
    capabilities: frozenset[Capability]
    input_usd: float
    output_usd: float | None  # None for embeddings
    context_window: int | None = None
    price_date: str | None = None
    aliases: tuple[str, ...] = ()
    unconfirmed: bool = False
    note: str = ""

    @property
    def is_embedding(self) -> bool:
        return "embeddings" in self.capabilities


@dataclass(frozen=True, slots=True)
class PresetReason:
    """Why the preset for ``openai_model`` on ``vendor`` is ``model``."""

    vendor: str
    openai_model: str
    model: str
    reason: str


@dataclass(frozen=True, slots=True)
class VendorModels:
    """A provider type's models, in file order."""

    type: str
    models: tuple[ModelInfo, ...]
    case_insensitive: bool = False
    same_as: str | None = None
    _index: Mapping[str, ModelInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {self.lookup_key(m.id): m for m in self.models}
        object.__setattr__(self, "_index", MappingProxyType(index))

    def lookup_key(self, model: str) -> str:
        """How ``model`` is compared with this vendor's ids."""
        return model.lower() if self.case_insensitive else model

    def get(self, model: str) -> ModelInfo | None:
        return self._index.get(self.lookup_key(model))

    def ids(self) -> list[str]:
        return [m.id for m in self.models]


@dataclass(frozen=True, slots=True)
class Catalog:
    usd_cny: float
    vendors: Mapping[str, VendorModels]
    openai: Mapping[str, OpenAIModel]  # by id, in file order
    equivalents: Mapping[str, str]  # endpoint → the default OpenAI model compared against
    presets: Mapping[str, Mapping[str, PresetReason]]  # vendor → OpenAI name → reason
    _openai_names: Mapping[str, OpenAIModel] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[str, OpenAIModel] = {}
        for m in self.openai.values():
            for name in (m.id, *m.aliases):
                names[name.lower()] = m
        object.__setattr__(self, "_openai_names", MappingProxyType(names))

    def model(self, provider_type: str, model: str) -> ModelInfo | None:
        vendor = self.vendors.get(provider_type)
        return vendor.get(model) if vendor else None

    def openai_model(self, name: str) -> OpenAIModel | None:
        """An OpenAI model by id, alias or dated snapshot of a listed id (gpt-4o-2024-11-20)."""
        key = name.strip().lower()
        found = self._openai_names.get(key)
        if found is None:
            base, n = _SNAPSHOT.subn("", key)
            found = self._openai_names.get(base) if n else None
        return found

    def openai_equivalent(self, asked_model: str, endpoint: str) -> OpenAIModel:
        """The OpenAI model a request's cost is compared against: the one asked for when it is an
        OpenAI model of the endpoint's kind, else the endpoint's default."""
        ep = _endpoint(endpoint)
        default = self.equivalents.get(ep)
        if default is None:
            known = ", ".join(sorted(self.equivalents))
            raise ValueError(f"unknown endpoint '{endpoint}' (known: {known})")
        asked = self.openai_model(asked_model)
        if asked is not None and asked.is_embedding == (ep == "embeddings"):
            return asked
        return self.openai[default]

    def openai_cost_cny(
        self, asked_model: str, endpoint: str, prompt_tokens: int, completion_tokens: int
    ) -> float:
        ref = self.openai_equivalent(asked_model, endpoint)
        usd = prompt_tokens * ref.input_usd + completion_tokens * (ref.output_usd or 0.0)
        return usd * self.usd_cny / _PER


# -- module-level API -------------------------------------------------------------------------------


@cache
def load_catalog() -> Catalog:
    """The bundled catalog, parsed and validated once."""
    text = resources.files(__name__).joinpath("models.yaml").read_text(encoding="utf-8")
    return parse_catalog(text)


def catalog_models(provider_type: str) -> list[str]:
    """The upstream model ids the catalog lists for a provider type (chat and embedding models,
    in file order); empty for a type it does not know."""
    vendor = load_catalog().vendors.get(provider_type)
    return vendor.ids() if vendor else []


def model_info(provider_type: str, model: str) -> ModelInfo | None:
    """A model's catalog entry; ids match without regard to case where the vendor ignores case."""
    return load_catalog().model(provider_type, model)


def price_cny(
    provider_type: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
) -> float | None:
    """The list-price cost of a call in CNY, or None when the model or a price it needs is unknown.
    ``cached_tokens`` is the cached part of ``prompt_tokens`` (see :meth:`ModelInfo.cost_cny`)."""
    info = model_info(provider_type, model)
    if info is None:
        return None
    return info.cost_cny(prompt_tokens, completion_tokens, cached_tokens)


def openai_cost_cny(
    asked_model: str, endpoint: str, prompt_tokens: int, completion_tokens: int
) -> float:
    """What the same tokens would have cost on OpenAI, in CNY at the catalog's exchange rate.

    ``endpoint`` is the OpenAI path served (``chat/completions``, ``completions``, ``responses``,
    ``embeddings``; a leading ``/v1/`` is ignored)."""
    return load_catalog().openai_cost_cny(asked_model, endpoint, prompt_tokens, completion_tokens)


def preset_reasons() -> Mapping[str, Mapping[str, PresetReason]]:
    """vendor type → OpenAI model name → why the preset maps it to its vendor model."""
    return load_catalog().presets


def _endpoint(endpoint: str) -> str:
    ep = endpoint.strip().strip("/")
    ep = ep.removeprefix("v1/")
    return _ENDPOINT_ALIASES.get(ep, ep)


# -- parsing and validation -------------------------------------------------------------------------


def parse_catalog(text: str) -> Catalog:
    """Parse and validate catalog YAML; a malformed entry raises :class:`CatalogError` naming it."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as e:
        raise CatalogError(f"models.yaml: not valid YAML: {e}") from e
    root = _mapping(data, "models.yaml")
    _only_keys(root, {"schema", "openai_reference", "vendors", "presets"}, "models.yaml")
    usd_cny, openai, equivalents = _parse_openai(root.get("openai_reference"))
    vendors = _parse_vendors(root.get("vendors"), openai, usd_cny)
    presets = _parse_presets(root.get("presets", {}), vendors)
    return Catalog(
        usd_cny=usd_cny,
        vendors=MappingProxyType(vendors),
        openai=MappingProxyType(openai),
        equivalents=MappingProxyType(equivalents),
        presets=MappingProxyType(presets),
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


def _parse_openai(raw: object) -> tuple[float, dict[str, OpenAIModel], dict[str, str]]:
    where = "openai_reference"
    ref = _mapping(raw, where)
    _only_keys(ref, {"usd_cny", "openai_equivalent", "models"}, where)
    usd_cny = _number(ref.get("usd_cny"), f"{where}.usd_cny", nullable=False)
    if usd_cny is None or usd_cny <= 0:
        raise CatalogError(f"{where}.usd_cny: must be a positive number")
    models: dict[str, OpenAIModel] = {}
    for item in _sequence(ref.get("models"), f"{where}.models"):
        m = _parse_openai_model(item, where)
        if m.id in models:
            raise CatalogError(f"{where}.models.{m.id}: listed twice")
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
    return usd_cny, models, equivalents


def _parse_openai_model(raw: object, section: str) -> OpenAIModel:
    item = _mapping(raw, f"{section}.models")
    mid = _model_id(item, f"{section}.models")
    where = f"{section}.models.{mid}"
    _only_keys(item, {"id", "caps", "context", "input_usd", "output_usd", "price_date", "aliases",
                      "unconfirmed", "note"}, where)
    caps = _capabilities(item.get("caps"), where)
    input_usd = _number(item.get("input_usd"), f"{where}.input_usd", nullable=False)
    output_usd = _number(item.get("output_usd"), f"{where}.output_usd", nullable=True)
    if "chat" in caps and output_usd is None:
        raise CatalogError(f"{where}.output_usd: a chat model needs an output price")
    aliases = tuple(str(a) for a in _sequence(item.get("aliases", []), f"{where}.aliases"))
    return OpenAIModel(
        id=mid,
        capabilities=caps,
        input_usd=input_usd or 0.0,
        output_usd=output_usd,
        context_window=_count(item.get("context"), f"{where}.context"),
        price_date=_date(item.get("price_date"), f"{where}.price_date"),
        aliases=aliases,
        unconfirmed=_flag(item.get("unconfirmed"), f"{where}.unconfirmed"),
        note=_text(item.get("note"), f"{where}.note"),
    )


_MODEL_KEYS = {"id", "caps", "context", "max_output", "input", "output", "cached_input",
               "price_date", "unconfirmed", "note", "stream_only"}


def _parse_vendors(
    raw: object, openai: Mapping[str, OpenAIModel], usd_cny: float
) -> dict[str, VendorModels]:
    section = _mapping(raw, "vendors")
    own: dict[str, VendorModels] = {}
    derived: dict[str, Mapping[str, Any]] = {}
    for vtype, body in section.items():
        where = f"vendors.{vtype}"
        spec = _mapping(body, where)
        if "same_as" in spec:
            _only_keys(spec, {"same_as", "only", "case_insensitive"}, where)
            derived[str(vtype)] = spec
        elif "from" in spec:
            _only_keys(spec, {"from"}, where)
            if spec["from"] != "openai_reference":
                raise CatalogError(f"{where}.from: only 'openai_reference' is supported")
            own[str(vtype)] = _openai_vendor(str(vtype), openai, usd_cny)
        else:
            _only_keys(spec, {"models", "case_insensitive"}, where)
            insensitive = _flag(spec.get("case_insensitive"), f"{where}.case_insensitive")
            models = tuple(_parse_model(str(vtype), item, where)
                           for item in _sequence(spec.get("models"), f"{where}.models"))
            if not models:
                raise CatalogError(f"{where}.models: lists no models")
            _no_duplicates(models, insensitive, where)
            own[str(vtype)] = VendorModels(str(vtype), models, insensitive)
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
    prices = {k: _number(item.get(k), f"{where}.{k}", nullable=True)
              for k in ("input", "output", "cached_input")}
    required = ("input", "output") if "chat" in caps else ("input",)
    for k in required:
        if k not in item:
            raise CatalogError(f"{where}.{k}: missing (write null with a note if unknown)")
    note = _text(item.get("note"), f"{where}.note")
    unknown = [k for k in required if prices[k] is None]
    if unknown and not note:
        raise CatalogError(f"{where}: {' and '.join(unknown)} price unknown, but no note says why")
    price_date = _date(item.get("price_date"), f"{where}.price_date")
    if any(v is not None for v in prices.values()) and price_date is None:
        raise CatalogError(f"{where}.price_date: required when a price is given")
    return ModelInfo(
        provider_type=vtype,
        id=mid,
        capabilities=caps,
        context_window=_count(item.get("context"), f"{where}.context"),
        max_output=_count(item.get("max_output"), f"{where}.max_output"),
        input_cny=prices["input"],
        output_cny=prices["output"],
        cached_input_cny=prices["cached_input"],
        price_date=price_date,
        unconfirmed=_flag(item.get("unconfirmed"), f"{where}.unconfirmed"),
        note=note,
        stream_only=_flag(item.get("stream_only"), f"{where}.stream_only"),
    )


def _openai_vendor(vtype: str, openai: Mapping[str, OpenAIModel], usd_cny: float) -> VendorModels:
    def cny(usd: float | None) -> float | None:
        return None if usd is None else round(usd * usd_cny, 6)

    models = tuple(
        ModelInfo(
            provider_type=vtype,
            id=m.id,
            capabilities=m.capabilities,
            context_window=m.context_window,
            input_cny=cny(m.input_usd),
            output_cny=cny(m.output_usd),
            price_date=m.price_date,
            unconfirmed=m.unconfirmed,
            note=_converted_note(m, usd_cny),
        )
        for m in openai.values()
    )
    return VendorModels(vtype, models)


def _converted_note(m: OpenAIModel, usd_cny: float) -> str:
    usd = f"{m.input_usd:g}" if m.output_usd is None else f"{m.input_usd:g} / {m.output_usd:g}"
    note = f"USD {usd} per M at {usd_cny:g} CNY/USD"
    return f"{note}; {m.note}" if m.note else note


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
    insensitive = (_flag(spec["case_insensitive"], f"{where}.case_insensitive")
                   if "case_insensitive" in spec else base.case_insensitive)
    retyped = tuple(replace(m, provider_type=vtype) for m in models)
    return VendorModels(vtype, retyped, insensitive, same_as=base.type)


def _parse_presets(
    raw: object, vendors: Mapping[str, VendorModels]
) -> dict[str, Mapping[str, PresetReason]]:
    out: dict[str, Mapping[str, PresetReason]] = {}
    for vtype, entries in _mapping(raw, "presets").items():
        where = f"presets.{vtype}"
        vendor = vendors.get(str(vtype))
        if vendor is None:
            raise CatalogError(f"{where}: not a vendor in the catalog")
        reasons: dict[str, PresetReason] = {}
        for name, body in _mapping(entries, where).items():
            ewhere = f"{where}.{name}"
            entry = _mapping(body, ewhere)
            _only_keys(entry, {"model", "why"}, ewhere)
            model = _text(entry.get("model"), f"{ewhere}.model")
            why = _text(entry.get("why"), f"{ewhere}.why")
            if not model or not why:
                raise CatalogError(f"{ewhere}: needs both 'model' and 'why'")
            if vendor.get(model) is None:
                raise CatalogError(f"{ewhere}.model: '{model}' is not listed for {vtype}")
            reasons[str(name)] = PresetReason(str(vtype), str(name), model, why)
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
    if "chat" not in caps and "embeddings" not in caps:
        raise CatalogError(f"{where}.caps: needs 'chat' or 'embeddings'")
    return frozenset(cast(list[Capability], caps))


def _number(raw: object, where: str, *, nullable: bool) -> float | None:
    if raw is None and nullable:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise CatalogError(f"{where}: must be a non-negative number, got {raw!r}")
    return float(raw)


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


def _date(raw: object, where: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, _dt.date):  # an unquoted YYYY-MM-DD
        return raw.isoformat()
    text = str(raw)
    if not _DATE.match(text):
        raise CatalogError(f"{where}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {raw!r}")
    return text


def _no_duplicates(models: Iterable[ModelInfo], insensitive: bool, where: str) -> None:
    seen: set[str] = set()
    for m in models:
        key = m.id.lower() if insensitive else m.id
        if key in seen:
            raise CatalogError(f"{where}.{m.id}: listed twice")
        seen.add(key)
