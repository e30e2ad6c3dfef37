"""The model catalog: every vendor's models, context windows, capabilities, dated CNY prices,
retirements, and the OpenAI reference prices that savings are measured against.

The data lives in ``models.yaml`` beside this module (its header explains the conventions); it is
parsed once and validated (:mod:`._parse`) into frozen dataclasses. Prices use the ``pricing:``
schema of :mod:`banjia.pricing`; each carries the date from which it applies and the URL of its
source. Costs are CNY.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal, get_args

from banjia.catalog import claude_names, openai_names
from banjia.errors import BanjiaError
from banjia.pricing import BEIJING, Rates, Schedule, to_datetime

__all__ = [
    "CAPABILITIES",
    "ROLES",
    "Capability",
    "Catalog",
    "CatalogError",
    "ModelInfo",
    "OpenAIModel",
    "PresetReason",
    "Role",
    "VendorModels",
    "catalog_models",
    "load_catalog",
    "model_info",
    "openai_cost_cny",
    "parse_catalog",
    "preset_reasons",
    "price_cny",
    "retirements",
]

Capability = Literal["chat", "tools", "vision", "json_mode", "reasoning", "embeddings", "rerank",
                     "images", "speech", "transcription"]
CAPABILITIES: tuple[Capability, ...] = get_args(Capability)
# what a preset stands in for; every OpenAI reference model has one (models.yaml, ``role:``)
Role = Literal["flagship", "small", "reasoning", "reasoning_small", "embedding", "embedding_large"]
ROLES: tuple[Role, ...] = get_args(Role)
EMBEDDING_ROLES: frozenset[str] = frozenset({"embedding", "embedding_large"})

# Anthropic Messages requests are chat requests: compared and priced as chat completions
_ENDPOINT_ALIASES = {"chat": "chat/completions", "messages": "chat/completions"}


class CatalogError(BanjiaError):
    """``models.yaml`` is malformed; the message names the section, vendor and model."""


@functools.lru_cache(maxsize=512)  # a catalog's dates: a few hundred strings, asked per request
def _day(text: str) -> _dt.date:
    parts = [int(p) for p in text.split("-")] + [1, 1]
    return _dt.date(parts[0], parts[1], parts[2])


class _Priced:
    """Shared by vendor and OpenAI models: dated schedules, the one in force at a time."""

    __slots__ = ()
    prices: tuple[Schedule, ...]

    def schedule_at(self, at: float | _dt.datetime | None = None) -> Schedule | None:
        """The schedule in force at ``at`` (default now): the newest whose date is not after that
        day in Beijing; before the first date, the first (the oldest figure known)."""
        if not self.prices:
            return None
        day = to_datetime(at).astimezone(BEIJING).date()
        current = self.prices[0]
        for s in self.prices:
            if s.date is None or _day(s.date) <= day:
                current = s
        return current

    @property
    def price(self) -> Schedule | None:
        return self.schedule_at()

    def _list(self) -> Rates | None:
        s = self.price
        return s.list_rates if s is not None else None

    @property
    def input_cny(self) -> float | None:
        r = self._list()
        return r.input if r else None

    @property
    def output_cny(self) -> float | None:
        r = self._list()
        return r.output if r else None

    @property
    def cached_input_cny(self) -> float | None:
        r = self._list()
        return r.cache_read if r else None

    @property
    def price_date(self) -> str | None:
        s = self.price
        return s.date if s else None

    @property
    def price_source(self) -> str | None:
        s = self.price
        return s.source if s else None


@dataclass(frozen=True, slots=True)
class ModelInfo(_Priced):
    """One upstream model as a provider type serves it."""

    provider_type: str
    id: str
    capabilities: frozenset[Capability]
    context_window: int | None = None
    max_output: int | None = None
    prices: tuple[Schedule, ...] = ()  # oldest first; empty: the price is unknown (see note)
    unconfirmed: bool = False  # a figure other than the price (context, id…) is unconfirmed
    note: str = ""
    stream_only: bool = False
    retired: str | None = None  # the day the vendor stopped (or stops) serving it
    successor: str | None = None  # the model that serves its requests from then on

    @property
    def is_chat(self) -> bool:
        return "chat" in self.capabilities

    @property
    def is_embedding(self) -> bool:
        return "embeddings" in self.capabilities

    @property
    def is_rerank(self) -> bool:
        return "rerank" in self.capabilities

    @property
    def price_unconfirmed(self) -> bool:
        s = self.price
        return s is not None and s.unconfirmed

    def retired_on(self, day: _dt.date | None = None) -> bool:
        """Whether the vendor no longer serves it on ``day`` (default: today in Beijing)."""
        if self.retired is None:
            return False
        today = day or _dt.datetime.now(BEIJING).date()
        return _day(self.retired) <= today

    def cost_cny(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0,
                 *, at: float | _dt.datetime | None = None) -> float | None:
        """The list price of one call at ``at`` (default now), or None if a rate it needs is
        unknown. ``cached_tokens`` are the part of ``prompt_tokens`` served from the vendor's
        cache, billed once at the cache rate."""
        for name, n in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens),
                        ("cached_tokens", cached_tokens)):
            if n < 0:
                raise ValueError(f"{name} must not be negative, got {n}")
        sched = self.schedule_at(at)
        if sched is None:
            return None
        return sched.quote(prompt_tokens, completion_tokens, cached=cached_tokens,
                           at=to_datetime(at)).cost_cny


@dataclass(frozen=True, slots=True)
class OpenAIModel(_Priced):
    """An OpenAI model family or size, its price (in CNY at the catalog's rate; ``usd`` keeps the
    list figures) and the preset role it stands for."""

    id: str
    capabilities: frozenset[Capability]
    role: Role
    prices: tuple[Schedule, ...] = ()
    usd: tuple[Schedule, ...] = ()
    context_window: int | None = None
    aliases: tuple[str, ...] = ()
    unconfirmed: bool = False
    note: str = ""

    @property
    def is_embedding(self) -> bool:
        return "embeddings" in self.capabilities

    @property
    def input_usd(self) -> float:
        return self.usd[-1].list_rates.input or 0.0 if self.usd else 0.0

    @property
    def output_usd(self) -> float | None:
        return self.usd[-1].list_rates.output if self.usd else None


@dataclass(frozen=True, slots=True)
class PresetReason:
    """Why the preset for ``role`` (or the OpenAI model ``openai_model``) on ``vendor`` is
    ``model``."""

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
    docs: str | None = None  # the vendor's API documentation (how to list its models: the descriptor's)
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

    def final_successor(self, model: ModelInfo) -> ModelInfo:
        """The model that serves ``model``'s requests: its successor's successor… (the parser
        refuses cycles)."""
        while model.successor is not None:
            nxt = self.get(model.successor)
            if nxt is None:
                break
            model = nxt
        return model


@dataclass(frozen=True, slots=True)
class Catalog:
    usd_cny: float
    vendors: Mapping[str, VendorModels]
    openai: Mapping[str, OpenAIModel]  # by id, in file order
    equivalents: Mapping[str, str]  # endpoint → the default OpenAI model compared against
    # vendor → role → why the vendor's model stands for that role
    roles: Mapping[str, Mapping[str, PresetReason]]
    _openai_names: Mapping[str, OpenAIModel] = field(init=False, repr=False, compare=False)
    # vendor → OpenAI reference model → its preset (each model through its role)
    presets: Mapping[str, Mapping[str, PresetReason]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[str, OpenAIModel] = {}
        for m in self.openai.values():
            for name in (m.id, *m.aliases):
                names[name.lower()] = m
        object.__setattr__(self, "_openai_names", MappingProxyType(names))
        presets: dict[str, Mapping[str, PresetReason]] = {}
        for vendor, by_role in self.roles.items():
            mapping = {}
            for m in self.openai.values():
                r = preset_role(by_role, m.role)
                if r is not None:
                    mapping[m.id] = PresetReason(vendor, m.id, r.model, r.reason)
            presets[vendor] = MappingProxyType(mapping)
        object.__setattr__(self, "presets", MappingProxyType(presets))

    def model(self, provider_type: str, model: str) -> ModelInfo | None:
        vendor = self.vendors.get(provider_type)
        return vendor.get(model) if vendor else None

    def openai_model(self, name: str) -> OpenAIModel | None:
        """The OpenAI reference model ``name`` stands for, by OpenAI's naming rules
        (:mod:`.openai_names`): ``gpt-4o-2024-08-06`` → gpt-4o, ``gpt-5.1-codex-mini`` → the
        nearest listed gpt-5 mini; and Claude's names by Anthropic's (:mod:`.claude_names`):
        ``claude-sonnet-4-5-20250929`` → the Sonnet 4.5 reference."""
        return (openai_names.resolve(name, self._openai_names)
                or claude_names.resolve(name, self._openai_names))

    def openai_equivalent(self, asked_model: str, endpoint: str) -> OpenAIModel:
        """The OpenAI model a request's cost is compared against: the one asked for when it is an
        OpenAI model of the endpoint's kind, else the endpoint's default."""
        ep = _endpoint(endpoint)
        default = self.equivalents.get(ep)
        if default is None:
            known = ", ".join(sorted(self.equivalents))
            raise ValueError(f"unknown endpoint '{endpoint}' (known: {known})")
        asked = self.openai_model(asked_model) if asked_model else None
        if asked is not None and asked.is_embedding == (ep == "embeddings"):
            return asked
        return self.openai[default]

    def openai_cost_cny(self, asked_model: str, endpoint: str, prompt_tokens: int,
                        completion_tokens: int, cached_tokens: int = 0,
                        *, at: float | _dt.datetime | None = None) -> float:
        ref = self.openai_equivalent(asked_model, endpoint)
        sched = ref.schedule_at(at)
        if sched is None:
            return 0.0
        q = sched.quote(prompt_tokens, completion_tokens, cached=cached_tokens, at=to_datetime(at))
        return q.cost_cny or 0.0


def preset_role(by_role: Mapping[str, PresetReason], role: str) -> PresetReason | None:
    """The vendor's pick for ``role``, falling back to the next broader role it has (a small
    reasoning model to the reasoning one, a reasoning model to the flagship, a large embedding to
    the embedding)."""
    fallbacks = {"reasoning_small": ("reasoning", "flagship"), "reasoning": ("flagship",),
                 "embedding_large": ("embedding",), "small": (), "flagship": (), "embedding": ()}
    for r in (role, *fallbacks.get(role, ())):
        if r in by_role:
            return by_role[r]
    return None


# -- module-level API -------------------------------------------------------------------------------


@cache
def load_catalog() -> Catalog:
    """The bundled catalog, parsed and validated once."""
    text = resources.files(__name__).joinpath("models.yaml").read_text(encoding="utf-8")
    return parse_catalog(text)


def parse_catalog(text: str) -> Catalog:
    """Parse and validate catalog YAML; a malformed entry raises :class:`CatalogError` naming it."""
    from banjia.catalog._parse import parse

    return parse(text)


def catalog_models(provider_type: str) -> list[str]:
    """The upstream model ids the catalog lists for a provider type, in file order, without the
    ones the vendor has retired; empty for a type it does not know."""
    vendor = load_catalog().vendors.get(provider_type)
    return [m.id for m in vendor.models if not m.retired_on()] if vendor else []


def retirements(provider_type: str, day: _dt.date | None = None) -> dict[str, tuple[str, str]]:
    """Retired model (as the vendor compares ids) → (its id, the id that serves it now), for the
    models of ``provider_type`` retired on ``day`` (default today)."""
    vendor = load_catalog().vendors.get(provider_type)
    if vendor is None:
        return {}
    return {vendor.lookup_key(m.id): (m.id, vendor.final_successor(m).id)
            for m in vendor.models if m.retired_on(day) and m.successor is not None}


def model_info(provider_type: str, model: str) -> ModelInfo | None:
    """A model's catalog entry; ids match without regard to case where the vendor ignores case."""
    return load_catalog().model(provider_type, model)


def price_cny(provider_type: str, model: str, prompt_tokens: int, completion_tokens: int,
              cached_tokens: int = 0, *, at: float | _dt.datetime | None = None) -> float | None:
    """The list-price cost of a call in CNY at ``at`` (default now), or None when the model or a
    rate it needs is unknown. ``cached_tokens`` is the cached part of ``prompt_tokens``."""
    info = model_info(provider_type, model)
    if info is None:
        return None
    return info.cost_cny(prompt_tokens, completion_tokens, cached_tokens, at=at)


def openai_cost_cny(asked_model: str, endpoint: str, prompt_tokens: int, completion_tokens: int,
                    cached_tokens: int = 0, *, at: float | _dt.datetime | None = None) -> float:
    """What the same tokens would have cost on OpenAI, in CNY at the catalog's exchange rate.

    ``endpoint`` is the OpenAI path served (``chat/completions``, ``completions``, ``responses``,
    ``embeddings``; a leading ``/v1/`` is ignored)."""
    return load_catalog().openai_cost_cny(asked_model, endpoint, prompt_tokens, completion_tokens,
                                          cached_tokens, at=at)


def preset_reasons() -> Mapping[str, Mapping[str, PresetReason]]:
    """vendor type → OpenAI reference model → why the preset maps it to its vendor model."""
    return load_catalog().presets


def _endpoint(endpoint: str) -> str:
    ep = endpoint.strip().strip("/")
    ep = ep.removeprefix("v1/")
    return _ENDPOINT_ALIASES.get(ep, ep)
