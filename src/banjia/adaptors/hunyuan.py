"""Tencent Hunyuan, native API 3.0 (``hunyuan-tc3``): TC3-HMAC-SHA256 signed, PascalCase bodies.

Wire facts come from providers.md §4a and the official ``tencentcloud-sdk-python-hunyuan``
(3.1.180, ``hunyuan/v20230901/models.py`` and ``errorcodes.py``):

* ``POST /`` with ``X-TC-Action: ChatCompletions``, ``X-TC-Version: 2023-09-01``; the signature
  covers the exact body bytes, so the body is serialised once and signed as sent.
* Answers are ``{"Response": {...}}``; errors arrive with HTTP 200 as ``Response.Error``.
* Streams are SSE whose events carry the bare object (no ``Response`` wrapper) and no ``[DONE]``;
  ``FinishReason`` ``sensitive`` (moderation, possibly after text has streamed) → ``content_filter``.
* ``Messages`` must alternate user(tool)/assistant, start with user and end with user/tool, each
  ``Content`` non-empty (SDK docs of ``ChatCompletionsRequest.Messages``): valid OpenAI
  conversations that break this are repaired here, never refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from banjia.adaptors.vendors import AUTH, CONTENT_FILTER, QUOTA, RATE
from banjia.protocol.chat import ChatRequest, chat_completion, choice, text_of, usage
from banjia.providers import unsupported

if TYPE_CHECKING:
    from banjia.config import ProviderConfig
    from banjia.providers import Provider
    from banjia.transport import Transport

__all__ = ["SPEC", "HunyuanAdaptor", "tc3_authorization"]

SERVICE = "hunyuan"
ACTION = "ChatCompletions"
VERSION = "2023-09-01"
SIGNED_HEADERS = "content-type;host;x-tc-action"

# Conversation repairs (strict alternation, non-empty Content). Short and neutral on purpose.
OPENER = "Hello."  # before a conversation that starts with the assistant
CONTINUE = "Continue."  # after one that ends with the assistant (an OpenAI "prefill")
EMPTY = "(empty)"  # a user turn with no text
ACK = "OK."  # an assistant turn between tool results and the next user turn

_FINISH = {"stop": "stop", "sensitive": "content_filter", "tool_calls": "tool_calls", "length": "length"}

# Tools take effect only on some models (SDK docs: Tools "仅对 hunyuan-turbos、hunyuan-t1、
# hunyuan-functioncall 模型生效", Message.ToolCalls "仅 hunyuan-pro 或者 hunyuan-functioncall");
# models known NOT to call tools get a clear 400 instead of a silently tool-less answer.
_NO_TOOLS = ("hunyuan-lite", "hunyuan-standard", "hunyuan-role", "hunyuan-code", "hunyuan-vision")

# Codes from the SDK's errorcodes.py plus Tencent Cloud's common codes (AuthFailure.*,
# RequestLimitExceeded, UnauthorizedOperation). Keys in lower case match a whole family:
# make_error falls back from "InvalidParameter.Foo" to "invalidparameter".
_PERMISSION = ErrorRule(403, "permission_denied", "permission_error", disable=True)
_BAD = ErrorRule(400, "invalid_value", "invalid_request_error")
_ENGINE = ErrorRule(502, "upstream_error", "upstream_error")
HUNYUAN_ERRORS: Mapping[str | int, ErrorRule] = MappingProxyType(
    {
        "authfailure": AUTH,
        "AuthFailure.UnauthorizedOperation": _PERMISSION,  # valid key, CAM policy denies the action
        "unauthorizedoperation": _PERMISSION,
        "limitexceeded": RATE,
        "requestlimitexceeded": RATE,
        "FailedOperation.EngineServerLimitExceeded": RATE,
        "FailedOperation.EngineRequestTimeout": ErrorRule(504, "upstream_timeout", "upstream_error"),
        "FailedOperation.EngineServerError": _ENGINE,
        "FailedOperation.FreeResourcePackExhausted": QUOTA,
        "FailedOperation.ResourcePackExhausted": QUOTA,
        "FailedOperation.ServiceStopArrears": QUOTA,
        "ResourceInsufficient.ChargeResourceExhaust": QUOTA,
        "ResourceUnavailable.InArrears": QUOTA,
        "ResourceUnavailable.LowBalance": QUOTA,
        "FailedOperation.ServiceNotActivated": _PERMISSION,
        "FailedOperation.ServiceStop": _PERMISSION,
        "FailedOperation.UserUnAuthError": _PERMISSION,
        "ResourceUnavailable.StopUsing": _PERMISSION,
        "ResourceUnavailable.NotExist": _PERMISSION,
        "UnsupportedOperation.NonWhitelistAccount": _PERMISSION,
        "OperationDenied.TextIllegalDetected": CONTENT_FILTER,
        "OperationDenied.ImageIllegalDetected": CONTENT_FILTER,
        "InvalidParameterValue.Model": ErrorRule(404, "model_not_found", "invalid_request_error"),
        "invalidparameter": _BAD,
        "invalidparametervalue": _BAD,
        "missingparameter": _BAD,
        "unknownparameter": _BAD,
        "failedoperation": _ENGINE,
        "internalerror": _ENGINE,
    }
)


# -- signing -------------------------------------------------------------------------------------
def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    timestamp: int,
    body: bytes,
    action: str = ACTION,
    service: str = SERVICE,
    content_type: str = "application/json",
) -> str:
    """The ``Authorization`` header of TC3-HMAC-SHA256 (providers.md §4a steps 1–5)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{content_type}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical = "\n".join(["POST", "/", "", canonical_headers, SIGNED_HEADERS, _sha256_hex(body)])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical.encode())])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )


# -- the adaptor ---------------------------------------------------------------------------------
class HunyuanAdaptor(Adaptor):
    stream_has_done = False
    error_table = HUNYUAN_ERRORS

    def __init__(
        self,
        provider: str,
        fetch: Fetch,
        *,
        base_url: str,
        secret_id: str,
        secret_key: str,
        region: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(provider, fetch)
        self.base_url = base_url.rstrip("/")
        # the signed host is what the request carries: host[:port] of the (possibly overridden) URL
        self.host = urlsplit(self.base_url).netloc.rpartition("@")[2].lower()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.region = region
        self.clock = clock

    # -- request --------------------------------------------------------------------------------
    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        reject_unsupported(self.provider, req)
        body: dict[str, Any] = {"Model": model, "Messages": self._messages(req), "Stream": stream}
        # Both ranges equal OpenAI's (Temperature [0, 2], TopP [0, 1]), which the request model
        # has already enforced: passed through unchanged.
        if req.temperature is not None:
            body["Temperature"] = req.temperature
        if req.top_p is not None:
            body["TopP"] = req.top_p
        stops = req.stop_list()
        if stops:
            # Hunyuan stops *after* the match (SDK docs of Stop); the match is cut off again below
            body["Stop"] = stops
        if req.seed is not None:
            # Seed must be a positive integer ≤ 10000 (SDK docs): fold OpenAI's range into it
            body["Seed"] = req.seed if 0 < req.seed <= 10000 else abs(req.seed) % 10000 or 10000
        # The 2023-09-01 action has no output-limit field (none in ChatCompletionsRequest of SDK
        # 3.1.180): max_tokens is enforced on streams, whose events carry the running usage
        # (_HunyuanStream); a non-stream answer comes whole and is returned as generated.
        tools = self._tools(req, model)
        if tools:
            body.update(tools)
        raw = orjson.dumps(body)
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "Host": self.host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                host=self.host,
                timestamp=timestamp,
                body=raw,
            ),
        }
        if self.region:
            headers["X-TC-Region"] = self.region
        if stream:
            headers["Accept"] = "text/event-stream"
        return UpstreamRequest(self.base_url + "/", raw, headers)

    def _tools(self, req: ChatRequest, model: str) -> dict[str, Any]:
        if not req.tools or req.tool_choice == "none":
            return {}
        if model.lower().startswith(_NO_TOOLS) and "functioncall" not in model.lower():
            raise unsupported(self.provider, f"tools (function calling) with the model '{model}'")
        defs: list[dict[str, Any]] = []
        for t in req.tools:
            fn = t.function
            parameters = fn.parameters or {"type": "object", "properties": {}}
            # Parameters is a JSON *string* (SDK: ToolFunction.Parameters, type str)
            spec: dict[str, Any] = {"Name": fn.name, "Parameters": orjson.dumps(parameters).decode()}
            if fn.description:
                spec["Description"] = fn.description
            defs.append({"Type": "function", "Function": spec})
        out: dict[str, Any] = {"Tools": defs}
        forced: str | None = None
        choice_ = req.tool_choice
        if isinstance(choice_, dict):
            forced = str((choice_.get("function") or {}).get("name") or "") or None
        elif choice_ == "required" and len(defs) == 1:
            forced = defs[0]["Function"]["Name"]
        if forced:
            # ToolChoice none/auto/custom: "custom" forces CustomTool. OpenAI's "required" with
            # several tools has no equivalent and is sent as auto.
            match = next((d for d in defs if d["Function"]["Name"] == forced), None)
            if match is None:
                raise unsupported(self.provider, f"tool_choice naming '{forced}', which is not in tools")
            out["ToolChoice"] = "custom"
            out["CustomTool"] = match
        else:
            out["ToolChoice"] = "auto"
        return out

    def _messages(self, req: ChatRequest) -> list[dict[str, Any]]:
        system: list[str] = []
        turns: list[dict[str, Any]] = []
        for m in req.messages:
            text = text_of(getattr(m, "content", None))
            if m.role in ("system", "developer"):
                if text:
                    system.append(text)
            elif m.role == "user":
                turns.append({"Role": "user", "Content": text or EMPTY})
            elif m.role == "assistant":
                msg: dict[str, Any] = {"Role": "assistant", "Content": text}
                calls = getattr(m, "tool_calls", None)
                if calls:
                    msg["ToolCalls"] = [
                        {
                            "Id": c.id,
                            "Type": "function",
                            "Function": {"Name": c.function.name, "Arguments": c.function.arguments},
                        }
                        for c in calls
                    ]
                turns.append(msg)
            elif m.role == "tool":
                turns.append({"Role": "tool", "Content": text or EMPTY, "ToolCallId": m.tool_call_id})
        out = [{"Role": "system", "Content": "\n\n".join(system)}] if system else []
        return out + _alternate(turns)

    # -- response -------------------------------------------------------------------------------
    def error_fields(self, body: bytes) -> tuple[str | int | None, str]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return super().error_fields(body)
        err = (data.get("Response") or {}).get("Error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            return str(err.get("Code") or "") or None, str(err.get("Message") or "")
        return super().error_fields(body)

    def check(self, obj: Any) -> dict[str, Any]:
        """The params object of an answer or stream event; raises the error it carries."""
        if not isinstance(obj, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        inner = obj.get("Response")
        if isinstance(inner, dict):
            obj = inner
        err = obj.get("Error")
        if isinstance(err, dict):
            code = str(err.get("Code") or "") or None
            raise self.make_error(502, code, str(err.get("Message") or ""))
        msg = obj.get("ErrorMsg")
        if isinstance(msg, dict) and msg.get("Code"):
            raise self.make_error(502, msg.get("Code"), str(msg.get("Msg") or ""))
        out: dict[str, Any] = obj
        return out

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        try:
            data = self.check(resp.json())
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        stops = StopScanner(req.stop_list())
        choices = []
        for i, ch in enumerate(data.get("Choices") or ()):
            msg = ch.get("Message") or {}
            text, stopped = stops.cut(str(msg.get("Content") or ""))
            calls = [
                {"id": c["id"] or f"call_{i}_{n}", "type": "function", "function": c["function"]}
                for n, c in enumerate(_tool_calls(msg.get("ToolCalls")))
            ]
            finish = "stop" if stopped else _FINISH.get(str(ch.get("FinishReason") or "stop"), "stop")
            if calls and finish == "stop":
                finish = "tool_calls"
            choices.append(
                choice(
                    ch.get("Index", i),
                    text if text or not calls else None,
                    finish,
                    tool_calls=calls or None,
                    reasoning_content=msg.get("ReasoningContent") or None,
                )
            )
        if not choices:
            raise self.make_error(502, None, "the upstream answer has no choices")
        return chat_completion(
            id="chatcmpl-" + str(data.get("Id") or data.get("RequestId") or time.time_ns()),
            model=model,
            choices=choices,
            usage=_usage(data.get("Usage")),
            created=int(data.get("Created") or time.time()),
        )

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        return _HunyuanStream(self, req)


class _HunyuanStream(StreamTranslator):
    def __init__(self, adaptor: HunyuanAdaptor, req: ChatRequest) -> None:
        self.a = adaptor
        self.stops = StopScanner(req.stop_list())
        self.limit = req.output_limit
        self.done = False

    def feed(self, data: str) -> list[dict[str, Any]]:
        try:
            obj = self.a.check(orjson.loads(data))
        except orjson.JSONDecodeError as e:
            raise self.a.make_error(502, None, "the upstream stream sent an event that is not JSON") from e
        u = _usage(obj.get("Usage"))
        # (unconfirmed) every event carries the running Usage, as the SDK's stream examples show
        over = bool(self.limit and u and u["completion_tokens"] >= self.limit)
        out: list[dict[str, Any]] = []
        for ch in obj.get("Choices") or ():
            if self.done:
                break
            delta = ch.get("Delta") or {}
            d: dict[str, Any] = {}
            text = self.stops.feed(str(delta.get("Content") or ""))
            reasoning = delta.get("ReasoningContent")
            if reasoning:
                d["reasoning_content"] = reasoning
            calls = _tool_calls(delta.get("ToolCalls"))
            if calls:
                d["tool_calls"] = calls
            finish = None
            if self.stops.hit:
                finish = "stop"
            elif ch.get("FinishReason"):  # "" while generating
                text += self.stops.flush()
                finish = _FINISH.get(str(ch["FinishReason"]), "stop")
            elif over:  # max_tokens reached: the answer ends here, as OpenAI's would
                text += self.stops.flush()
                finish = "length"
            if text:
                d["content"] = text
            self.done = finish is not None
            out.append({"choices": [{"index": 0, "delta": d, "finish_reason": finish}]})
        if u:
            out.append({"usage": u})  # cumulative on every event: the core keeps the last
        return out

    def finish(self) -> list[dict[str, Any]]:
        rest = "" if self.done else self.stops.flush()
        return (
            [{"choices": [{"index": 0, "delta": {"content": rest}, "finish_reason": None}]}] if rest else []
        )


def _alternate(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge or pad turns so user(tool)/assistant alternate, starting and ending with user."""
    out: list[dict[str, Any]] = []
    for t in turns:
        prev = out[-1] if out else None
        role, prev_role = t["Role"], prev["Role"] if prev else None
        if prev is None and role == "assistant":
            out.append({"Role": "user", "Content": OPENER})
        elif prev is not None and role == prev_role and role in ("user", "assistant"):
            joined = "\n\n".join(x for x in (prev["Content"], t["Content"]) if x)
            prev["Content"] = joined
            if t.get("ToolCalls"):
                prev["ToolCalls"] = [*prev.get("ToolCalls", []), *t["ToolCalls"]]
            continue
        elif prev_role == "tool" and role == "user":
            out.append({"Role": "assistant", "Content": ACK})
        out.append(t)
    if out and out[-1]["Role"] == "assistant":
        out.append({"Role": "user", "Content": CONTINUE})
    for t in out:
        if t["Role"] == "assistant" and not t["Content"]:
            if t.get("ToolCalls"):
                del t["Content"]  # a tool-calling turn carries no text
            else:
                t["Content"] = EMPTY
    return out


def _tool_calls(raw: Any) -> list[dict[str, Any]]:
    out = []
    for i, c in enumerate(raw or ()):
        fn = c.get("Function") or {}
        call: dict[str, Any] = {
            "index": c.get("Index", i),
            "id": c.get("Id") or None,
            "function": {"name": fn.get("Name") or "", "arguments": fn.get("Arguments") or ""},
        }
        out.append(call)
    return out


def _usage(u: Any) -> dict[str, Any] | None:
    if not isinstance(u, dict) or not u:
        return None
    prompt, completion = int(u.get("PromptTokens") or 0), int(u.get("CompletionTokens") or 0)
    details = u.get("PromptTokensDetails") or {}
    out = usage(prompt, completion, cached=int(details.get("CachedTokens") or 0))
    out["total_tokens"] = int(u.get("TotalTokens") or prompt + completion)
    return out


def _build(name: str, cfg: ProviderConfig, transport: Transport) -> Provider:
    return http_provider(
        name,
        cfg,
        transport,
        lambda fetch, base: HunyuanAdaptor(
            name,
            fetch,
            base_url=base,
            secret_id=cfg.secret_id or "",
            secret_key=cfg.secret_key or "",
            region=cfg.region,
        ),
    )


SPEC = ProviderSpec.of("hunyuan-tc3", _build)
