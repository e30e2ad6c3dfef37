"""What banjia serves with: the config file checked against the provider types, or the embedded
defaults.

:mod:`banjia.config` is the schema and knows no provider type; the types are the adaptors'
registry (:func:`banjia.adaptors.registry`). This module stands above both: it checks each
configured provider against its type (credentials set, base URL where one is required) and builds
the embedded defaults from the types whose key variables are set. Every mistake is a
:class:`ConfigError` naming the key, e.g.
``providers.qwen.api_key: required for type 'dashscope' (the variable DASHSCOPE_API_KEY is not set)``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from banjia.adaptors import registry
from banjia.config import Config, load_config, parse_config
from banjia.errors import ConfigError
from banjia.routing.presets import default_aliases
from banjia.vendors import DESCRIPTORS

__all__ = ["check_providers", "embedded_defaults", "load_settings"]

log = logging.getLogger("banjia")


def load_settings(path: str | os.PathLike[str] | None) -> Config:
    """The config at ``path``, or ``$BANJIA_CONFIG``, or the embedded defaults; checked."""
    path = path or os.environ.get("BANJIA_CONFIG") or None
    if path is None:
        return embedded_defaults()
    return check_providers(load_config(path))


def check_providers(cfg: Config) -> Config:
    """``cfg``, once each provider's type is known and its credentials are set."""
    specs = registry()
    for name, p in cfg.providers.items():
        spec = specs.get(p.type)
        if spec is None:
            known = ", ".join(sorted(specs))
            raise ConfigError(f"providers.{name}.type: unknown provider type '{p.type}' (known: {known})")
        for field in spec.credentials:
            if not getattr(p, field):
                var = cfg.unset_variable(f"providers.{name}.{field}")
                hint = f" (the variable {var} is not set)" if var else ""
                raise ConfigError(f"providers.{name}.{field}: required for type '{p.type}'{hint}")
        if spec.base_url_required and not p.base_url:
            raise ConfigError(f"providers.{name}.base_url: required for type '{p.type}'")
        d = spec.descriptor
        if p.endpoints and not d.endpoint_ids:
            with_ids = ", ".join(t for t, x in DESCRIPTORS.items() if x.endpoint_ids)
            raise ConfigError(f"providers.{name}.endpoints: only types {with_ids} take endpoint ids")
        if d.legacy:
            log.warning("providers.%s: type '%s' is legacy; type '%s' replaces it", name, p.type, d.legacy)
    return cfg


def embedded_defaults() -> Config:
    """No config file: SQLite beside you, the bundled local model, and every vendor whose key is set."""
    providers: dict[str, dict[str, Any]] = {"local": {"type": "local"}}
    for spec in registry().values():
        d = spec.descriptor
        # legacy protocols (qianfan-v1, minimax-pro) only when a config file asks for them: their
        # variables would otherwise enable them beside their successors
        if not spec.key_env or d.legacy or d.base_url_required:
            continue
        values = {f: os.environ.get(var) for f, var in zip(spec.credentials, spec.key_env, strict=False)}
        if spec.credentials and all(values.values()):
            providers[spec.type] = {"type": spec.type, **values}
    data = {
        "server": {"master_key": os.environ.get("BANJIA_MASTER_KEY") or None},
        "providers": providers,
        "models": default_aliases(list(providers)),
    }
    return check_providers(parse_config(data, None))
