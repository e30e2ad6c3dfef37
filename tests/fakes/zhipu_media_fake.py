"""A fake Zhipu (BigModel) media API on 127.0.0.1 (base ``/api/paas/v4``), from its API reference:

* ``POST /images/generations`` ``{model, prompt, quality (standard | hd), size, user_id}`` →
  ``{created, data: [{url}], content_filter}``; one image per request, no ``n``.
  https://docs.bigmodel.cn/api-reference/模型-api/图像生成
* ``POST /rerank`` ``{model: "rerank", query, documents (at most 128), top_n, return_documents,
  return_raw_scores}`` → ``{created, id, request_id, results: [{index, relevance_score,
  document}], usage: {prompt_tokens, total_tokens}}``.
  https://docs.bigmodel.cn/api-reference/模型-api/文本重排序

Errors are ``{error: {code, message}}`` with Zhipu's codes (1000 auth, 1211 unknown model, 1214 bad
parameter, 1301 unsafe content). The prompt ``moderate me`` is refused with 1301.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.dashscope_media_fake import scores
from tests.fakes.media_files import PNG, Files

API_KEY = "zhipu-media-fake.secret"


@dataclass
class Seen:
    path: str
    body: dict[str, Any]


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class FakeZhipuMedia:
    def __init__(self) -> None:
        self.state = State()
        self.files = Files()
        self.app = web.Application()
        self.app.router.add_post("/api/paas/v4/images/generations", self.images)
        self.app.router.add_post("/api/paas/v4/rerank", self.rerank)
        self.files.route(self.app)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "1000", "身份验证失败。")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "1214", "JSON 格式错误")
        self.state.requests.append(Seen(request.path, body))
        return body  # type: ignore[no-any-return]

    async def images(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        if not str(body.get("model", "")).startswith("cogview"):
            return _error(400, "1211", "模型不存在,请检查模型代码。")
        for k in body:
            if k not in ("model", "prompt", "quality", "size", "user_id", "watermark_enabled"):
                return _error(400, "1214", f"{k} 参数非法")
        if body.get("quality", "standard") not in ("standard", "hd"):
            return _error(400, "1214", "quality 参数非法")
        if "moderate me" in str(body.get("prompt")):
            return _error(400, "1301", "系统检测到输入或生成内容可能包含不安全或敏感内容。")
        url = self.files.add(request, PNG, "png", "image/png")
        return web.json_response({"created": int(time.time()), "data": [{"url": url}],
                                  "content_filter": [{"role": "assistant", "level": 3}]})

    async def rerank(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        query, docs = body.get("query"), body.get("documents")
        if body.get("model") != "rerank":
            return _error(400, "1211", "模型不存在,请检查模型代码。")
        if not isinstance(query, str) or not isinstance(docs, list) or not 1 <= len(docs) <= 128:
            return _error(400, "1214", "documents 参数非法")
        top_n = body.get("top_n") or len(docs)
        ranked = sorted(enumerate(scores(query, docs)), key=lambda p: p[1], reverse=True)[:top_n]
        tokens = len(query.split()) + sum(len(d.split()) for d in docs)
        return web.json_response({
            "created": int(time.time()), "id": "rerank-fake", "request_id": "fake",
            "results": [{"index": i, "relevance_score": s, "document": docs[i]} for i, s in ranked],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })
