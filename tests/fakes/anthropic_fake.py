"""A fake Anthropic Messages endpoint (``POST <base>/v1/messages``) on a real socket.

Written from Anthropic's API reference (https://docs.anthropic.com/en/api/messages, the streaming
guide https://docs.anthropic.com/en/docs/build-with-claude/streaming and the error page
https://docs.anthropic.com/en/api/errors):

* the key is checked in ``x-api-key`` (or ``Authorization: Bearer`` when the fake is told the
  endpoint wants that), and ``anthropic-version`` must be present; failures answer 401
  ``authentication_error`` / 400 ``invalid_request_error`` in ``{"type": "error", "error": …}``;
* the body is validated: ``model``, ``max_tokens`` ≥ 1, ``messages`` alternating and starting with
  ``user``, known content blocks, ``system`` as a string or text blocks (only a string when
  ``string_system`` is set, as DeepSeek's ``/anthropic`` does), tools with ``input_schema``,
  ``tool_choice`` types, thinking budgets ≥ 1024 and below ``max_tokens``;
* answers are message objects; streams are ``event:``/``data:`` pairs in Anthropic's order
  (``message_start``, ``ping``, per block ``content_block_start``/``_delta``/``_stop``,
  ``message_delta``, ``message_stop``).

Thinking is signed as Anthropic signs it: each thinking block the fake produces carries a
signature (an HMAC of its text under the fake's secret), and a thinking block sent back in an
assistant turn must carry the signature of its text, or the request is refused with 400
``invalid_request_error``; ``redacted_thinking`` must carry data the fake produced. With thinking
enabled, a tool loop in progress (tool results in the last user turn) needs its assistant turn to
start with a thinking block, as Anthropic requires
(https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks).

The model ``claude-echo`` answers ``"echo: " + last user text`` (or the last tool result's text);
with tools and "weather" in the question it calls ``get_weather`` with ``{"city": "Beijing"}``;
with thinking enabled a thinking block comes first. Modes are ``#words`` in the last user text:
``#overloaded`` (529), ``#ratelimit`` (429), ``#midstream`` (an ``error`` event after the first
text delta), ``#cut`` (the stream ends after the first text delta, without an error or
``message_stop``), ``#early`` (an ``error`` event right after ``message_start``), ``#redacted`` (with
thinking: a ``redacted_thinking`` block after the thinking). A request with a system prompt reports
3 cache-read tokens. Tokens are words. ``state.requests`` holds every body received, as received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-ant-fake-0123456789"
MODELS = {"claude-echo"}
VERSION = "2023-06-01"
TOOL_INPUT = {"city": "Beijing"}
_BLOCKS = {"user": {"text", "image", "document", "tool_result"},
           "assistant": {"text", "thinking", "redacted_thinking", "tool_use"}}
_SECRET = b"the fake's signing key"
THINKING = "thinking about it"


def sign(thinking: str) -> str:
    """The signature the fake gives a thinking block with this text."""
    return base64.b64encode(hmac.new(_SECRET, thinking.encode(), hashlib.sha256).digest()).decode()


REDACTED = "redacted:" + sign("the redacted part")  # the data of the fake's redacted_thinking


@dataclass
class AnthropicState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class Invalid(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status)


class FakeAnthropic:
    def __init__(self, *, bearer: bool = False, string_system: bool = False) -> None:
        self.bearer = bearer
        self.string_system = string_system
        self.state = AnthropicState()
        self.app = web.Application()
        self.app.router.add_post("/anthropic/v1/messages", self.handle)

    def _check_auth(self, request: web.Request) -> None:
        if self.bearer:
            ok = request.headers.get("Authorization") == f"Bearer {API_KEY}"
        else:
            ok = request.headers.get("x-api-key") == API_KEY
        if not ok:
            raise Invalid(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            raise Invalid(400, "invalid_request_error", "anthropic-version: header is required")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.state.headers.append(dict(request.headers))
        try:
            self._check_auth(request)
            body = await request.json()
            self.state.requests.append(body)
            self._validate(body)
        except Invalid as e:
            return _error(e.status, e.kind, e.message)
        last = _last_user_text(body["messages"])
        if "#overloaded" in last:
            return _error(529, "overloaded_error", "Overloaded")
        if "#ratelimit" in last:
            return _error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit")
        content, stop = _answer(body, last)
        usage = _usage(body, content)
        mid = "msg_fake" + str(len(self.state.requests))
        if not body.get("stream"):
            return web.json_response({
                "id": mid, "type": "message", "role": "assistant", "model": body["model"],
                "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage,
            })
        return await self._stream(request, body, mid, content, stop, usage, cut="#midstream" in last,
                                  drop="#cut" in last, early="#early" in last)

    def _validate(self, body: Any) -> None:
        def bad(message: str) -> Invalid:
            return Invalid(400, "invalid_request_error", message)

        if not isinstance(body, dict):
            raise bad("body: expected an object")
        if body.get("model") not in MODELS:
            raise Invalid(404, "not_found_error", f"model: {body.get('model')}")
        mt = body.get("max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
            raise bad("max_tokens: Field required")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs or msgs[0].get("role") != "user":
            raise bad("messages: the first message must use the user role")
        for i, m in enumerate(msgs):
            if i and m.get("role") == msgs[i - 1].get("role"):
                raise bad(f"messages.{i}: roles must alternate between user and assistant")
            content = m.get("content")
            if isinstance(content, str):
                continue
            if not isinstance(content, list) or not content:
                raise bad(f"messages.{i}.content: expected a string or a non-empty list")
            for j, b in enumerate(content):
                if b.get("type") not in _BLOCKS.get(m.get("role"), set()):
                    raise bad(f"messages.{i}.content: unexpected block type {b.get('type')!r}")
                if b.get("type") == "thinking" and not hmac.compare_digest(
                        str(b.get("signature") or ""), sign(str(b.get("thinking") or ""))):
                    raise bad(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
                if b.get("type") == "redacted_thinking" and b.get("data") != REDACTED:
                    raise bad(f"messages.{i}.content.{j}: Invalid `data` in `redacted_thinking` block")
                if b.get("type") == "tool_use" and not isinstance(b.get("input"), dict):
                    raise bad(f"messages.{i}.content: tool_use.input must be an object")
                if b.get("type") == "image" and b.get("source", {}).get("type") not in ("base64", "url"):
                    raise bad(f"messages.{i}.content: image.source.type must be base64 or url")
        system = body.get("system")
        if system is not None:
            if self.string_system and not isinstance(system, str):
                raise bad("system: expected a string")
            if not isinstance(system, str) and not (
                isinstance(system, list) and all(b.get("type") == "text" for b in system)
            ):
                raise bad("system: expected a string or a list of text blocks")
        for t in body.get("tools") or ():
            server = t.get("type") not in (None, "custom")  # a server tool (web_search_…): no schema
            if not t.get("name") or not (server or isinstance(t.get("input_schema"), dict)):
                raise bad("tools: each tool needs a name and an input_schema")
        tc = body.get("tool_choice")
        if tc is not None and tc.get("type") not in ("auto", "any", "tool", "none"):
            raise bad("tool_choice.type: expected auto, any, tool or none")
        thinking = body.get("thinking")
        if thinking and thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024 or budget >= mt:
                raise bad("thinking.budget_tokens: must be ≥ 1024 and less than max_tokens")
            if tc is not None and tc.get("type") in ("any", "tool"):
                raise bad("Thinking may not be enabled when tool_choice forces tool use.")
            turn = _open_tool_turn(msgs)
            if turn is not None and (not isinstance(turn, list) or turn[0].get("type") not in (
                    "thinking", "redacted_thinking")):
                raise bad(f"messages.{len(msgs) - 2}.content.0.type: Expected `thinking` or "
                          "`redacted_thinking`, but found another block. When `thinking` is enabled, "
                          "a final `assistant` message must start with a thinking block.")
        temperature = body.get("temperature")
        if temperature is not None and not 0 <= temperature <= 1:
            raise bad("temperature: must be between 0 and 1")

    async def _stream(self, request: web.Request, body: dict[str, Any], mid: str,
                      content: list[dict[str, Any]], stop: str, usage: dict[str, Any],
                      *, cut: bool, drop: bool, early: bool) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)

        async def send(kind: str, data: dict[str, Any]) -> None:
            await resp.write(f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode())

        start_usage = {**usage, "output_tokens": 1}
        await send("message_start", {"message": {
            "id": mid, "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
        await send("ping", {})
        if early:
            await send("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
            await resp.write_eof()
            return resp
        for i, block in enumerate(content):
            kind = block["type"]
            if kind == "text":
                await send("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
                words = block["text"].split(" ")
                for n, w in enumerate(words):
                    piece = w if n == 0 else " " + w
                    await send("content_block_delta",
                               {"index": i, "delta": {"type": "text_delta", "text": piece}})
                    if cut:
                        await send("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
                        await resp.write_eof()
                        return resp
                    if drop:  # the connection ends: no error, no message_stop
                        await resp.write_eof()
                        return resp
            elif kind == "thinking":
                await send("content_block_start", {"index": i, "content_block": {
                    "type": "thinking", "thinking": "", "signature": ""}})
                await send("content_block_delta", {"index": i, "delta": {
                    "type": "thinking_delta", "thinking": block["thinking"]}})
                await send("content_block_delta", {"index": i, "delta": {
                    "type": "signature_delta", "signature": block["signature"]}})
            elif kind == "redacted_thinking":
                await send("content_block_start", {"index": i, "content_block": block})
            else:
                await send("content_block_start", {"index": i, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
                raw = json.dumps(block["input"])
                for part in (raw[: len(raw) // 2], raw[len(raw) // 2:]):
                    await send("content_block_delta", {"index": i, "delta": {
                        "type": "input_json_delta", "partial_json": part}})
            await send("content_block_stop", {"index": i})
        await send("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": usage["output_tokens"]}})
        await send("message_stop", {})
        await resp.write_eof()
        return resp


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    # an image block is answered as "[image]": what a vision model saw
    return " ".join("[image]" if b.get("type") == "image" else str(b.get("text") or "")
                    for b in content or () if b.get("type") in ("text", "image"))


def _last_user_text(msgs: list[dict[str, Any]]) -> str:
    content = msgs[-1].get("content")
    if isinstance(content, list):
        results = [b for b in content if b.get("type") == "tool_result"]
        if results:
            return _text_of(results[-1].get("content"))
    return _text_of(content)


def _open_tool_turn(msgs: list[dict[str, Any]]) -> Any:
    """The content of the assistant turn whose tool results are the last user turn, or None."""
    last = msgs[-1].get("content")
    if len(msgs) < 2 or not isinstance(last, list) or not any(b.get("type") == "tool_result" for b in last):
        return None
    return msgs[-2].get("content")


def _answer(body: dict[str, Any], last: str) -> tuple[list[dict[str, Any]], str]:
    content: list[dict[str, Any]] = []
    if (body.get("thinking") or {}).get("type") == "enabled":
        content.append({"type": "thinking", "thinking": THINKING, "signature": sign(THINKING)})
        if "#redacted" in last:
            content.append({"type": "redacted_thinking", "data": REDACTED})
    last_blocks = body["messages"][-1].get("content")
    answered_tool = isinstance(last_blocks, list) and any(b.get("type") == "tool_result" for b in last_blocks)
    choice = (body.get("tool_choice") or {}).get("type")
    if body.get("tools") and choice != "none" and not answered_tool and "weather" in last:
        name = body["tools"][0]["name"]
        content.append({"type": "tool_use", "id": "toolu_fake01", "name": name, "input": TOOL_INPUT})
        return content, "tool_use"
    content.append({"type": "text", "text": "echo: " + last})
    return content, "end_turn"


def _usage(body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
    words = sum(len(_text_of(m.get("content")).split()) for m in body["messages"])
    cached = 3 if body.get("system") else 0  # as if the system prompt were a cached prefix
    out = sum(len(b.get("text", "").split()) or 1 for b in content)
    return {"input_tokens": max(words, 1), "output_tokens": out,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}
