"""MiniMax ChatCompletion Pro (``minimax-pro``): ``bot_setting``, ``sender_type``, ``GroupId``.

Wire facts from providers.md §11, LangChain.js ``ChatMinimax`` (the Pro client) and the
``go-minimax`` client (``ChatCompletionProRequest``/``Response``):

* ``POST /v1/text/chatcompletion_pro?GroupId=<group>`` with ``Authorization: Bearer <key>``;
* the system prompt becomes ``bot_setting[{bot_name, content}]`` (always sent: both clients
  always send one), turns become ``{sender_type: USER|BOT|FUNCTION, sender_name, text}``, and
  ``reply_constraints`` names the bot that answers;
* errors arrive with HTTP 200 as ``base_resp.status_code`` ≠ 0, on answers and on stream chunks
  alike, so every one is checked (codes: platform.minimax.io/docs/api-reference/errorcode);
* usage is ``total_tokens`` only: the completion part is estimated locally
  (:func:`banjia.tokens.estimate_text` of the answer) and the prompt is the rest;
* the stream is SSE ``data:`` lines (two line breaks apart only with ``use_standard_sse``, which
  is sent) and ends without ``[DONE]``: chunks without ``finish_reason`` carry new text in
  ``choices[0].messages[0].text``; the last chunk, with ``finish_reason``, repeats the *whole*
  answer (as in a non-stream answer) plus ``reply``, ``usage`` and ``base_resp`` (LangChain.js
  treats that chunk as the full response, not a token) — so only a suffix never sent is emitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from banjia.adaptors import ProviderSpec, http_provider
from banjia.adaptors._shared import StopScanner, reject_unsupported
from banjia.adaptors.base import (
    Adaptor,
    ErrorRule,
    Fetch,
    StreamTranslator,
    UpstreamRequest,
    UpstreamResponse,
)
from banjia.adaptors.vendors import AUTH, MINIMAX_ERRORS, QUOTA, RATE, Clamp
from banjia.protocol.chat import ChatRequest, ToolCall, chat_completion, choice, text_of, usage
from banjia.tokens import estimate_text

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["SPEC", "MiniMaxProAdaptor"]

PATH = "/v1/text/chatcompletion_pro"
BOT_NAME = "Assistant"
USER_NAME = "User"
# bot_setting is sent even without a system prompt (see module doc); this is the neutral stand-in
DEFAULT_SETTING = "You are a helpful assistant."
OUTPUT_SENSITIVE = 1027

TEMPERATURE = Clamp(0, 1, open_low=True)  # (0, 1]
TOP_P = Clamp(0, 1, open_low=True)  # (0, 1]

# Beyond vendors.MINIMAX_ERRORS, from the same error-code page: 2049 "invalid api key",
# 1033 "system error", 1041 "conn limit", 1042 "invisible character ratio limit",
# 2045 "rate growth limit", 2056 "usage limit exceeded".
MINIMAX_PRO_ERRORS: Mapping[str | int, ErrorRule] = MappingProxyType(
    {
        **MINIMAX_ERRORS,
        2049: AUTH,
        1033: ErrorRule(502, "upstream_error", "upstream_error"),
        1041: RATE,
        1042: ErrorRule(400, "invalid_value", "invalid_request_error"),
        2045: RATE,
        2056: QUOTA,
    }
)

# "stop" and "length" as providers.md §11 lists; "max_output" (unconfirmed) as some clients report it
_FINISH = {"stop": "stop", "length": "length", "max_output": "length", "function_call": "tool_calls"}


class MiniMaxProAdaptor(Adaptor):
    stream_has_done = False
    error_table = MINIMAX_PRO_ERRORS

    def __init__(self, provider: str, fetch: Fetch, *, base_url: str, api_key: str, group_id: str) -> None:
        super().__init__(provider, fetch)
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.api_key = api_key
        self.group_id = group_id

    # -- request --------------------------------------------------------------------------------
    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        reject_unsupported(self.provider, req)
        system = "\n\n".join(
            t for t in (text_of(m.content) for m in req.messages if m.role in ("system", "developer")) if t
        )
        body: dict[str, Any] = {
            "model": model,
            "bot_setting": [{"bot_name": BOT_NAME, "content": system or DEFAULT_SETTING}],
            "messages": _messages(req),
            "reply_constraints": {"sender_type": "BOT", "sender_name": BOT_NAME},
            # masking is on by default (LangChain.js ChatMinimax docs: "default being true") and
            # rewrites e-mails, links and ID numbers in answers; OpenAI clients expect the text as written
            "mask_sensitive_info": False,
        }
        if stream:
            body["stream"] = True
            body["use_standard_sse"] = True
        if req.output_limit is not None:
            body["tokens_to_generate"] = req.output_limit
        if req.temperature is not None:
            body["temperature"] = TEMPERATURE.apply(req.temperature)
        if req.top_p is not None:
            body["top_p"] = TOP_P.apply(req.top_p)
        if req.tools and req.tool_choice != "none":
            # Forcing a call ("required" or a named tool) is not expressible in a documented Pro
            # field, so those are sent as an ordinary offer of the functions.
            body["functions"] = [
                {
                    "name": t.function.name,
                    "description": t.function.description or "",
                    "parameters": t.function.parameters or {"type": "object", "properties": {}},
                }
                for t in req.tools
            ]
        url = f"{self.base_url}{PATH}?GroupId={quote(self.group_id, safe='')}"
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        return UpstreamRequest(url, orjson.dumps(body), headers)

    # -- response -------------------------------------------------------------------------------
    def error_fields(self, body: bytes) -> tuple[str | int | None, str]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return super().error_fields(body)
        base = data.get("base_resp") if isinstance(data, dict) else None
        if isinstance(base, dict) and base.get("status_code"):
            return base["status_code"], str(base.get("status_msg") or "")
        return super().error_fields(body)

    def check(self, obj: Any) -> dict[str, Any]:
        """Raise the error a body or chunk carries; 1027 (output moderation) is left to the caller."""
        if not isinstance(obj, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        base = obj.get("base_resp") or {}
        code = base.get("status_code") if isinstance(base, dict) else None
        if code and code != OUTPUT_SENSITIVE:
            raise self.make_error(502, code, str(base.get("status_msg") or ""))
        if obj.get("input_sensitive"):
            raise self.make_error(400, 1026, "the input failed MiniMax's content review")
        out: dict[str, Any] = obj
        return out

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        try:
            data = self.check(resp.json())
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        ch = (data.get("choices") or [{}])[0]
        msg = _bot_message(ch)
        # MiniMax Pro has no stop parameter: stop sequences are applied to the answer here
        text, stopped = StopScanner(req.stop_list()).cut(str(msg.get("text") or data.get("reply") or ""))
        call = _function_call(msg)
        finish = _finish(data, ch, call, stopped)
        calls = (
            [{"id": "call_" + str(data.get("id") or "0"), "type": "function", "function": call}]
            if call
            else None
        )
        return chat_completion(
            id="chatcmpl-" + str(data.get("id") or data.get("created") or "minimax"),
            model=model,
            choices=[choice(0, text if text or not call else None, finish, tool_calls=calls)],
            usage=_usage(data, text + (call["arguments"] if call else "")),
            created=int(data.get("created") or 0) or None,
        )

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _MiniMaxStream(self, req)


class _MiniMaxStream(StreamTranslator):
    def __init__(self, adaptor: MiniMaxProAdaptor, req: ChatRequest) -> None:
        self.a = adaptor
        self.stops = StopScanner(req.stop_list())
        self.raw = ""  # the upstream's text so far, before stop sequences are applied
        self.done = False

    def feed(self, data: str) -> list[dict[str, Any]]:
        try:
            objs = [orjson.loads(data)]
        except orjson.JSONDecodeError:
            # without use_standard_sse, chunks are one line each and arrive as one multi-line event
            try:
                objs = [orjson.loads(line) for line in data.splitlines() if line.strip()]
            except orjson.JSONDecodeError as e:
                raise self.a.make_error(
                    502, None, "the upstream stream sent an event that is not JSON"
                ) from e
        return [frag for obj in objs for frag in self._chunk(obj)]

    def _chunk(self, obj: Any) -> list[dict[str, Any]]:
        data = self.a.check(obj)
        ch = (data.get("choices") or [None])[0]
        if not isinstance(ch, dict):
            ch = {}
        msg = _bot_message(ch)
        if self.done:  # cut short by a stop sequence: only the usage still counts
            u = _usage(data, self.raw) if ch.get("finish_reason") else None
            return [{"usage": u}] if u else []
        if (data.get("base_resp") or {}).get("status_code") == OUTPUT_SENSITIVE:
            self.done = True
            u = _usage(data, self.raw)
            return [_frag({}, "content_filter"), *([{"usage": u}] if u else [])]
        if not ch.get("finish_reason"):
            text = str(msg.get("text") or "")
            self.raw += text
            piece = self.stops.feed(text)
            self.done = self.stops.hit
            return [_frag({"content": piece} if piece else {}, "stop" if self.stops.hit else None)]
        # the last chunk repeats the whole answer: send only what was never sent
        full = str(msg.get("text") or data.get("reply") or "")
        rest = full[len(self.raw) :] if full.startswith(self.raw) else ""
        piece = self.stops.feed(rest)
        piece += self.stops.flush()
        call = _function_call(msg)
        delta: dict[str, Any] = {"content": piece} if piece else {}
        if call:
            delta["tool_calls"] = [{"index": 0, "type": "function", "function": call}]
        self.done = True
        out = [_frag(delta, _finish(data, ch, call, self.stops.hit))]
        answer = self.raw + rest + (call["arguments"] if call else "")
        u = _usage(data, answer)
        if u:
            out.append({"usage": u})
        return out


def _frag(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _bot_message(ch: dict[str, Any]) -> dict[str, Any]:
    msgs = [m for m in ch.get("messages") or () if isinstance(m, dict)]
    bot = [m for m in msgs if m.get("sender_type", "BOT") == "BOT"]
    return (bot or msgs or [{}])[-1]


def _function_call(msg: dict[str, Any]) -> dict[str, str] | None:
    fc = msg.get("function_call")
    if isinstance(fc, dict) and fc.get("name"):
        return {"name": str(fc["name"]), "arguments": str(fc.get("arguments") or "{}")}
    return None


def _finish(data: dict[str, Any], ch: dict[str, Any], call: Any, stopped: bool) -> str:
    if data.get("output_sensitive") or (data.get("base_resp") or {}).get("status_code") == OUTPUT_SENSITIVE:
        return "content_filter"
    if stopped:
        return "stop"
    if call:
        return "tool_calls"
    return _FINISH.get(str(ch.get("finish_reason") or "stop"), "stop")


def _usage(data: dict[str, Any], answer: str) -> dict[str, Any] | None:
    total = (data.get("usage") or {}).get("total_tokens")
    if not isinstance(total, int):
        return None
    # only the total is reported: the answer's share is estimated, the prompt is the rest
    completion = min(estimate_text(answer), total)
    return usage(total - completion, completion)


def _messages(req: ChatRequest) -> list[dict[str, Any]]:
    """OpenAI turns → Pro messages. An assistant's tool calls become one BOT message each (with a
    ``function_call``), each followed by its FUNCTION result, named after the function."""
    out: list[dict[str, Any]] = []
    pending: list[tuple[str, ToolCall]] = []
    results: dict[str, str] = {}

    def flush() -> None:
        for text, call in pending:
            fc = {"name": call.function.name, "arguments": call.function.arguments or "{}"}
            out.append({"sender_type": "BOT", "sender_name": BOT_NAME, "text": text, "function_call": fc})
            if call.id in results:
                out.append(
                    {
                        "sender_type": "FUNCTION",
                        "sender_name": call.function.name,
                        "text": results.pop(call.id),
                    }
                )
        pending.clear()

    for m in req.messages:
        if m.role == "tool":
            if any(c.id == m.tool_call_id for _, c in pending):
                results[m.tool_call_id] = text_of(m.content)
            else:
                out.append({"sender_type": "FUNCTION", "sender_name": "function", "text": text_of(m.content)})
            continue
        flush()
        if m.role == "user":
            out.append(
                {"sender_type": "USER", "sender_name": m.name or USER_NAME, "text": text_of(m.content)}
            )
        elif m.role == "assistant":
            text = text_of(m.content)
            if m.tool_calls:
                pending.extend((text if i == 0 else "", c) for i, c in enumerate(m.tool_calls))
            else:
                out.append({"sender_type": "BOT", "sender_name": BOT_NAME, "text": text})
    flush()
    return out


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: MiniMaxProAdaptor(
            name, fetch, base_url=base, api_key=cfg.api_key or "", group_id=cfg.group_id or ""
        ),
    )


SPEC = ProviderSpec.of("minimax-pro", _build)
