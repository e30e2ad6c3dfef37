"""Volcengine Ark (Doubao) media: Seedream images.

``POST /images/generations`` ``{model, prompt, size (WxH, or "2K" on Seedream 4), response_format
(url | b64_json), seed, guidance_scale, watermark}`` answers ``{model, created, data: [{url |
b64_json}], usage: {generated_images, output_tokens, total_tokens}}``; one image per request
(without ``sequential_image_generation``). ``watermark`` defaults to true at Ark: banjia sends false
unless the client asks for one, as OpenAI's images carry none. A model name may map to an endpoint
id (the provider's ``endpoints:``), as for chat. Errors are OpenAI-shaped ``{error: {code,
message, type}}`` with Ark's codes (``InputTextSensitiveContentDetected``…).
https://www.volcengine.com/docs/82379/1541523
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from banjia.adaptors.base import UpstreamRequest
from banjia.adaptors.media.openai_style import OpenAIMedia
from banjia.adaptors.vendors import VENDORS
from banjia.protocol.media import ImageRequest

__all__ = ["ArkMedia"]

_IMAGE_PARAMS = ("seed", "guidance_scale", "watermark")


class ArkMedia(OpenAIMedia):
    error_table = MappingProxyType(dict(VENDORS["ark"].error_table))

    def __init__(self, provider: str, *, base_url: str, api_key: str | None,
                 endpoints: Mapping[str, str] | None = None) -> None:
        super().__init__(provider, base_url=base_url, api_key=api_key)
        self.endpoints = dict(endpoints or {})

    def image_batch(self, model: str) -> int:
        return 1

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        body: dict[str, Any] = {"model": self.endpoints.get(model, model), "prompt": req.prompt,
                                "response_format": req.response_format or "url", "watermark": False}
        dims = req.dimensions()
        if dims is not None:
            body["size"] = f"{dims[0]}x{dims[1]}"
        extras = req.extras()
        for k in _IMAGE_PARAMS:
            if extras.get(k) is not None:
                body[k] = extras[k]
        return self.json_request(self.images_path, body)
