"""Alibaba DashScope's native protocol (``dashscope-native``): Qwen over ``/api/v1/services/...``.

The body is ``{model, input: {messages}, parameters: {...}}`` with ``result_format: "message"`` so
answers come as ``output.choices[].message`` (tool calls included). Streams are SSE events of
``id:``/``event:result``/``:HTTP_STATUS/200``/``data:{json}`` (no space after the colon) with no
``[DONE]``: the connection's end ends the answer. Errors are ``{code, message, request_id}`` with a
real HTTP status, or a ``data:`` event carrying ``code`` in the middle of a 200 stream.
Sources: providers.md §2 and the official ``dashscope`` SDK (``api_entities/http_request.py``).
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import orjson

from banjia.adaptors import ProviderSpec, http_provider
from banjia.adaptors._shared import thinking_switch
from banjia.adaptors.base import (
    Adaptor,
    ErrorRule,
    Fetch,
    StreamTranslator,
    UpstreamRequest,
    UpstreamResponse,
)
from banjia.adaptors.openai_compat import normalize_usage
from banjia.adaptors.vendors import AUTH, CONTENT_FILTER, QUOTA, RATE, Clamp
from banjia.errors import APIError
from banjia.protocol.chat import ChatRequest, chat_completion, choice
from banjia.protocol.embeddings import EmbeddingRequest

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["SPEC", "DashScopeAdaptor"]

TEXT_PATH = "/api/v1/services/aigc/text-generation/generation"
# vision models and image input (confirmed by the official SDK's MultiModalConversation, whose
# task is "multimodal-generation"; content there is a list of {"text"} / {"image"} parts)
VISION_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
EMBEDDINGS_PATH = "/api/v1/services/embeddings/text-embedding/text-embedding"

# DashScope's ranges (providers.md §2 and the SDK docstrings): temperature [0, 2), top_p (0, 1]
TEMPERATURE = Clamp(0, 2, open_high=True)
TOP_P = Clamp(0, 1, open_low=True)

# OpenAI fields DashScope takes under the same name
SAME_NAME = ("n", "logprobs", "top_logprobs", "parallel_tool_calls")
# extra_body fields that are DashScope parameters, passed on as sent
PASSTHROUGH = (
    "top_k",
    "repetition_penalty",
    "enable_search",
    "search_options",
    "enable_thinking",
    "thinking_budget",
)

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}

_ERRORS: dict[str | int, ErrorRule] = {
    # make_error also tries the lower-cased code and its part before the first dot, so
    # "Throttling.RateQuota" and "AccessDenied.Unpurchased" land on their family's rule
    "invalidapikey": AUTH,
    "datainspectionfailed": CONTENT_FILTER,
    "data_inspection_failed": CONTENT_FILTER,
    "arrearage": QUOTA,
    "throttling": RATE,
    "accessdenied": ErrorRule(403, "permission_denied", "permission_error"),
    "invalidparameter": ErrorRule(400, "invalid_value", "invalid_request_error", retryable=False),
    "badrequest": ErrorRule(400, "invalid_value", "invalid_request_error", retryable=False),
    "invalidurl": ErrorRule(400, "invalid_value", "invalid_request_error", retryable=False),
    "requesttimeout": ErrorRule(504, "upstream_timeout", "upstream_error"),
    "internalerror": ErrorRule(502, "upstream_error", "upstream_error"),
    # (unconfirmed) the code DashScope uses for an unknown model id; a bare 404 maps the same way
    "modelnotfound": ErrorRule(404, "model_not_found", "invalid_request_error", retryable=True),
}


class DashScopeAdaptor(Adaptor):
    error_table = MappingProxyType(_ERRORS)
    stream_has_done = False

    def __init__(self, provider: str, fetch: Fetch, *, base_url: str, api_key: str | None) -> None:
        super().__init__(provider, fetch)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""

    def headers(self, *, stream: bool = False) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        if stream:
            # the header is what switches the wire to SSE (as the SDK sends it)
            h["Accept"] = "text/event-stream"
            h["X-DashScope-SSE"] = "enable"
        else:
            h["Accept"] = "application/json"
        return h

    # -- chat ---------------------------------------------------------------------------------
    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        vision = _is_vision(model) or _has_images(req)
        params: dict[str, Any] = {"result_format": "message"}
        extras = req.extras()
        for k in SAME_NAME:
            if getattr(req, k) is not None:
                params[k] = getattr(req, k)
        for k in PASSTHROUGH:
            if extras.get(k) is not None:
                params[k] = extras[k]
        if stream:
            # The official SDK always asks for increments and rebuilds cumulative text itself;
            # a client may still ask for cumulative output (extra_body), and the translator diffs it.
            params["incremental_output"] = bool(extras.get("incremental_output", True))
        if req.temperature is not None:
            params["temperature"] = TEMPERATURE.apply(req.temperature)
        if req.top_p is not None:
            params["top_p"] = TOP_P.apply(req.top_p)
        if req.output_limit is not None:
            params["max_tokens"] = req.output_limit
        if req.stop:
            params["stop"] = req.stop_list()
        if req.seed is not None:
            params["seed"] = req.seed
        if req.presence_penalty is not None:
            params["presence_penalty"] = req.presence_penalty
        # frequency_penalty has no DashScope counterpart (repetition_penalty is multiplicative,
        # 1.0 = off, and not on the same scale), so it is not sent
        if req.response_format is not None:
            params["response_format"] = req.response_format
        tools = _tools(req)
        if tools:
            params["tools"] = tools
            choice_ = _tool_choice(req, tools)
            if choice_ is not None:
                params["tool_choice"] = choice_
        for k, val in thinking_switch("dashscope-native", extras.get("reasoning_effort"), stream).items():
            params.setdefault(k, val)
        if not stream and model.startswith("qwen3") and "enable_thinking" not in params:
            # Qwen3 refuses non-streaming calls while thinking is on (providers.md §2)
            params["enable_thinking"] = False
        body = {
            "model": model,
            "input": {"messages": _messages(req, vision=vision, provider=self.provider)},
            "parameters": params,
        }
        path = VISION_PATH if vision else TEXT_PATH
        return UpstreamRequest(self.base_url + path, orjson.dumps(body), self.headers(stream=stream))

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        data = self._json(resp.body)
        self._check(data)
        output = data.get("output")
        if not isinstance(output, dict):
            raise self.make_error(502, None, "the upstream answer has no 'output'")
        choices: list[dict[str, Any]] = []
        raw_choices = output.get("choices")
        if isinstance(raw_choices, list) and raw_choices:
            for i, ch in enumerate(raw_choices):
                msg = ch.get("message") or {}
                calls = _openai_tool_calls(msg.get("tool_calls"))
                text = _text(msg.get("content"))
                finish = _finish(ch.get("finish_reason")) or ("tool_calls" if calls else "stop")
                if calls and finish == "stop":
                    finish = "tool_calls"
                choices.append(
                    choice(
                        int(ch.get("index", i)),
                        text if text or not calls else None,
                        finish,
                        tool_calls=calls or None,
                        reasoning_content=msg.get("reasoning_content") or None,
                    )
                )
        elif "text" in output:  # result_format "text" (not asked for, but harmless to read)
            choices.append(
                choice(0, _text(output.get("text")), _finish(output.get("finish_reason")) or "stop")
            )
        else:
            raise self.make_error(502, None, "the upstream answer has no choices")
        rid = str(data.get("request_id") or time.time_ns())
        return chat_completion(
            id="chatcmpl-" + rid, model=model, choices=choices, usage=normalize_usage(data.get("usage"))
        )

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        cumulative = not bool(req.extras().get("incremental_output", True))
        return _DashScopeStream(self, cumulative=cumulative)

    # -- embeddings ---------------------------------------------------------------------------
    async def embeddings_request(self, req: EmbeddingRequest, model: str) -> UpstreamRequest:
        params: dict[str, Any] = {}
        if req.dimensions:
            params["dimension"] = req.dimensions
        body = {"model": model, "input": {"texts": req.texts() or []}, "parameters": params}
        return UpstreamRequest(self.base_url + EMBEDDINGS_PATH, orjson.dumps(body), self.headers())

    def embeddings_response(self, resp: UpstreamResponse, model: str) -> tuple[list[list[float]], int]:
        data = self._json(resp.body)
        self._check(data)
        items = sorted(
            (data.get("output") or {}).get("embeddings") or [], key=lambda e: e.get("text_index", 0)
        )
        usage = data.get("usage") or {}
        tokens = int(usage.get("input_tokens") or usage.get("total_tokens") or 0)
        return [[float(x) for x in e["embedding"]] for e in items], tokens

    # -- helpers ------------------------------------------------------------------------------
    def _json(self, body: bytes | str) -> dict[str, Any]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        if not isinstance(data, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        return data

    def _check(self, data: dict[str, Any]) -> None:
        """An error carried in a 2xx body (``{code, message}`` without ``output``)."""
        code = data.get("code")
        if code and "output" not in data:
            raise self.make_error(502, str(code), str(data.get("message") or ""))


class _DashScopeStream(StreamTranslator):
    """One DashScope stream → OpenAI fragments.

    With ``incremental_output`` each event carries only the new text; without it every event
    repeats everything so far (text and tool-call arguments), and only the new suffix is emitted.
    """

    def __init__(self, adaptor: DashScopeAdaptor, *, cumulative: bool) -> None:
        self.a = adaptor
        self.cumulative = cumulative
        self.seen_text: dict[int, str] = {}
        self.seen_reasoning: dict[int, str] = {}
        self.seen_args: dict[tuple[int, int], str] = {}
        self.emitted = False

    def feed(self, data: str) -> list[dict[str, Any]]:
        obj = self.a._json(data)
        code = obj.get("code")
        if code and "output" not in obj:
            err = self.a.make_error(502, str(code), str(obj.get("message") or ""))
            if err.code == "content_filter" and self.emitted:
                # output moderation after text went out: finish as OpenAI does, then stop
                return [{"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]}]
            raise err
        frag: dict[str, Any] = {}
        output = obj.get("output") or {}
        raw_choices = output.get("choices")
        if isinstance(raw_choices, list):
            frag["choices"] = [self._choice(i, ch) for i, ch in enumerate(raw_choices)]
        elif "text" in output:
            frag["choices"] = [
                self._choice(
                    0, {"message": {"content": output["text"]}, "finish_reason": output.get("finish_reason")}
                )
            ]
        usage = normalize_usage(obj.get("usage"))
        if usage:
            frag["usage"] = usage
        if frag.get("choices"):
            self.emitted = True
        return [frag] if frag else []

    def _choice(self, i: int, ch: dict[str, Any]) -> dict[str, Any]:
        index = int(ch.get("index", i))
        msg = ch.get("message") or {}
        delta: dict[str, Any] = {}
        text = self._new(self.seen_text, index, _text(msg.get("content")))
        if text:
            delta["content"] = text
        reasoning = self._new(self.seen_reasoning, index, _text(msg.get("reasoning_content")))
        if reasoning:
            delta["reasoning_content"] = reasoning
        calls = []
        for j, tc in enumerate(msg.get("tool_calls") or ()):
            fn = tc.get("function") or {}
            t_index = int(tc.get("index", j))
            out: dict[str, Any] = {"index": t_index, "function": {}}
            if tc.get("id"):
                out["id"] = tc["id"]
                out["type"] = "function"
            if fn.get("name"):
                out["function"]["name"] = fn["name"]
            args = self._new(self.seen_args, (index, t_index), str(fn.get("arguments") or ""))
            out["function"]["arguments"] = args
            if args or "id" in out or fn.get("name"):
                calls.append(out)
        if calls:
            delta["tool_calls"] = calls
        return {"index": index, "delta": delta, "finish_reason": _finish(ch.get("finish_reason"))}

    def _new(self, seen: dict[Any, str], key: Any, value: str) -> str:
        """The part of ``value`` not yet emitted (all of it in incremental mode)."""
        if not self.cumulative:
            return value
        before = seen.get(key, "")
        if not value.startswith(before):
            # the upstream rewrote earlier text (masking): what went out cannot be taken back
            seen[key] = value
            return value[len(before) :] if len(value) > len(before) else ""
        seen[key] = value
        return value[len(before) :]


# -- request translation ----------------------------------------------------------------------
def _is_vision(model: str) -> bool:
    m = model.lower()
    return "-vl" in m or m.startswith("qvq") or "omni" in m


def _has_images(req: ChatRequest) -> bool:
    for m in req.messages:
        c = getattr(m, "content", None)
        if isinstance(c, list) and any(p.get("type") == "image_url" for p in c):
            return True
    return False


def _content(content: Any, *, vision: bool, provider: str) -> str | list[dict[str, str]]:
    if content is None:
        return [] if vision else ""
    if isinstance(content, str):
        return [{"text": content}] if vision else content
    parts: list[dict[str, str]] = []
    for p in content:
        kind = p.get("type")
        if kind in ("text", "input_text"):
            parts.append({"text": str(p.get("text", ""))})
        elif kind == "image_url":
            img = p.get("image_url")
            parts.append({"image": str(img.get("url", "") if isinstance(img, dict) else img)})
        else:
            raise APIError(
                400,
                f"Provider '{provider}' (DashScope) does not accept message content of type '{kind}'.",
                code="unsupported_content",
                param="messages",
            )
    if vision:
        return parts
    return "".join(p["text"] for p in parts)


def _messages(req: ChatRequest, *, vision: bool, provider: str) -> list[dict[str, Any]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name, for the tool results
    for m in req.messages:
        role = m.role
        if role in ("system", "developer"):
            # DashScope takes one system message, first; later ones join it (in order)
            system.append(_text(_content(m.content, vision=False, provider=provider)))
            continue
        if role == "user":
            out.append({"role": "user", "content": _content(m.content, vision=vision, provider=provider)})
        elif role == "assistant":
            msg: dict[str, Any] = {
                "role": "assistant",
                "content": _content(m.content, vision=vision, provider=provider),
            }
            calls = []
            for tc in getattr(m, "tool_calls", None) or ():
                names[tc.id] = tc.function.name
                calls.append(
                    {
                        "id": tc.id,
                        "type": "function",
                        "function": {"name": tc.function.name, "arguments": tc.function.arguments},
                    }
                )
            fc = getattr(m, "function_call", None)
            if fc is not None:
                calls.append(
                    {
                        "id": f"call_{fc.name}",
                        "type": "function",
                        "function": {"name": fc.name, "arguments": fc.arguments},
                    }
                )
            if calls:
                msg["tool_calls"] = calls
            out.append(msg)
        elif role == "tool":
            call_id = getattr(m, "tool_call_id", "")
            result: dict[str, Any] = {
                "role": "tool",
                "content": _text(_content(m.content, vision=False, provider=provider)),
                "tool_call_id": call_id,
            }
            if call_id in names:  # older DashScope docs identify the call by the function's name
                result["name"] = names[call_id]
            out.append(result)
        elif role == "function":
            out.append({"role": "tool", "content": m.content or "", "name": getattr(m, "name", "")})
    if system:
        text = "\n\n".join(system)
        out.insert(0, {"role": "system", "content": [{"text": text}] if vision else text})
    return out


def _tools(req: ChatRequest) -> list[dict[str, Any]]:
    if req.tools:
        return [t.model_dump(exclude_none=True) for t in req.tools]
    if req.functions:  # the legacy form
        return [{"type": "function", "function": f.model_dump(exclude_none=True)} for f in req.functions]
    return []


def _tool_choice(req: ChatRequest, tools: list[dict[str, Any]]) -> Any:
    tc = req.tool_choice
    if tc is None and isinstance(req.function_call, (str, dict)):
        fc = req.function_call
        tc = fc if isinstance(fc, str) else {"type": "function", "function": {"name": fc.get("name")}}
    if tc == "required":
        # DashScope knows "auto", "none" and a named function: with one tool, name it;
        # with several, "auto" is the closest it can do
        return (
            {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
            if len(tools) == 1
            else "auto"
        )
    return tc


# -- response translation ---------------------------------------------------------------------
def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal answers: [{"text": ...}]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def _finish(reason: Any) -> str | None:
    if reason is None or reason == "null" or reason == "":
        return None  # the string "null" means "still generating"
    return FINISH.get(str(reason), "stop")


def _openai_tool_calls(raw: Any) -> list[dict[str, Any]]:
    calls = []
    for i, tc in enumerate(raw or ()):
        fn = tc.get("function") or {}
        calls.append(
            {
                "id": tc.get("id") or f"call_{i}",
                "type": "function",
                "function": {"name": fn.get("name") or "", "arguments": fn.get("arguments") or ""},
            }
        )
    return calls


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: DashScopeAdaptor(name, fetch, base_url=base, api_key=cfg.api_key),
    )


SPEC = ProviderSpec.of("dashscope-native", _build)
