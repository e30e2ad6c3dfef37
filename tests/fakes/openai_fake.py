"""A fake OpenAI-dialect upstream: a real HTTP server on 127.0.0.1 with behaviour per model name.

The upstream model id picks the behaviour (``mode``), optionally with an argument after a colon
(``slow:2.5``). Modes reproduce what real vendors do (providers.md): DeepSeek's keep-alive
comments and blank lines, Qwen/DeepSeek tool-call deltas that repeat the id, Spark's and MiniMax's
errors inside HTTP 200 bodies, 429 with retry-after, 503, slow answers, streams cut off mid-way.

Answers are deterministic: the text is ``"echo: " + last user text`` split into words, and the usage
counts words, so tests can assert exact token sums. ``long:<n>`` answers with as many words as
``max_tokens`` allows (``n``, default 10,000, without it).

Thinking vendors, each as its docs describe the history it wants back on tool turns: ``think``
(DeepSeek's thinking mode), ``kimi-k2.5`` / ``kimi-k2.6`` / ``kimi-k2-thinking`` (Moonshot's)
and ``minimax-m2`` (MiniMax's interleaved thinking, ``minimax-m2:cumulative`` for streamed
reasoning parts that repeat the text so far); see :meth:`FakeOpenAI._think` and
:meth:`FakeOpenAI._reasoner`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-fake-upstream"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeState:
    requests: list[Recorded] = field(default_factory=list)
    # counts per mode, for modes that fail N times and then succeed ("flaky:2")
    calls: dict[str, int] = field(default_factory=dict)
    usage_sent: list[dict[str, int]] = field(default_factory=list)
    disconnects: int = 0
    # tags of the "switch:<tag>" and "arrears:<tag>" modes that fail right now (tests flip them)
    failing: set[str] = field(default_factory=set)
    # counts per whole model string, for "throttle:<secs>,<n>,<tag>"
    model_calls: dict[str, int] = field(default_factory=dict)
    # what GET /v1/models lists (tests of `banjia catalog check` set their own)
    models: list[str] = field(default_factory=lambda: ["echo", "embed", "json"])
    # the "think" mode: tool call id → the reasoning served with it (what must come back)
    reasoning: dict[str, str] = field(default_factory=dict)


def _words(text: str) -> list[str]:
    return text.split()


def _last_user(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):  # an image is answered as "[image]": what a vision model saw
                return " ".join("[image]" if p.get("type") == "image_url" else p.get("text", "")
                                for p in c if isinstance(p, dict))
            return str(c or "")
    return str(body.get("prompt") or "")


def _prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for m in body.get("messages") or []:
        c = m.get("content")
        total += len(_words(c if isinstance(c, str) else json.dumps(c)))
    return total or len(_words(str(body.get("prompt") or "")))


def _answer_words(body: dict[str, Any]) -> list[str]:
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    mode, _, arg = str(body.get("model", "")).partition(":")
    if mode == "long":  # "long:<n>": a model that writes until its limit, n words without one
        return ["more"] * (int(limit) if limit else int(arg or 10_000))
    words = ["echo:", *_words(_last_user(body))]
    return words[: int(limit)] if limit else words


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _err(
    status: int,
    message: str,
    type_: str = "invalid_request_error",
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": type_, "param": None, "code": code}},
        status=status,
        headers=headers,
    )


TOOL_ARGS = '{"city": "Beijing", "unit": "c"}'
def _details_part(text: str) -> dict[str, Any]:
    """One part of MiniMax's ``reasoning_details``, with the type, id and format its answers hold."""
    return {"type": "reasoning.text", "id": "reasoning-text-1", "format": "MiniMax-response-v1",
            "index": 0, "text": text}


# the thinking modes of FakeOpenAI._reasoner
REASONERS = frozenset({"kimi-k2.5", "kimi-k2.6", "kimi-k2-thinking", "minimax-m2"})
# what a MiniMax model answers once it has lost its chain of thought (the history came back
# without an earlier turn's reasoning): a worse answer, not an error
MINIMAX_DEGRADED = "degraded: the earlier reasoning is gone, so the plan starts over"


def _kimi_refusal(mode: str, body: dict[str, Any]) -> web.Response | None:
    """Moonshot's check while thinking (https://platform.moonshot.cn/docs/guide/use-kimi-k2-thinking-model):
    every earlier assistant tool-call message carries ``reasoning_content``; kimi-k2.5/k2.6 think
    unless ``thinking: {"type": "disabled"}`` and take an empty value for a missing one,
    kimi-k2-thinking always thinks and takes "" (https://github.com/theopenco/llmgateway/pull/2093).
    The value itself is not compared: Kimi accepts a placeholder."""
    always = mode == "kimi-k2-thinking"
    if not always and (body.get("thinking") or {}).get("type") == "disabled":
        return None
    for i, m in enumerate(body.get("messages") or []):
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        value = m.get("reasoning_content")
        if value is None or (value == "" and not always):
            return _err(400, "thinking is enabled but reasoning_content is missing in assistant tool call "
                             f"message at index {i}")
    return None


def _minimax_lost(served: dict[str, str], messages: list[dict[str, Any]]) -> bool:
    """Whether an earlier tool-call turn came back without the reasoning served with it, whole:
    MiniMax wants the complete assistant message back, its ``reasoning_details`` (with
    ``reasoning_split``) or the ``<think>`` block inside ``content`` (without)
    (https://platform.minimaxi.com/docs/api-reference/text-openai-api). Nothing is refused: the
    model only loses its chain of thought (https://www.minimaxi.com/news/why-is-interleaved-thinking-important-for-m2)."""
    for m in messages:
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        reasoning = served.get(str(m["tool_calls"][0].get("id", "")))
        if reasoning is None:
            continue
        details = m.get("reasoning_details")
        kept = isinstance(details, list) and "".join(
            str(d.get("text") or "") for d in details if isinstance(d, dict)
        ) == reasoning
        if not kept and f"<think>\n{reasoning}\n</think>" not in str(m.get("content") or ""):
            return True
    return False


class FakeOpenAI:
    def __init__(self) -> None:
        self.state = FakeState()
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.app.router.add_post("/v1/text/chatcompletion_v2", self.chat)  # MiniMax v2's path
        self.app.router.add_post("/v1/completions", self.completions)
        self.app.router.add_post("/v1/embeddings", self.embeddings)
        self.app.router.add_get("/v1/models", self.list_models)

    # -- helpers ------------------------------------------------------------------------------
    def _auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _err(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        return None

    async def _record(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json()
        self.state.requests.append(Recorded(request.path, dict(request.headers), body))
        return body

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth(request)
        if denied:
            return denied
        body = await self._record(request)
        mode, _, arg = str(body.get("model", "")).partition(":")
        if mode == "think":
            return await self._think(request, body)
        if mode == "vllm-stop":
            return await self._vllm_stop(request, body)
        if mode in REASONERS:
            return await self._reasoner(request, body, mode, arg)
        failure = await self._failure(mode, arg, body)
        if failure is not None:
            return failure
        odd = await self._routing_mode(request, body, mode, arg)
        if odd is not None:
            return odd
        if body.get("stream"):
            return await self._chat_stream(request, body, mode, arg)
        words = _answer_words(body)
        prompt, completion = _prompt_tokens(body), len(words)
        message: dict[str, Any] = {"role": "assistant", "content": " ".join(words)}
        finish = "stop"
        if mode in ("tools", "repeat-ids") and body.get("tools"):
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_fake1",
                        "type": "function",
                        "function": {"name": body["tools"][0]["function"]["name"], "arguments": TOOL_ARGS},
                    }
                ],
            }
            finish = "tool_calls"
        if mode == "sensitive":
            finish = "sensitive"
        if mode == "json":
            message["content"] = json.dumps({"answer": "echo", "words": len(words)})
        usage: dict[str, Any] = _usage(prompt, completion)
        if mode == "deepseek-cache":
            usage.update(prompt_cache_hit_tokens=2, prompt_cache_miss_tokens=prompt - 2)
        if mode == "cached":  # "cached:<n>": n of the prompt tokens came from the vendor's cache
            usage["prompt_tokens_details"] = {"cached_tokens": min(int(arg or 0), prompt)}
        self.state.usage_sent.append({"prompt": prompt, "completion": completion})
        out = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {"index": i, "message": message, "finish_reason": finish} for i in range(body.get("n") or 1)
            ],
            "usage": usage,
        }
        if body.get("logprobs") is True:  # one entry per answer word, as OpenAI's logprobs.content
            top = int(body.get("top_logprobs") or 0)
            content = [{"token": w, "logprob": -0.25, "bytes": list(w.encode()),
                        "top_logprobs": [{"token": w, "logprob": -0.25, "bytes": list(w.encode())}][:top]
                        + [{"token": f"alt{k}", "logprob": -2.0 - k, "bytes": None} for k in range(top - 1)]}
                       for w in words]
            for ch in out["choices"]:
                ch["logprobs"] = {"content": content, "refusal": None}
        if mode == "minimax-ok":
            out["base_resp"] = {"status_code": 0, "status_msg": "success"}
        if mode == "keepalive":
            # DeepSeek under load: blank lines before the JSON of a non-streaming answer
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)
            await resp.write(b"\n\n")
            await asyncio.sleep(0.05)
            await resp.write(b"\n" + json.dumps(out).encode())
            await resp.write_eof()
            return resp
        return web.json_response(out)

    async def _failure(self, mode: str, arg: str, body: dict[str, Any]) -> web.Response | None:
        n = self.state.calls[mode] = self.state.calls.get(mode, 0) + 1
        if mode == "e503" or (mode == "flaky" and n <= int(arg or 1)):
            return _err(503, "The server is overloaded.", "server_error", "overloaded")
        if mode == "e500":
            return _err(500, "Internal error.", "server_error")
        if mode == "e429":
            return _err(
                429,
                "Rate limit reached for requests.",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers={"retry-after": arg or "1"},
            )
        if mode == "e400":
            return _err(400, "Invalid parameter: temperature.", "invalid_request_error", "invalid_value")
        if mode == "nulcode":  # an upstream whose error code holds a NUL (PostgreSQL refuses it)
            return _err(400, "Bad request.", "invalid_request_error", "bad\u0000code")
        if mode == "e402":  # DeepSeek: insufficient balance
            return _err(402, "Insufficient Balance", "unknown_error", "invalid_request_error")
        if mode == "spark-error":  # Spark HTTP: failure inside a 200 body
            return web.json_response(
                {"code": 10013, "message": "input failed content review", "sid": "cha000b0001"}
            )
        if mode == "minimax-error":
            return web.json_response(
                {"base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}
            )
        if mode == "moonshot-filter":
            return _err(400, "The request was rejected because it was considered high risk", "content_filter")
        if mode == "zhipu-error":
            return web.json_response({"error": {"code": "1113", "message": "您的账户已欠费"}}, status=429)
        if mode == "slow":
            await asyncio.sleep(float(arg or 2))
        return None

    async def _routing_mode(
        self, request: web.Request, body: dict[str, Any], mode: str, arg: str
    ) -> web.StreamResponse | None:
        """Faults for the routing tests (fallback, retries, circuits, health):

        - ``switch:<tag>``: 503 while ``state.failing`` holds the tag, else the echo answer
        - ``arrears:<tag>``: 402 insufficient balance while ``state.failing`` holds the tag
        - ``throttle:<secs>,<n>,<tag>``: 429 with ``retry-after: secs`` for the first n calls
        - ``reset``: the connection is dropped before any answer
        - ``badjson``: HTTP 200, ``application/json``, a body that is not JSON
        - ``error200``: HTTP 200 whose JSON body is an OpenAI error envelope
        - ``badsse:<n>``: a stream of n good events, then an event whose data is not JSON
        """
        model = str(body.get("model", ""))
        n = self.state.model_calls[model] = self.state.model_calls.get(model, 0) + 1
        if mode == "switch" and arg in self.state.failing:
            return _err(503, "The server is overloaded.", "server_error", "overloaded")
        if mode == "arrears" and arg in self.state.failing:
            return _err(402, "Insufficient Balance", "insufficient_quota", "insufficient_quota")
        if mode == "throttle":
            secs, count, _tag = arg.split(",")
            if n <= int(count):
                return _err(
                    429, "Rate limit reached.", "rate_limit_error", "rate_limit_exceeded",
                    headers={"retry-after": secs},
                )
        if mode == "reset":
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("reset by the fake")
        if mode == "badjson":
            return web.Response(body=b'{"id": "chatcmpl-x", "choices": [', content_type="application/json")
        if mode == "error200":
            err = {"message": "The engine is overloaded.", "type": "server_error", "code": "overloaded"}
            return web.json_response({"error": err})
        if mode == "badsse" and body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for i in range(int(arg or 0)):
                delta = {"role": "assistant", "content": ""} if i == 0 else {"content": f" w{i}"}
                c = {"id": "chatcmpl-bad", "object": "chat.completion.chunk", "created": 1, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                await resp.write(b"data: " + json.dumps(c).encode() + b"\n\n")
            await resp.write(b'data: {"choices": [{"delta": {"content": "x\n\n')
            await resp.write(b"data: [DONE]\n\n")
            return resp
        return None

    async def _think(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """DeepSeek's thinking mode (api-docs.deepseek.com/guides/thinking_mode): every answer
        carries ``reasoning_content``; with tools, a request whose last message is not a tool
        result is answered with a tool call (a fresh id each time); and, unless thinking is
        switched off (``thinking: {"type": "disabled"}``), a request is refused with 400 when an
        earlier assistant tool-call message lacks the reasoning served with it, exactly."""
        thinking = (body.get("thinking") or {}).get("type") != "disabled"
        messages = body.get("messages") or []
        if thinking and reasoning_dropped(self.state.reasoning, messages):
            return _err(400, "The reasoning_content in the thinking mode must be passed back to the API.",
                        code="invalid_request_error")
        n = self.state.calls["think"] = self.state.calls.get("think", 0) + 1
        reasoning = f"step {n}: the user wants the weather, so a tool helps" if thinking else ""
        last = messages[-1] if messages else {}
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if body.get("tools") and last.get("role") != "tool":
            call_id = f"call_think{n}"
            if thinking:
                self.state.reasoning[call_id] = reasoning
            name = body["tools"][0]["function"]["name"]
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": TOOL_ARGS}}
            ]
            finish = "tool_calls"
        else:
            message["content"] = "sunny: " + str(last.get("content") or "")
            finish = "stop"
        if reasoning:
            message["reasoning_content"] = reasoning
        usage = {**_usage(_prompt_tokens(body), 7), "completion_tokens_details": {"reasoning_tokens": 5}}
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-think",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"reasoning_content": w + " "} for w in reasoning.split(" ")[:-1]]
        if reasoning:
            deltas.append({"reasoning_content": reasoning.split(" ")[-1]})
        if message.get("tool_calls"):
            deltas.append({"tool_calls": [{"index": 0, **message["tool_calls"][0]}]})
        else:
            deltas.append({"content": message["content"]})
        for i, d in enumerate(deltas):
            chunk: dict[str, Any] = {
                "id": "chatcmpl-think",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "delta": d, "finish_reason": finish if i == len(deltas) - 1 else None}
                ],
            }
            if i == len(deltas) - 1:
                chunk["usage"] = usage
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _vllm_stop(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        """vLLM's OpenAI server and ``stop``: the answer (the last user text) ends before the first
        stop string it contains, ``finish_reason`` is ``stop`` and the choice's ``stop_reason`` names
        the string that matched (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html;
        vLLM's ``CompletionOutput.stop_reason``); ``null`` when the answer ended on its own."""
        messages = body.get("messages") or [{}]
        text = str(messages[-1].get("content") or "")
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        hits = sorted((text.find(s), s) for s in stops if s and s in text)
        stop_reason = hits[0][1] if hits else None
        if hits:
            text = text[: hits[0][0]]
        usage = _usage(_prompt_tokens(body), len(text.split()))
        base = {"id": "chatcmpl-vllm", "created": int(time.time()), "model": body.get("model")}
        if not body.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": text},
                      "finish_reason": "stop", "stop_reason": stop_reason, "logprobs": None}
            return web.json_response(
                {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}, {"content": text}, {}]
        return await _delta_stream(request, base, deltas, "stop", usage,
                                   last_choice={"stop_reason": stop_reason})

    async def _reasoner(
        self, request: web.Request, body: dict[str, Any], mode: str, arg: str
    ) -> web.StreamResponse:
        """Kimi's and MiniMax's thinking. As ``think``: with tools, a request whose last message is
        not a tool result gets a tool call (a fresh id each time), else ``"sunny: " + tool result``.
        Kimi (``kimi-*``) answers with ``reasoning_content`` and refuses what :func:`_kimi_refusal`
        says. MiniMax (``minimax-m2``) always thinks: with ``reasoning_split: true`` the reasoning
        comes in ``reasoning_details`` (streamed: each part's new text, or with ``:cumulative`` the
        text so far), else inside ``content`` as ``<think>…</think>``; a history that lost an
        earlier turn's reasoning is answered :data:`MINIMAX_DEGRADED`, with HTTP 200."""
        messages = body.get("messages") or []
        minimax = mode == "minimax-m2"
        if not minimax:
            refused = _kimi_refusal(mode, body)
            if refused is not None:
                return refused
        switched_off = (body.get("thinking") or {}).get("type") == "disabled"
        thinking = minimax or mode == "kimi-k2-thinking" or not switched_off
        lost = minimax and _minimax_lost(self.state.reasoning, messages)
        n = self.state.calls[mode] = self.state.calls.get(mode, 0) + 1
        reasoning = f"{mode} step {n}: the user wants the weather, so a tool helps" if thinking else ""
        last = messages[-1] if messages else {}
        call: dict[str, Any] | None = None
        text = ""
        if body.get("tools") and last.get("role") != "tool":
            call = {"id": f"call_{mode.replace('.', '')}_{n}", "type": "function",
                    "function": {"name": body["tools"][0]["function"]["name"], "arguments": TOOL_ARGS}}
            if reasoning:
                self.state.reasoning[call["id"]] = reasoning
        else:
            text = MINIMAX_DEGRADED if lost else "sunny: " + str(last.get("content") or "")
        split = minimax and body.get("reasoning_split") is True
        if minimax and not split:  # MiniMax's default: the reasoning opens the content
            text = f"<think>\n{reasoning}\n</think>\n\n{text}"
        words = reasoning.split(" ") if reasoning else []
        pieces = [w + " " for w in words[:-1]] + words[-1:]
        finish = "tool_calls" if call else "stop"
        usage = _usage(_prompt_tokens(body), 7)
        extra = {"base_resp": {"status_code": 0, "status_msg": ""}} if minimax else {}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if call:
                message["tool_calls"] = [call]
            if reasoning and split:
                message["reasoning_details"] = [_details_part(reasoning)]
            elif reasoning and not minimax:
                message["reasoning_content"] = reasoning
            return web.json_response({
                "id": f"chatcmpl-{mode}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model"), "usage": usage, **extra,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            })
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        so_far = ""
        for p in pieces if (split or not minimax) else ():
            so_far += p
            if split:
                deltas.append({"reasoning_details": [_details_part(so_far if arg == "cumulative" else p)]})
            else:
                deltas.append({"reasoning_content": p})
        if text:
            deltas.append({"content": text})
        if call:
            deltas.append({"tool_calls": [{"index": 0, **call}]})
        base = {"id": f"chatcmpl-{mode}", "created": int(time.time()), "model": body.get("model"), **extra}
        return await _delta_stream(request, base, deltas, finish, usage)

    async def _chat_stream(
        self, request: web.Request, body: dict[str, Any], mode: str, arg: str
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        created = int(time.time())
        model = body.get("model")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        async def send(
            choices: list[dict[str, Any]],
            usage: dict[str, Any] | None = None,
            chunk_id: str = "chatcmpl-fakestream",
        ) -> None:
            c: dict[str, Any] = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
            }
            if usage is not None:
                c["usage"] = usage
            if mode == "minimax-ok":
                c["base_resp"] = {"status_code": 0, "status_msg": ""}
            await resp.write(b"data: " + json.dumps(c).encode() + b"\n\n")

        def ch(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "finish_reason": finish}]

        words = _answer_words(body)
        prompt = _prompt_tokens(body)
        try:
            if mode == "keepalive":
                await resp.write(b": keep-alive\n\n")
            await send(ch({"role": "assistant", "content": ""}))
            if mode in ("tools", "repeat-ids") and body.get("tools"):
                await self._stream_tools(send, ch, body, mode)
                completion = 7
                finish = "tool_calls"
            else:
                delay = float(arg) if mode == "slowchunks" and arg else 0.0
                for i, w in enumerate(words):
                    if mode == "keepalive" and i == 1:
                        await resp.write(b": keep-alive\n\n")
                    if mode == "cut" and i == 2:
                        # the connection drops mid-answer: no finish_reason, no [DONE]
                        await asyncio.sleep(0.1)  # let what was written reach the gateway
                        if request.transport:
                            request.transport.abort()
                        return resp
                    if mode == "spark-mid" and i == 1:
                        await resp.write(b'data: {"code": 10014, "message": "output sensitive"}\n\n')
                        return resp
                    if delay:
                        await asyncio.sleep(delay)
                    await send(ch({"content": (" " if i else "") + w}))
                completion = len(words)
                finish = "sensitive" if mode == "sensitive" else "stop"
            usage = _usage(prompt, completion)
            self.state.usage_sent.append({"prompt": prompt, "completion": completion})
            if mode == "usage-in-last":  # Zhipu/Moonshot style: usage rides on the finishing chunk
                await send(ch({}, finish), usage=usage)
            else:
                await send(ch({}, finish))
                if include_usage:
                    await send([], usage=usage)
            await resp.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            self.state.disconnects += 1
            raise
        return resp

    async def _stream_tools(self, send: Any, ch: Any, body: dict[str, Any], mode: str) -> None:
        name = body["tools"][0]["function"]["name"]
        pieces = ['{"city": ', '"Beijing", ', '"unit": "c"}']
        calls = [("call_a1", name)] + ([("call_b2", name)] if mode == "repeat-ids" else [])
        for index, (cid, fname) in enumerate(calls):
            if mode == "repeat-ids":
                # Qwen/DeepSeek style: id, type and name repeated on every delta; and the second
                # call arrives with index 0 (some upstreams number each call from 0)
                for p in pieces:
                    await send(
                        ch(
                            {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": cid,
                                        "type": "function",
                                        "function": {"name": fname, "arguments": p},
                                    }
                                ]
                            }
                        )
                    )
            else:
                await send(
                    ch(
                        {
                            "tool_calls": [
                                {
                                    "index": index,
                                    "id": cid,
                                    "type": "function",
                                    "function": {"name": fname, "arguments": ""},
                                }
                            ]
                        }
                    )
                )
                for p in pieces:
                    await send(ch({"tool_calls": [{"index": index, "function": {"arguments": p}}]}))

    # -- completions and embeddings -----------------------------------------------------------
    async def completions(self, request: web.Request) -> web.StreamResponse:
        denied = self._auth(request)
        if denied:
            return denied
        body = await self._record(request)
        words = _answer_words(body)
        prompt = len(_words(str(body.get("prompt") or "")))
        text = " ".join(words)
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for i, w in enumerate(words):
                if str(body.get("model", "")).startswith("cut") and i == 2:
                    # the connection drops mid-answer: no finish_reason, no [DONE]
                    await asyncio.sleep(0.1)  # let what was written reach the gateway
                    if request.transport:
                        request.transport.abort()
                    return resp
                c = {
                    "id": "cmpl-fake",
                    "object": "text_completion",
                    "created": 1,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "text": (" " if i else "") + w, "logprobs": None, "finish_reason": None}
                    ],
                }
                await resp.write(b"data: " + json.dumps(c).encode() + b"\n\n")
            end = {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": 1,
                "model": body["model"],
                "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}],
            }
            await resp.write(b"data: " + json.dumps(end).encode() + b"\n\n")
            if (body.get("stream_options") or {}).get("include_usage"):
                u = {
                    "id": "cmpl-fake",
                    "object": "text_completion",
                    "created": 1,
                    "model": body["model"],
                    "choices": [],
                    "usage": _usage(prompt, len(words)),
                }
                await resp.write(b"data: " + json.dumps(u).encode() + b"\n\n")
            await resp.write(b"data: [DONE]\n\n")
            return resp
        return web.json_response(
            {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
                "usage": _usage(prompt, len(words)),
            }
        )

    async def list_models(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.state.models]
        return web.json_response({"object": "list", "data": data})

    async def embeddings(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied:
            return denied
        body = await self._record(request)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = 16
        data = []
        for i, text in enumerate(inputs):
            digest = hashlib.sha256(str(text).encode()).digest()
            raw = [(b - 128) / 128 for b in digest[:dims]]
            norm = math.sqrt(sum(x * x for x in raw)) or 1
            data.append({"object": "embedding", "index": i, "embedding": [x / norm for x in raw]})
        data.reverse()  # some upstreams answer out of order; the index is what counts
        tokens = sum(len(_words(str(t))) for t in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


async def _delta_stream(request: web.Request, base: dict[str, Any], deltas: list[dict[str, Any]],
                        finish: str, usage: dict[str, Any], *,
                        last_choice: dict[str, Any] | None = None) -> web.StreamResponse:
    """One chunk per delta (``base``: the chunk's other fields), the last with ``finish`` (and
    ``last_choice``'s fields on its choice) and ``usage``, then ``[DONE]``."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for i, d in enumerate(deltas):
        last = i == len(deltas) - 1
        choice: dict[str, Any] = {"index": 0, "delta": d, "finish_reason": finish if last else None}
        chunk: dict[str, Any] = {**base, "object": "chat.completion.chunk", "choices": [choice]}
        if last:
            choice.update(last_choice or {})
            chunk["usage"] = usage
        await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


def reasoning_dropped(served: dict[str, str], messages: list[dict[str, Any]]) -> bool:
    """Whether an assistant tool-call message in ``messages`` lacks, exactly, the reasoning that
    was served with its call (``served``: call id -> reasoning): what DeepSeek's and GLM's
    interleaved thinking refuse with a 400."""
    for m in messages:
        if m.get("role") != "assistant" or not m.get("tool_calls"):
            continue
        sent = served.get(str(m["tool_calls"][0].get("id", "")))
        if sent is None or m.get("reasoning_content") != sent:
            return True
    return False
