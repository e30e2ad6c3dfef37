"""A fake Alibaba DashScope native API (providers.md §2) on 127.0.0.1, for the ``dashscope-native`` adaptor.

It checks what the real service checks: the bearer key (``InvalidApiKey`` otherwise), messages inside
``input``, the parameter ranges, multimodal content only on the multimodal path; and it answers in
DashScope's shapes: ``output.choices[].message``, ``usage.input_tokens/output_tokens``, errors as
``{code, message, request_id}`` with a real HTTP status, and SSE events framed
``id:n`` / ``event:result`` / ``:HTTP_STATUS/200`` / ``data:{json}`` (no space) with no ``[DONE]``.
With ``incremental_output`` false every event repeats the text so far, as DashScope does.

The model id picks the behaviour: ``tools`` (a tool call when tools are given), ``filter-in`` (input
refused by moderation), ``filter-out`` (moderation stops the stream after two words), ``throttled``,
``arrears``, ``denied``, ``slow:<seconds>``; any other id echoes ``"echo: " + last user text``.
Tokens are words, so tests can assert exact counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-dashscope-fake-key"
TOOL_ARGS = '{"city": "Beijing", "unit": "c"}'
TOOL_PIECES = ('{"city": ', '"Beijing", ', '"unit": "c"}')


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "request_id": "fake-req-err"}, status=status)


def _text(content: Any) -> str:
    if isinstance(content, list):  # an image part is answered as "[image]"
        return " ".join("[image]" if "image" in p else str(p.get("text", ""))
                        for p in content if isinstance(p, dict) and ("text" in p or "image" in p))
    return str(content or "")


class FakeDashScope:
    def __init__(self) -> None:
        self.state = State()
        self.app = web.Application()
        self.app.router.add_post("/api/v1/services/aigc/text-generation/generation", self.text)
        self.app.router.add_post("/api/v1/services/aigc/multimodal-generation/generation", self.vision)
        self.app.router.add_post("/api/v1/services/embeddings/text-embedding/text-embedding", self.embeddings)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "InvalidApiKey", "Invalid API-key provided.")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "InvalidParameter", "Request body is not valid JSON")
        self.state.requests.append(Seen(request.path, dict(request.headers), body))
        return body  # type: ignore[no-any-return]

    # -- chat ---------------------------------------------------------------------------------
    async def text(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, vision=False)

    async def vision(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, vision=True)

    async def _chat(self, request: web.Request, *, vision: bool) -> web.StreamResponse:
        got = await self._admit(request)
        if isinstance(got, web.Response):
            return got
        body = got
        messages = (body.get("input") or {}).get("messages")
        if not messages:
            return _error(
                400,
                "InvalidParameter",
                'Either "prompt" or "messages" must exist and cannot both be none',
            )
        params = body.get("parameters") or {}
        refused = self._check_params(params, messages, vision)
        if refused is not None:
            return refused
        mode, _, arg = str(body.get("model", "")).partition(":")
        if mode == "filter-in":
            return _error(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        if mode == "throttled":
            return _error(
                429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )
        if mode == "arrears":
            return _error(
                400, "Arrearage", "Access denied, please make sure your account is in good standing."
            )
        if mode == "denied":
            return _error(403, "AccessDenied.Unpurchased", "Access to model denied.")
        if mode == "slow":
            await asyncio.sleep(float(arg or 2))
        stream = request.headers.get(
            "X-DashScope-SSE"
        ) == "enable" or "text/event-stream" in request.headers.get("Accept", "")
        words, finish = self._answer(messages, params)
        prompt = sum(len(_text(m.get("content")).split()) for m in messages)
        calls = mode == "tools" and bool(params.get("tools"))
        if stream:
            return await self._stream(
                request, params, words, finish, prompt, calls, filtered=mode == "filter-out"
            )
        if mode == "filter-out":
            return _error(400, "DataInspectionFailed", "Output data may contain inappropriate content.")
        if calls:
            message: dict[str, Any] = {"role": "assistant", "content": "", "tool_calls": [self._call(params)]}
            finish, completion = "tool_calls", 7
        else:
            text = " ".join(words)
            message = {"role": "assistant", "content": [{"text": text}] if vision else text}
            completion = len(words)
        return web.json_response(
            {
                "output": {"choices": [{"finish_reason": finish, "message": message}]},
                "usage": {
                    "input_tokens": prompt,
                    "output_tokens": completion,
                    "total_tokens": prompt + completion,
                },
                "request_id": "fake-req-1",
            }
        )

    def _check_params(
        self, params: dict[str, Any], messages: list[dict[str, Any]], vision: bool
    ) -> web.Response | None:
        t = params.get("temperature")
        if t is not None and not 0 <= t < 2:
            return _error(400, "InvalidParameter", "Range of temperature should be [0.0, 2.0)")
        p = params.get("top_p")
        if p is not None and not 0 < p <= 1:
            return _error(400, "InvalidParameter", "Range of top_p should be (0.0, 1.0]")
        for i, m in enumerate(messages):
            if m.get("role") == "system" and i != 0:
                return _error(400, "InvalidParameter", "The system message must be the first message")
            if isinstance(m.get("content"), list) and not vision:
                return _error(400, "InvalidParameter", "Input should be a valid string: content")
            if m.get("role") == "tool" and not (m.get("tool_call_id") or m.get("name")):
                return _error(400, "InvalidParameter", "A tool message needs its tool_call_id")
        return None

    @staticmethod
    def _answer(messages: list[dict[str, Any]], params: dict[str, Any]) -> tuple[list[str], str]:
        last = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        words = ["echo:", *last.split()]
        finish = "stop"
        for s in params.get("stop") or ():
            if s in words:
                words = words[: words.index(s)]
        limit = params.get("max_tokens")
        if limit and len(words) > limit:
            words, finish = words[:limit], "length"
        return words, finish

    @staticmethod
    def _call(params: dict[str, Any]) -> dict[str, Any]:
        name = params["tools"][0]["function"]["name"]
        return {
            "index": 0,
            "id": "call_ds1",
            "type": "function",
            "function": {"name": name, "arguments": TOOL_ARGS},
        }

    async def _stream(
        self,
        request: web.Request,
        params: dict[str, Any],
        words: list[str],
        finish: str,
        prompt: int,
        calls: bool,
        *,
        filtered: bool,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream;charset=UTF-8"})
        await resp.prepare(request)
        incremental = bool(params.get("incremental_output"))
        n = 0

        async def event(payload: dict[str, Any], kind: str = "result", status: int = 200) -> None:
            nonlocal n
            n += 1
            data = json.dumps(payload, ensure_ascii=False)
            await resp.write(f"id:{n}\nevent:{kind}\n:HTTP_STATUS/{status}\ndata:{data}\n\n".encode())

        def chunk(message: dict[str, Any], reason: str, completion: int) -> dict[str, Any]:
            return {
                "output": {"choices": [{"message": message, "finish_reason": reason}]},
                "usage": {
                    "input_tokens": prompt,
                    "output_tokens": completion,
                    "total_tokens": prompt + completion,
                },
                "request_id": "fake-req-2",
            }

        if calls:
            name = params["tools"][0]["function"]["name"]
            so_far = ""
            for i, piece in enumerate(TOOL_PIECES):
                so_far += piece
                call: dict[str, Any] = {"index": 0, "type": "function", "function": {}}
                call["id"] = "call_ds1" if i == 0 else ""
                if i == 0:
                    call["function"]["name"] = name
                call["function"]["arguments"] = piece if incremental else so_far
                msg = {"role": "assistant", "content": "", "tool_calls": [call]}
                await event(chunk(msg, "null", i + 1))
            await event(chunk({"role": "assistant", "content": ""}, "tool_calls", 7))
            await resp.write_eof()
            return resp
        text = ""
        for i, w in enumerate(words):
            piece = (" " if i else "") + w
            text += piece
            if filtered and i == 2:
                await event(
                    {
                        "code": "DataInspectionFailed",
                        "message": "Output data may contain inappropriate content.",
                        "request_id": "fake-req-2",
                    },
                    kind="error",
                    status=400,
                )
                await resp.write_eof()
                return resp
            msg = {"role": "assistant", "content": piece if incremental else text}
            await event(chunk(msg, "null", i + 1))
        last = {"role": "assistant", "content": "" if incremental else text}
        await event(chunk(last, finish, len(words)))
        await resp.write_eof()
        return resp

    # -- embeddings ---------------------------------------------------------------------------
    async def embeddings(self, request: web.Request) -> web.Response:
        got = await self._admit(request)
        if isinstance(got, web.Response):
            return got
        texts = (got.get("input") or {}).get("texts")
        if not texts:
            return _error(400, "InvalidParameter", "input.texts must be a non-empty list")
        dims = int((got.get("parameters") or {}).get("dimension") or 8)
        out = []
        for i, t in enumerate(texts):
            digest = hashlib.sha256(str(t).encode()).digest()
            raw = [(digest[j % 32] - 128) / 128 for j in range(dims)]
            norm = math.sqrt(sum(x * x for x in raw)) or 1.0
            out.append({"text_index": i, "embedding": [x / norm for x in raw]})
        out.reverse()  # the index is what counts
        tokens = sum(len(str(t).split()) for t in texts)
        return web.json_response(
            {"output": {"embeddings": out}, "usage": {"total_tokens": tokens}, "request_id": "fake-req-3"}
        )
