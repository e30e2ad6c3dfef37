"""A fake Zhipu GLM v4 API (providers.md §5) on 127.0.0.1, for the ``zhipu`` adaptor in both auth modes.

``Authorization`` may carry the ``<id>.<secret>`` key itself, or an HS256 JWT signed with the secret
(``Bearer`` optional, as Zhipu accepts both). A JWT is checked exactly: three base64url parts; a
header with ``alg: HS256`` and ``sign_type: SIGN``; claims ``api_key`` (a known id), ``exp`` and
``timestamp`` in **milliseconds**; an HMAC-SHA256 signature made with that id's secret; not
expired. Failures answer HTTP 401 with Zhipu's envelope ``{"error": {"code": "100x", "message"}}``:
1000 authentication failed, 1001 no Authorization header, 1002 malformed token, 1003 expired,
1004 signature rejected.

Chat answers in OpenAI's shapes (v4 is OpenAI-compatible); streams put usage on the finishing
chunk and end with ``[DONE]``. The model id picks the behaviour: ``tools``, ``sensitive`` and
``network_error`` (those finish reasons), ``filter`` (1301), ``arrears`` (1113), ``busy`` (1302),
``slow:<s>``; otherwise ``"echo: " + last user text``. Parameters outside Zhipu's ranges
(temperature [0, 1], top_p (0, 1)) are refused with 1214. Tokens are words.

``glm-5`` thinks as GLM-5 / GLM-4.7 do (https://docs.bigmodel.cn/cn/guide/capabilities/thinking-mode):
thinking on unless ``thinking: {"type": "disabled"}``; answers carry ``reasoning_content`` (stream
deltas too); with tools, a request whose last message is not a tool result gets a tool call (a
fresh id each time), else ``"sunny: " + tool result``. Interleaved thinking needs each earlier
tool-call turn's reasoning back, unmodified: while thinking, a history without it is refused with
400 / 1214, the refusal banjia's descriptor assumes (Zhipu's docs say "must", not which error).
``thinking.clear_thinking`` is recorded, not acted on.

``/api/paas/v3/model-api/<model>/invoke`` answers the old v1 SDK (``zhipuai`` 1.x, which only
speaks v3) so its token can be checked by the same verifier.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.openai_fake import reasoning_dropped

KEY_ID = "fakeid0123456789"
KEY_SECRET = "fakesecretAbCdEf0123456789xyzABCDEF"
API_KEY = f"{KEY_ID}.{KEY_SECRET}"
KEYS = {KEY_ID: KEY_SECRET}
TOOL_ARGS = '{"city": "Beijing", "unit": "c"}'


@dataclass
class Seen:
    path: str
    authorization: str
    body: dict[str, Any]
    claims: dict[str, Any] | None  # the verified JWT claims, None for a plain key


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)
    tokens_seen: set[str] = field(default_factory=set)
    # the glm-5 mode: tool call id → the reasoning served with it, and how many answers it gave
    reasoning: dict[str, str] = field(default_factory=dict)
    thought: int = 0


def zhipu_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": str(code), "message": message}}, status=status)


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(authorization: str | None, now_ms: int | None = None) -> tuple[int, str] | dict[str, Any] | None:
    """(code, message) for a refused header; the claims of a valid JWT; None for a valid plain key."""
    if not authorization:
        return 1001, "Header中未收到Authorization参数，无法进行身份验证。"
    token = authorization.removeprefix("Bearer ").strip()
    parts = token.split(".")
    if len(parts) == 2:  # the API key itself
        if KEYS.get(parts[0]) == parts[1]:
            return None
        return 1000, "身份验证失败。"
    if len(parts) != 3:
        return 1002, "Authorization Token非法，请确认Authorization Token正确传递。"
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, binascii.Error):
        return 1002, "Authorization Token非法，请确认Authorization Token正确传递。"
    if not isinstance(header, dict) or header.get("alg") != "HS256" or header.get("sign_type") != "SIGN":
        return 1002, "Authorization Token非法，请确认Authorization Token正确传递。"
    if not isinstance(claims, dict) or not all(isinstance(claims.get(k), int) for k in ("exp", "timestamp")):
        return 1002, "Authorization Token非法，请确认Authorization Token正确传递。"
    secret = KEYS.get(str(claims.get("api_key")))
    if secret is None:
        return 1000, "身份验证失败。"
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return 1004, "Authorization Token验证失败。"
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    # both claims are milliseconds: a token signed with seconds reads as long expired
    if claims["exp"] <= now:
        return 1003, "Authorization Token已过期。"
    if claims["timestamp"] > now + 60_000:
        return 1002, "Authorization Token非法，请确认Authorization Token正确传递。"
    return claims


class FakeZhipu:
    def __init__(self) -> None:
        self.state = State()
        self.app = web.Application()
        self.app.router.add_post("/api/paas/v4/chat/completions", self.chat)
        self.app.router.add_post("/api/paas/v4/embeddings", self.embeddings)
        self.app.router.add_post("/api/paas/v3/model-api/{model}/invoke", self.v3_invoke)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        auth = request.headers.get("Authorization")
        checked = verify(auth)
        if isinstance(checked, tuple):
            return zhipu_error(401, *checked)
        body = await request.json()
        self.state.requests.append(Seen(request.path, auth or "", body, checked))
        if checked is not None:
            self.state.tokens_seen.add((auth or "").removeprefix("Bearer "))
        return body  # type: ignore[no-any-return]

    async def chat(self, request: web.Request) -> web.StreamResponse:
        got = await self._admit(request)
        if isinstance(got, web.Response):
            return got
        body = got
        t, p = body.get("temperature"), body.get("top_p")
        if t is not None and not 0 <= t <= 1:
            return zhipu_error(400, 1214, "temperature取值范围是：[0.0, 1.0]")
        if p is not None and not 0 < p < 1:
            return zhipu_error(400, 1214, "top_p取值范围是：(0.0, 1.0)")
        mode, _, arg = str(body.get("model", "")).partition(":")
        if mode == "filter":
            return zhipu_error(
                400,
                1301,
                "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语。",
            )
        if mode == "arrears":
            return zhipu_error(429, 1113, "您的账户已欠费，请充值后重试。")
        if mode == "busy":
            return zhipu_error(429, 1302, "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。")
        if mode == "slow":
            await asyncio.sleep(float(arg or 2))
        if mode == "glm-5":
            return await self._think(request, body)
        messages = body.get("messages") or []
        last = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        words = ["echo:", *last.split()]
        if body.get("max_tokens") and len(words) > body["max_tokens"]:
            words = words[: body["max_tokens"]]
        prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
        finish = {"sensitive": "sensitive", "network_error": "network_error"}.get(mode, "stop")
        call = None
        if mode == "tools" and body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            call = {
                "id": "call_zp1",
                "index": 0,
                "type": "function",
                "function": {"name": name, "arguments": TOOL_ARGS},
            }
            finish = "tool_calls"
        completion = 7 if call else len(words)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if body.get("stream"):
            return await self._stream(request, body, words, call, finish, usage)
        message: dict[str, Any] = {"role": "assistant", "content": "" if call else " ".join(words)}
        if call:
            message["tool_calls"] = [call]
        return web.json_response(
            {
                "id": "20240601-fake",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "request_id": "20240601-fake",
                "usage": usage,
            }
        )

    async def _think(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """The ``glm-5`` mode (the module's docstring)."""
        thinking = (body.get("thinking") or {}).get("type") != "disabled"
        messages = body.get("messages") or []
        if thinking and reasoning_dropped(self.state.reasoning, messages):
            return zhipu_error(400, 1214, "交错式思考需要传回 assistant 消息的 reasoning_content。")
        self.state.thought += 1
        n = self.state.thought
        reasoning = f"glm step {n}: the weather needs a tool" if thinking else ""
        last = messages[-1] if messages else {}
        call = None
        if body.get("tools") and last.get("role") != "tool":
            call = {"id": f"call_glm{n}", "index": 0, "type": "function",
                    "function": {"name": body["tools"][0]["function"]["name"], "arguments": TOOL_ARGS}}
            if thinking:
                self.state.reasoning[call["id"]] = reasoning
        text = "" if call else "sunny: " + str(last.get("content") or "")
        usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
                 "completion_tokens_details": {"reasoning_tokens": 5 if thinking else 0}}
        finish = "tool_calls" if call else "stop"
        base = {"id": "20260601-think", "created": int(time.time()), "model": body.get("model")}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                message["reasoning_content"] = reasoning
            if call:
                message["tool_calls"] = [call]
            return web.json_response({**base, "usage": usage,
                                      "choices": [{"index": 0, "finish_reason": finish, "message": message}]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        words = reasoning.split(" ") if reasoning else []
        deltas: list[dict[str, Any]] = [
            {"role": "assistant", "reasoning_content": w + (" " if i < len(words) - 1 else "")}
            for i, w in enumerate(words)
        ]
        deltas.append({"role": "assistant", **({"tool_calls": [call]} if call else {"content": text})})
        for i, d in enumerate(deltas):
            end = i == len(deltas) - 1
            choice = {"index": 0, "delta": d, "finish_reason": finish if end else None}
            c: dict[str, Any] = {**base, "choices": [choice]}
            if end:
                c["usage"] = usage
            await resp.write(b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        words: list[str],
        call: dict[str, Any] | None,
        finish: str,
        usage: dict[str, int],
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        base = {"id": "20240601-fake", "created": int(time.time()), "model": body.get("model")}

        async def send(delta: dict[str, Any], reason: str | None = None, with_usage: bool = False) -> None:
            c: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}
            if with_usage:
                c["usage"] = usage
            await resp.write(b"data: " + json.dumps(c, ensure_ascii=False).encode() + b"\n\n")

        if call:
            await send({"role": "assistant", "tool_calls": [call]})
        else:
            for i, w in enumerate(words):
                await send({"role": "assistant", "content": (" " if i else "") + w})
        await send({"role": "assistant", "content": ""}, finish, with_usage=True)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def embeddings(self, request: web.Request) -> web.Response:
        got = await self._admit(request)
        if isinstance(got, web.Response):
            return got
        inputs = got["input"] if isinstance(got["input"], list) else [got["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [len(str(t)) / 10.0, 0.5, 0.25]}
            for i, t in enumerate(inputs)
        ]
        tokens = sum(len(str(t).split()) for t in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": got["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def v3_invoke(self, request: web.Request) -> web.Response:
        """The v3 endpoint the old ``zhipuai`` 1.x SDK calls: same token check, v3 envelope."""
        auth = request.headers.get("Authorization")
        checked = verify(auth)
        if isinstance(checked, tuple):
            return web.json_response({"code": checked[0], "msg": checked[1], "success": False}, status=401)
        body = await request.json()
        self.state.requests.append(Seen(request.path, auth or "", body, checked))
        prompt = body.get("prompt") or []
        last = str(prompt[-1].get("content") if prompt else "")
        return web.json_response(
            {
                "code": 200,
                "msg": "操作成功",
                "success": True,
                "data": {
                    "request_id": "fake-v3",
                    "task_id": "fake-v3",
                    "task_status": "SUCCESS",
                    "choices": [
                        {"role": "assistant", "content": json.dumps("echo: " + last, ensure_ascii=False)}
                    ],
                    "usage": {"total_tokens": 1 + len(last.split())},
                },
            }
        )
