"""The config file: its schema (YAML with ``${VAR}`` substitution) and reading it.

Every mistake is a :class:`ConfigError` naming the key, e.g. ``providers.qwen.apikey: unknown key``.
This module knows no provider type: checking each provider against its type (credentials, base
URL) and the embedded defaults live in :mod:`banjia.settings`, above the adaptors' registry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from banjia.errors import ConfigError

__all__ = [
    "CircuitConfig",
    "Config",
    "PoolConfig",
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
    # on SIGTERM: how long requests and streams in flight may take to finish before they are cut
    drain_seconds: int = Field(default=30, ge=0, le=3600)
    # HTTP limits (banjia.server.limits): over a body limit 413, over a header limit 431
    max_body_mb: float = Field(default=32, gt=0)  # JSON bodies
    max_upload_mb: float = Field(default=25, gt=0)  # multipart/form-data uploads
    max_header_kb: int = Field(default=64, ge=1)  # request line and headers together
    max_headers: int = Field(default=100, ge=1)
    header_timeout: float = Field(default=10.0, gt=0)  # from connecting (or a request's first byte)
    body_timeout: float = Field(default=15.0, gt=0)  # a body that stalls this long is cut
    keepalive_timeout: float = Field(default=30.0, gt=0)  # an idle keep-alive connection closes
    max_connections_per_ip: int = Field(default=256, ge=0)  # counted before authentication; 0: none


class StoreConfig(_Strict):
    url: str = "sqlite:///./banjia.db"
    redis_url: str | None = None
    # where each process journals its ledger rows until they are written (banjia.store.journal);
    # default: .banjia/journal beside a SQLite file, or under the working directory
    journal_dir: str | None = None
    # reasoning served with tool calls, kept to replay to vendors that require it back
    # (banjia.reasoning): how long, and how many tool calls per process
    reasoning_ttl: float = Field(default=3600.0, gt=0)
    reasoning_max_entries: int = Field(default=10_000, ge=1)


class TimeoutsConfig(_Strict):
    """A provider's own bounds, in seconds: ``connect`` (TCP + TLS), ``first_byte`` (to the first
    event of a stream, or the whole answer of a non-stream call) and ``idle`` (between two events)
    bound each attempt; ``stream`` bounds a whole streamed answer from the request's arrival to its
    last chunk. ``routing.total_timeout`` is the other bound: how long a client waits for an answer
    to start, every fallback and retry included. The defaults of both are defined here only."""

    connect: float = Field(default=10.0, gt=0)
    first_byte: float = Field(default=120.0, gt=0)
    idle: float = Field(default=60.0, gt=0)
    # ``total`` is its older name, still accepted
    stream: float = Field(default=600.0, gt=0, validation_alias=AliasChoices("stream", "total"))


class PoolConfig(_Strict):
    """A provider's upstream connections: at most ``max_connections`` requests in flight at once
    (unset: no limit; the others wait, within ``timeouts.first_byte``), at most ``max_idle``
    kept-alive connections per host, each closed after ``keepalive`` idle seconds."""

    max_connections: int | None = Field(default=None, ge=1)
    max_idle: int = Field(default=256, ge=0)
    keepalive: float = Field(default=30.0, gt=0)


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


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
    auth: Literal["bearer", "jwt", "x-api-key"] = "bearer"  # anthropic: x-api-key unless set
    endpoints: dict[str, str] = Field(default_factory=dict)  # ark: model → endpoint id
    model_path: str | None = None  # local
    n_ctx: int | None = Field(default=None, ge=256)
    n_threads: int | None = Field(default=None, ge=1)
    models: list[str] | None = None  # served models to list, besides the catalog's
    timeouts: TimeoutsConfig = Field(default_factory=TimeoutsConfig)
    weight: int = Field(default=1, ge=0)
    # how requests leave (banjia.transport.Egress): this proxy for every request, else the
    # environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY as in curl; a PEM bundle of CAs trusted
    # besides the system's; HTTP/2 where the upstream offers it; the connection pool
    proxy: str | None = None
    ca_file: str | None = None
    http2: bool = True
    pool: PoolConfig = Field(default_factory=PoolConfig)

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, v: str | None) -> str | None:
        if v is not None:
            scheme, sep, rest = v.partition("://")
            if not sep or scheme.lower() not in _PROXY_SCHEMES or not rest.strip("/"):
                raise ValueError(f"'{v}' is not a proxy URL such as http://proxy.example:3128 "
                                 f"(schemes: {', '.join(_PROXY_SCHEMES)})")
        return v

    @field_validator("ca_file")
    @classmethod
    def _ca_bundle(cls, v: str | None) -> str | None:
        if v is not None:
            from banjia.transport import read_ca_file

            read_ca_file(v)  # its ValueError says what is wrong with the file
        return v


class CircuitConfig(_Strict):
    """A circuit per provider/model opens after ``failures`` consecutive failures; after
    ``cooldown`` seconds one request is let through to probe it (half-open)."""

    failures: int = Field(default=5, ge=1)
    cooldown: float = Field(default=30.0, gt=0)


class RoutingConfig(_Strict):
    # the longest a client waits for an answer to start (the whole answer, without streaming),
    # every fallback and retry included; a provider's own ``timeouts`` bound each attempt, and
    # its ``timeouts.stream`` the rest of a streamed answer
    total_timeout: float = Field(default=180.0, gt=0)
    # how many times one chain entry is tried again after a transient failure (5xx, 429,
    # connection error), once the rest of the chain has been tried; never past total_timeout
    retries: int = Field(default=1, ge=0, le=10)
    # seconds before the first such retry, doubled for each next one, unless retry-after says
    retry_backoff: float = Field(default=0.25, ge=0)
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
    # ``provider/model`` → a price schedule (banjia.pricing; interface.md), over the catalog's
    pricing: dict[str, Any] = Field(default_factory=dict)
    # set by load_config: the file it came from, or None for the embedded defaults
    source: str | None = None
    # key path → the ${VAR} left unset there, so that a later check can name the variable
    _unset: dict[str, str] = PrivateAttr(default_factory=dict)

    def unset_variable(self, key: str) -> str | None:
        """The variable whose ``${VAR}`` was left unset at ``key`` (``providers.qwen.api_key``)."""
        return self._unset.get(key)

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
    """``data`` (a YAML document) → a :class:`Config`, its keys and chains checked; the provider
    types are checked by :func:`banjia.settings.check_providers`."""
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
    cfg._unset = unset
    _check_names(cfg)
    _check_pricing(cfg)
    return cfg


def _check_pricing(cfg: Config) -> None:
    """Each ``pricing:`` entry parses, and names a configured provider."""
    from banjia.pricing import PricingError, parse_overrides

    try:
        parse_overrides(cfg.pricing, cfg.providers)
    except PricingError as e:
        raise ConfigError(str(e)) from e


def _check_names(cfg: Config) -> None:
    """Provider names, model chains and the routing bounds agree with each other."""
    for name in cfg.providers:
        if "/" in name:
            raise ConfigError(f"providers.{name}: a provider name cannot contain '/'")
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
    """The config at ``path``, or ``$BANJIA_CONFIG``, as written; with neither, every key's
    default (and ``$BANJIA_MASTER_KEY``). What ``banjia serve`` runs with, its providers checked
    and the embedded defaults filled in, is :func:`banjia.settings.load_settings`."""
    path = path or os.environ.get("BANJIA_CONFIG") or None
    if path is None:
        return parse_config({"server": {"master_key": os.environ.get("BANJIA_MASTER_KEY") or None}})
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file ({e.strerror})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from e
    cfg = parse_config(data, str(p))
    env_key = os.environ.get("BANJIA_MASTER_KEY")
    if cfg.server.master_key is None and env_key:
        # the variable works with a config file too, not only without one
        cfg = cfg.model_copy(update={"server": cfg.server.model_copy(update={"master_key": env_key})})
    return cfg
