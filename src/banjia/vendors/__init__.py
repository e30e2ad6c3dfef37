"""One descriptor per provider type: the single source of a vendor's facts.

A :class:`Descriptor` holds what the rest of banjia asks about a vendor: its credential fields and
their environment variables, its default base URL (and named alternatives such as Tencent's
TokenHub), what it can serve (:data:`CAPABILITIES` names) and, per model family, what each of
its models serves, its thinking switch and whether earlier reasoning must be sent back, how to
list its models, whether it is a legacy protocol, and its quirks in words. The entries are in
:mod:`banjia.vendors.table`.

Who reads it: the provider types (:mod:`banjia.adaptors`: each ``ProviderSpec`` takes its
credentials and base URL from here), the config check (:mod:`banjia.settings`), the presets
(:mod:`banjia.routing.presets`), ``banjia providers``, scan's feature table
(:mod:`banjia.migrate._scan_features`), the media table (:mod:`banjia.adaptors.media`) and the
OpenAI-dialect adaptor's thinking rules; the gateway's image refusal and the media flow's model
skip ask :func:`known_without` (a model's family, never the catalog's per-model list). The wire
quirks of the OpenAI-dialect vendors (clamps, renames, error tables) stay beside the adaptor that
applies them (:mod:`banjia.adaptors.vendors`);
the per-model facts (context windows, prices, retirements) are the catalog's, and a test holds the
catalog's per-model capabilities to the families here (tests/catalog/test_families.py).

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
    "Carrier",
    "Descriptor",
    "Family",
    "Thinking",
    "Unknown",
    "descriptor",
    "thinking_for",
]

# What a provider type may serve. Chat features use scan's names (banjia.migrate._scan_features);
# "chat" is chat completions itself, "speech" and "transcription" are the audio endpoints.
CAPABILITIES: tuple[str, ...] = (
    "chat", "streaming", "completions", "responses", "tools", "json_object", "json_schema", "n",
    "logprobs", "vision", "embeddings", "rerank", "images", "speech", "transcription", "batch",
)
MEDIA_CAPABILITIES = frozenset({"images", "speech", "transcription", "rerank"})
# What a model serves by its family; a family that chats also has the type's CHAT_FEATURES, which
# the adaptor or the gateway provide for any chat model of the type (the wire, not the model).
MODEL_CAPABILITIES = frozenset({"chat", "tools", "vision", "embeddings"}) | MEDIA_CAPABILITIES
CHAT_FEATURES = frozenset({"streaming", "completions", "responses", "json_object", "json_schema", "n",
                           "logprobs"})

# the body fields for reasoning_effort (banjia.adaptors._shared.THINKING_SWITCHES): OpenAI's own,
# DeepSeek's thinking + effort, DashScope's enable_thinking (off when not streaming),
# thinking: {type} (Zhipu, Moonshot, Ark), enable_thinking streamed or not (SiliconFlow)
Switch = Literal["openai", "deepseek", "dashscope", "thinking_type", "enable_thinking"]
# what a replay vendor gets for a tool-call turn whose reasoning banjia does not know: thinking
# switched off for that turn, an empty ``reasoning_content``, or the turn as it is (the vendor
# accepts it and only loses that chain of thought: MiniMax)
Unknown = Literal["disable_thinking", "empty", "omit"]
# where a vendor carries reasoning, in answers, stream deltas and the history it wants back:
# DeepSeek's ``reasoning_content`` string, or MiniMax's ``reasoning_details`` list of text parts
Carrier = Literal["reasoning_content", "reasoning_details"]


@dataclass(frozen=True, slots=True)
class Thinking:
    """How a vendor's models think.

    ``switch`` names the body fields that stand for OpenAI's ``reasoning_effort`` (None: the model
    id decides, and the field is not sent). ``replay``: an earlier assistant tool-call turn must
    come back with its reasoning, or the vendor refuses the follow-up (400: DeepSeek, Kimi, GLM) or
    loses its chain of thought (MiniMax); banjia puts it back (banjia.reasoning). ``unknown``: what
    such a vendor gets when banjia does not know that reasoning (expired, or another gateway served
    the turn); ``unknown_by_family``: (model-id prefix, policy) pairs for the families whose own
    rule differs from the type's, the first match winning. ``carrier``: the wire field of the
    reasoning; answers reach clients with ``reasoning_content`` whatever it is. ``ask``: body fields
    sent to the thinking ``families`` on every chat request unless the client set them itself
    (MiniMax's ``reasoning_split``). ``no_stream_off``: model-id prefixes that refuse a
    non-streaming call unless thinking is off.
    """

    switch: Switch | None = None
    replay: bool = False
    unknown: Unknown = "disable_thinking"
    unknown_by_family: tuple[tuple[str, Unknown], ...] = ()
    no_stream_off: tuple[str, ...] = ()
    families: tuple[str, ...] = ()  # model-id prefixes that think; () = every model of the type
    carrier: Carrier = "reasoning_content"
    ask: tuple[tuple[str, bool | str], ...] = ()

    def thinks(self, model: str) -> bool:
        """Whether ``model`` is one of the thinking families (any model when none are named)."""
        return not self.families or model.lower().startswith(self.families)

    def family_unknown(self, model: str) -> Unknown | None:
        """``model``'s family policy for an unknown reasoning, or None when the type's applies."""
        low = model.lower()
        return next((policy for prefix, policy in self.unknown_by_family if low.startswith(prefix)), None)


@dataclass(frozen=True, slots=True)
class Family:
    """A group of a vendor's models, by model-id prefix, and what each of them serves.

    ``capabilities`` are :data:`MODEL_CAPABILITIES` names; a family with ``chat`` also has its
    type's :data:`CHAT_FEATURES`. Prefixes are written in lower case and compared with the
    lower-cased id; the longest prefix that matches decides, so ``qwen-vl`` (vision) wins over
    ``qwen-`` and ``doubao-seedream`` (images) over ``doubao-seed``.
    """

    name: str
    prefixes: tuple[str, ...]
    capabilities: frozenset[str]

    def match(self, model: str) -> int:
        """The length of the longest prefix that starts the lower-cased ``model``, or -1."""
        return max((len(p) for p in self.prefixes if model.startswith(p)), default=-1)


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
    # what each model serves, by family; a model no family names may serve all of ``capabilities``
    families: tuple[Family, ...] = ()
    thinking: Thinking | None = None
    legacy: str | None = None  # the type that replaces this one
    # named alternative bases a config may choose by URL (TokenHub, workspace domains…)
    bases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # (model-id prefix, API version): those models are served on the base whose last segment is
    # that version instead (Spark X1: /v1 → /v2)
    model_versions: tuple[tuple[str, str], ...] = ()
    endpoint_ids: bool = False  # `endpoints: {model: endpoint id}` is accepted (optional)
    token_input: bool = False  # /embeddings takes token-id arrays as input (else: text is sent)
    serves_catalog: bool = True  # the catalog's models for the type are served under its name
    aliases_env: tuple[str, ...] = ()  # further variables that hold the first credential
    quirks: tuple[str, ...] = ()  # what banjia does differently for this vendor, in words
    # Anthropic-format endpoints (type anthropic) on these hosts refuse an array ``system``: joined
    join_system_hosts: tuple[str, ...] = ()
    # ... and on these hosts refuse a forced tool_choice (any, tool) while thinking: thinking goes
    no_forced_tool_thinking_hosts: tuple[str, ...] = ()

    @property
    def base_url_required(self) -> bool:
        return not self.base_url and self.protocol != "local"

    @property
    def media(self) -> frozenset[str]:
        return self.capabilities & MEDIA_CAPABILITIES

    def serves(self, capability: str) -> bool:
        return capability in self.capabilities

    def family(self, model: str) -> Family | None:
        """The family ``model`` belongs to (its longest matching prefix), or None."""
        low = model.lower()
        best, length = None, -1
        for f in self.families:
            n = f.match(low)
            if n > length:
                best, length = f, n
        return best

    def model_capabilities(self, model: str) -> frozenset[str]:
        """What ``model`` serves through this type: its family's capabilities (with the type's chat
        features when it chats, and whatever else the type serves that is no model's fact, such
        as an account-wide API), within the type's; for a model no family names, the type's
        defaults: everything the type serves (the upstream decides)."""
        f = self.family(model)
        if f is None:
            return self.capabilities
        caps = f.capabilities | (CHAT_FEATURES if "chat" in f.capabilities else frozenset())
        return (caps | (self.capabilities - MODEL_CAPABILITIES - CHAT_FEATURES)) & self.capabilities

    def known_without(self, model: str, capability: str) -> bool:
        """Whether ``model`` is known not to serve ``capability``: a family names it and does not
        serve it here. A model no family names is given the benefit of the doubt."""
        return self.family(model) is not None and capability not in self.model_capabilities(model)

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


def model_capabilities(provider_type: str, model: str) -> frozenset[str] | None:
    """What ``model`` serves through ``provider_type`` (see :meth:`Descriptor.model_capabilities`);
    None for a type without a descriptor."""
    d = DESCRIPTORS.get(provider_type)
    return d.model_capabilities(model) if d is not None else None


def known_without(provider_type: str, model: str, capability: str) -> bool:
    """Whether the type's descriptor knows ``model`` (by its family) and knows it does not serve
    ``capability`` through the type. The media flow skips such an entry (a model listed only for
    speech is not asked for an image)."""
    d = DESCRIPTORS.get(provider_type)
    return d is not None and d.known_without(model, capability)


def refuses_images(provider_type: str, model: str) -> bool:
    """Whether ``model`` is known to read text only through ``provider_type``: an image sent to it
    would be lost, so the gateway refuses it (or moves on to the next entry). A model no family
    names is forwarded as it is: the upstream decides."""
    return known_without(provider_type, model, "vision")


def thinking_for(provider_type: str) -> Thinking | None:
    d = DESCRIPTORS.get(provider_type)
    return d.thinking if d is not None else None


from banjia.vendors.table import DESCRIPTORS  # noqa: E402  (the entries use the types above)
