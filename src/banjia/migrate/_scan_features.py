"""The OpenAI features an API call relies on, and which banjia targets can serve them.

Scanners turn a call's literal arguments into plain values (:data:`Value`); anything that is not a
literal becomes :data:`UNKNOWN`, which counts as "maybe on" for switches like ``stream``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

from banjia.vendors import DESCRIPTORS

__all__ = [
    "CAPABILITIES",
    "FEATURES",
    "UNKNOWN",
    "Support",
    "Unknown",
    "Value",
    "body_features",
    "support_for",
    "url_feature",
]


class Unknown:
    """A value the scanner cannot know statically (a variable, a call)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()

Value: TypeAlias = "str | int | float | bool | dict[str, Value] | list[Value] | Unknown | None"
Support = Literal["supported", "unsupported", "unknown"]

# In the order reports list them.
FEATURES: tuple[str, ...] = (
    "streaming", "tools", "json_object", "json_schema", "n", "logprobs", "vision", "audio",
    "responses", "completions", "embeddings", "images", "moderations", "files", "assistants",
    "batch", "fine_tuning", "speech", "transcription", "rerank",
)

_TOOL_KEYS = ("tools", "tool_choice", "functions", "function_call", "parallel_tool_calls")
_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})

# Path fragments of raw HTTP URLs, most specific first.
_URL_FEATURES: tuple[tuple[str, str], ...] = (
    ("/chat/completions", ""), ("/completions", "completions"), ("/embeddings", "embeddings"),
    ("/responses", "responses"), ("/images/", "images"), ("/audio/speech", "speech"),
    ("/audio/transcriptions", "transcription"), ("/audio/", "audio"), ("/rerank", "rerank"),
    ("/moderations", "moderations"), ("/files", "files"), ("/batches", "batch"),
    ("/fine_tuning/", "fine_tuning"), ("/fine-tunes", "fine_tuning"),
    ("/assistants", "assistants"), ("/threads", "assistants"),
)


def url_feature(url: str) -> str:
    """The feature an endpoint URL implies ("" for chat and anything unrecognised)."""
    path = url.split("?", 1)[0]
    for fragment, feature in _URL_FEATURES:
        if fragment in path:
            return feature
    return ""


def _truthy(v: Value) -> bool:
    return v is UNKNOWN or (v is not None and v is not False and v != 0)


def _has_image_part(v: Value) -> bool:
    if isinstance(v, dict):
        if v.get("type") in _IMAGE_PARTS or "image_url" in v:
            return True
        return any(_has_image_part(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_image_part(x) for x in v)
    return False


def _format_feature(fmt: Value) -> str | None:
    if isinstance(fmt, dict):
        kind = fmt.get("type")
        if kind in ("json_schema", "json_object"):
            return str(kind)
        return None
    if fmt is None:
        return None
    # a class handed to `.parse(...)`, or a variable holding one
    return "json_schema"


def body_features(body: Mapping[str, Value], implied: Iterable[str] = ()) -> tuple[str, ...]:
    """Features of a request body (keyword arguments or a JSON object), in :data:`FEATURES` order."""
    found = {f for f in implied if f}
    if _truthy(body.get("stream", False)):
        found.add("streaming")
    if any(body.get(k) is not None for k in _TOOL_KEYS):
        found.add("tools")
    fmt = _format_feature(body.get("response_format"))
    if fmt:
        found.add(fmt)
    text = body.get("text")
    if isinstance(text, dict) and (fmt := _format_feature(text.get("format"))):
        found.add(fmt)
    if body.get("text_format") is not None:
        found.add("json_schema")
    n = body.get("n")
    if n is UNKNOWN or (isinstance(n, int) and not isinstance(n, bool) and n > 1):
        found.add("n")
    if _truthy(body.get("logprobs", False)) or body.get("top_logprobs") is not None:
        found.add("logprobs")
    if "images" not in found and any(_has_image_part(v) for v in body.values()):
        found.add("vision")
    modalities = body.get("modalities")
    if body.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        found.add("audio")
    return tuple(f for f in FEATURES if f in found)


# What each banjia provider type can serve: its descriptor's capabilities (banjia.vendors.table),
# what one of its models serves: its model family's (Descriptor.model_capabilities).
# The gateway itself answers chat completions, completions (over chat where the vendor lacks them),
# embeddings, models and responses; files, moderations, assistants, batches and fine-tuning are
# unsupported whatever the target, and "audio" (chat audio, translations) is served by none.
CAPABILITIES: Mapping[str, frozenset[str]] = MappingProxyType({
    t: d.capabilities & frozenset(FEATURES) for t, d in DESCRIPTORS.items()
})


def support_for(target: str, features: Iterable[str], model: str | None = None) -> dict[str, Support]:
    """Whether ``target`` (a banjia provider type) serves each feature; with ``model`` (one of the
    type's upstream models, e.g. the preset a call's OpenAI model maps to), whether that model
    does, by its family in the descriptor (a model no family names: whatever the type serves)."""
    caps = CAPABILITIES.get(target)
    d = DESCRIPTORS.get(target)
    if caps is not None and d is not None and model:
        caps = d.model_capabilities(model) & frozenset(FEATURES)
    result: dict[str, Support] = {}
    for f in features:
        if caps is None:
            result[f] = "unknown"
        else:
            result[f] = "supported" if f in caps else "unsupported"
    return result
