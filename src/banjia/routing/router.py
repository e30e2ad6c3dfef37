"""Model names → routes: ordered tiers of (provider, upstream model).

A client may send an alias from the ``models:`` map (``gpt-4o`` → ``[qwen/qwen-plus, …]``), a
direct ``provider/model``, or a bare upstream id that exactly one configured provider lists. An
OpenAI model name that is not an alias itself takes the route of the alias its reference model
has, by OpenAI's naming rules (``gpt-4o-2024-08-06`` → the ``gpt-4o`` alias;
:mod:`banjia.catalog.openai_names`). A direct or bare name of a model its vendor has retired
(catalog ``retired:``) is served by the successor; the route records the swap, and the response
says so in ``x-banjia-retired``. Chains written in the config are the operator's: they are taken
as written (``banjia catalog check`` lists the retired models they name).

A route is a list of tiers tried in order. A tier usually holds one target; a tier written as a
list in the config (``[[qwen/qwen-plus, deepseek/deepseek-chat], ernie/ernie-4.0-8k]``) holds
equals, and each request takes them in an order drawn by the providers' weights
(:mod:`banjia.routing.balance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from banjia.catalog import load_catalog, retirements
from banjia.errors import APIError, not_found

__all__ = ["Route", "Router", "Target"]

# direct ``provider/model`` routes are cached; the names come from clients, so the cache is bounded
_DIRECT_CACHE = 4096
_NONE: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    model: str
    # "provider/model", built once: it names the target in state, metrics and logs
    key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.provider}/{self.model}")

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    tiers: tuple[tuple[Target, ...], ...]
    targets: tuple[Target, ...]  # every target, in the configured order
    balanced: bool  # some tier holds more than one target
    # target key ("provider/successor") → the retired model id the client named
    retired: Mapping[str, str] = field(default_factory=lambda: _NONE, compare=False)
    via: str | None = None  # the alias an OpenAI model name reached by the naming rules

    @classmethod
    def of(cls, name: str, tiers: Iterable[Iterable[Target]]) -> Route:
        t = tuple(tuple(tier) for tier in tiers if tier)
        return cls(name, t, tuple(x for tier in t for x in tier), any(len(tier) > 1 for tier in t))


class Router:
    def __init__(
        self,
        aliases: Mapping[str, Iterable[str | Iterable[str]]],
        provider_models: Mapping[str, Iterable[str]],
        provider_types: Mapping[str, str] | None = None,
    ) -> None:
        """``aliases``: public name → chain entries, each ``provider/model`` or a list of them (a
        tier of equals); ``provider_models``: what each configured provider is known to serve (its
        catalog, used for listing and bare ids); ``provider_types``: provider name → type, whose
        catalog retirements apply to the names clients send."""
        self.providers = {p: list(ms) for p, ms in provider_models.items()}
        # provider → retired id (as its vendor compares ids) → (that id, its successor)
        self._retired: dict[str, dict[str, tuple[str, str]]] = {}
        for p, type_ in (provider_types or {}).items():
            if p in self.providers:
                found = retirements(type_)
                if found:
                    self._retired[p] = found
        self.routes: dict[str, Route] = {}
        for name, chain in aliases.items():
            tiers: list[list[Target]] = []
            for entry in chain:
                group = [entry] if isinstance(entry, str) else list(entry)
                tier = [t for t in map(self.split, group) if t is not None]
                if tier:
                    tiers.append(tier)
            if tiers:
                self.routes[name] = Route.of(name, tiers)
        self._bare: dict[str, Target] = {}
        for p, ms in self.providers.items():
            for m in ms:
                self._bare.setdefault(m, Target(p, m))
                self._bare.setdefault(m.lower(), Target(p, m))
        for p, gone in self._retired.items():  # a retired id is still a name clients send
            for old, _ in gone.values():
                self._bare.setdefault(old, Target(p, old))
                self._bare.setdefault(old.lower(), Target(p, old))
        self._direct: dict[str, Route] = {}

    def split(self, entry: str) -> Target | None:
        provider, sep, model = entry.partition("/")
        if sep and provider in self.providers and model:
            return Target(provider, model)
        return None

    def route(self, name: str) -> Route:
        r = self.routes.get(name) or self._direct.get(name)
        if r is not None:
            return r
        t = self.split(name) or self._bare.get(name) or self._bare.get(name.lower())
        r = self._served(name, t) if t is not None else self._openai_name(name)
        if r is None:
            raise not_found(
                f"The model '{name}' does not exist or you do not have access to it. "
                "GET /v1/models lists the models served here; any upstream model is also reachable "
                "as 'provider/model'."
            )
        if len(self._direct) >= _DIRECT_CACHE:
            self._direct.clear()
        self._direct[name] = r
        return r

    def _served(self, name: str, t: Target) -> Route:
        """The one-target route for a direct or bare name, its successor's if the model is retired."""
        gone = self._retired.get(t.provider)
        if gone:
            found = gone.get(t.model) or gone.get(t.model.lower())
            if found is not None:
                old, new = found
                s = Target(t.provider, new)
                return Route(name, ((s,),), (s,), False, MappingProxyType({s.key: old}))
        return Route(name, ((t,),), (t,), False)

    def _openai_name(self, name: str) -> Route | None:
        """The route of the alias that ``name``'s OpenAI reference model has, if any."""
        ref = load_catalog().openai_model(name)
        if ref is None:
            return None
        for alias in (ref.id, *ref.aliases):
            r = self.routes.get(alias)
            if r is not None:
                return Route(name, r.tiers, r.targets, r.balanced, r.retired, via=alias)
        return None

    def resolve(self, name: str) -> list[Target]:
        return list(self.route(name).targets)

    def public_models(self) -> list[tuple[str, str]]:
        """(model id, owner) for /v1/models: aliases first, then every provider/model."""
        out: list[tuple[str, str]] = [(a, "banjia") for a in self.routes]
        for p, ms in self.providers.items():
            out.extend((f"{p}/{m}", p) for m in ms)
        return out

    def owner(self, name: str) -> str:
        try:
            route = self.route(name)
        except APIError:
            raise
        return "banjia" if name in self.routes or route.via else route.targets[0].provider
