"""Baidu Qianfan v1 ("wenxinworkshop", ``qianfan-v1``): ERNIE models over Baidu's own chat protocol.

What differs from OpenAI (providers.md §3a, the official ``bce-qianfan-sdk``):

* auth is an OAuth access token fetched with the API key + secret key and passed as the
  ``access_token`` query parameter; it lives 30 days, is cached per key pair, refreshed before it
  expires, fetched once by concurrent first requests, and refreshed-and-retried once when the
  upstream calls it invalid or expired (error codes 110/111);
* each model has its own URL path (``ernie-4.0-8k`` → ``…/chat/completions_pro``);
* the system prompt is a top-level ``system`` string, and ``messages`` must alternate
  user/assistant, start and end with the user and so have an odd length: consecutive turns are
  merged and the conversation repaired, never refused;
* function calling is the older ``functions`` / ``function_call`` form, on ERNIE 3.5/4.0 only;
* the answer is in ``result``; streams end with ``is_end`` and no ``[DONE]``; errors arrive as
  ``{error_code, error_msg}`` inside HTTP 200 bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import orjson

from banjia.adaptors import ProviderSpec, http_provider
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
from banjia.errors import APIError, UpstreamError
from banjia.protocol.chat import ChatRequest, chat_completion, choice

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["MODELS", "SPEC", "QianfanAdaptor"]

CHAT_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
TOKEN_PATH = "/oauth/2.0/token"


@dataclass(frozen=True, slots=True)
class ErnieModel:
    path: str  # the service path segment after ``…/wenxinworkshop/chat/``
    functions: bool  # accepts ``functions`` (function calling)
    max_output: int  # upper bound of ``max_output_tokens``; 0: the service takes no such field


# Paths and capabilities from the official SDK's model table (``_ChatCompletionV1._local_models``:
# ``endpoint`` and whether ``functions`` / ``max_output_tokens`` are among its optional keys);
# output bounds from Baidu's model list ([2, 2048] for the 8K models).
MODELS: dict[str, ErnieModel] = {
    "ernie-4.0-8k": ErnieModel("completions_pro", True, 2048),
    "ernie-4.0-8k-preview": ErnieModel("ernie-4.0-8k-preview", True, 2048),
    "ernie-4.0-8k-0329": ErnieModel("ernie-4.0-8k-0329", True, 2048),
    "ernie-4.0-8k-0104": ErnieModel("ernie-4.0-8k-0104", True, 2048),
    "ernie-4.0-8k-latest": ErnieModel("ernie-4.0-8k-latest", False, 2048),
    "ernie-4.0-8k-0613": ErnieModel("ernie-4.0-8k-0613", False, 2048),
    "ernie-4.0-turbo-8k": ErnieModel("ernie-4.0-turbo-8k", False, 2048),
    "ernie-4.0-turbo-8k-latest": ErnieModel("ernie-4.0-turbo-8k-latest", False, 2048),
    "ernie-3.5-8k": ErnieModel("completions", True, 2048),
    "ernie-3.5-8k-preview": ErnieModel("ernie-3.5-8k-preview", True, 2048),
    "ernie-3.5-8k-0205": ErnieModel("ernie-3.5-8k-0205", True, 2048),
    "ernie-3.5-8k-0329": ErnieModel("ernie-3.5-8k-0329", True, 2048),
    "ernie-3.5-8k-0613": ErnieModel("ernie-3.5-8k-0613", True, 2048),
    "ernie-3.5-8k-0701": ErnieModel("ernie-3.5-8k-0701", True, 2048),
    "ernie-3.5-128k": ErnieModel("ernie-3.5-128k", True, 8192),
    "ernie-bot-8k": ErnieModel("ernie_bot_8k", True, 2048),
    "qianfan-dynamic-8k": ErnieModel("qianfan-dynamic-8k", True, 2048),
    "ernie-speed-8k": ErnieModel("ernie_speed", False, 2048),
    "ernie-speed-128k": ErnieModel("ernie-speed-128k", False, 4096),
    "ernie-speed-pro-128k": ErnieModel("ernie-speed-pro-128k", False, 4096),
    "ernie-lite-8k": ErnieModel("ernie-lite-8k", False, 2048),
    "ernie-lite-8k-0922": ErnieModel("eb-instant", False, 0),
    "ernie-lite-pro-8k": ErnieModel("ernie-lite-pro-8k", False, 0),
    "ernie-tiny-8k": ErnieModel("ernie-tiny-8k", False, 2048),
    "ernie-char-8k": ErnieModel("ernie-char-8k", False, 2048),
    "ernie-char-fiction-8k": ErnieModel("ernie-char-fiction-8k", False, 2048),
    "ernie-novel-8k": ErnieModel("ernie-novel-8k", False, 2048),
    "bloomz-7b": ErnieModel("bloomz_7b1", False, 0),
}
# older names the SDK still accepts
ALIASES = {
    "ernie-bot-4": "ernie-4.0-8k",
    "ernie-4.0": "ernie-4.0-8k",
    "ernie-bot": "ernie-3.5-8k",
    "ernie-3.5": "ernie-3.5-8k",
    "ernie-bot-turbo": "ernie-lite-8k-0922",
    "ernie-speed": "ernie-speed-8k",
    "ernie-lite": "ernie-lite-8k",
}

# Baidu's ranges (providers.md §3a): temperature (0, 1], penalty_score [1, 2], stop ≤ 4 × 20 chars
TEMPERATURE = Clamp(0, 1, open_low=True)
PENALTY = Clamp(1, 2)
MAX_STOPS, MAX_STOP_CHARS = 4, 20
# extra_body fields that are Baidu parameters, passed on as sent
PASSTHROUGH = ("disable_search", "enable_citation", "enable_trace", "user_setting", "min_output_tokens")
# the Qianfan SDK's own continuation prompt ("continue"), used when a conversation ends with the
# assistant: Baidu requires the last message to be the user's
CONTINUE = "继续"

FINISH = {
    "normal": "stop",
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
}

# a rule of its own, so the provider can tell "refresh the token and retry" from other 401s
TOKEN_REFUSED = ErrorRule(401, "access_token_invalid", "authentication_error", retryable=True, disable=True)
_INVALID = ErrorRule(400, "invalid_value", "invalid_request_error", retryable=False)
_ERRORS: dict[str | int, ErrorRule] = {
    # codes of the SDK's APIErrorCode enum, mapped as in providers.md §3a
    1: ErrorRule(502, "upstream_error", "upstream_error"),
    2: ErrorRule(503, "upstream_overloaded", "upstream_error"),
    3: _INVALID,
    4: RATE,
    6: ErrorRule(403, "permission_denied", "permission_error", disable=True),
    13: AUTH,
    15: AUTH,
    # 17 "daily limit reached": the SDK's hint for it is "paid access not enabled, or the account
    # is in arrears" (openapi_requestor._check_error), so it is a balance error, not throttling
    17: QUOTA,
    18: RATE,
    19: QUOTA,
    100: _INVALID,
    110: TOKEN_REFUSED,
    111: TOKEN_REFUSED,
    336000: ErrorRule(502, "upstream_error", "upstream_error"),
    336001: _INVALID,
    336002: _INVALID,
    336003: _INVALID,
    336004: ErrorRule(403, "permission_denied", "permission_error"),
    336005: ErrorRule(404, "model_not_found", "invalid_request_error", retryable=True),
    336006: _INVALID,  # "the length of messages must be an odd number" (role order)
    336100: ErrorRule(503, "upstream_overloaded", "upstream_error"),
    336101: _INVALID,
    336104: _INVALID,
    336105: _INVALID,
    336501: RATE,
    336502: RATE,
    "content_filter": CONTENT_FILTER,
    # the OAuth token endpoint: {"error": "invalid_client", "error_description": ...}
    "invalid_client": AUTH,
}


class QianfanAdaptor(Adaptor):
    error_table = MappingProxyType(_ERRORS)
    stream_has_done = False

    def __init__(
        self,
        provider: str,
        fetch: Fetch,
        *,
        base_url: str,
        api_key: str | None,
        secret_key: str | None,
        endpoints: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(provider, fetch)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""
        self.secret_key = secret_key or ""
        self.endpoints = {k.lower(): v for k, v in (endpoints or {}).items()}
        self.clock = clock
        # one adaptor serves one key pair, so its token cache is that key pair's cache
        self._token: str | None = None
        self._fetched_at = 0.0
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    # -- the access token ---------------------------------------------------------------------
    async def access_token(self) -> str:
        now = self.clock()
        if self._token is not None and now < self._refresh_at:
            return self._token
        if self._token is not None and now < self._expires_at and self._lock.locked():
            return self._token  # someone is refreshing it; the old one is still good meanwhile
        async with self._lock:
            now = self.clock()
            if self._token is not None and now < self._refresh_at:
                return self._token
            token, lifetime = await self._fetch_token()
            self._token, self._fetched_at = token, now
            self._expires_at = now + lifetime
            # refresh an hour early (one-api does the same), or at 90% of a short lifetime
            self._refresh_at = now + lifetime - min(3600.0, lifetime * 0.1)
            return token

    def credential_refused(self, e: UpstreamError, since: float) -> bool:
        """Baidu refused the access token (110/111): drop it and let the core resend once, as the
        official SDK's ``_retry_if_token_expired`` does."""
        if e.code != TOKEN_REFUSED.code or e.provider != self.provider:
            return False
        self.token_refused(since)
        return True

    def token_refused(self, since: float) -> None:
        """The upstream refused a token (110/111) used by a request that started at ``since``:
        drop it, unless a newer one was fetched meanwhile."""
        if self._token is not None and self._fetched_at <= since:
            self._token = None

    async def _fetch_token(self) -> tuple[str, float]:
        query = urlencode(
            {"grant_type": "client_credentials", "client_id": self.api_key, "client_secret": self.secret_key}
        )
        resp = await self.fetch(
            UpstreamRequest(f"{self.base_url}{TOKEN_PATH}?{query}", b"", {"Accept": "application/json"})
        )
        try:
            data = orjson.loads(resp.body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("access_token"), str) and resp.status < 300:
            return data["access_token"], float(data.get("expires_in") or 2_592_000)
        if isinstance(data, dict) and data.get("error"):
            desc = str(data.get("error_description") or data["error"])
            # the SDK's reading of the two answers: a wrong API key, or a wrong secret key
            if desc == "unknown client id":
                desc += " (check api_key)"
            elif desc == "Client authentication failed":
                desc += " (check secret_key)"
            status = 401 if data["error"] == "invalid_client" or resp.status < 500 else resp.status
            raise self.make_error(status, str(data["error"]), f"OAuth access token refused: {desc}")
        raise self.make_error(
            resp.status if resp.status >= 400 else 502, None, "the OAuth token endpoint gave no access_token"
        )

    # -- chat ---------------------------------------------------------------------------------
    def model_info(self, model: str) -> ErnieModel:
        key = model.lower()
        if key in self.endpoints:  # a self-deployed service: its own path, capabilities unknown
            return ErnieModel(self.endpoints[key], True, 0)
        info = MODELS.get(ALIASES.get(key, key))
        if info is None:
            raise UpstreamError.unsupported(
                self.provider,
                f"Provider '{self.provider}' (Qianfan v1) has no model '{model}'. Known models: "
                f"{', '.join(sorted(MODELS))}; a self-deployed service is added under 'endpoints'.",
                status=404,
                code="model_not_found",
                param="model",
            )
        return info

    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        info = self.model_info(model)
        tools = _functions(req)
        if tools and not info.functions:
            raise UpstreamError.unsupported(
                self.provider,
                f"Provider '{self.provider}': the model '{model}' does not support function calling "
                "(tools) on Qianfan v1; use ERNIE 3.5 or ERNIE 4.0.",
                param="tools",
            )
        system, messages = conversation(req, functions=info.functions, provider=self.provider)
        body: dict[str, Any] = {"messages": messages}
        if system:
            body["system"] = system
        if stream:
            body["stream"] = True
        if req.temperature is not None:
            body["temperature"] = TEMPERATURE.apply(req.temperature)
        if req.top_p is not None:
            body["top_p"] = req.top_p
        penalty = _penalty(req)
        if penalty is not None:
            body["penalty_score"] = penalty
        if req.stop:
            # A cut stop string still stops the answer wherever the full one would (it is a
            # prefix), so it is shortened rather than dropped.
            body["stop"] = [s[:MAX_STOP_CHARS] for s in req.stop_list()[:MAX_STOPS]]
        if req.output_limit is not None and info.max_output:
            body["max_output_tokens"] = min(max(req.output_limit, 2), info.max_output)
        if req.user:
            body["user_id"] = req.user
        rf = (req.response_format or {}).get("type")
        if rf in ("json_object", "json_schema"):
            body["response_format"] = "json_object"  # v1 knows only "text" and "json_object"
        extras = req.extras()
        for k in PASSTHROUGH:
            if extras.get(k) is not None:
                body[k] = extras[k]
        if tools and req.tool_choice != "none" and req.function_call != "none":
            body["functions"] = tools
            named = _named_choice(req, tools)
            if named is not None:
                body["tool_choice"] = {"type": "function", "function": {"name": named}}
        token = await self.access_token()
        url = f"{self.base_url}{CHAT_PREFIX}{info.path}?access_token={quote(token, safe='')}"
        return UpstreamRequest(url, orjson.dumps(body), {"Content-Type": "application/json"})

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        data = self._json(resp.body)
        self._check(data)
        if data.get("need_clear_history"):
            raise self._input_refused(data)
        calls = _tool_calls(data)
        text = str(data.get("result") or "")
        finish = FINISH.get(str(data.get("finish_reason") or "normal"), "stop")
        if calls:
            finish = "tool_calls"
        elif data.get("flag") and finish == "stop":
            finish = "content_filter"  # the answer was masked or replaced by the safety system
        return chat_completion(
            id="chatcmpl-" + str(data.get("id") or time.time_ns()),
            model=model,
            choices=[choice(0, text if text or not calls else None, finish, tool_calls=calls or None)],
            usage=normalize_usage(data.get("usage")),
            created=int(data["created"]) if isinstance(data.get("created"), int) else None,
        )

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _QianfanStream(self)

    # -- errors -------------------------------------------------------------------------------
    def error_fields(self, body: bytes) -> tuple[str | int | None, str]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None, body[:300].decode("utf-8", "replace").strip()
        if isinstance(data, dict) and "error_code" in data:
            return _code(data["error_code"]), str(data.get("error_msg") or "")
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return data["error"], str(data.get("error_description") or "")
        return super().error_fields(body)

    def _json(self, body: bytes | str) -> dict[str, Any]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        if not isinstance(data, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        return data

    def _check(self, data: dict[str, Any]) -> None:
        """Baidu reports errors inside HTTP 200 bodies: ``{error_code, error_msg}``."""
        if "error_code" in data and data["error_code"] not in (0, None):
            raise self.make_error(502, _code(data["error_code"]), str(data.get("error_msg") or ""))

    def _input_refused(self, data: dict[str, Any]) -> UpstreamError:
        # need_clear_history: the *input* was judged unsafe (ban_round says which turn)
        return self.make_error(
            400,
            "content_filter",
            f"the input was refused by Baidu's content review (ban_round {data.get('ban_round', -1)})",
        )


class _QianfanStream(StreamTranslator):
    def __init__(self, adaptor: QianfanAdaptor) -> None:
        self.a = adaptor
        self.emitted = False

    def feed(self, data: str) -> list[dict[str, Any]]:
        obj = self.a._json(data)
        self.a._check(obj)
        if obj.get("need_clear_history"):
            if not self.emitted:
                raise self.a._input_refused(obj)
            return [{"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]}]
        delta: dict[str, Any] = {}
        if obj.get("result"):
            delta["content"] = obj["result"]
        calls = _tool_calls(obj)
        if calls:
            delta["tool_calls"] = [{"index": i, **c} for i, c in enumerate(calls)]
        finish = None
        if obj.get("is_end"):
            finish = "tool_calls" if calls else FINISH.get(str(obj.get("finish_reason") or "normal"), "stop")
            if finish == "stop" and obj.get("flag"):
                finish = "content_filter"
        frag: dict[str, Any] = {}
        if delta or finish:
            frag["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            self.emitted = True
        usage = normalize_usage(obj.get("usage"))
        if usage and obj.get("is_end"):
            frag["usage"] = usage
        return [frag] if frag else []


# -- the conversation -------------------------------------------------------------------------
def conversation(
    req: ChatRequest, *, functions: bool, provider: str
) -> tuple[str | None, list[dict[str, Any]]]:
    """OpenAI messages → (Baidu's top-level ``system``, strictly alternating ``messages``)."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name
    for m in req.messages:
        if m.role in ("system", "developer"):
            system.append(_plain(m.content, provider))
        elif m.role == "user":
            turns.append({"role": "user", "content": _plain(m.content, provider)})
        elif m.role == "assistant":
            calls = [(tc.id, tc.function.name, tc.function.arguments) for tc in m.tool_calls or ()]
            if m.function_call is not None:
                calls.append(("", m.function_call.name, m.function_call.arguments))
            for cid, name, _ in calls:
                names[cid] = name
            turn: dict[str, Any] = {"role": "assistant", "content": _plain(m.content, provider)}
            if calls and functions:
                # Baidu answers with one call per turn; further calls' results join its result
                turn["function_call"] = {"name": calls[0][1], "arguments": calls[0][2]}
            elif calls:
                turn["content"] = _join(turn["content"], *(f"(called {n}({a}))" for _, n, a in calls))
            turns.append(turn)
        elif m.role == "tool":
            name = names.get(m.tool_call_id, "function")
            turns.append(_result(name, _plain(m.content, provider), functions))
        elif m.role == "function":
            turns.append(_result(m.name, m.content or "", functions))
    turns = _alternate(turns)
    # Baidu wants the user first: an opening assistant turn (a greeting) is dropped, and a
    # function result left first becomes the user's text
    while turns and turns[0]["role"] == "assistant":
        turns.pop(0)
    if turns and turns[0]["role"] == "function":
        turns[0] = {"role": "user", "content": _as_text(turns[0])}
    if not turns:
        if not system:
            raise APIError(
                400,
                f"Provider '{provider}' (Qianfan v1) needs at least one user message.",
                param="messages",
            )
        # only instructions were sent: they become the user's message
        return None, [{"role": "user", "content": "\n\n".join(system)}]
    if turns[-1]["role"] == "assistant":
        turns.append({"role": "user", "content": CONTINUE})
    return ("\n\n".join(system) or None), turns


def _result(name: str, content: str, functions: bool) -> dict[str, Any]:
    if functions:
        return {"role": "function", "name": name, "content": content}
    return {"role": "user", "content": f"Result of {name}: {content}"}


def _alternate(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive turns of the same side (user/function vs assistant)."""
    out: list[dict[str, Any]] = []
    for t in turns:
        prev = out[-1] if out else None
        if prev is None or _side(prev) != _side(t):
            out.append(dict(t))
            continue
        if t["role"] == "assistant":
            prev["content"] = _join(prev.get("content") or "", t.get("content") or "")
            if "function_call" in t:
                prev["function_call"] = t["function_call"]
        elif prev["role"] == t["role"] == "function":
            prev["content"] = _join(prev["content"], t["content"])  # results of parallel calls
        elif prev["role"] == t["role"] == "user":
            prev["content"] = _join(prev["content"], t["content"])
        else:
            # a tool result and the user's words in one turn: all of it becomes the user's text,
            # and the call that asked for the result becomes text too (no dangling function_call)
            out[-1] = {"role": "user", "content": _join(_as_text(prev), _as_text(t))}
            before = out[-2] if len(out) > 1 else None
            if before is not None and "function_call" in before:
                fc = before.pop("function_call")
                before["content"] = _join(
                    before.get("content") or "", f"(called {fc['name']}({fc['arguments']}))"
                )
    return out


def _side(t: dict[str, Any]) -> str:
    return "assistant" if t["role"] == "assistant" else "user"


def _as_text(t: dict[str, Any]) -> str:
    if t["role"] == "function":
        return f"Result of {t.get('name', 'function')}: {t.get('content') or ''}"
    return str(t.get("content") or "")


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _plain(content: Any, provider: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for p in content:
        if p.get("type") not in ("text", "input_text"):
            raise APIError(
                400,
                f"Provider '{provider}' (Qianfan v1) takes text only, not message content of type "
                f"'{p.get('type')}'.",
                code="unsupported_content",
                param="messages",
            )
        texts.append(str(p.get("text", "")))
    return "".join(texts)


def _functions(req: ChatRequest) -> list[dict[str, Any]]:
    out = []
    for t in req.tools or ():
        if t.type != "function":
            raise APIError(400, f"Tools of type '{t.type}' are not supported by Qianfan v1.", param="tools")
        out.append(t.function.model_dump(exclude_none=True, exclude={"strict"}))
    out.extend(f.model_dump(exclude_none=True, exclude={"strict"}) for f in req.functions or ())
    return out


def _named_choice(req: ChatRequest, tools: list[dict[str, Any]]) -> str | None:
    tc: Any = req.tool_choice if req.tool_choice is not None else req.function_call
    if isinstance(tc, dict):
        name = (tc.get("function") or {}).get("name") or tc.get("name")
        return str(name) if name else None
    if tc == "required" and len(tools) == 1:
        return str(tools[0]["name"])  # "required" with one tool is that tool
    return None


def _penalty(req: ChatRequest) -> float | None:
    given = req.extras().get("penalty_score")
    if isinstance(given, int | float):
        return PENALTY.apply(float(given))
    # OpenAI's penalties [-2, 2] → Baidu's repetition penalty [1, 2] (only the positive half
    # means "repeat less"); the nearer match is frequency_penalty
    p = req.frequency_penalty if req.frequency_penalty is not None else req.presence_penalty
    if p is None:
        return None
    return PENALTY.apply(1.0 + max(p, 0.0) / 2)


def _tool_calls(data: dict[str, Any]) -> list[dict[str, Any]]:
    fc = data.get("function_call")
    if not isinstance(fc, dict) or not fc.get("name"):
        return []
    return [
        {
            "id": f"call_{data.get('id') or 'qianfan'}",
            "type": "function",
            "function": {"name": str(fc["name"]), "arguments": str(fc.get("arguments") or "")},
        }
    ]


def _code(raw: Any) -> str | int | None:
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return raw if isinstance(raw, str) else None


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: QianfanAdaptor(
            name,
            fetch,
            base_url=base,
            api_key=cfg.api_key,
            secret_key=cfg.secret_key,
            endpoints=cfg.endpoints,
        ),
    )


SPEC = ProviderSpec.of("qianfan-v1", _build)
