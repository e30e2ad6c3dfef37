"""The config file (YAML with ``${VAR}`` substitution), its validation, and the embedded defaults.

Every mistake is a :class:`ConfigError` naming the key, e.g.
``providers.qwen.api_key: required for type 'dashscope' (the variable DASHSCOPE_API_KEY is not set)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from banjia.errors import ConfigError

__all__ = [
    "CircuitConfig",
    "Config",
    "ProviderConfig",
    "RoutingConfig",
    "ServerConfig",
    "StoreConfig",
    "TimeoutsConfig",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    master_key: str | None = None
    workers: int = Field(default=1, ge=1, le=64)
    metrics_require_key: bool = False
    access_log: bool = False


class StoreConfig(_Strict):
    url: str = "sqlite:///./banjia.db"
    redis_url: str | None = None


class TimeoutsConfig(_Strict):
    connect: float = Field(default=10.0, gt=0)
    first_byte: float = Field(default=120.0, gt=0)
    idle: float = Field(default=60.0, gt=0)
    total: float = Field(default=600.0, gt=0)


class ProviderConfig(_Strict):
    type: str
    base_url: str | None = None
    api_key: str | None = None
    secret_key: str | None = None
    secret_id: str | None = None
    region: str | None = None
    app_id: str | None = None
    api_secret: str | None = None
    group_id: str | None = None
    auth: Literal["bearer", "jwt"] = "bearer"
    endpoints: dict[str, str] = Field(default_factory=dict)  # ark: model → endpoint id
    model_path: str | None = None  # local
    n_ctx: int | None = Field(default=None, ge=256)
    n_threads: int | None = Field(default=None, ge=1)
    models: list[str] | None = None  # served models to list, besides the catalog's
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    weight: int = Field(default=1, ge=0)


class CircuitConfig(_Strict):
    """A circuit per provider/model opens after ``failures`` consecutive failures; after
    ``cooldown`` seconds one request is let through to probe it (half-open)."""

    failures: int = Field(default=5, ge=1)
    cooldown: float = Field(default=30.0, gt=0)


class RoutingConfig(_Strict):
    # the longest a client waits for an answer to start (the whole answer, without streaming),
    # every fallback and retry included; a provider's own ``timeouts`` bound each attempt
    total_timeout: float = Field(default=180.0, gt=0)
    # extra attempts of one chain entry after a transient failure (5xx, 429, connection error),
    # made once the rest of the chain has been tried
    retries: int = Field(default=1, ge=0, le=10)
    retry_backoff: float = Field(default=0.25, ge=0)  # seconds before such a retry, without retry-after
    max_retry_after: float = Field(default=5.0, ge=0)  # a longer upstream retry-after is not waited for
    circuit: CircuitConfig = Field(default_factory=CircuitConfig)
    # a provider disabled by an auth or balance error is probed this often until it answers again
    health_interval: float = Field(default=30.0, gt=0)
    probe_timeout: float = Field(default=10.0, gt=0)
    # shared state (store.redis_url): changes are pushed at once; a full re-read this often
    sync_interval: float = Field(default=5.0, gt=0)
    redis_prefix: str = Field(default="banjia:routing:", min_length=1)
    # add the built-in OpenAI-name presets for the configured vendors (``models:`` entries win)
    presets: bool = False


class CaptureConfig(_Strict):
    """Prompt capture for ``banjia compare --from-capture``: off by default (users' data)."""

    enabled: bool = False
    dir: str = "./banjia-capture"
    retention_days: float = Field(default=7.0, gt=0)


class ResponsesConfig(_Strict):
    """Stored Responses API responses (``store: true``, ``previous_response_id``)."""

    retention_days: float | None = Field(default=None, gt=0)  # None: BANJIA_RESPONSES_RETENTION_DAYS, else 30


class Config(_Strict):
    server: ServerConfig = Field(default_factory=ServerConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    # public name → ordered chain; an entry that is itself a list is a group of equals, balanced
    # by the providers' ``weight``
    models: dict[str, list[str | list[str]]] = Field(default_factory=dict)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    responses: ResponsesConfig = Field(default_factory=ResponsesConfig)
    # set by load_config: the file it came from, or None for the embedded defaults
    source: str | None = None

    @field_validator("models", mode="before")
    @classmethod
    def _chain_lists(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: [c] if isinstance(c, str) else c for k, c in v.items()}
        return v


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(value: Any, path: str, unset: dict[str, str]) -> Any:
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            got = os.environ.get(m.group(1))
            if got is None or got == "":
                if m.group(2) is not None:
                    return m.group(2)
                unset[path] = m.group(1)
                return ""
            return got

        out = _VAR.sub(repl, value)
        return None if out == "" and _VAR.search(value) else out
    if isinstance(value, dict):
        return {k: _substitute(v, f"{path}.{k}" if path else str(k), unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{path}[{i}]", unset) for i, v in enumerate(value)]
    return value


def parse_config(data: Any, source: str | None = None) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source or 'config'}: the top level must be a mapping")
    unset: dict[str, str] = {}
    data = _substitute(data, "", unset)
    try:
        cfg = Config.model_validate({**data, "source": source})
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{loc}: unknown key") from e
        raise ConfigError(f"{loc}: {err['msg']}") from e
    _check_providers(cfg, unset)
    return cfg


def _check_providers(cfg: Config, unset: dict[str, str]) -> None:
    from banjia.adaptors import registry

    specs = registry()
    for name, p in cfg.providers.items():
        if "/" in name:
            raise ConfigError(f"providers.{name}: a provider name cannot contain '/'")
        spec = specs.get(p.type)
        if spec is None:
            known = ", ".join(sorted(specs))
            raise ConfigError(f"providers.{name}.type: unknown provider type '{p.type}' (known: {known})")
        for fieldname in spec.credentials:
            if not getattr(p, fieldname):
                hint = ""
                var = unset.get(f"providers.{name}.{fieldname}")
                if var:
                    hint = f" (the variable {var} is not set)"
                raise ConfigError(f"providers.{name}.{fieldname}: required for type '{p.type}'{hint}")
        if spec.base_url_required and not p.base_url:
            raise ConfigError(f"providers.{name}.base_url: required for type '{p.type}'")
    for alias, chain in cfg.models.items():
        if not chain:
            raise ConfigError(f"models.{alias}: the chain is empty")
        for i, entry in enumerate(chain):
            group = [entry] if isinstance(entry, str) else entry
            if not group:
                raise ConfigError(f"models.{alias}[{i}]: the group is empty")
            for j, item in enumerate(group):
                where = f"models.{alias}[{i}]" if isinstance(entry, str) else f"models.{alias}[{i}][{j}]"
                prov, sep, model = item.partition("/")
                if not sep or not model:
                    raise ConfigError(f"{where}: '{item}' must be 'provider/model'")
                if prov not in cfg.providers:
                    raise ConfigError(f"{where}: no provider named '{prov}' is configured")
    if cfg.routing.retry_backoff >= cfg.routing.total_timeout:
        raise ConfigError("routing.retry_backoff: must be shorter than routing.total_timeout")


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """The config at ``path``, or ``$BANJIA_CONFIG``, or the embedded defaults."""
    path = path or os.environ.get("BANJIA_CONFIG") or None
    if path is None:
        return embedded_defaults()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file ({e.strerror})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from e
    return parse_config(data, str(p))


def embedded_defaults() -> Config:
    """No config file: SQLite beside you, the bundled local model, and every vendor whose key is set."""
    from banjia.adaptors import registry
    from banjia.routing.presets import default_aliases

    providers: dict[str, dict[str, Any]] = {"local": {"type": "local"}}
    for spec in registry().values():
        if spec.type == "openai" or not spec.key_env:
            continue
        values = {f: os.environ.get(var) for f, var in zip(spec.credentials, spec.key_env, strict=False)}
        if spec.credentials and all(values.values()):
            providers[spec.type] = {"type": spec.type, **values}
    data = {
        "server": {"master_key": os.environ.get("BANJIA_MASTER_KEY") or None},
        "providers": providers,
        "models": default_aliases(list(providers)),
    }
    return parse_config(data, None)
