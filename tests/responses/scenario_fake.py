"""A small OpenAI-dialect upstream for what the shared fake does not do: reasoning text, an agent
turn (a tool call, then an answer that uses the tool's result), and answers cut by ``max_tokens``.

The model id picks the scenario: ``think``, ``agent``, ``long``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

API_KEY = "sk-scenario-upstream"
THOUGHT = ["The user ", "greets me; ", "I greet back."]


def _last(body: dict[str, Any]) -> dict[str, Any]:
    msgs = body.get("messages") or [{}]
    return dict(msgs[-1])


def _user_text(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            c = m.get("content")
            return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c)
    return ""


class ScenarioFake:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.chat)

    def _plan(self, body: dict[str, Any]) -> tuple[str, list[str], list[dict[str, Any]], str]:
        """(reasoning, text pieces, tool calls, finish reason) for the scenario."""
        mode = str(body.get("model"))
        if mode == "think":
            return "".join(THOUGHT), ["Hello", " to", " you."], [], "stop"
        if mode == "agent":
            last = _last(body)
            if last.get("role") == "tool":
                return "", ["The tool said: ", str(last.get("content"))], [], "stop"
            name = body["tools"][0]["function"]["name"]
            call = {
                "id": "call_agent1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps({"city": "Beijing"})},
            }
            return "", [], [call], "tool_calls"
        if mode == "long":
            words = _user_text(body).split()
            limit = body.get("max_tokens") or body.get("max_completion_tokens") or len(words)
            finish = "length" if limit < len(words) else "stop"
            return "", [w + " " for w in words[:limit]], [], finish
        return "", ["unknown scenario"], [], "stop"

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response(
                {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401
            )
        body = await request.json()
        self.requests.append(body)
        reasoning, pieces, calls, finish = self._plan(body)
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": len(pieces) + 2,
            "total_tokens": len(pieces) + 7,
            "completion_tokens_details": {"reasoning_tokens": 2 if reasoning else 0},
        }
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": "".join(pieces) or None}
            if reasoning:
                msg["reasoning_content"] = reasoning
            if calls:
                msg["tool_calls"] = calls
            return web.json_response(
                {
                    "id": "chatcmpl-scenario",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                    "usage": usage,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> None:
            c = {
                "id": "chatcmpl-scenario",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            await resp.write(b"data: " + json.dumps(c).encode() + b"\n\n")

        await send({"role": "assistant", "content": ""})
        for piece in THOUGHT if reasoning else []:
            await send({"reasoning_content": piece})
        for piece in pieces:
            await send({"content": piece})
        for i, call in enumerate(calls):
            await send(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
            args = call["function"]["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                await send({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
        await send({}, finish)
        await resp.write(
            b"data: "
            + json.dumps(
                {
                    "id": "chatcmpl-scenario",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body["model"],
                    "choices": [],
                    "usage": usage,
                }
            ).encode()
            + b"\n\n"
        )
        await resp.write(b"data: [DONE]\n\n")
        return resp
