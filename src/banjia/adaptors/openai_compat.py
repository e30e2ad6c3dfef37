"""The one adaptor for every vendor that speaks OpenAI's wire format, driven by :class:`Vendor` data.

The client's JSON object is passed on as sent (unknown fields included); only what a vendor is
known to handle differently is changed: the model id, ``developer`` → ``system``,
``max_completion_tokens`` → ``max_tokens``, parameter clamps, ``stream_options``, and reasoning as
the vendor's descriptor says (:class:`banjia.vendors.Thinking`): its thinking switch, the fields it
is asked for on every request, its family's rule for a reasoning banjia does not know, and its
wire field (MiniMax's ``reasoning_details``, surfaced to clients as ``reasoning_content``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from banjia.adaptors._shared import thinking_switch
from banjia.adaptors.base import (
    Adaptor,
    Fetch,
    StreamTranslator,
    UpstreamRequest,
    UpstreamResponse,
)
from banjia.adaptors.vendors import Vendor
from banjia.errors import UpstreamError
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.vendors import DESCRIPTORS, Thinking

__all__ = ["OpenAICompatAdaptor", "normalize_usage"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "function_call",
    "content_filter": "content_filter",
    "eos": "stop",
    "max_tokens": "length",
    "tool_call": "tool_calls",
}


class OpenAICompatAdaptor(Adaptor):
    def __init__(
        self,
        provider: str,
        fetch: Fetch,
        vendor: Vendor,
        *,
        base_url: str,
        api_key: str | None,
        endpoints: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(provider, fetch)
        self.vendor = vendor
        self.descriptor = DESCRIPTORS.get(vendor.type)  # thinking rules, per-model bases
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.endpoints = dict(endpoints or {})
        self.error_table = vendor.error_table
        self.stream_usage = vendor.stream_usage
        self._finish = {**_FINISH, **vendor.finish_map}
        thinking = self.descriptor.thinking if self.descriptor is not None else None
        # MiniMax: reasoning arrives as reasoning_details, clients get reasoning_content
        self.reasoning_details = thinking is not None and thinking.carrier == "reasoning_details"

    # -- requests -----------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def upstream_model(self, model: str) -> str:
        # Ark's per-account endpoint ids; empty for the other types (banjia.settings refuses
        # `endpoints` for a type whose descriptor takes no endpoint ids)
        return self.endpoints.get(model, model)

    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        v = self.vendor
        body = req.wire()
        body["model"] = self.upstream_model(model)
        if stream:
            body["stream"] = True
            if v.stream_usage:
                # always asked for, so the ledger is exact; removed again if the client did not ask
                body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
            else:
                body.pop("stream_options", None)
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        if not v.developer_role and any(m.role == "developer" for m in req.messages):
            body["messages"] = [
                {**m, "role": "system"} if m.get("role") == "developer" else m for m in body["messages"]
            ]
        limit = req.output_limit
        if not v.max_completion_tokens and "max_completion_tokens" in body:
            body.pop("max_completion_tokens")
            body["max_tokens"] = limit
        if v.max_tokens_cap and limit is not None and limit > v.max_tokens_cap:
            body["max_tokens" if "max_tokens" in body else "max_completion_tokens"] = v.max_tokens_cap
        if v.temperature and isinstance(body.get("temperature"), int | float):
            body["temperature"] = v.temperature.apply(body["temperature"])
        if v.top_p and isinstance(body.get("top_p"), int | float):
            body["top_p"] = v.top_p.apply(body["top_p"])
        d = self.descriptor
        if "reasoning_effort" in body and not (d and d.thinking and d.thinking.switch == "openai"):
            effort = body.pop("reasoning_effort")
            for k, val in thinking_switch(v.type, effort, stream).items():
                body.setdefault(k, val)  # a vendor field the client set itself wins
        if d is not None and d.thinking is not None:
            _reasoning_fields(body, d.thinking, v.type, model, stream)
        off = d is not None and not stream and d.thinking_off_unless_streamed(model)
        if off and "enable_thinking" not in body:
            # Qwen3 on DashScope refuses non-streaming calls unless thinking is off (providers.md §2)
            body["enable_thinking"] = False
        base = d.base_for(self.base_url, model) if d is not None else self.base_url
        return UpstreamRequest(base + v.chat_path, orjson.dumps(body), self.headers())

    async def embeddings_request(self, req: EmbeddingRequest, model: str) -> UpstreamRequest:
        if self.vendor.embeddings_path is None:
            return await super().embeddings_request(req, model)
        body = req.wire()
        body["model"] = self.upstream_model(model)
        body.pop("encoding_format", None)  # floats upstream; the core encodes what the client asked
        if not (self.descriptor and self.descriptor.token_input) and req.has_token_input():
            body["input"] = req.texts()  # only OpenAI-type servers take token ids; the rest get text
        return UpstreamRequest(
            self.base_url + self.vendor.embeddings_path, orjson.dumps(body), self.headers()
        )

    def completions_request(
        self, req: CompletionRequest, model: str, *, stream: bool
    ) -> UpstreamRequest | None:
        """A native ``/completions`` request, or None when the vendor has none (the core goes over chat)."""
        if self.vendor.completions_path is None:
            return None
        body = req.wire()
        body["model"] = self.upstream_model(model)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream", None)
            body.pop("stream_options", None)
        return UpstreamRequest(
            self.base_url + self.vendor.completions_path, orjson.dumps(body), self.headers()
        )

    # -- responses ----------------------------------------------------------------------------
    def check_body(self, data: Any, status: int = 200) -> None:
        """Raise the error a 2xx body carries (Spark ``code``, MiniMax ``base_resp``, ``error``)."""
        if not isinstance(data, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        v = self.vendor
        if v.body_errors == "code":
            code = data.get("code")
            if isinstance(code, int) and code != 0:
                raise self.make_error(502, code, str(data.get("message", "")))
        elif v.body_errors == "base_resp":
            base = data.get("base_resp")
            if isinstance(base, dict):
                code = base.get("status_code")
                if isinstance(code, int) and code != 0:
                    raise self.make_error(502, code, str(base.get("status_msg", "")))
        err = data.get("error")
        if isinstance(err, dict) and "choices" not in data:
            code, message = self.error_fields(orjson.dumps(data))
            raise self.make_error(status if status >= 400 else 502, code, message)

    def error(self, status: int, body: bytes) -> UpstreamError:
        code, message = self.error_fields(body)
        if self.vendor.message_codes:
            low = message.lower()
            for fragment, mapped in self.vendor.message_codes:
                if fragment in low:
                    code = mapped
                    break
        return self.make_error(status, code, message)

    def map_finish(self, reason: Any, has_tools: bool) -> str | None:
        if reason is None or reason == "null":
            return None
        mapped = self._finish.get(str(reason), "stop")
        if mapped == "error":
            raise self.make_error(502, None, f"the upstream stopped with finish_reason '{reason}'")
        if has_tools and mapped == "stop":
            return "tool_calls"
        return mapped

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        try:
            data = resp.json()
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        self.check_body(data, resp.status)
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise self.make_error(502, None, "the upstream answer has no choices")
        for i, ch in enumerate(choices):
            ch.setdefault("index", i)
            msg = ch.setdefault("message", {})
            msg.setdefault("role", "assistant")
            msg.setdefault("content", None)
            msg.setdefault("refusal", None)
            if not msg.get("tool_calls"):
                msg.pop("tool_calls", None)
            if self.reasoning_details:
                _surface_details(msg)
            ch["finish_reason"] = (
                self.map_finish(ch.get("finish_reason"), bool(msg.get("tool_calls"))) or "stop"
            )
            ch.setdefault("logprobs", None)
        data.setdefault("id", "chatcmpl-" + str(time.time_ns()))
        data["object"] = "chat.completion"
        data.setdefault("created", int(time.time()))
        data.setdefault("model", model)
        data.setdefault("system_fingerprint", None)
        for k in ("base_resp", "code", "message", "sid", "input_sensitive", "output_sensitive"):
            data.pop(k, None)
        data["usage"] = normalize_usage(data.get("usage"))
        out: dict[str, Any] = data
        return out

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _CompatStream(self)

    def completions_response(self, resp: UpstreamResponse) -> dict[str, Any]:
        data = resp.json()
        self.check_body(data, resp.status)
        if isinstance(data, dict):
            data["usage"] = normalize_usage(data.get("usage"))
            out: dict[str, Any] = data
            return out
        raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")

    def embeddings_response(self, resp: UpstreamResponse, model: str) -> tuple[list[list[float]], int]:
        data = resp.json()
        self.check_body(data, resp.status)
        items = sorted(data.get("data") or [], key=lambda d: d.get("index", 0))
        vectors = [list(map(float, d["embedding"])) for d in items]
        usage = data.get("usage") or {}
        return vectors, int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)


class _CompatStream(StreamTranslator):
    __slots__ = ("a", "details")

    def __init__(self, adaptor: OpenAICompatAdaptor) -> None:
        self.a = adaptor
        self.details = _DetailsStream() if adaptor.reasoning_details else None

    def feed(self, data: str) -> list[dict[str, Any]]:
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise self.a.make_error(502, None, "the upstream stream sent an event that is not JSON") from e
        self.a.check_body(obj)
        choices = obj.get("choices")
        if choices:
            for ch in choices:
                if self.details is not None:
                    self.details.surface(ch)
                fr = ch.get("finish_reason")
                if fr is not None:
                    delta = ch.get("delta") or {}
                    ch["finish_reason"] = self.a.map_finish(fr, bool(delta.get("tool_calls")))
                u = ch.pop("usage", None)  # Moonshot puts usage inside the choice
                if u and not obj.get("usage"):
                    obj["usage"] = u
        if obj.get("usage"):
            obj["usage"] = normalize_usage(obj["usage"])
        return [obj]


# -- reasoning ----------------------------------------------------------------------------------
# MiniMax's reasoning_details part, as its answers carry it and as the history gives it back
# (https://platform.minimaxi.com/docs/api-reference/text-openai-api): type, id and format are the
# values its answers hold
def _details(text: str) -> list[dict[str, Any]]:
    return [{"type": "reasoning.text", "id": "reasoning-text-1", "format": "MiniMax-response-v1",
             "index": 0, "text": text}]


def _details_text(details: Any) -> str:
    if not isinstance(details, list):
        return ""
    return "".join(str(d.get("text") or "") for d in details if isinstance(d, dict))


def _tool_turn(m: Any) -> bool:
    return isinstance(m, dict) and m.get("role") == "assistant" and bool(m.get("tool_calls"))


def _unknown(m: Any) -> bool:
    """A tool-call turn without reasoning (missing, or the empty value that stands for it)."""
    return _tool_turn(m) and not m.get("reasoning_content")


def _reasoning_fields(
    body: dict[str, Any], thinking: Thinking, vendor: str, model: str, stream: bool
) -> None:
    """``body``'s reasoning as this vendor and model take it (in place; messages are replaced,
    never changed, as they are the client's). The history has been through
    :func:`banjia.reasoning.repair_history`, which applied the type's rule for a reasoning banjia
    does not know: only here is the model known, so a family's own rule is applied here."""
    if thinking.thinks(model):
        for k, val in thinking.ask:
            body.setdefault(k, val)
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    policy = thinking.family_unknown(model) if thinking.replay else None
    if policy == "disable_thinking" and any(_unknown(m) for m in messages):
        # an empty reasoning_content counts as missing at such a vendor (Kimi K2.5/K2.6): the
        # vendor checks the history only while thinking, so this one turn goes without it
        messages = [
            {k: v for k, v in m.items() if k != "reasoning_content"}
            if _tool_turn(m) and "reasoning_content" in m and not m["reasoning_content"] else m
            for m in messages
        ]
        body.pop("reasoning_effort", None)
        body.update(thinking_switch(vendor, "none", stream))
    elif policy == "empty":
        messages = [
            {**m, "reasoning_content": ""} if _tool_turn(m) and m.get("reasoning_content") is None else m
            for m in messages
        ]
    if thinking.carrier == "reasoning_details":
        messages = [_as_details(m) for m in messages]
    body["messages"] = messages


def _as_details(m: Any) -> Any:
    """An assistant message with ``reasoning_content`` → MiniMax's ``reasoning_details`` (what
    the client sent in MiniMax's own field wins; an empty reasoning is dropped)."""
    if not isinstance(m, dict) or m.get("role") != "assistant" or "reasoning_content" not in m:
        return m
    out = {k: v for k, v in m.items() if k != "reasoning_content"}
    text = m["reasoning_content"]
    if isinstance(text, str) and text and not out.get("reasoning_details"):
        out["reasoning_details"] = _details(text)
    return out


def _surface_details(msg: dict[str, Any]) -> None:
    """A whole answer's ``reasoning_details`` → ``reasoning_content``, as DeepSeek's API has it."""
    text = _details_text(msg.pop("reasoning_details", None))
    if text and not msg.get("reasoning_content"):
        msg["reasoning_content"] = text


class _DetailsStream:
    """Stream deltas' ``reasoning_details`` → ``reasoning_content`` pieces. MiniMax's example
    reads each part's text as the whole reasoning so far (a client diffs it), while M2.7 was seen
    sending only the new text (https://github.com/MiniMax-AI/MiniMax-M2/issues/95): the second
    piece of a choice decides which (it starts with the first: the whole so far), for the rest."""

    __slots__ = ("cumulative", "seen")

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}
        self.cumulative: dict[int, bool] = {}

    def surface(self, ch: dict[str, Any]) -> None:
        delta = ch.get("delta")
        if not isinstance(delta, dict) or "reasoning_details" not in delta:
            return
        text = _details_text(delta.pop("reasoning_details"))
        raw = ch.get("index")
        index = raw if isinstance(raw, int) else 0
        prev = self.seen.get(index, "")
        if prev and index not in self.cumulative:
            self.cumulative[index] = text.startswith(prev)
        piece = text[len(prev):] if self.cumulative.get(index) and text.startswith(prev) else text
        self.seen[index] = prev + piece
        if piece and not delta.get("reasoning_content"):
            delta["reasoning_content"] = piece


def normalize_usage(u: Any) -> dict[str, Any] | None:
    """Vendor usage → OpenAI's, with cached tokens counted once whatever the vendor calls them."""
    if not isinstance(u, dict):
        return None
    prompt = int(u.get("prompt_tokens") or u.get("input_tokens") or 0)
    completion = int(u.get("completion_tokens") or u.get("output_tokens") or 0)
    details = u.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = u.get("prompt_cache_hit_tokens", u.get("cached_tokens", 0))  # DeepSeek, Moonshot
    cdetails = u.get("completion_tokens_details")
    reasoning = cdetails.get("reasoning_tokens") if isinstance(cdetails, dict) else None
    out = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(u.get("total_tokens") or prompt + completion),
        "prompt_tokens_details": {"cached_tokens": min(int(cached or 0), prompt), "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": int(reasoning or 0),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    return out
