"""One descriptor per provider type: the single source of a vendor's facts.

A :class:`Descriptor` holds what the rest of banjia asks about a vendor: its credential fields and
their environment variables, its default base URL (and named alternatives such as Tencent's
TokenHub), what it can serve (:data:`CAPABILITIES` names), its thinking switch and whether earlier
reasoning must be sent back, how to list its models, whether it is a legacy protocol, and its
quirks in words. The entries are in :mod:`banjia.vendors.table`.

Who reads it: the provider types (:mod:`banjia.adaptors`: each ``ProviderSpec`` takes its
credentials and base URL from here), the config check (:mod:`banjia.settings`), the presets
(:mod:`banjia.routing.presets`), ``banjia providers``, scan's feature table
(:mod:`banjia.migrate._scan_features`), the media table (:mod:`banjia.adaptors.media`) and the
OpenAI-dialect adaptor's thinking rules. The wire quirks of the OpenAI-dialect vendors (clamps,
renames, error tables) stay beside the adaptor that applies them (:mod:`banjia.adaptors.vendors`);
the model list and prices are the catalog's, and a test holds the catalog to the descriptors.

This module imports nothing from the rest of banjia, so every layer may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CAPABILITIES",
    "DESCRIPTORS",
    "Descriptor",
    "Family",
    "Thinking",
    "descriptor",
    "thinking_for",
]

# What a provider type may serve. Chat features use scan's names (banjia.migrate._scan_features);
# "chat" is chat completions itself, "speech" and "transcription" are the audio endpoints.
CAPABILITIES: tuple[str, ...] = (
    "chat", "streaming", "completions", "responses", "tools", "json_object", "json_schema", "n",
    "logprobs", "vision", "embeddings", "rerank", "images", "speech", "transcription",
)
MEDIA_CAPABILITIES = frozenset({"images", "speech", "transcription", "rerank"})

# the body fields for reasoning_effort (banjia.adaptors._shared.THINKING_SWITCHES): OpenAI's own,
# DeepSeek's thinking + effort, DashScope's enable_thinking (off when not streaming),
# thinking: {type} (Zhipu, Moonshot, Ark), enable_thinking streamed or not (SiliconFlow)
Switch = Literal["openai", "deepseek", "dashscope", "thinking_type", "enable_thinking"]
Unknown = Literal["disable_thinking", "empty"]


@dataclass(frozen=True, slots=True)
class Thinking:
    """How a vendor's models think.

    ``switch`` names the body fields that stand for OpenAI's ``reasoning_effort`` (None: the model
    id decides, and the field is not sent). ``replay``: a follow-up whose earlier assistant
    tool-call turn lacks its ``reasoning_content`` is refused (400), so it must be sent back
    (banjia.reasoning). ``unknown``: what such a vendor gets when banjia does not know that
    reasoning (expired, or another gateway served the turn): thinking switched off for the turn,
    or an empty ``reasoning_content``. ``no_stream_off``: model-id prefixes that refuse a
    non-streaming call unless thinking is off.
    """

    switch: Switch | None = None
    replay: bool = False
    unknown: Unknown = "disable_thinking"
    no_stream_off: tuple[str, ...] = ()
    families: tuple[str, ...] = ()  # model-id prefixes that think; () = every model of the type


@dataclass(frozen=True, slots=True)
class Family:
    """A group of a vendor's models (by id prefix) and what they serve beyond the type's chat."""

    prefixes: tuple[str, ...]
    capabilities: frozenset[str]


Protocol = Literal["openai", "native", "local"]


@dataclass(frozen=True, slots=True)
class Descriptor:
    type: str
    title: str
    protocol: Protocol  # "openai": banjia.adaptors.vendors has its wire quirks
    credentials: tuple[str, ...]  # ProviderConfig fields that must be set
    key_env: tuple[str, ...]  # the variable for each credential (first: the embedded defaults')
    base_url: str  # default upstream; the config's base_url overrides it ("" = required)
    capabilities: frozenset[str]
    list_models: str | None  # path of GET model list, appended to the base URL; None: none
    families: tuple[Family, ...] = ()
    thinking: Thinking | None = None
    legacy: str | None = None  # the type that replaces this one
    # named alternative bases a config may choose by URL (TokenHub, workspace domains…)
    bases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # (model-id prefix, API version): those models are served on the base whose last segment is
    # that version instead (Spark X1: /v1 → /v2)
    model_versions: tuple[tuple[str, str], ...] = ()
    endpoint_ids: bool = False  # `endpoints: {model: endpoint id}` is accepted (optional)
    serves_catalog: bool = True  # the catalog's models for the type are served under its name
    aliases_env: tuple[str, ...] = ()  # further variables that hold the first credential
    quirks: tuple[str, ...] = ()  # what banjia does differently for this vendor, in words
    # Anthropic-format endpoints (type anthropic) on these hosts refuse an array ``system``: joined
    join_system_hosts: tuple[str, ...] = ()

    @property
    def base_url_required(self) -> bool:
        return not self.base_url and self.protocol != "local"

    @property
    def media(self) -> frozenset[str]:
        return self.capabilities & MEDIA_CAPABILITIES

    def serves(self, capability: str) -> bool:
        return capability in self.capabilities

    def base_for(self, base_url: str, model: str) -> str:
        """The base a request for ``model`` goes to, from the provider's base (``model_versions``)."""
        low = model.lower()
        for prefix, version in self.model_versions:
            head, _, last = base_url.rstrip("/").rpartition("/")
            if low.startswith(prefix) and head and last.startswith("v") and last[1:].isdigit():
                return f"{head}{version}"
        return base_url

    def thinking_off_unless_streamed(self, model: str) -> bool:
        """Whether a non-streaming call to ``model`` must turn thinking off (DashScope's Qwen3)."""
        t = self.thinking
        return t is not None and bool(t.no_stream_off) and model.lower().startswith(t.no_stream_off)


def descriptor(provider_type: str) -> Descriptor | None:
    return DESCRIPTORS.get(provider_type)


def thinking_for(provider_type: str) -> Thinking | None:
    d = DESCRIPTORS.get(provider_type)
    return d.thinking if d is not None else None


from banjia.vendors.table import DESCRIPTORS  # noqa: E402  (the entries use the types above)
