"""Model names → ordered chains of (provider, upstream model).

A client may send an alias from the ``models:`` map (``gpt-4o`` → ``[qwen/qwen-plus, …]``), a
direct ``provider/model``, or a bare upstream id that exactly one configured provider lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from banjia.errors import APIError, not_found

__all__ = ["Router", "Target"]


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class Router:
    def __init__(
        self,
        aliases: Mapping[str, Iterable[str]],
        provider_models: Mapping[str, Iterable[str]],
    ) -> None:
        """``aliases``: public name → ``provider/model`` entries; ``provider_models``: what each
        configured provider is known to serve (its catalog, used for listing and bare ids)."""
        self.providers = {p: list(ms) for p, ms in provider_models.items()}
        self.aliases: dict[str, list[Target]] = {}
        for name, chain in aliases.items():
            targets = []
            for entry in chain:
                t = self.split(entry)
                if t is not None:
                    targets.append(t)
            if targets:
                self.aliases[name] = targets
        self._bare: dict[str, Target] = {}
        for p, ms in self.providers.items():
            for m in ms:
                self._bare.setdefault(m, Target(p, m))
                self._bare.setdefault(m.lower(), Target(p, m))

    def split(self, entry: str) -> Target | None:
        provider, sep, model = entry.partition("/")
        if sep and provider in self.providers and model:
            return Target(provider, model)
        return None

    def resolve(self, name: str) -> list[Target]:
        chain = self.aliases.get(name)
        if chain:
            return chain
        direct = self.split(name)
        if direct is not None:
            return [direct]
        bare = self._bare.get(name) or self._bare.get(name.lower())
        if bare is not None:
            return [bare]
        raise not_found(
            f"The model '{name}' does not exist or you do not have access to it. "
            "GET /v1/models lists the models served here; any upstream model is also reachable "
            "as 'provider/model'."
        )

    def public_models(self) -> list[tuple[str, str]]:
        """(model id, owner) for /v1/models: aliases first, then every provider/model."""
        out: list[tuple[str, str]] = [(a, "banjia") for a in self.aliases]
        for p, ms in self.providers.items():
            out.extend((f"{p}/{m}", p) for m in ms)
        return out

    def owner(self, name: str) -> str:
        try:
            chain = self.resolve(name)
        except APIError:
            raise
        return "banjia" if name in self.aliases else chain[0].provider
