"""Built-in aliases for OpenAI model names, used when no config file names its own ``models:``
(and with ``routing.presets: true``).

The mapping is the catalog's (``catalog/models.yaml``, ``presets:``): each vendor names the model
that stands in for each OpenAI role (flagship, small, reasoning, …), and every OpenAI reference
model has a role. An OpenAI name that is not itself a reference model (a dated snapshot, a new
point release) reaches its reference model by OpenAI's naming rules in the router
(:mod:`banjia.catalog.openai_names`). The embedded local model answers every name, so an
unmodified app works offline with no keys; a vendor whose key variable is set is tried first.
A preset is used only where the type's descriptor (:mod:`banjia.vendors`) serves its endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from banjia.catalog import load_catalog, preset_role
from banjia.vendors import DESCRIPTORS

__all__ = [
    "OPENAI_CHAT",
    "OPENAI_EMBEDDINGS",
    "PRESETS",
    "default_aliases",
    "preset_aliases",
    "preset_for",
]

_catalog = load_catalog()

# the OpenAI reference models, in the catalog's order
OPENAI_CHAT: tuple[str, ...] = tuple(m.id for m in _catalog.openai.values() if not m.is_embedding)
OPENAI_EMBEDDINGS: tuple[str, ...] = tuple(m.id for m in _catalog.openai.values() if m.is_embedding)

# vendor type → OpenAI reference model → the vendor's model for it (read-only view of the catalog)
PRESETS: dict[str, dict[str, str]] = {
    vendor: {name: reason.model for name, reason in by_name.items()}
    for vendor, by_name in _catalog.presets.items()
}


def preset_for(provider_type: str, openai_name: str) -> str | None:
    """The model a vendor's preset puts behind any OpenAI model name (by OpenAI's naming rules),
    or None when the name is not an OpenAI one or the vendor has no model for its role."""
    ref = _catalog.openai_model(openai_name)
    by_role = _catalog.roles.get(provider_type)
    if ref is None or by_role is None:
        return None
    found = preset_role(by_role, ref.role)
    return found.model if found else None


def default_aliases(providers: list[str]) -> dict[str, list[str]]:
    """Each OpenAI name → the configured vendors' presets in a stable order, then the local model
    (the embedded defaults, where each provider is named after its type)."""
    return preset_aliases({p: p for p in providers})


def preset_aliases(providers: Mapping[str, str]) -> dict[str, list[str]]:
    """Each OpenAI reference name → ``name/<preset model>`` for every configured provider (name →
    type) whose type has a preset for it, in configuration order, then a local provider's default
    model."""
    aliases: dict[str, list[str]] = {}
    local = [name for name, type_ in providers.items() if _protocol(type_) == "local"]
    for openai_name in OPENAI_CHAT + OPENAI_EMBEDDINGS:
        need = "embeddings" if openai_name in OPENAI_EMBEDDINGS else "chat"
        chain = [
            f"{name}/{PRESETS[type_][openai_name]}"
            for name, type_ in providers.items()
            if openai_name in PRESETS.get(type_, {}) and _serves(type_, need)
        ]
        chain.extend(f"{name}/default" for name in local)
        if chain:
            aliases[openai_name] = chain
    return aliases


def _protocol(provider_type: str) -> str | None:
    d = DESCRIPTORS.get(provider_type)
    return d.protocol if d is not None else None


def _serves(provider_type: str, capability: str) -> bool:
    """Whether the type's descriptor advertises ``capability``: a catalog preset for an endpoint the
    type does not serve is never put in a chain."""
    d = DESCRIPTORS.get(provider_type)
    return d is not None and d.serves(capability)
