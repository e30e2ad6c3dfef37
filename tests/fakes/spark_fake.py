"""A fake iFlytek Spark WebSocket API (``wss://spark-api.xf-yun.com/<version>/chat``) on a real socket.

Written from providers.md §6a and the official ``sparkai`` SDK:

* the handshake checks the signed URL: ``authorization`` (base64 of ``api_key="…", algorithm=
  "hmac-sha256", headers="host date request-line", signature="…"``; one-api's older ``hmac
  username="…"`` prefix is accepted too), ``date`` and ``host``; the signature is recomputed over
  the Host header and path this server received. A bad signature is refused before the upgrade
  with HTTP 401 ``{"message": "HMAC signature does not match"}``, a date more than 300 s off with
  403 ``{"message": "HMAC signature cannot be verified, a valid date or x-date header is required
  for HMAC Authentication"}`` (300 s: xfyun's WebAPI guide, "服务端会对Date进行时钟偏移检查，
  最大允许300秒的偏差"; the status codes and texts are the Kong HMAC plugin's that xfyun's gateway
  answers with — (unconfirmed) against an xfyun page);
* after the upgrade: one request frame, then answer frames with ``header.status`` 0/1/2, usage on
  the last, and the server closes; errors are a single frame with ``header.code`` ≠ 0;
* each path serves one domain; the system role and functions are for Max/Ultra only (a system
  message elsewhere is refused with 10163 — (unconfirmed) how Spark reacts; enforced so the
  adaptor's folding is tested), temperature (0, 1], max_tokens [1, 8192] ([1, 4096] on Lite and Pro-128K).

Modes are ``#words`` in the last user message: ``#blocked`` (10013), ``#sensitive`` (10014 after
two words), ``#ratelimit`` (11202), ``#quota`` (11201), ``#balance`` (11200), ``#toolong`` (10907),
``#slow:<s>``. Answers are ``"echo: " + last user text``, one word per frame, tokens = words.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import web

APP_ID = "a1b2c3d4"
API_KEY = "fakeSparkApiKey0123456789abcdef0"
API_SECRET = "ZmFrZVNwYXJrQXBpU2VjcmV0MDEyMzQ1"
SKEW = 300
PATHS = {
    "/v1.1/chat": "lite",
    "/v3.1/chat": "generalv3",
    "/chat/pro-128k": "pro-128k",
    "/v3.5/chat": "generalv3.5",
    "/chat/max-32k": "max-32k",
    "/v4.0/chat": "4.0Ultra",
}
FULL = {"generalv3.5", "max-32k", "4.0Ultra"}
TOOL_ARGS = '{"city": "Beijing"}'


@dataclass
class SparkState:
    frames: list[dict[str, Any]] = field(default_factory=list)  # request frames received
    handshakes: list[int] = field(default_factory=list)  # statuses answered to upgrades


def signature(api_secret: str, host: str, date: str, path: str) -> str:
    origin = f"host: {host}\ndate: {date}\nGET {path} HTTP/1.1"
    return base64.b64encode(hmac.new(api_secret.encode(), origin.encode(), hashlib.sha256).digest()).decode()


class FakeSpark:
    def __init__(self) -> None:
        self.state = SparkState()
        self.app = web.Application()
        for path in PATHS:
            self.app.router.add_get(path, self.handle)

    def _refuse(self, status: int, message: str) -> web.Response:
        self.state.handshakes.append(status)
        return web.json_response({"message": message}, status=status)

    def _check_handshake(self, request: web.Request) -> web.Response | None:
        q = request.query
        if not all(k in q for k in ("authorization", "date", "host")):
            return self._refuse(401, "Unauthorized")
        try:
            origin = base64.b64decode(q["authorization"], validate=True).decode()
        except ValueError:
            return self._refuse(401, "HMAC authorization format error")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', origin))
        key = fields.get("api_key") or fields.get("username")
        if key != API_KEY or fields.get("algorithm") != "hmac-sha256":
            return self._refuse(401, "HMAC signature cannot be verified")
        try:
            sent = parsedate_to_datetime(q["date"]).timestamp()
        except (TypeError, ValueError):
            sent = 0
        if abs(time.time() - sent) > SKEW:
            return self._refuse(
                403,
                "HMAC signature cannot be verified, a valid date or x-date header is required "
                "for HMAC Authentication",
            )
        want = signature(API_SECRET, request.host, q["date"], request.path)
        if fields.get("headers") != "host date request-line" or not hmac.compare_digest(
            want, fields.get("signature", "")
        ):
            return self._refuse(401, "HMAC signature does not match")
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refused = self._check_handshake(request)
        if refused is not None:
            return refused
        self.state.handshakes.append(101)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = "cht000" + uuid.uuid4().hex[:12]
        try:
            msg = await ws.receive(timeout=10)
            frame = json.loads(msg.data)
            self.state.frames.append(frame)
            await self._answer(ws, frame, PATHS[request.path], sid)
        finally:
            await ws.close()
        return ws

    async def _answer(self, ws: web.WebSocketResponse, frame: dict[str, Any], domain: str, sid: str) -> None:
        async def error(code: int, message: str) -> None:
            await ws.send_json({"header": {"code": code, "message": message, "sid": sid, "status": 2}})

        if (frame.get("header") or {}).get("app_id") != APP_ID:
            return await error(10313, "appid和apikey不匹配")  # (unconfirmed) code, see module doc
        problem = _validate(frame, domain)
        if problem:
            return await error(10163, problem)
        texts = frame["payload"]["message"]["text"]
        last = next((m["content"] for m in reversed(texts) if m["role"] == "user"), "")
        found = re.search(r"#([a-z]+)(?::([0-9.]+))?", last)
        mode, arg = (found[1], found[2] or "") if found else ("", "")
        failure = {
            "blocked": (10013, "输入内容审核不通过，涉嫌违规，请重新调整输入内容"),
            "ratelimit": (11202, "授权错误：秒级流控超限"),
            "quota": (11201, "授权错误：日级流控超限"),
            "balance": (11200, "授权错误：该appId没有相关功能的授权 或者 业务量超过限制"),
            "toolong": (10907, "token数量超过上限"),
        }.get(mode)
        if failure:
            return await error(*failure)
        if mode == "slow":
            await asyncio.sleep(float(arg or 2))
        prompt = sum(len(m["content"].split()) for m in texts)

        def answer(
            status: int, seq: int, content: str, extra: dict[str, Any] | None = None
        ) -> dict[str, Any]:
            item = {"content": content, "role": "assistant", "index": 0, **(extra or {})}
            return {
                "header": {"code": 0, "message": "Success", "sid": sid, "status": status},
                "payload": {"choices": {"status": status, "seq": seq, "text": [item]}},
            }

        def usage(completion: int) -> dict[str, Any]:
            return {
                "text": {
                    "question_tokens": len(last.split()),
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
            }

        functions = (frame["payload"].get("functions") or {}).get("text")
        if functions and texts[-1]["role"] == "user" and not last.startswith("Result of"):
            await ws.send_json(answer(0, 0, ""))
            call = {"name": functions[0]["name"], "arguments": TOOL_ARGS}
            end = answer(2, 1, "", {"content_type": "text", "function_call": call})
            end["payload"]["usage"] = usage(5)
            await ws.send_json(end)
            return None
        words = ["echo:", *last.split()][: frame["parameter"]["chat"].get("max_tokens")]
        for i, w in enumerate(words):
            if mode == "sensitive" and i == 2:
                return await error(10014, "输出内容涉及敏感信息，审核不通过，后续结果无法展示给用户")
            status = 0 if i == 0 else 2 if i == len(words) - 1 else 1
            out = answer(status, i, (" " if i else "") + w)
            if status == 2:
                out["payload"]["usage"] = usage(len(words))
            await ws.send_json(out)
        return None


def _validate(frame: dict[str, Any], domain: str) -> str | None:
    chat = (frame.get("parameter") or {}).get("chat") or {}
    if chat.get("domain") != domain:
        return f"domain {chat.get('domain')!r} does not match this URL ({domain})"
    if "temperature" in chat and not 0 < chat["temperature"] <= 1:
        return "temperature must be in (0, 1]"
    cap = 4096 if domain in ("lite", "pro-128k") else 8192
    if "max_tokens" in chat and not 1 <= chat["max_tokens"] <= cap:
        return f"max_tokens must be in [1, {cap}]"
    if "top_k" in chat and not 1 <= chat["top_k"] <= 6:
        return "top_k must be in [1, 6]"
    texts = ((frame.get("payload") or {}).get("message") or {}).get("text")
    if not texts:
        return "payload.message.text is required"
    for m in texts:
        if m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
            return f"invalid message {m!r}"
        if m["role"] == "system" and domain not in FULL:
            return f"the system role is not supported by {domain}"
    if (frame.get("payload") or {}).get("functions") and domain not in FULL:
        return f"functions are not supported by {domain}"
    return None
