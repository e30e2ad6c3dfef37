"""A fake Tencent Hunyuan API 3.0 (``ChatCompletions``, 2023-09-01) on a real socket.

Written from providers.md §4a and the official Python SDK (tencentcloud-sdk-python-hunyuan):

* every request's TC3-HMAC-SHA256 signature is recomputed from the bytes received, with the signed
  headers the client lists (the SDK signs ``content-type;host``, banjia also ``x-tc-action``);
  failures are Tencent's common ``AuthFailure.*`` codes, a timestamp more than 5 minutes off is
  ``AuthFailure.SignatureExpire`` (tencentcloud.com "common parameters": "If the difference
  between the UNIX timestamp and the server time is greater than 5 minutes, a signature
  expiration error may occur");
* errors are HTTP 200 ``{"Response": {"Error": {Code, Message}, "RequestId"}}`` with the exact
  content type ``application/json`` (the SDK only inspects bodies typed exactly so);
* streams are ``text/event-stream`` events of the bare object, ``FinishReason`` "" until the last
  event, no ``[DONE]``;
* the message rules of ``ChatCompletionsRequest.Messages`` are enforced: optional system first,
  user(tool)/assistant alternating, starting with user and ending with user/tool, non-empty
  ``Content``; ``Stop`` keeps the matched text (SDK docs of ``Stop``).

Behaviour is chosen by a ``#mode`` word in the last user message (``#ratelimit``, ``#arrears``,
``#exhausted``, ``#blocked``, ``#sensitive``, ``#engine-timeout``, ``#slow``). Answers are
deterministic: ``"echo: " + the last user (or tool) text``; tokens are counted in words.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

SECRET_ID = "AKIDfakeHunyuanId0123456789abcdef"
SECRET_KEY = "fakeHunyuanSecretKey0123456789ab"
NOTE = "以上内容为AI生成，不代表开发者立场，请勿删除或修改本标记"
MODELS = {
    "hunyuan-lite",
    "hunyuan-standard",
    "hunyuan-pro",
    "hunyuan-turbo",
    "hunyuan-turbos-latest",
    "hunyuan-functioncall",
    "hunyuan-t1-latest",
}
TOOL_ARGS = '{"city": "Beijing"}'
SKEW = 300  # seconds

_AUTH = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class Seen:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class HunyuanState:
    requests: list[Seen] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # the error codes answered


class Problem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_signature(
    secret_key: str, headers: dict[str, str], signed: list[str], body: bytes, timestamp: str, date: str
) -> str:
    """TC3 as the server checks it: canonical headers are the listed ones, lower-cased and trimmed."""
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip().lower()}\n" for h in signed)
    canonical = f"POST\n/\n\n{canonical_headers}\n{';'.join(signed)}\n{_hex(body)}"
    scope = f"{date}/hunyuan/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{_hex(canonical.encode())}"

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), "hunyuan"), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeHunyuan:
    def __init__(self) -> None:
        self.state = HunyuanState()
        self.app = web.Application()
        self.app.router.add_post("/", self.handle)

    # -- envelope -------------------------------------------------------------------------------
    def _error(self, rid: str, code: str, message: str) -> web.Response:
        self.state.rejected.append(code)
        body = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": rid}}
        return web.Response(body=json.dumps(body).encode(), content_type="application/json")

    def _verify(self, request: web.Request, raw: bytes) -> None:
        auth = request.headers.get("Authorization", "")
        m = _AUTH.match(auth)
        if not m:
            raise Problem("AuthFailure.InvalidAuthorization", "The Authorization header is not valid TC3.")
        if m["id"] != SECRET_ID:
            raise Problem(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        ts = request.headers.get("X-TC-Timestamp", "")
        if not ts.isdigit():
            raise Problem("MissingParameter", "The request is missing a required parameter `Timestamp`.")
        if abs(time.time() - int(ts)) > SKEW:
            raise Problem(
                "AuthFailure.SignatureExpire",
                f"Signature expire. Now server time is {int(time.time())} but the request time is {ts}.",
            )
        signed = m["signed"].split(";")
        date = datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")
        headers = {k.lower(): v for k, v in request.headers.items()}
        if (
            m["date"] != date
            or m["service"] != "hunyuan"
            or not {"content-type", "host"} <= set(signed)
            or any(h not in headers for h in signed)
            or request.query_string
        ):
            raise Problem(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        want = expected_signature(SECRET_KEY, headers, signed, raw, ts, date)
        if not hmac.compare_digest(want, m["sig"]):
            raise Problem(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )

    # -- request --------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        rid = str(uuid.uuid4())
        raw = await request.read()
        try:
            self._verify(request, raw)
            if request.headers.get("X-TC-Action") != "ChatCompletions":
                raise Problem("InvalidAction", "The action requested is invalid.")
            if request.headers.get("X-TC-Version") != "2023-09-01":
                raise Problem("NoSuchVersion", "The requested version does not exist.")
            body = json.loads(raw)
            self.state.requests.append(Seen(dict(request.headers), body))
            _validate(body)
            mode, arg = _mode(body)
            if mode == "slow":
                await asyncio.sleep(float(arg or 2))
            failure = {
                "ratelimit": ("LimitExceeded", "超过配额限制。"),
                "engine-busy": (
                    "FailedOperation.EngineServerLimitExceeded",
                    "引擎层内部错误；超过引擎限制。",
                ),
                "arrears": ("FailedOperation.ServiceStopArrears", "服务已停止（欠费）。"),
                "exhausted": ("FailedOperation.ResourcePackExhausted", "资源包余量已用尽。"),
                "blocked": ("OperationDenied.TextIllegalDetected", "文本包含违法违规信息，审核不通过。"),
                "engine-timeout": ("FailedOperation.EngineRequestTimeout", "引擎层请求超时。"),
            }.get(mode)
            if failure:
                raise Problem(*failure)
        except Problem as p:
            return self._error(rid, p.code, p.message)
        except (ValueError, TypeError) as e:
            return self._error(rid, "InvalidParameter", f"请求参数无效: {e}")
        if body.get("Stream"):
            return await self._stream(request, body, rid, mode)
        return self._answer(body, rid, mode)

    def _answer(self, body: dict[str, Any], rid: str, mode: str) -> web.Response:
        prompt = _prompt_tokens(body)
        message: dict[str, Any] = {"Role": "assistant"}
        if _wants_tool(body):
            message["Content"] = ""
            message["ToolCalls"] = [
                {
                    "Id": "call_hy_0",
                    "Type": "function",
                    "Index": 0,
                    "Function": {"Name": _tool_name(body), "Arguments": TOOL_ARGS},
                }
            ]
            finish, completion = "tool_calls", 5
        else:
            words = _answer_words(body)
            if mode == "sensitive":
                words, finish = words[:2], "sensitive"
            else:
                finish = "stop"
            message["Content"] = _apply_stop(" ".join(words), body.get("Stop"))
            completion = len(words)
        out = {
            "Response": {
                "RequestId": rid,
                "Note": NOTE,
                "Choices": [{"Index": 0, "Message": message, "FinishReason": finish}],
                "Created": int(time.time()),
                "Id": rid,
                "Usage": {
                    "PromptTokens": prompt,
                    "CompletionTokens": completion,
                    "TotalTokens": prompt + completion,
                },
            }
        }
        return web.Response(
            body=json.dumps(out, ensure_ascii=False).encode(), content_type="application/json"
        )

    async def _stream(
        self, request: web.Request, body: dict[str, Any], rid: str, mode: str
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-TC-RequestId": rid})
        await resp.prepare(request)
        prompt = _prompt_tokens(body)
        created = int(time.time())

        async def event(delta: dict[str, Any], finish: str, completion: int) -> None:
            obj = {
                "Note": NOTE,
                "Choices": [{"Delta": {"Role": "assistant", **delta}, "FinishReason": finish, "Index": 0}],
                "Created": created,
                "Id": rid,
                "Usage": {
                    "PromptTokens": prompt,
                    "CompletionTokens": completion,
                    "TotalTokens": prompt + completion,
                },
            }
            await resp.write(b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n")

        if _wants_tool(body):
            # (unconfirmed) how Hunyuan splits a tool call across events: here the id, index and
            # name ride on every event, as several Chinese upstreams do
            name = _tool_name(body)
            for i, piece in enumerate(['{"city": ', '"Beijing"}']):
                call = {"Id": "call_hy_0", "Type": "function", "Index": 0}
                call["Function"] = {"Name": name, "Arguments": piece}
                await event({"Content": "", "ToolCalls": [call]}, "", i + 1)
            await event({"Content": ""}, "tool_calls", 5)
            return resp
        words = _answer_words(body)
        text = " ".join(words)
        cut = _apply_stop(text, body.get("Stop"))
        n = 0
        sent = ""
        for i, w in enumerate(words):
            piece = (" " if i else "") + w
            if len(sent) >= len(cut):
                break
            piece = piece[: len(cut) - len(sent)]
            sent += piece
            n += 1
            if mode == "sensitive" and i == 2:
                # moderation fails after part of the answer has streamed
                await event({"Content": ""}, "sensitive", n)
                return resp
            await event({"Content": piece}, "", n)
        await event({"Content": ""}, "stop", n)
        return resp


# -- the request, as the server reads it --------------------------------------------------------
def _validate(body: dict[str, Any]) -> None:
    model = body.get("Model")
    if model not in MODELS:
        raise Problem("InvalidParameterValue.Model", f"模型不存在: {model}")
    msgs = body.get("Messages")
    if not isinstance(msgs, list) or not msgs or len(msgs) > 40:
        raise Problem("InvalidParameter", "Messages 长度必须在 1 到 40 之间")
    rest = msgs[1:] if msgs[0].get("Role") == "system" else msgs
    expect_user = True
    for i, m in enumerate(rest):
        role = m.get("Role")
        if role not in ("user", "assistant", "tool"):
            raise Problem("InvalidParameter", f"Messages[{i}].Role 无效: {role}")
        is_user_side = role in ("user", "tool")
        consecutive_tools = role == "tool" and i > 0 and rest[i - 1].get("Role") == "tool"
        if is_user_side != expect_user and not consecutive_tools:
            raise Problem("InvalidParameter", "Messages 中 user(tool) 与 assistant 必须交替出现")
        if not m.get("Content") and not (role == "assistant" and m.get("ToolCalls")):
            raise Problem("InvalidParameter", f"Messages[{i}].Content 不能为空")
        if role == "tool" and not m.get("ToolCallId"):
            raise Problem("InvalidParameter", f"Messages[{i}].ToolCallId 不能为空")
        expect_user = not is_user_side
    if expect_user:
        raise Problem("InvalidParameter", "Messages 必须以 user 或 tool 结尾")
    if not 0 <= body.get("Temperature", 1) <= 2 or not 0 <= body.get("TopP", 1) <= 1:
        raise Problem("InvalidParameterValue", "Temperature 或 TopP 超出范围")
    for t in body.get("Tools") or ():
        params = (t.get("Function") or {}).get("Parameters")
        if not isinstance(params, str):
            raise Problem("InvalidParameter", "Tools.Function.Parameters 必须是 JSON 字符串")
        json.loads(params)
    if body.get("ToolChoice") == "custom" and not body.get("CustomTool"):
        raise Problem("InvalidParameter", "ToolChoice 为 custom 时 CustomTool 必填")


def _last(body: dict[str, Any], roles: tuple[str, ...]) -> dict[str, Any]:
    for m in reversed(body["Messages"]):
        if m.get("Role") in roles:
            out: dict[str, Any] = m
            return out
    return {}


def _mode(body: dict[str, Any]) -> tuple[str, str]:
    found = re.search(r"#([a-z-]+)(?::([0-9.]+))?", str(_last(body, ("user",)).get("Content", "")))
    return (found[1], found[2] or "") if found else ("", "")


def _wants_tool(body: dict[str, Any]) -> bool:
    return (
        bool(body.get("Tools"))
        and body.get("ToolChoice") != "none"
        and body["Messages"][-1]["Role"] == "user"
    )


def _tool_name(body: dict[str, Any]) -> str:
    if body.get("ToolChoice") == "custom":
        return str(body["CustomTool"]["Function"]["Name"])
    return str(body["Tools"][0]["Function"]["Name"])


def _answer_words(body: dict[str, Any]) -> list[str]:
    return ["echo:", *str(_last(body, ("user", "tool")).get("Content", "")).split()]


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("Content", "")).split()) for m in body["Messages"])


def _apply_stop(text: str, stops: Any) -> str:
    """Hunyuan stops *after* the first stop string (SDK docs of Stop): the match stays."""
    hits = [(text.find(s), s) for s in stops or () if s and s in text]
    if not hits:
        return text
    i, s = min(hits)
    return text[: i + len(s)]
