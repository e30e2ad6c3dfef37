"""iFlytek Spark over WebSocket (``spark-ws``): a signed URL, one request frame, answer frames.

Wire facts from providers.md §6a, cross-checked against the official ``sparkai`` SDK
(iflytek/spark-ai-python, ``sparkai/llm/llm.py``):

* the URL is signed per connection: HMAC-SHA256 (key: API secret) over ``host: <host>``,
  ``date: <RFC 1123 GMT>``, ``GET <path> HTTP/1.1``; the host is ``host[:port]`` of the URL (the
  SDK signs ``urlparse(url).netloc``); the authorization origin uses ``api_key="…"``;
* each model is a (path, ``domain``) pair; the base URL is ``ws(s)://host[:port]``;
* answer frames carry ``header.status``/``payload.choices.status`` 0, 1, 2; usage rides on the
  last frame; the server then closes, so there is no ``[DONE]`` and no non-streaming call
  (``stream_only``: the core collects the frames for non-stream clients);
* ``header.code`` ≠ 0 is an error (``SPARK_ERRORS``), except 10014 (output moderation, possibly
  mid-answer), which ends the answer with ``finish_reason: content_filter``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

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
from banjia.adaptors.vendors import AUTH, SPARK_ERRORS, Clamp
from banjia.errors import not_found
from banjia.protocol.chat import ChatRequest, text_of, usage
from banjia.providers import unsupported

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["MODELS", "SPEC", "SparkAdaptor", "signed_query"]


# model (the domain, matched case-insensitively) → (path, domain); providers.md §6a
MODELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "lite": ("/v1.1/chat", "lite"),
        "generalv3": ("/v3.1/chat", "generalv3"),
        "pro-128k": ("/chat/pro-128k", "pro-128k"),
        "generalv3.5": ("/v3.5/chat", "generalv3.5"),
        "max-32k": ("/chat/max-32k", "max-32k"),
        "4.0ultra": ("/v4.0/chat", "4.0Ultra"),
    }
)
# Max and Ultra take a system role and function calling (providers.md §6a); the others get the
# system prompt folded into the first user turn and a clear 400 for tools.
_FULL = frozenset({"generalv3.5", "max-32k", "4.0Ultra"})

TEMPERATURE = Clamp(0, 1, open_low=True)  # (0, 1]: OpenAI's 0 becomes 0.01, above 1 becomes 1
# max_tokens upper bounds: [1, 8192] (providers.md §6b), [1, 4096] for Lite and Pro-128K
# ((unconfirmed) as the xfyun Web API page is widely quoted); larger requests are clamped
MAX_TOKENS: Mapping[str, int] = MappingProxyType({"lite": 4096, "pro-128k": 4096})
MAX_TOKENS_DEFAULT = 8192

# 10313: "appid and apikey do not match" — (unconfirmed) from xfyun's WebAPI error list as widely
# quoted, not seen in a stored source; what a wrong app_id produces after a valid handshake.
SPARK_WS_ERRORS: Mapping[str | int, ErrorRule] = MappingProxyType({**SPARK_ERRORS, 10313: AUTH})


def signed_query(*, host: str, path: str, api_key: str, api_secret: str, date: str) -> str:
    """The ``authorization``/``date``/``host`` query of a signed Spark URL (providers.md §6a)."""
    origin = f"host: {host}\ndate: {date}\nGET {path} HTTP/1.1"
    digest = hmac.new(api_secret.encode(), origin.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    authorization = (
        f'api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line", '
        f'signature="{signature}"'
    )
    return urlencode(
        {"authorization": base64.b64encode(authorization.encode()).decode(), "date": date, "host": host}
    )


class SparkAdaptor(Adaptor):
    stream_only = True
    stream_has_done = False
    error_table = SPARK_WS_ERRORS

    def __init__(
        self,
        provider: str,
        fetch: Fetch,
        *,
        base_url: str,
        app_id: str,
        api_key: str,
        api_secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(provider, fetch)
        parts = urlsplit(base_url.rstrip("/"))
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        self.base_url = f"{scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.app_id = app_id
        self.api_key = api_key
        self.api_secret = api_secret
        self.clock = clock

    @staticmethod
    def route(model: str) -> tuple[str, str]:
        found = MODELS.get(model.lower())
        if found is None:
            known = ", ".join(d for _, d in MODELS.values())
            raise not_found(f"Spark has no model '{model}' over WebSocket (known: {known}).")
        return found

    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        path, domain = self.route(model)
        reject_unsupported(self.provider, req)
        chat: dict[str, Any] = {"domain": domain}
        if req.temperature is not None:
            chat["temperature"] = TEMPERATURE.apply(req.temperature)
        if req.output_limit is not None:
            chat["max_tokens"] = min(req.output_limit, MAX_TOKENS.get(domain, MAX_TOKENS_DEFAULT))
        # top_p has no Spark counterpart (only top_k) and is not forwarded; stop sequences are
        # applied to the answer as it arrives (StopScanner), Spark having no stop parameter.
        header: dict[str, Any] = {"app_id": self.app_id}
        if req.user:
            # uid scopes Spark's one-answer-at-a-time rule (10007); a shared constant uid would
            # serialise every client, so it is sent only when the client names its user
            header["uid"] = req.user[:32]
        payload: dict[str, Any] = {"message": {"text": _messages(req, domain)}}
        if req.tools and req.tool_choice != "none":
            if domain not in _FULL:
                raise unsupported(
                    self.provider,
                    f"tools (function calling) with the model '{model}'; Spark offers it on "
                    "generalv3.5, max-32k and 4.0Ultra",
                )
            # Spark cannot be forced to call a tool: tool_choice "required"/named is sent as auto
            payload["functions"] = {"text": [_function(t.function) for t in req.tools]}
        frame = {"header": header, "parameter": {"chat": chat}, "payload": payload}
        date = formatdate(self.clock(), usegmt=True)
        query = signed_query(
            host=self.host, path=path, api_key=self.api_key, api_secret=self.api_secret, date=date
        )
        return UpstreamRequest(
            f"{self.base_url}{path}?{query}", orjson.dumps(frame), {}, method="GET", websocket=True
        )

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        """Never called: Spark has no non-streaming call and the core collects the frames."""
        raise NotImplementedError("spark-ws is stream_only")

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _SparkStream(self, req, self.route(model)[1])


class _SparkStream(StreamTranslator):
    def __init__(self, adaptor: SparkAdaptor, req: ChatRequest, domain: str) -> None:
        self.a = adaptor
        self.stops = StopScanner(req.stop_list())
        limit = req.output_limit
        self.limit = min(limit, MAX_TOKENS.get(domain, MAX_TOKENS_DEFAULT)) if limit is not None else None
        self.called = False
        self.done = False

    def feed(self, data: str) -> list[dict[str, Any]]:
        try:
            frame = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise self.a.make_error(502, None, "Spark sent a frame that is not JSON") from e
        header = frame.get("header") or {}
        code = header.get("code") or 0
        if code == 10014:  # output moderation: the answer so far stands, and ends here
            finished, self.done = self.done, True
            return [] if finished else [_chunk({}, "content_filter")]
        if code:
            raise self.a.make_error(502, code, str(header.get("message") or ""))
        payload = frame.get("payload") or {}
        choices = payload.get("choices") or {}
        delta: dict[str, Any] = {}
        text = ""
        calls = []
        for item in choices.get("text") or ():
            text += str(item.get("content") or "")
            fc = item.get("function_call")
            if isinstance(fc, dict) and fc.get("name"):
                self.called = True
                calls.append(
                    {
                        "index": 0,
                        "type": "function",
                        "function": {"name": fc["name"], "arguments": fc.get("arguments") or "{}"},
                    }
                )
        u = (payload.get("usage") or {}).get("text")
        full = None
        if isinstance(u, dict):
            prompt, completion = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
            full = usage(prompt, completion)
            full["total_tokens"] = int(u.get("total_tokens") or prompt + completion)
        piece = self.stops.feed(text)
        finish = None
        if self.stops.hit:
            finish = "stop"
        elif choices.get("status", header.get("status")) == 2:
            piece += self.stops.flush()
            # Spark names no finish reason: an answer as long as max_tokens was cut by it
            cut = self.limit is not None and full is not None and full["completion_tokens"] >= self.limit
            finish = "tool_calls" if self.called else "length" if cut else "stop"
        if piece:
            delta["content"] = piece
        if calls:
            delta["tool_calls"] = calls
        out = [] if self.done else [_chunk(delta, finish)]
        self.done = self.done or finish is not None
        if full:
            out.append({"usage": full})
        return out


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _function(fn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": fn.name,
        "parameters": fn.parameters or {"type": "object", "properties": {}},
    }
    if fn.description:
        out["description"] = fn.description
    return out


def _messages(req: ChatRequest, domain: str) -> list[dict[str, str]]:
    """OpenAI messages → Spark's ``{role, content}`` list.

    The WebSocket protocol documents the roles system/user/assistant only (providers.md §6a; the
    official SDK sends nothing else), so tool traffic is carried as text: an assistant's calls as
    "Called name with {args}", a tool result as a user turn "Result of name: …"."""
    system = [text_of(m.content) for m in req.messages if m.role in ("system", "developer")]
    names: dict[str, str] = {}
    out: list[dict[str, str]] = []
    for m in req.messages:
        if m.role == "user":
            out.append({"role": "user", "content": text_of(m.content)})
        elif m.role == "assistant":
            parts = [text_of(m.content)] if m.content else []
            for c in m.tool_calls or ():
                names[c.id] = c.function.name
                parts.append(f"Called {c.function.name} with {c.function.arguments or '{}'}")
            out.append({"role": "assistant", "content": "\n".join(parts)})
        elif m.role == "tool":
            name = names.get(m.tool_call_id, "the tool")
            out.append({"role": "user", "content": f"Result of {name}: {text_of(m.content)}"})
    prompt = "\n\n".join(s for s in system if s)
    if prompt and domain in _FULL:
        out.insert(0, {"role": "system", "content": prompt})
    elif prompt:
        first = next((m for m in out if m["role"] == "user"), None)
        if first is None:
            out.insert(0, {"role": "user", "content": prompt})
        else:
            first["content"] = f"{prompt}\n\n{first['content']}"
    return out


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: SparkAdaptor(
            name,
            fetch,
            base_url=base,
            app_id=cfg.app_id or "",
            api_key=cfg.api_key or "",
            api_secret=cfg.api_secret or "",
        ),
    )


SPEC = ProviderSpec.of("spark-ws", _build)
