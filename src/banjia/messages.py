"""Anthropic's Messages API over the gateway's chat path: a Messages request becomes a chat
request (served with fallback, quotas and the ledger like any other), and the chat answer, or
each chat chunk of a stream, becomes Anthropic's message object or events.

Reference: https://docs.anthropic.com/en/api/messages and
https://docs.anthropic.com/en/docs/build-with-claude/streaming (the event order).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from banjia.errors import APIError, bad_request
from banjia.protocol._base import validate
from banjia.protocol.anthropic import (
    CountTokensRequest,
    MessagesRequest,
    error_body,
    message_object,
    message_usage,
)
from banjia.protocol.chat import ChatRequest
from banjia.sse import encode_event
from banjia.tokens import estimate_messages

__all__ = ["MessageEvents", "count_tokens", "from_chat", "stand_in", "to_chat"]

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                "function_call": "tool_use", "content_filter": "refusal"}


def _signature(thinking: str) -> str:
    """An opaque signature for reasoning an OpenAI-dialect upstream produced (it signs nothing):
    clients send thinking blocks back with it, and banjia replays the text."""
    return "banjia-" + hashlib.sha256(thinking.encode()).hexdigest()[:32]


# -- request --------------------------------------------------------------------------------------
def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    out = []
    for i, b in enumerate(content or []):
        if not isinstance(b, dict) or b.get("type") != "text":
            raise bad_request(f"{where}[{i}]: only text blocks are allowed here.", param=where)
        out.append(str(b.get("text") or ""))
    return "\n\n".join(out)


def _image_url(block: dict[str, Any], where: str) -> dict[str, Any]:
    src = block.get("source") or {}
    if src.get("type") == "base64":
        url = f"data:{src.get('media_type')};base64,{src.get('data')}"
    elif src.get("type") == "url":
        url = str(src.get("url"))
    else:
        raise bad_request(f"{where}.source: use a 'base64' or 'url' image source.", param=where)
    return {"type": "image_url", "image_url": {"url": url}}


def _document_text(block: dict[str, Any], where: str) -> str:
    src = block.get("source") or {}
    if src.get("type") == "text":
        return str(src.get("data") or "")
    if src.get("type") == "content":
        return _text_of(src.get("content"), where + ".source.content")
    raise bad_request(
        f"{where}: this model reads text documents only; send the document as plain text "
        "(source type 'text').",
        param=where,
    )


def _user_message(content: Any, where: str) -> list[dict[str, Any]]:
    """One Anthropic user turn → tool messages (its tool results, first) and a user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for i, b in enumerate(content):
        at, kind = f"{where}.content[{i}]", b.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(b.get("text") or "")})
        elif kind == "image":
            parts.append(_image_url(b, at))
        elif kind == "document":
            parts.append({"type": "text", "text": _document_text(b, at)})
        elif kind == "tool_result":
            text = _tool_result_text(b.get("content"), at)
            if b.get("is_error"):
                text = "[tool error] " + text
            tools.append({"role": "tool", "tool_call_id": str(b.get("tool_use_id")), "content": text})
        else:
            raise bad_request(f"{at}: content blocks of type '{kind}' are not supported here.", param=at)
    out = list(tools)
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "\n\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _tool_result_text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "\n\n".join(str(b.get("text") or "") for b in content if b.get("type") == "text")


def _assistant_message(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts, reasoning, calls = [], [], []
    for i, b in enumerate(content):
        kind = b.get("type")
        if kind == "text":
            texts.append(str(b.get("text") or ""))
        elif kind == "thinking":
            reasoning.append(str(b.get("thinking") or ""))
        elif kind == "tool_use":
            args = orjson.dumps(b.get("input") or {}).decode()
            calls.append({"id": str(b.get("id")), "type": "function",
                          "function": {"name": str(b.get("name")), "arguments": args}})
        elif kind != "redacted_thinking":
            at = f"{where}.content[{i}]"
            raise bad_request(f"{at}: content blocks of type '{kind}' are not supported here.", param=at)
    msg: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        msg["tool_calls"] = calls
    if reasoning:
        msg["reasoning_content"] = "".join(reasoning)
    return msg


def _tools(req: CountTokensRequest) -> list[dict[str, Any]]:
    out = []
    for i, t in enumerate(req.tools or []):
        if t.type not in (None, "custom"):
            raise bad_request(
                f"tools[{i}]: server tools ('{t.type}') are not supported; define the tool with "
                "a name and an input_schema.",
                param=f"tools[{i}]",
            )
        fn: dict[str, Any] = {"name": t.name, "parameters": t.input_schema or {"type": "object"}}
        if t.description:
            fn["description"] = t.description
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: dict[str, Any]) -> tuple[Any, bool]:
    kind = choice.get("type")
    parallel = not choice.get("disable_parallel_tool_use")
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", parallel
    if kind == "tool" and choice.get("name"):
        return {"type": "function", "function": {"name": str(choice["name"])}}, parallel
    raise bad_request("tool_choice.type must be 'auto', 'any', 'tool' (with a name) or 'none'.",
                      param="tool_choice")


# Anthropic's output_config.effort values, as OpenAI's reasoning_effort (which each adaptor turns
# into its vendor's switch): https://docs.anthropic.com/en/docs/build-with-claude/effort
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def _effort(thinking: dict[str, Any] | None, output_config: Any = None) -> str | None:
    """``thinking`` (and ``output_config.effort``) as OpenAI's ``reasoning_effort``: ``enabled`` by
    its budget; ``adaptive`` (Claude Code's newer requests) by the effort asked, else high;
    ``disabled`` as none, so a vendor that thinks by default is told not to."""
    kind = (thinking or {}).get("type")
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    if kind == "disabled":
        return "none"
    if kind == "enabled":
        budget = int((thinking or {}).get("budget_tokens") or 0)
        return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    if kind == "adaptive":
        return _EFFORTS.get(str(effort), "high")
    return None


def _response_format(output_config: Any) -> dict[str, Any] | None:
    """``output_config.format`` (Anthropic's structured outputs) as OpenAI's ``response_format``."""
    fmt = output_config.get("format") if isinstance(output_config, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" \
            or not isinstance(fmt.get("schema"), dict):
        return None
    return {"type": "json_schema", "json_schema": {"name": str(fmt.get("name") or "output"),
                                                   "schema": fmt["schema"], "strict": True}}


def user_tag(user_id: str) -> str:
    """What goes upstream for ``metadata.user_id``: a digest, not the id. Claude Code puts device
    and session ids there; a vendor needs only a stable tag to tell end users apart."""
    return "u-" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


_REMINDER = "<system-reminder>\n{}\n</system-reminder>"


def fold_system_turns(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its mid-conversation ``{"role": "system"}`` messages (the beta
    ``mid-conversation-system-2026-04-07``, which Claude Code sends for a model it does not know)
    as user text in ``<system-reminder>`` tags — what Claude Code itself does for a model without
    the beta. Vendors' models read it either way; most of their endpoints refuse the role."""
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not any(isinstance(m, dict) and m.get("role") == "system" for m in msgs):
        return body
    out = []
    for m in msgs:
        if isinstance(m, dict) and m.get("role") == "system":
            content = m.get("content")
            text = content if isinstance(content, str) else "\n\n".join(
                str(b.get("text") or "") for b in content or [] if isinstance(b, dict))
            m = {"role": "user", "content": [{"type": "text", "text": _REMINDER.format(text)}]}
        out.append(m)
    return {**body, "messages": out}


def chat_messages(req: CountTokensRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": _text_of(req.system, "system")})
    for i, m in enumerate(req.messages):
        where = f"messages[{i}]"
        if m.role == "user":
            out.extend(_user_message(m.content, where))
        else:
            out.append(_assistant_message(m.content, where))
    return out


def to_chat(req: MessagesRequest) -> ChatRequest:
    body: dict[str, Any] = {"model": req.model, "messages": chat_messages(req), "max_tokens": req.max_tokens}
    tools = _tools(req)
    if tools:
        body["tools"] = tools
        if req.tool_choice:
            body["tool_choice"], parallel = _tool_choice(req.tool_choice)
            if not parallel:
                body["parallel_tool_calls"] = False
    for name, value in (("temperature", req.temperature), ("top_p", req.top_p), ("top_k", req.top_k),
                        ("stop", req.stop_sequences),
                        ("reasoning_effort", _effort(req.thinking, getattr(req, "output_config", None))),
                        ("response_format", _response_format(getattr(req, "output_config", None)))):
        if value is not None:
            body[name] = value
    user = (req.metadata or {}).get("user_id")
    if isinstance(user, str) and user:
        body["user"] = user_tag(user)
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return validate(ChatRequest, body)


def stand_in(req: MessagesRequest) -> ChatRequest:
    """The chat request that stands for ``req`` when :func:`to_chat` cannot translate it (a server
    tool, a PDF, a block type chat has no words for): only an entry that speaks Anthropic can serve
    it, whole (:mod:`banjia.passthrough`), and this gives the gateway its model, output limit and a
    prompt to count. It is never sent: every other entry refuses the request."""
    def counted(content: Any) -> str:
        if isinstance(content, str):
            return content
        # each block's JSON, without the base64 payloads (an image is not a prompt of that size)
        return orjson.dumps([_without_data(b) for b in content or ()]).decode()

    msgs: list[dict[str, Any]] = []
    if req.system:
        msgs.append({"role": "system", "content": counted(req.system)})
    msgs.extend({"role": m.role, "content": counted(m.content)} for m in req.messages)
    if req.tools:
        tools = [t.model_dump(exclude_none=True) for t in req.tools]
        msgs.append({"role": "system", "content": counted(tools)})
    body: dict[str, Any] = {"model": req.model, "messages": msgs, "max_tokens": req.max_tokens}
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return validate(ChatRequest, body)


def _without_data(block: Any) -> Any:
    src = block.get("source") if isinstance(block, dict) else None
    if isinstance(src, dict) and "data" in src and src.get("type") == "base64":
        return {**block, "source": {**src, "data": ""}}
    return block


def count_tokens(req: CountTokensRequest) -> int:
    msgs = chat_messages(req)
    extra = orjson.dumps([t.model_dump(exclude_none=True) for t in req.tools or []]).decode()
    if req.tools:
        msgs.append({"role": "system", "content": extra})
    return estimate_messages(msgs)


# -- response -------------------------------------------------------------------------------------
def from_chat(result: dict[str, Any], *, id: str, model: str) -> dict[str, Any]:
    choice = (result.get("choices") or [{}])[0]
    msg = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if msg.get("reasoning_content"):
        text = str(msg["reasoning_content"])
        content.append({"type": "thinking", "thinking": text, "signature": _signature(text)})
    if msg.get("content"):
        content.append({"type": "text", "text": str(msg["content"])})
    for call in msg.get("tool_calls") or ():
        fn = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
                        "input": _arguments(fn.get("arguments"))})
    reason = STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn")
    matched = _matched_stop(choice)
    if matched is not None and reason == "end_turn":
        reason = "stop_sequence"
    return message_object(id=id, model=model, content=content, stop_reason=reason, stop_sequence=matched,
                          usage=message_usage(result.get("usage")))


def _matched_stop(choice: dict[str, Any]) -> str | None:
    """The stop sequence that ended the answer, where the upstream says which: vLLM and SGLang put
    it in the choice's ``stop_reason`` (a token id there means an EOS-like token, not a sequence).
    OpenAI's own API and most vendors do not say, so their answers end as ``end_turn``."""
    matched = choice.get("stop_reason")
    return matched if isinstance(matched, str) and matched else None


def _arguments(raw: Any) -> dict[str, Any]:
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class _Block:
    kind: str  # "thinking" | "text" | "tool_use"
    index: int
    parts: list[str] = field(default_factory=list)


class MessageEvents:
    """Chat chunks of one answer → Anthropic's stream events, in Anthropic's order."""

    def __init__(self, *, id: str, model: str, input_tokens: int) -> None:
        self.id, self.model = id, model
        self.input_tokens = input_tokens
        self.blocks: list[_Block] = []
        self.open: _Block | None = None
        self.calls: dict[int, _Block] = {}
        self.finish: str | None = None
        self.matched: str | None = None  # the stop sequence that ended the answer, if known
        self.usage: dict[str, Any] | None = None

    @staticmethod
    def _ev(type: str, **fields: Any) -> bytes:
        return encode_event(type, orjson.dumps({"type": type, **fields}))

    def start(self) -> bytes:
        usage = {"input_tokens": self.input_tokens, "output_tokens": 1,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = message_object(id=self.id, model=self.model, content=[], stop_reason=None,
                             stop_sequence=None, usage=usage)
        return self._ev("message_start", message=msg) + self._ev("ping")

    def _begin(self, kind: str, block: dict[str, Any]) -> tuple[_Block, bytes]:
        out = self._close()
        b = _Block(kind, len(self.blocks))
        self.blocks.append(b)
        self.open = b
        return b, out + self._ev("content_block_start", index=b.index, content_block=block)

    def _close(self) -> bytes:
        b, self.open = self.open, None
        if b is None:
            return b""
        out = b""
        if b.kind == "thinking":
            sig = _signature("".join(b.parts))
            out = self._ev("content_block_delta", index=b.index,
                           delta={"type": "signature_delta", "signature": sig})
        return out + self._ev("content_block_stop", index=b.index)

    def feed(self, chunk: dict[str, Any]) -> bytes:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        out = b""
        for ch in chunk.get("choices") or ():
            if ch.get("index", 0) != 0:
                continue
            d = ch.get("delta") or {}
            if d.get("reasoning_content"):
                out += self._delta("thinking", {"type": "thinking", "thinking": "", "signature": ""},
                                   {"type": "thinking_delta", "thinking": str(d["reasoning_content"])})
            if d.get("content"):
                out += self._delta("text", {"type": "text", "text": ""},
                                   {"type": "text_delta", "text": str(d["content"])})
            for tc in d.get("tool_calls") or ():
                out += self._tool(tc)
            if ch.get("finish_reason"):
                self.finish = ch["finish_reason"]
                self.matched = _matched_stop(ch)
        return out

    def _delta(self, kind: str, start: dict[str, Any], delta: dict[str, Any]) -> bytes:
        out = b""
        b = self.open
        if b is None or b.kind != kind:
            b, out = self._begin(kind, start)
        if kind == "thinking":  # signed when the block closes
            b.parts.append(str(delta.get("thinking") or ""))
        return out + self._ev("content_block_delta", index=b.index, delta=delta)

    def _tool(self, tc: dict[str, Any]) -> bytes:
        fn = tc.get("function") or {}
        out = b""
        b = self.calls.get(int(tc.get("index", 0)))
        if b is None:
            block: dict[str, Any] = {
                "type": "tool_use", "id": tc.get("id"), "name": fn.get("name"), "input": {}
            }
            b, out = self._begin("tool_use", block)
            self.calls[int(tc.get("index", 0))] = b
        if fn.get("arguments"):
            out += self._ev("content_block_delta", index=b.index,
                            delta={"type": "input_json_delta", "partial_json": str(fn["arguments"])})
        return out

    def end(self, usage: dict[str, Any] | None) -> bytes:
        u = message_usage(self.usage or usage)
        reason = STOP_REASONS.get(str(self.finish), "end_turn")
        matched = self.matched if reason == "end_turn" else None
        if matched is not None:
            reason = "stop_sequence"
        return self._close() + self._ev(
            "message_delta", delta={"stop_reason": reason, "stop_sequence": matched}, usage=u
        ) + self._ev("message_stop")

    def fail(self, error: APIError) -> bytes:
        return encode_event("error", orjson.dumps(error_body(error)))
