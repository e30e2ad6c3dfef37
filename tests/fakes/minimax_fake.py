"""A fake MiniMax ChatCompletion Pro (``POST /v1/text/chatcompletion_pro?GroupId=…``) on a real socket.

Written from providers.md §11, the MiniMax error-code page and the Pro clients (LangChain.js
``ChatMinimax``, go-minimax):

* the Bearer key and the ``GroupId`` query are checked; failures are HTTP 200 with
  ``base_resp{status_code: 1004, status_msg}`` ("token not match group" for a key of another
  group), like every other error;
* the body is validated as the Pro API describes it (``bot_setting``, ``sender_type``/
  ``sender_name``/``text`` messages, ``reply_constraints`` naming a configured bot, temperature
  and top_p in (0, 1]); a violation is 2013 "invalid params";
* answers: ``reply``, ``choices[{finish_reason, messages[{sender_type: BOT, …}]}]``,
  ``usage{total_tokens}`` only, the sensitivity flags and ``base_resp``;
* streams: ``data:`` lines, two line breaks apart only with ``use_standard_sse`` (else one);
  chunks without ``finish_reason`` carry new text; the last repeats the whole answer with
  ``reply``, ``usage`` and ``base_resp``; no ``[DONE]``.

Modes are ``#words`` in the last user message: ``#ratelimit`` (1002), ``#balance`` (1008),
``#blocked`` (1026 input), ``#sensitive`` (1027 after two streamed words), ``#tpm`` (1039),
``#slow:<s>``. Answers are ``"echo: " + last user (or function) text``; tokens are words.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.fake-minimax-key"
GROUP_ID = "1782658868262748467"
MODELS = {"abab6.5s-chat", "abab6.5-chat", "abab6.5g-chat", "abab6-chat", "abab5.5-chat", "abab5.5s-chat"}
TOOL_ARGS = '{"city": "Beijing"}'


@dataclass
class MiniMaxState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)  # base_resp codes answered


class Failure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FakeMiniMax:
    def __init__(self) -> None:
        self.state = MiniMaxState()
        self.app = web.Application()
        self.app.router.add_post("/v1/text/chatcompletion_pro", self.handle)

    def _base_error(self, code: int, message: str) -> web.Response:
        self.state.codes.append(code)
        return web.json_response({"base_resp": {"status_code": code, "status_msg": message}})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.headers.get("Authorization") != f"Bearer {API_KEY}":
                raise Failure(
                    1004, "login fail: Please carry the API secret key in the 'Authorization' field"
                )
            if request.query.get("GroupId") != GROUP_ID:
                raise Failure(1004, "token not match group")
            body = await request.json()
            self.state.requests.append(body)
            _validate(body)
            last = _last_text(body)
            found = re.search(r"#([a-z]+)(?::([0-9.]+))?", last)
            mode, arg = (found[1], found[2] or "") if found else ("", "")
            failure = {
                "ratelimit": (1002, "rate limit"),
                "balance": (1008, "insufficient balance"),
                "blocked": (1026, "input new_sensitive"),
                "tpm": (1039, "token limit"),
            }.get(mode)
            if failure:
                raise Failure(*failure)
            if mode == "slow":
                await asyncio.sleep(float(arg or 2))
        except Failure as f:
            return self._base_error(f.code, f.message)
        except (ValueError, KeyError, TypeError) as e:
            return self._base_error(2013, f"invalid params, {e}")
        self.state.codes.append(0)
        if body.get("stream"):
            return await self._stream(request, body, mode)
        return web.json_response(self._answer(body, mode))

    def _answer(self, body: dict[str, Any], mode: str) -> dict[str, Any]:
        bot = body["reply_constraints"]["sender_name"]
        message: dict[str, Any] = {"sender_type": "BOT", "sender_name": bot, "text": ""}
        finish = "stop"
        if _wants_function(body):
            message["function_call"] = {"name": body["functions"][0]["name"], "arguments": TOOL_ARGS}
            completion = 5
        else:
            words = _answer_words(body)
            limit = body.get("tokens_to_generate")
            if limit and len(words) > limit:
                words, finish = words[:limit], "length"
            message["text"] = " ".join(words)
            completion = len(words)
        out = _envelope(body, message["text"])
        out["choices"] = [{"finish_reason": finish, "messages": [message]}]
        out["usage"] = {"total_tokens": _prompt_tokens(body) + completion}
        if mode == "sensitive":  # the answer is withheld
            message["text"] = out["reply"] = ""
            out["base_resp"] = {"status_code": 1027, "status_msg": "output new_sensitive"}
            out["output_sensitive"] = True
        return out

    async def _stream(self, request: web.Request, body: dict[str, Any], mode: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        sep = b"\n\n" if body.get("use_standard_sse") else b"\n"
        bot = body["reply_constraints"]["sender_name"]

        async def send(obj: dict[str, Any]) -> None:
            await resp.write(b"data: " + json.dumps(obj, ensure_ascii=False).encode() + sep)

        def piece(text: str) -> dict[str, Any]:
            out = _envelope(body, "")
            out["choices"] = [{"messages": [{"sender_type": "BOT", "sender_name": bot, "text": text}]}]
            return out

        if not _wants_function(body):
            words = _answer_words(body)
            for i, w in enumerate(words):
                if mode == "sensitive" and i == 2:
                    await send({"base_resp": {"status_code": 1027, "status_msg": "output new_sensitive"}})
                    return resp
                await send(piece((" " if i else "") + w))
        final = self._answer(body, mode)
        await send(final)
        return resp


def _envelope(body: dict[str, Any], reply: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "created": int(time.time()),
        "model": body["model"],
        "reply": reply,
        "input_sensitive": False,
        "input_sensitive_type": 0,
        "output_sensitive": False,
        "output_sensitive_type": 0,
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }


def _validate(body: dict[str, Any]) -> None:
    if body.get("model") not in MODELS:
        raise ValueError(f"unknown model {body.get('model')!r}")
    bots = body["bot_setting"]
    if not bots or not all(b.get("bot_name") and isinstance(b.get("content"), str) for b in bots):
        raise ValueError("bot_setting needs bot_name and content")
    rc = body["reply_constraints"]
    if rc.get("sender_type") != "BOT" or rc.get("sender_name") not in {b["bot_name"] for b in bots}:
        raise ValueError("reply_constraints must name a bot of bot_setting")
    msgs = body["messages"]
    if not msgs:
        raise ValueError("messages is empty")
    for m in msgs:
        if m.get("sender_type") not in ("USER", "BOT", "FUNCTION") or not m.get("sender_name"):
            raise ValueError(f"bad message {m!r}")
        if not isinstance(m.get("text"), str):
            raise ValueError("text must be a string")
        if "role" in m or "content" in m:
            raise ValueError("OpenAI-style message fields")
    for k in ("temperature", "top_p"):
        if k in body and not 0 < body[k] <= 1:
            raise ValueError(f"{k} must be in (0, 1]")
    if "tokens_to_generate" in body and not (
        isinstance(body["tokens_to_generate"], int) and body["tokens_to_generate"] >= 1
    ):
        raise ValueError("tokens_to_generate must be a positive integer")
    for fn in body.get("functions") or ():
        if not fn.get("name") or not isinstance(fn.get("parameters"), dict):
            raise ValueError("functions need a name and a parameters object")


def _last_text(body: dict[str, Any]) -> str:
    for m in reversed(body["messages"]):
        if m["sender_type"] in ("USER", "FUNCTION"):
            return str(m["text"])
    return ""


def _wants_function(body: dict[str, Any]) -> bool:
    return bool(body.get("functions")) and body["messages"][-1]["sender_type"] == "USER"


def _answer_words(body: dict[str, Any]) -> list[str]:
    return ["echo:", *_last_text(body).split()]


def _prompt_tokens(body: dict[str, Any]) -> int:
    setting = sum(len(b["content"].split()) for b in body["bot_setting"])
    return setting + sum(len(m["text"].split()) for m in body["messages"])
