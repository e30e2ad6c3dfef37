"""A deliberately limited "OpenAI-compatible" endpoint, the kind ``banjia check`` must see through.

What it gets wrong, on purpose (one behaviour per feature, so each probe's verdict is predictable):

- streaming works, but ``stream_options.include_usage`` is ignored (no usage chunk);
- tools, ``n > 1``, the developer role, image parts and temperature above 1 are refused with a
  clear 400 and an OpenAI error envelope (→ unsupported);
- ``json_schema`` answers 500; ``json_object`` is silently ignored (plain text comes back);
- ``logprobs`` gets a 400 with a plain-text body (no envelope);
- ``seed`` trips a "rate limiter": 429 without ``retry-after``;
- ``max_completion_tokens`` is ignored (``max_tokens`` works), ``stop`` works;
- non-streaming answers lack ``created`` (only the SDK's strict mode notices);
- a bad key gets 401 with ``{"message": …}`` (no ``error`` envelope); an unknown model gets 500;
- no ``/embeddings``, ``/responses``, ``/completions`` or ``/models/{id}`` routes (404).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

API_KEY = "sk-limited"
MODEL = "limited-1"


def _envelope(status: int, message: str, code: str | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
        status=status,
    )


def _answer(body: dict[str, Any]) -> list[str]:
    text = ""
    for m in body.get("messages") or []:
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            text = m["content"]
    words = ["echo:", *text.split()]
    for s in body.get("stop") or []:
        joined = " ".join(words)
        if s in joined:
            words = joined[: joined.index(s)].split()
    if body.get("max_tokens"):
        words = words[: int(body["max_tokens"])]
    return words


def _has_image(body: dict[str, Any]) -> bool:
    for m in body.get("messages") or []:
        c = m.get("content")
        if isinstance(c, list) and any(p.get("type") == "image_url" for p in c if isinstance(p, dict)):
            return True
    return False


class LimitedEndpoint:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/v1/models", self.models)
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.requests: list[dict[str, Any]] = []

    def _denied(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"message": "unauthorized"}, status=401)
        return None

    async def models(self, request: web.Request) -> web.Response:
        denied = self._denied(request)
        if denied:
            return denied
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "limited"}],
            }
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        denied = self._denied(request)
        if denied:
            return denied
        body = await request.json()
        self.requests.append(body)
        refused = self._refuse(body)
        if refused is not None:
            return refused
        words = _answer(body)
        if body.get("stream"):
            return await self._stream(request, body, words)
        prompt = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        return web.json_response(
            {
                "id": "chatcmpl-limited",
                "object": "chat.completion",  # no "created": the SDK's strict types refuse that
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(words)},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(words),
                    "total_tokens": prompt + len(words),
                },
            }
        )

    def _refuse(self, body: dict[str, Any]) -> web.Response | None:
        if body.get("model") != MODEL:
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if body.get("tools"):
            return _envelope(400, "tools are not supported by this model", "unsupported_parameter")
        if (body.get("n") or 1) > 1:
            return _envelope(400, "n > 1 is not supported", "unsupported_parameter")
        if any(m.get("role") == "developer" for m in body.get("messages") or []):
            return _envelope(400, "unknown role: developer", "invalid_value")
        if _has_image(body):
            return _envelope(400, "image input is not supported", "unsupported_parameter")
        if (body.get("temperature") or 0) > 1:
            return _envelope(400, "temperature must be within [0, 1]", "invalid_value")
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_schema":
            return web.json_response(
                {"error": {"message": "server error", "type": "server_error"}}, status=500
            )
        if body.get("logprobs"):
            return web.Response(status=400, text="bad request")
        if body.get("seed") is not None:
            return _envelope(429, "too many requests", "rate_limit_exceeded")
        return None

    async def _stream(
        self, request: web.Request, body: dict[str, Any], words: list[str]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            chunk = {
                "id": "chatcmpl-limited",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        await send({"role": "assistant", "content": ""})
        for i, w in enumerate(words):
            await send({"content": (" " if i else "") + w})
        await send({}, "stop")
        await resp.write(b"data: [DONE]\n\n")
        return resp
