"""Anthropic's Messages API as an upstream (``anthropic``): any Anthropic-compatible base, such as
the Chinese vendors' ``…/anthropic`` endpoints; banjia appends ``/v1/messages``.

Pure translation, both ways: a chat request becomes a Messages request (system extracted, tools,
tool results as ``tool_result`` blocks in a user turn, images as image blocks, ``max_tokens``
always set because Anthropic requires it, ``reasoning_effort`` as ``thinking``), the message
object and the stream's events become chat. References:
https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/docs/build-with-claude/streaming,
https://docs.anthropic.com/en/api/errors.

An Anthropic request from banjia's own ``/v1/messages`` is not translated at all: it passes through
(:meth:`AnthropicAdaptor.messages_request`, :mod:`banjia.passthrough`) with only the model name, the
credentials and the descriptor's quirks applied.

Thinking on the translated path: Anthropic signs each thinking block and refuses a tool-call
follow-up whose thinking comes back without its signature, so an answer's signature rides in the
chat message as :data:`SIGNATURE` (the gateway keeps it in the replay store, beside the reasoning,
and never shows it to clients) and comes back the same way on the next turn.

The key goes in ``x-api-key`` (Anthropic's own header) unless the config sets ``auth: bearer``.
Vendor quirks are the ``anthropic`` descriptor's (:mod:`banjia.vendors.table`).
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from banjia.adaptors import ProviderSpec, http_provider
from banjia.adaptors.base import (
    Adaptor,
    ErrorRule,
    ErrorTable,
    Fetch,
    StreamTranslator,
    UpstreamRequest,
    UpstreamResponse,
)
from banjia.catalog import load_catalog
from banjia.protocol.chat import ChatRequest
from banjia.providers import unsupported
from banjia.vendors import DESCRIPTORS

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["SIGNATURE", "SPEC", "AnthropicAdaptor", "chat_completion", "chat_usage"]

VERSION = "2023-06-01"  # the anthropic-version every current SDK sends
DEFAULT_MAX_TOKENS = 4096
_TOOL_ERROR = "[tool error] "  # how banjia's Messages surface marks an is_error tool result in chat
# the chat message field (banjia's own, between the gateway and this adaptor) that carries the
# signature of the turn's one thinking block
SIGNATURE = "reasoning_signature"
# the signatures banjia.messages gives reasoning an OpenAI-dialect upstream produced: no Anthropic
# upstream can verify them
_OWN_SIGNATURE = "banjia-"
_FORCED = ("any", "tool")  # the tool_choice types that force a tool call

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# reasoning_effort → thinking budget; the inverse of banjia.messages._effort's bands
_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768}
_MIN_BUDGET = 1024  # Anthropic's smallest budget_tokens

ERRORS: ErrorTable = MappingProxyType({
    "invalid_request_error": ErrorRule(400, type="invalid_request_error"),
    "authentication_error": ErrorRule(401, "invalid_api_key", "authentication_error", disable=True),
    "billing_error": ErrorRule(429, "insufficient_quota", "insufficient_quota", disable=True),
    "permission_error": ErrorRule(403, "permission_denied", "permission_error"),
    "not_found_error": ErrorRule(404, "model_not_found", "invalid_request_error"),
    "request_too_large": ErrorRule(400, "request_too_large", "invalid_request_error"),
    "rate_limit_error": ErrorRule(429, "rate_limit_exceeded", "rate_limit_error"),
    "api_error": ErrorRule(502, "upstream_error", "upstream_error"),
    "overloaded_error": ErrorRule(503, "upstream_overloaded", "upstream_error"),
    "timeout_error": ErrorRule(504, "upstream_timeout", "upstream_error"),
    "__status_529": ErrorRule(503, "upstream_overloaded", "upstream_error"),
})


def _default_max_tokens(model: str) -> int:
    """The catalog's max_output for ``model`` under any vendor, else 4,096."""
    for vendor in load_catalog().vendors.values():
        info = vendor.get(model)
        if info is not None and info.max_output:
            return info.max_output
    return DEFAULT_MAX_TOKENS


# -- request ----------------------------------------------------------------------------------------
def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        head, _, data = url.partition(",")
        media_type = head[5:].split(";")[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _user_blocks(provider: str, content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    out: list[dict[str, Any]] = []
    for p in content or ():
        kind = p.get("type")
        if kind in ("text", "input_text"):
            out.append({"type": "text", "text": str(p.get("text") or "")})
        elif kind == "image_url":
            iu = p.get("image_url")
            out.append(_image(str(iu.get("url") if isinstance(iu, dict) else iu)))
        else:
            raise unsupported(provider, f"content parts of type '{kind}'")
    return out


def _assistant_blocks(m: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    calls = m.get("tool_calls") or []
    # reasoning must come back with a tool-call turn, and with the signature the upstream gave it:
    # unsigned thinking is refused (400), so without one it is left out (see _thinking_allowed)
    sig = m.get(SIGNATURE)
    if calls and m.get("reasoning_content") and isinstance(sig, str) and sig:
        out.append({"type": "thinking", "thinking": str(m["reasoning_content"]), "signature": sig})
    text = _text(m.get("content"))
    if text:
        out.append({"type": "text", "text": text})
    for c in calls:
        fn = c.get("function") or {}
        try:
            args = orjson.loads(fn.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            args = {}
        out.append({"type": "tool_use", "id": str(c.get("id")), "name": str(fn.get("name")),
                    "input": args if isinstance(args, dict) else {}})
    return out


def _tool_result(m: dict[str, Any]) -> dict[str, Any]:
    text = _text(m.get("content"))
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": str(m.get("tool_call_id"))}
    if text.startswith(_TOOL_ERROR):
        text, block["is_error"] = text[len(_TOOL_ERROR):], True
    block["content"] = text
    return block


def _turns(provider: str, messages: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Chat messages → (system texts, Anthropic turns); same-role neighbours are merged because
    Anthropic wants user and assistant turns to alternate."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(_text(m.get("content")))
            continue
        if role == "assistant":
            blocks, kind = _assistant_blocks(m), "assistant"
        elif role == "tool":
            blocks, kind = [_tool_result(m)], "user"
        elif role == "user":
            blocks, kind = _user_blocks(provider, m.get("content")), "user"
        else:
            raise unsupported(provider, f"messages with role '{role}'")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == kind:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": kind, "content": blocks})
    return system, turns


def _tool_choice(choice: Any, parallel: bool | None) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None:
        out = None if parallel is not False else {"type": "auto"}
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    else:
        out = {"type": "tool", "name": str(((choice or {}).get("function") or {}).get("name"))}
    if out is not None and parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _open_tool_turn(turns: list[Any]) -> dict[str, Any] | None:
    """The assistant turn of a tool loop still in progress (its tool results are the last user
    turn), or None."""
    if len(turns) < 2 or not all(isinstance(t, dict) for t in turns[-2:]):
        return None
    last: dict[str, Any] = turns[-1]
    prev: dict[str, Any] = turns[-2]
    content = last.get("content")
    if last.get("role") != "user" or prev.get("role") != "assistant" or not isinstance(content, list):
        return None
    if not any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return None
    return prev


def _thinking_allowed(turns: list[Any]) -> bool:
    """Whether thinking may be enabled for these turns: with thinking on, Anthropic refuses a tool
    loop in progress whose assistant turn does not start with a (signed) thinking block
    (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks).
    Such a turn goes without thinking; the next one may think again."""
    turn = _open_tool_turn(turns)
    if turn is None:
        return True
    content = turn.get("content")
    if not isinstance(content, list) or not content:
        return False
    first = content[0]
    return isinstance(first, dict) and first.get("type") in ("thinking", "redacted_thinking")


def _without_own_thinking(messages: list[Any]) -> list[Any] | None:
    """``messages`` without the thinking blocks banjia signed itself (reasoning an OpenAI-dialect
    entry of the chain produced on an earlier turn), or None when there are none. An Anthropic
    upstream cannot verify those signatures and would refuse the whole request."""
    def own(b: Any) -> bool:
        return (isinstance(b, dict) and b.get("type") == "thinking"
                and str(b.get("signature") or "").startswith(_OWN_SIGNATURE))

    if not any(isinstance(m, dict) and isinstance(m.get("content"), list) and any(map(own, m["content"]))
               for m in messages):
        return None
    out: list[Any] = []
    for m in messages:
        if isinstance(m, dict) and isinstance(m.get("content"), list) and any(map(own, m["content"])):
            kept = [b for b in m["content"] if not own(b)]
            # a turn that was nothing but banjia's thinking stays (turns must alternate)
            m = {**m, "content": kept or m["content"]}
        out.append(m)
    return out


def _system_text(system: list[Any]) -> str:
    return "\n\n".join(str(b.get("text") or "") for b in system if isinstance(b, dict))


class AnthropicAdaptor(Adaptor):
    stream_has_done = False  # the stream ends with message_stop and the connection

    def __init__(
        self, provider: str, fetch: Fetch, *, base_url: str, api_key: str | None, bearer: bool = False
    ) -> None:
        super().__init__(provider, fetch)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.bearer = bearer
        self.error_table = ERRORS
        host = urlsplit(self.base_url).hostname or ""
        d = DESCRIPTORS["anthropic"]
        self.join_system = host in d.join_system_hosts
        self.no_forced_tool_thinking = host in d.no_forced_tool_thinking_hosts

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json", "anthropic-version": VERSION}
        if self.api_key:
            if self.bearer:
                h["Authorization"] = f"Bearer {self.api_key}"
            else:
                h["x-api-key"] = self.api_key
        return h

    def messages_body(self, req: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        if req.n is not None and req.n > 1:
            raise unsupported(self.provider, "n > 1 (several choices per request)")
        if req.logprobs:
            raise unsupported(self.provider, "logprobs")
        if req.functions or req.function_call is not None:
            raise unsupported(self.provider, "the legacy 'functions' parameter; send 'tools' instead")
        fmt = (req.response_format or {}).get("type")
        if fmt not in (None, "text"):
            raise unsupported(self.provider, f"response_format '{fmt}'")
        wire = req.wire()
        system, turns = _turns(self.provider, wire["messages"])
        max_tokens = req.output_limit or _default_max_tokens(model)
        body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
        if system:
            body["system"] = (
                "\n\n".join(system) if self.join_system else [{"type": "text", "text": s} for s in system]
            )
        if req.tools:
            tools = []
            for t in wire["tools"]:
                fn = t.get("function") or {}
                tool: dict[str, Any] = {"name": fn.get("name"),
                                        "input_schema": fn.get("parameters") or {"type": "object"}}
                if fn.get("description"):
                    tool["description"] = fn["description"]
                tools.append(tool)
            body["tools"] = tools
            choice = _tool_choice(wire.get("tool_choice"), req.parallel_tool_calls)
            if choice is not None:
                body["tool_choice"] = choice
        stops = req.stop_list()
        if stops:
            body["stop_sequences"] = stops
        if req.temperature is not None:
            body["temperature"] = min(float(req.temperature), 1.0)  # Anthropic's range is [0, 1]
        if req.top_p is not None:
            body["top_p"] = req.top_p
        if isinstance(wire.get("top_k"), int):
            body["top_k"] = wire["top_k"]
        if req.user:
            body["metadata"] = {"user_id": req.user}
        effort = wire.get("reasoning_effort")
        if effort == "none":
            body["thinking"] = {"type": "disabled"}
        elif isinstance(effort, str) and effort in _BUDGETS:
            # the budget must stay below max_tokens; too small a room for thinking: none is asked
            # for. A forced tool call cannot think (Anthropic allows only auto/none with thinking).
            # A tool loop whose last turn came back without signed thinking cannot think either.
            budget = min(_BUDGETS[effort], max_tokens - 1)
            forced = (body.get("tool_choice") or {}).get("type") in _FORCED
            if budget >= _MIN_BUDGET and not forced and _thinking_allowed(turns):
                body["thinking"] = {"type": "enabled", "budget_tokens": budget}
                # thinking refuses a temperature other than 1 and top_k: the vendor's defaults apply
                body.pop("temperature", None)
                body.pop("top_k", None)
        if stream:
            body["stream"] = True
        return body

    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        body = self.messages_body(req, model, stream=stream)
        return UpstreamRequest(self.base_url + "/v1/messages", orjson.dumps(body), self.headers())

    # -- passthrough: an Anthropic request from banjia's /v1/messages -----------------------------
    def messages_request(
        self, body: dict[str, Any], model: str, *, stream: bool, beta: str | None = None
    ) -> UpstreamRequest:
        """The client's Messages request ``body`` for ``model``: as sent (cache_control, thinking
        blocks and their signatures, metadata, fields banjia does not know), with the upstream's
        model name, banjia's credentials, the client's ``anthropic-beta`` header, and no more
        than the vendor's quirks (:meth:`passthrough_body`)."""
        headers = self.headers()
        if beta:
            headers["anthropic-beta"] = beta
        out = self.passthrough_body(body, model, stream=stream)
        return UpstreamRequest(self.base_url + "/v1/messages", orjson.dumps(out), headers)

    def passthrough_body(self, body: dict[str, Any], model: str, *, stream: bool) -> dict[str, Any]:
        out = {**body, "model": model}
        if bool(out.get("stream")) != stream:
            out["stream"] = stream
        system = out.get("system")
        if self.join_system and isinstance(system, list):
            out["system"] = _system_text(system)  # DeepSeek refuses an array (cache_control goes)
        thinking = out.get("thinking")
        thinks = isinstance(thinking, dict) and thinking.get("type") == "enabled"
        messages = out.get("messages")
        kept = _without_own_thinking(messages) if isinstance(messages, list) else None
        if kept is not None:
            out["messages"] = kept
            if thinks and not _thinking_allowed(kept):
                del out["thinking"]  # the tool loop's thinking was banjia's: this turn goes without
                thinks = False
        choice = out.get("tool_choice")
        forced = isinstance(choice, dict) and choice.get("type") in _FORCED
        if thinks and forced and self.no_forced_tool_thinking:
            # These vendors refuse a forced tool call while thinking (Anthropic: "Thinking may not
            # be enabled when tool_choice forces tool use",
            # https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use;
            # Kimi: "tool_choice 'required' is incompatible with thinking enabled",
            # https://github.com/AstrBotDevs/AstrBot/pull/7825). The forced call is what the
            # client's code waits for, the thinking only helps: thinking goes, as on the
            # translated path (messages_body).
            del out["thinking"]
        return out

    def messages_response(self, resp: UpstreamResponse) -> dict[str, Any]:
        """A successful upstream body: the message object, as the upstream sent it."""
        return self._object(resp.body, "a body")

    def messages_event(self, data: str) -> dict[str, Any]:
        """One stream event, as the upstream sent it; an ``error`` event raises."""
        return self._object(data, "a stream event")

    # -- responses ----------------------------------------------------------------------------
    def _object(self, raw: bytes | str, what: str) -> dict[str, Any]:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, f"the upstream sent {what} that is not JSON") from e
        if not isinstance(data, dict):
            raise self.make_error(502, None, f"the upstream sent {what} that is not a JSON object")
        if data.get("type") == "error":
            err = data.get("error") or {}
            raise self.make_error(502, err.get("type"), str(err.get("message") or ""))
        return data

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        return chat_completion(self._object(resp.body, "a body"), model)

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _MessageStream(self)


def chat_completion(data: dict[str, Any], model: str) -> dict[str, Any]:
    """A message object → a ``chat.completion``; the signature of its thinking rides in the
    message as :data:`SIGNATURE` when one thinking block holds all of it (the gateway takes it
    out before the client sees the answer)."""
    texts, reasoning, calls, signatures = [], [], [], []
    for b in data.get("content") or ():
        if not isinstance(b, dict):
            continue
        kind = b.get("type")
        if kind == "text":
            texts.append(str(b.get("text") or ""))
        elif kind == "thinking":
            reasoning.append(str(b.get("thinking") or ""))
            signatures.append(str(b.get("signature") or ""))
        elif kind == "redacted_thinking":
            signatures.append("")  # chat has no words for it: the turn's thinking cannot go back whole
        elif kind == "tool_use":
            calls.append({"id": str(b.get("id")), "type": "function",
                          "function": {"name": str(b.get("name")),
                                       "arguments": orjson.dumps(b.get("input") or {}).decode()}})
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None, "refusal": None}
    if reasoning:
        msg["reasoning_content"] = "".join(reasoning)
        if len(signatures) == 1 and signatures[0]:
            msg[SIGNATURE] = signatures[0]
    if calls:
        msg["tool_calls"] = calls
    finish = FINISH.get(str(data.get("stop_reason")), "stop")
    if calls and finish == "stop":
        finish = "tool_calls"
    return {
        "id": "chatcmpl-" + str(data.get("id") or time.time_ns()),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}],
        "usage": chat_usage(data.get("usage")),
    }


def chat_usage(u: Any, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Anthropic usage → OpenAI's: the prompt counts cache reads and writes, which Anthropic's
    ``input_tokens`` leaves out; ``into`` holds what an earlier event of a stream reported."""
    seen = dict(into or {})
    if isinstance(u, dict):
        for k in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            if u.get(k) is not None:
                seen[k] = int(u[k] or 0)
    read = seen.get("cache_read_input_tokens", 0)
    created = seen.get("cache_creation_input_tokens", 0)
    prompt = seen.get("input_tokens", 0) + read + created
    completion = seen.get("output_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        "cache_creation_input_tokens": created,
    }


class _MessageStream(StreamTranslator):
    """Anthropic's stream events → chat chunk fragments. Tool calls are numbered in the order
    their blocks start; the usage of ``message_start`` and ``message_delta`` is combined. The
    signature of the answer's one thinking block comes as a fragment of its own,
    ``{SIGNATURE: …}``, before the finish (the gateway keeps it; clients never see it)."""

    __slots__ = ("a", "signatures", "tools", "usage")

    def __init__(self, adaptor: AnthropicAdaptor) -> None:
        self.a = adaptor
        self.tools: dict[int, int] = {}  # content block index → tool call index
        self.usage: dict[str, Any] = {}
        self.signatures: list[str] = []  # per thinking block ("" for a redacted one)

    def _raw_usage(self, u: Any) -> None:
        if isinstance(u, dict):
            self.usage.update({k: v for k, v in u.items() if isinstance(v, int)})

    def feed(self, data: str) -> list[dict[str, Any]]:
        ev = self.a._object(data, "a stream event")  # an error event raises here
        kind = ev.get("type")
        delta: dict[str, Any] = {}
        if kind == "message_start":
            self._raw_usage((ev.get("message") or {}).get("usage"))
        elif kind == "content_block_start":
            block, index = ev.get("content_block") or {}, int(ev.get("index") or 0)
            if block.get("type") == "tool_use":
                self.tools[index] = len(self.tools)
                delta["tool_calls"] = [{"index": self.tools[index], "id": str(block.get("id")),
                                        "type": "function",
                                        "function": {"name": str(block.get("name")), "arguments": ""}}]
            elif block.get("type") == "text" and block.get("text"):
                delta["content"] = str(block["text"])
            elif block.get("type") == "thinking":
                self.signatures.append(str(block.get("signature") or ""))
            elif block.get("type") == "redacted_thinking":
                self.signatures.append("")
        elif kind == "content_block_delta":
            d, index = ev.get("delta") or {}, int(ev.get("index") or 0)
            if d.get("type") == "text_delta":
                delta["content"] = str(d.get("text") or "")
            elif d.get("type") == "thinking_delta":
                delta["reasoning_content"] = str(d.get("thinking") or "")
            elif d.get("type") == "input_json_delta" and index in self.tools and d.get("partial_json"):
                delta["tool_calls"] = [{"index": self.tools[index],
                                        "function": {"arguments": str(d["partial_json"])}}]
            elif d.get("type") == "signature_delta" and self.signatures:
                self.signatures[-1] += str(d.get("signature") or "")
        elif kind == "message_delta":
            self._raw_usage(ev.get("usage"))
            reason = (ev.get("delta") or {}).get("stop_reason")
            finish = FINISH.get(str(reason), "stop")
            if self.tools and finish == "stop":
                finish = "tool_calls"
            out: list[dict[str, Any]] = []
            if len(self.signatures) == 1 and self.signatures[0]:
                out.append({SIGNATURE: self.signatures[0]})
            return [*out, {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
                    {"choices": [], "usage": chat_usage(self.usage)}]
        if not delta:
            return []  # ping, content_block_stop, message_stop, signature deltas
        return [{"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}]


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: AnthropicAdaptor(
            name, fetch, base_url=base, api_key=cfg.api_key,
            # x-api-key unless the config says bearer (the field's default is the zhipu type's)
            bearer=cfg.auth == "bearer" and "auth" in cfg.model_fields_set,
        ),
    )


SPEC = ProviderSpec.of("anthropic", _build)
