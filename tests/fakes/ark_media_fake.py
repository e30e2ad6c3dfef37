"""A fake Volcengine Ark Seedream API on 127.0.0.1 (base ``/api/v3``), from its API reference
(https://www.volcengine.com/docs/82379/1541523):

``POST /images/generations`` ``{model, prompt, size ("WxH"), response_format (url | b64_json),
seed, guidance_scale, watermark}`` → ``{model, created, data: [{url} | {b64_json}], usage:
{generated_images, output_tokens, total_tokens}}``; one image per request. Errors are ``{error:
{code, message, type}}`` (``AuthenticationError`` 401, ``InvalidParameter`` 400,
``InputTextSensitiveContentDetected`` 400 — the fake refuses the prompt ``moderate me`` with it).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.media_files import PNG, Files

API_KEY = "ark-media-fake-key"


@dataclass
class State:
    requests: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "param": "", "type": "BadRequest"}},
                             status=status)


class FakeArkMedia:
    def __init__(self) -> None:
        self.state = State()
        self.files = Files()
        self.app = web.Application()
        self.app.router.add_post("/api/v3/images/generations", self.images)
        self.files.route(self.app)

    async def images(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "AuthenticationError", "The API key in the request is missing or invalid.")
        try:
            body: dict[str, Any] = await request.json()
        except json.JSONDecodeError:
            return _error(400, "InvalidParameter", "invalid json")
        self.state.requests.append(body)
        if "seedream" not in str(body.get("model", "")):
            return _error(404, "InvalidEndpointOrModel.NotFound", "The model or endpoint does not exist.")
        if "n" in body:
            return _error(400, "InvalidParameter", "The parameter `n` specified in the request is not valid")
        if "moderate me" in str(body.get("prompt")):
            return _error(400, "InputTextSensitiveContentDetected",
                          "The request failed because the input text may contain sensitive information.")
        fmt = body.get("response_format", "url")
        if fmt == "b64_json":
            item = {"b64_json": base64.b64encode(PNG).decode()}
        elif fmt == "url":
            item = {"url": self.files.add(request, PNG, "jpeg", "image/jpeg")}
        else:
            return _error(400, "InvalidParameter", "response_format should be url or b64_json")
        return web.json_response({"model": body["model"], "created": int(time.time()), "data": [item],
                                  "usage": {"generated_images": 1, "output_tokens": 4096,
                                            "total_tokens": 4096}})
