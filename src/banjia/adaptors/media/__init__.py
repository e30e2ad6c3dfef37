"""Which provider types serve which media endpoint, as data: one :class:`MediaVendor` per type.

A type listed here serves the endpoints its descriptor (:mod:`banjia.vendors.table`) advertises,
with the adaptor ``build`` makes, on its provider's base URL (the config's ``base_url``, else the
type's default); a type not listed serves none of them, and a route through it moves on to the
next entry. ``presets`` names the vendor model that stands in for OpenAI's media model names
(``dall-e-3``, ``tts-1``, ``whisper-1``…) when the config's ``models:`` does not name them.

Which models serve which endpoint is the descriptor's too (its model families,
:mod:`banjia.vendors.families`): OpenAI's media model names are its ``openai`` families', and the
media flow skips an entry whose model's family does not serve the endpoint. The models' prices are
the catalog's (``catalog/models.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from banjia.adaptors.media.base import ENDPOINTS, MediaAdaptor, Task
from banjia.vendors import DESCRIPTORS

if TYPE_CHECKING:
    from banjia.config import ProviderConfig

__all__ = ["ENDPOINTS", "MEDIA", "OPENAI_MEDIA_NAMES", "MediaAdaptor", "MediaVendor", "Task",
           "media_adaptor", "openai_media_endpoint"]

Build = Callable[[str, "ProviderConfig", str], MediaAdaptor]  # (provider name, its config, base URL)


@dataclass(frozen=True, slots=True)
class MediaVendor:
    serves: frozenset[str]  # keys of ENDPOINTS
    build: Build
    presets: Mapping[str, str] = field(default_factory=dict)  # endpoint → model for OpenAI's names


def _dashscope(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.dashscope import DashScopeMedia, native_base

    return DashScopeMedia(name, base_url=native_base(base), api_key=cfg.api_key)


def _siliconflow(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.siliconflow import SiliconFlowMedia

    return SiliconFlowMedia(name, base_url=base, api_key=cfg.api_key)


def _zhipu(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.zhipu import ZhipuMedia

    return ZhipuMedia(name, base_url=base, api_key=cfg.api_key, jwt=cfg.auth == "jwt")


def _ark(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.ark import ArkMedia

    return ArkMedia(name, base_url=base, api_key=cfg.api_key, endpoints=cfg.endpoints)


def _minimax(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.minimax import MiniMaxMedia

    # minimax-pro's base is the host; the OpenAI-dialect type's ends in /v1
    root = base if base.rstrip("/").endswith("/v1") else base.rstrip("/") + "/v1"
    return MiniMaxMedia(name, base_url=root, api_key=cfg.api_key, group_id=cfg.group_id)


def _openai(name: str, cfg: ProviderConfig, base: str) -> MediaAdaptor:
    from banjia.adaptors.media.openai_style import OpenAIMedia

    return OpenAIMedia(name, base_url=base, api_key=cfg.api_key)


# descriptor capability → media endpoint
_ENDPOINT_OF = {"images": "images", "speech": "speech", "transcription": "transcriptions", "rerank": "rerank"}


def _vendor(provider_type: str, build: Build, presets: Mapping[str, str] | None = None) -> MediaVendor:
    """The type's media entry: what it serves is its descriptor's (banjia.vendors.table)."""
    caps = DESCRIPTORS[provider_type].media
    serves = frozenset(e for cap, e in _ENDPOINT_OF.items() if cap in caps)
    return MediaVendor(serves, build, MappingProxyType(dict(presets or {})))


_DASHSCOPE_PRESETS = {
    "images": "wanx2.1-t2i-turbo",
    "speech": "cosyvoice-v2",
    "transcriptions": "qwen3-asr-flash",
    "rerank": "gte-rerank-v2",
}
_MINIMAX_PRESETS = {"speech": "speech-02-turbo"}

MEDIA: Mapping[str, MediaVendor] = MappingProxyType({
    "dashscope": _vendor("dashscope", _dashscope, _DASHSCOPE_PRESETS),
    "dashscope-native": _vendor("dashscope-native", _dashscope, _DASHSCOPE_PRESETS),
    "siliconflow": _vendor("siliconflow", _siliconflow, {
        "images": "Kwai-Kolors/Kolors",
        "speech": "FunAudioLLM/CosyVoice2-0.5B",
        "transcriptions": "FunAudioLLM/SenseVoiceSmall",
        "rerank": "BAAI/bge-reranker-v2-m3",
    }),
    "zhipu": _vendor("zhipu", _zhipu, {"images": "cogview-4-250304", "rerank": "rerank"}),
    "ark": _vendor("ark", _ark, {"images": "doubao-seedream-3-0-t2i-250415"}),
    "minimax": _vendor("minimax", _minimax, _MINIMAX_PRESETS),
    "minimax-pro": _vendor("minimax-pro", _minimax, _MINIMAX_PRESETS),
    # any OpenAI-compatible server: it serves what it serves, and names no preset
    "openai": _vendor("openai", _openai),
})


def _openai_names(capability: str) -> tuple[str, ...]:
    """OpenAI's model names for a media capability: the prefixes of the ``openai`` descriptor's
    families that serve it (banjia.vendors.families.OPENAI)."""
    return tuple(p for f in DESCRIPTORS["openai"].families if capability in f.capabilities
                 for p in f.prefixes)


# OpenAI's media model names, by endpoint (dated snapshots share their family's prefix)
OPENAI_MEDIA_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    endpoint: _openai_names(cap) for cap, endpoint in _ENDPOINT_OF.items()
})


def openai_media_endpoint(model: str) -> str | None:
    """The endpoint an OpenAI media model name belongs to (``gpt-4o-mini-tts-2025-03-20`` →
    speech), or None."""
    name = model.lower()
    for endpoint, names in OPENAI_MEDIA_NAMES.items():
        if any(name == n or name.startswith(n + "-") for n in names):
            return endpoint
    return None


def media_adaptor(name: str, cfg: ProviderConfig, endpoint: str) -> MediaAdaptor | None:
    """The adaptor provider ``name`` (config ``cfg``) serves ``endpoint`` with, or None."""
    vendor = MEDIA.get(cfg.type)
    if vendor is None or endpoint not in vendor.serves:
        return None
    from banjia.adaptors import registry

    spec = registry().get(cfg.type)
    base = cfg.base_url or (spec.base_url if spec is not None else "")
    if not base:
        return None
    return vendor.build(name, cfg, base.rstrip("/"))
