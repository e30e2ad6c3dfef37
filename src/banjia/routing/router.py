"""Model names → routes: ordered tiers of (provider, upstream model).

A client may send an alias from the ``models:`` map (``gpt-4o`` → ``[qwen/qwen-plus, …]``), a
direct ``provider/model``, or a bare upstream id that exactly one configured provider lists.

A route is a list of tiers tried in order. A tier usually holds one target; a tier written as a
list in the config (``[[qwen/qwen-plus, deepseek/deepseek-chat], ernie/ernie-4.0-8k]``) holds
equals, and each request takes them in an order drawn by the providers' weights
(:mod:`banjia.routing.balance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from banjia.errors import APIError, not_found

__all__ = ["Route", "Router", "Target"]

# direct ``provider/model`` routes are cached; the names come from clients, so the cache is bounded
_DIRECT_CACHE = 4096


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

    @classmethod
    def of(cls, name: str, tiers: Iterable[Iterable[Target]]) -> Route:
        t = tuple(tuple(tier) for tier in tiers if tier)
        return cls(name, t, tuple(x for tier in t for x in tier), any(len(tier) > 1 for tier in t))


class Router:
    def __init__(
        self,
        aliases: Mapping[str, Iterable[str | Iterable[str]]],
        provider_models: Mapping[str, Iterable[str]],
    ) -> None:
        """``aliases``: public name → chain entries, each ``provider/model`` or a list of them (a
        tier of equals); ``provider_models``: what each configured provider is known to serve (its
        catalog, used for listing and bare ids)."""
        self.providers = {p: list(ms) for p, ms in provider_models.items()}
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
        # alias → flat chain, kept for callers that only need the order
        self.aliases: dict[str, list[Target]] = {n: list(r.targets) for n, r in self.routes.items()}
        self._bare: dict[str, Target] = {}
        for p, ms in self.providers.items():
            for m in ms:
                self._bare.setdefault(m, Target(p, m))
                self._bare.setdefault(m.lower(), Target(p, m))
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
        if t is None:
            raise not_found(
                f"The model '{name}' does not exist or you do not have access to it. "
                "GET /v1/models lists the models served here; any upstream model is also reachable "
                "as 'provider/model'."
            )
        r = Route(name, ((t,),), (t,), False)
        if len(self._direct) >= _DIRECT_CACHE:
            self._direct.clear()
        self._direct[name] = r
        return r

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
        return "banjia" if name in self.routes else route.targets[0].provider
