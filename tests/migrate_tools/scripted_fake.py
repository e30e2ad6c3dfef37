"""A second OpenAI-dialect fake for ``banjia compare``: candidates whose answers differ from the main
fake's echo, and deterministic judges.

Models (the upstream model id picks the behaviour):

- ``terse``: answers ``ok`` (streamed or not), usage counted in words like the main fake;
- ``judge-first``: a judge that always prefers the answer shown first (pure position bias);
- ``judge-longer``: prefers the longer answer wherever it is shown, ``TIE`` for equal lengths;
- ``judge-mumble``: answers something that is not a verdict.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from aiohttp import web

API_KEY = "sk-scripted"
_ANSWER = re.compile(r"\[Answer ([AB])\]\n(.*?)\n\[End of answer \1\]", re.DOTALL)


def _words(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in body.get("messages") or [])


def _verdict(model: str, body: dict[str, Any]) -> str:
    text = str(body["messages"][-1]["content"])
    answers = dict(_ANSWER.findall(text))
    if model == "judge-first":
        return "A"
    if model == "judge-longer":
        a, b = len(answers.get("A", "")), len(answers.get("B", ""))
        return "A" if a > b else "B" if b > a else "TIE"
    return "Both answers have merit."


class ScriptedOpenAI:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.judge_prompts: list[str] = []

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response({"error": {"message": "bad key", "type": "auth"}}, status=401)
        body = await request.json()
        model = str(body.get("model"))
        if model.startswith("judge-"):
            self.judge_prompts.append(str(body["messages"][-1]["content"]))
            answer = _verdict(model, body)
        else:
            answer = "ok"
        prompt, completion = _words(body), len(answer.split())
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": model,
                "choices": choices,
            }
            await resp.write(b"data: " + json.dumps({**chunk, **(extra or {})}).encode() + b"\n\n")

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        await send([{"index": 0, "delta": {"content": answer}, "finish_reason": None}])
        await send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], {"usage": usage})
        await resp.write(b"data: [DONE]\n\n")
        return resp
