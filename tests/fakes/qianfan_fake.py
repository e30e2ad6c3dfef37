"""A fake Baidu Qianfan v1 ("wenxinworkshop", providers.md §3a) on 127.0.0.1, for ``qianfan-v1``.

* ``POST /oauth/2.0/token?grant_type=client_credentials&client_id=…&client_secret=…`` checks the
  key pair exactly and answers ``{"error": "invalid_client", "error_description": ...}`` otherwise
  (``unknown client id`` / ``Client authentication failed``, as the official SDK expects).
* ``POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/<service>?access_token=…`` checks the token on
  every call (110 invalid, 111 expired, inside an HTTP 200 body as Baidu does) and what Baidu
  checks of the body: an odd number of messages alternating user(or function)/assistant, no
  ``system`` role in them, temperature (0, 1], penalty_score [1, 2], ≤ 4 stop strings of ≤ 20
  characters, max_output_tokens [2, 2048], ``functions`` only on the ERNIE 3.5/4.0 services.
* Answers are ``{result, is_end, usage, finish_reason…}``; streams are ``data: {…}`` events ending
  with ``is_end: true`` and no ``[DONE]``.

Behaviour is picked by a word in the last user message: ``MODERATE_IN`` (input refused:
``need_clear_history``), ``MODERATE_OUT`` (answer cut with ``content_filter``), ``RATE_LIMIT`` (18),
``ARREARS`` (17: paid access off / account in arrears), ``OVERLOAD`` (336100), ``SLOW`` (1 s).
Otherwise the answer is ``"echo: " + last user text``; with ``functions`` it is a call of the first
function, and after a ``function`` result it echoes the result. Tokens are words.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "qf-fake-api-key"
SECRET_KEY = "qf-fake-secret-key"
# a second key pair, for tests that need a token cache nobody has warmed
API_KEY_2 = "qf-fake-api-key-2"
SECRET_KEY_2 = "qf-fake-secret-key-2"
KEY_PAIRS = {API_KEY: SECRET_KEY, API_KEY_2: SECRET_KEY_2}

FC_SERVICES = {"completions", "completions_pro", "ernie-3.5-8k-0205", "ernie-3.5-128k", "ernie_bot_8k"}
SERVICES = FC_SERVICES | {
    "ernie_speed",
    "ernie-speed-128k",
    "ernie-lite-8k",
    "eb-instant",
    "ernie-4.0-turbo-8k",
    "ernie-tiny-8k",
    "my_custom_service",
}
TOOL_ARGS = '{"city": "Beijing", "unit": "c"}'


@dataclass
class Seen:
    service: str
    query: dict[str, str]
    body: dict[str, Any]


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)
    token_requests: dict[str, int] = field(default_factory=dict)  # per client_id
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (client_id, expiry)
    expires_in: int = 2_592_000


def _fail(code: int, msg: str) -> web.Response:
    # Baidu answers errors with HTTP 200 and a JSON body
    return web.json_response({"error_code": code, "error_msg": msg, "id": "as-fakeerror"})


class FakeQianfan:
    def __init__(self) -> None:
        self.state = State()
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/oauth/2.0/token", self.token)
        self.app.router.add_post("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{service}", self.chat)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    def token_requests(self, client_id: str = API_KEY) -> int:
        return self.state.token_requests.get(client_id, 0)

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the next use gets error 111)."""
        self.state.tokens = {t: (cid, 0.0) for t, (cid, _) in self.state.tokens.items()}

    # -- OAuth --------------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credentials":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
                status=400,
            )
        cid = q.get("client_id", "")
        if cid not in KEY_PAIRS:
            return web.json_response(
                {"error": "invalid_client", "error_description": "unknown client id"}, status=401
            )
        if q.get("client_secret") != KEY_PAIRS[cid]:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, status=401
            )
        self.state.token_requests[cid] = self.state.token_requests.get(cid, 0) + 1
        await asyncio.sleep(0.05)  # long enough for concurrent first requests to overlap
        token = f"24.{secrets.token_hex(16)}.{self.state.expires_in}.{int(time.time())}.1234567-89012345"
        self.state.tokens[token] = (cid, time.time() + self.state.expires_in)
        return web.json_response(
            {
                "refresh_token": "25." + secrets.token_hex(16),
                "expires_in": self.state.expires_in,
                "session_key": secrets.token_hex(8),
                "access_token": token,
                "scope": "public brain_all_scope wenxinworkshop_mgr",
                "session_secret": secrets.token_hex(8),
            }
        )

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("access_token", "")
        known = self.state.tokens.get(token)
        if known is None:
            return _fail(110, "Access token invalid or no longer valid")
        if known[1] <= time.time():
            return _fail(111, "Access token expired")
        service = request.match_info["service"]
        if service not in SERVICES:
            return _fail(3, "Unsupported openapi method")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _fail(336002, "Invalid JSON")
        self.state.requests.append(Seen(service, dict(request.query), body))
        refused = self._check(service, body)
        if refused is not None:
            return refused
        messages = body["messages"]
        last = messages[-1]
        text = str(last.get("content") or "")
        if "RATE_LIMIT" in text:
            return _fail(18, "Open api qps request limit reached")
        if "ARREARS" in text:
            return _fail(17, "Open api daily request limit reached")
        if "OVERLOAD" in text:
            return _fail(336100, "Server high load, please try again later")
        if "SLOW" in text:
            await asyncio.sleep(1.0)
        prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
        prompt += len(str(body.get("system") or "").split())
        rid = f"as-fake{next(self._ids)}"
        if "MODERATE_IN" in text:
            return web.json_response(
                {
                    "id": rid,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "result": "我不能回答这个问题。",
                    "is_truncated": False,
                    "need_clear_history": True,
                    "ban_round": -1,
                    "finish_reason": "normal",
                    "usage": {"prompt_tokens": prompt, "completion_tokens": 0, "total_tokens": prompt},
                }
            )
        if body.get("functions") and last["role"] != "function":
            return await self._call(request, body, rid, prompt)
        words = ["echo:", *text.split()]
        finish = "normal"
        for s in body.get("stop") or ():
            if s in words:
                words, finish = words[: words.index(s)], "stop"
        limit = body.get("max_output_tokens")
        if limit and len(words) > limit:
            words, finish = words[:limit], "length"
        if "MODERATE_OUT" in text:
            words, finish = words[:2], "content_filter"
        if body.get("stream"):
            return await self._stream(request, rid, words, finish, prompt)
        return web.json_response(
            {
                "id": rid,
                "object": "chat.completion",
                "created": int(time.time()),
                "result": " ".join(words),
                "is_truncated": finish == "length",
                "need_clear_history": False,
                "finish_reason": finish,
                "flag": 1 if finish == "content_filter" else 0,
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(words),
                    "total_tokens": prompt + len(words),
                },
            }
        )

    def _check(self, service: str, body: dict[str, Any]) -> web.Response | None:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _fail(336003, "messages can't be empty")
        if len(messages) % 2 == 0:
            return _fail(336006, "the length of messages must be an odd number")
        for i, m in enumerate(messages):
            role = m.get("role")
            if i % 2 == 0 and role not in ("user", "function"):
                return _fail(
                    336006, "the role of message with even index in the messages must be user or function"
                )
            if i % 2 == 1 and role != "assistant":
                return _fail(336006, "the role of message with odd index in the messages must be assistant")
            if role == "function" and not m.get("name"):
                return _fail(336003, "function message must have a name")
            if role != "assistant" and not isinstance(m.get("content"), str):
                return _fail(336003, "message content must be a string")
        if "system" in body and not isinstance(body["system"], str):
            return _fail(336104, "system must be a string")
        t = body.get("temperature")
        if t is not None and not 0 < t <= 1:
            return _fail(336003, "temperature range is (0, 1.0]")
        p = body.get("penalty_score")
        if p is not None and not 1 <= p <= 2:
            return _fail(336003, "penalty_score range is [1.0, 2.0]")
        stop = body.get("stop")
        if stop is not None and (len(stop) > 4 or any(len(s) > 20 for s in stop)):
            return _fail(336003, "stop: at most 4 items of at most 20 characters")
        mo = body.get("max_output_tokens")
        if mo is not None and not 2 <= mo <= 2048:
            return _fail(336003, "max_output_tokens range is [2, 2048]")
        if body.get("functions") and service not in FC_SERVICES:
            return _fail(336003, "functions is not supported by this model")
        return None

    async def _call(
        self, request: web.Request, body: dict[str, Any], rid: str, prompt: int
    ) -> web.StreamResponse:
        fc = {
            "name": body["functions"][0]["name"],
            "arguments": TOOL_ARGS,
            "thoughts": "The user wants the weather.",
        }
        out = {
            "id": rid,
            "object": "chat.completion",
            "created": int(time.time()),
            "result": "",
            "is_truncated": False,
            "need_clear_history": False,
            "finish_reason": "function_call",
            "function_call": fc,
            "usage": {"prompt_tokens": prompt, "completion_tokens": 9, "total_tokens": prompt + 9},
        }
        if not body.get("stream"):
            return web.json_response(out)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        out.update(object="chat.completion", sentence_id=0, is_end=True)
        await resp.write(b"data: " + json.dumps(out).encode() + b"\n\n")
        await resp.write_eof()
        return resp

    async def _stream(
        self, request: web.Request, rid: str, words: list[str], finish: str, prompt: int
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        created = int(time.time())
        for i, w in enumerate(words or [""]):
            end = i >= len(words) - 1
            event: dict[str, Any] = {
                "id": rid,
                "object": "chat.completion",
                "created": created,
                "sentence_id": i,
                "is_end": end,
                "is_truncated": end and finish == "length",
                "result": (" " if i else "") + w,
                "need_clear_history": False,
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": i + 1 if end else 0,
                    "total_tokens": prompt + (i + 1 if end else 0),
                },
            }
            if end:
                event["finish_reason"] = finish
                event["flag"] = 1 if finish == "content_filter" else 0
            await resp.write(b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n")
        await resp.write_eof()
        return resp
