"""Zhipu (BigModel) media: CogView images and rerank, with the chat adaptor's keys (``auth: bearer``
or ``auth: jwt``) and error codes.

* Images: ``POST /images/generations`` ``{model, prompt, quality (standard|hd, cogview-4-250304
  only), size, user_id}`` answers ``{created, data: [{url}], content_filter}``; one image per
  request. https://docs.bigmodel.cn/api-reference/模型-api/图像生成
* Rerank: ``POST /rerank`` ``{model: "rerank", query, documents (at most 128), top_n,
  return_documents}`` answers ``{results: [{index, relevance_score, document}], usage:
  {prompt_tokens, total_tokens}}``. https://docs.bigmodel.cn/api-reference/模型-api/文本重排序
Errors are ``{error: {code, message}}`` with Zhipu's numeric codes as strings.
"""

from __future__ import annotations

import time
from types import MappingProxyType

from banjia.adaptors.base import UpstreamRequest
from banjia.adaptors.media.openai_style import OpenAIMedia
from banjia.adaptors.vendors import VENDORS
from banjia.adaptors.zhipu import sign_token
from banjia.protocol.media import ImageRequest, RerankRequest

__all__ = ["ZhipuMedia"]

MAX_DOCUMENTS = 128


class ZhipuMedia(OpenAIMedia):
    error_table = MappingProxyType(dict(VENDORS["zhipu"].error_table))

    def __init__(self, provider: str, *, base_url: str, api_key: str | None, jwt: bool = False) -> None:
        super().__init__(provider, base_url=base_url, api_key=api_key)
        self.jwt = jwt

    def headers(self) -> dict[str, str]:
        h = super().headers()
        if self.jwt and "." in self.api_key:
            h["Authorization"] = f"Bearer {sign_token(self.api_key, time.time())}"
        return h

    def image_batch(self, model: str) -> int:
        return 1

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        body: dict[str, object] = {"model": model, "prompt": req.prompt}
        dims = req.dimensions()
        if dims is not None:
            body["size"] = f"{dims[0]}x{dims[1]}"
        if req.quality in ("hd", "high"):
            body["quality"] = "hd"
        elif req.quality in ("standard", "medium", "low"):
            body["quality"] = "standard"
        if req.user and 6 <= len(req.user) <= 128:
            body["user_id"] = req.user
        return self.json_request(self.images_path, body)

    def rerank_request(self, req: RerankRequest, model: str) -> UpstreamRequest:
        if len(req.documents) > MAX_DOCUMENTS:
            raise self.unsupported(f"rerank takes at most {MAX_DOCUMENTS} documents per request",
                                   param="documents")
        return super().rerank_request(req, model)
