"""A fake of OpenAI's ``POST /v1/images/generations`` (https://platform.openai.com/docs/api-reference/images/create),
for the ``openai`` type's images: the media fakes of the vendors each keep their own body rules.

It checks the bearer key and the body's fields (``prompt`` required, ``n`` in [1, 10],
``response_format`` url or b64_json) and answers ``n`` tiny PNGs as ``b64_json``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.media_files import PNG

API_KEY = "sk-openai-images-fake"
_FIELDS = {"model", "prompt", "n", "size", "quality", "style", "response_format", "user", "background",
           "moderation", "output_format", "output_compression"}


def _error(status: int, message: str, param: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
        status=status)


class FakeOpenAIImages:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/images/generations", self.images)

    async def images(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.")
        try:
            body: dict[str, Any] = await request.json()
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.")
        self.requests.append(body)
        unknown = set(body) - _FIELDS
        if unknown:
            return _error(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        if not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return _error(400, "Missing required parameter: 'prompt'.", "prompt")
        n = body.get("n", 1)
        if not isinstance(n, int) or not 1 <= n <= 10:
            return _error(400, f"Invalid 'n': {n}; expected an integer in [1, 10].", "n")
        if body.get("response_format", "url") not in ("url", "b64_json"):
            return _error(400, "Invalid 'response_format'.", "response_format")
        item = {"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": body["prompt"]}
        return web.json_response({"created": int(time.time()), "data": [item] * n})
