"""Turns adaptors' chunk fragments into the exact chunk sequence OpenAI clients expect.

Every stream, whatever its upstream, passes through one :class:`ChatStreamNormalizer`:
one id and ``created`` for the whole stream; the role delta first; tool calls with stable
indexes, the id, type and name once on each call's first delta (upstreams such as DeepSeek and
Qwen repeat the id in every chunk, which makes the SDK's stream helper build ``call_xcall_x``);
the finishing chunk with an empty delta; usage taken from the last report (never summed) and sent
as its own chunk only when the client asked for it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from banjia.errors import UpstreamError
from banjia.protocol.chat import chunk, delta_choice

__all__ = ["ChatStreamNormalizer"]


@dataclass(slots=True)
class _Call:
    index: int
    id: str
    name: str


@dataclass(slots=True)
class _Choice:
    started: bool = False
    finished: bool = False
    calls: list[_Call] = field(default_factory=list)
    by_upstream_index: dict[int, _Call] = field(default_factory=dict)
    by_id: dict[str, _Call] = field(default_factory=dict)


class ChatStreamNormalizer:
    def __init__(self, *, id: str, model: str, include_usage: bool, provider: str) -> None:
        self.id = id
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage
        self.provider = provider
        self.usage: dict[str, Any] | None = None
        self.choices: dict[int, _Choice] = {}
        self._model_seen = False
        self.emitted = False  # a chunk has reached the client: no fallback possible any more
        self._text: list[str] = []  # what was produced, for a local count when usage is missing

    @property
    def text(self) -> str:
        return "".join(self._text)

    def _choice(self, index: int) -> _Choice:
        ch = self.choices.get(index)
        if ch is None:
            ch = self.choices[index] = _Choice()
        return ch

    def feed(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        """One fragment from an adaptor → the chunks to send now."""
        if not self._model_seen and isinstance(fragment.get("model"), str) and fragment["model"]:
            self.model = fragment["model"]
            self._model_seen = True
        u = fragment.get("usage")
        if u:
            self.usage = u  # cumulative upstream figures: the last one is the total
        out: list[dict[str, Any]] = []
        for raw in fragment.get("choices") or ():
            index = raw.get("index", 0)
            if not isinstance(index, int):
                index = 0
            ch = self._choice(index)
            if ch.finished:
                continue
            delta = {
                k: v for k, v in (raw.get("delta") or {}).items() if v is not None and v != "" and k != "role"
            }
            finish = raw.get("finish_reason")
            if not ch.started:
                ch.started = True
                out.append(self._chunk(index, {"role": "assistant", "content": ""}, None))
            if "tool_calls" in delta:
                calls = self._tool_calls(ch, delta.pop("tool_calls") or [])
                if calls:
                    delta["tool_calls"] = calls
            content = delta.get("content")
            if isinstance(content, str):
                self._text.append(content)
            if delta:
                c = self._chunk(index, delta, None)
                if raw.get("logprobs") is not None:
                    c["choices"][0]["logprobs"] = raw["logprobs"]
                out.append(c)
            if finish is not None:
                if ch.calls and finish == "stop":
                    finish = "tool_calls"
                ch.finished = True
                out.append(self._chunk(index, {}, finish))
        if out:
            self.emitted = True
        return out

    def _tool_calls(self, ch: _Choice, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for d in deltas:
            fn = d.get("function") or {}
            call_id = d.get("id") or None
            up_index = d.get("index")
            call: _Call | None = None
            if call_id and call_id in ch.by_id:
                call = ch.by_id[call_id]
            elif call_id is None:
                if isinstance(up_index, int) and up_index in ch.by_upstream_index:
                    call = ch.by_upstream_index[up_index]
                elif ch.calls and not fn.get("name"):
                    call = ch.calls[-1]  # no index, no id, no name: a continuation
            if call is None:
                call = _Call(
                    index=len(ch.calls),
                    id=call_id or "call_" + secrets.token_hex(12),
                    name=fn.get("name") or "",
                )
                ch.calls.append(call)
                ch.by_id[call.id] = call
                if isinstance(up_index, int):
                    ch.by_upstream_index.setdefault(up_index, call)
                out.append(
                    {
                        "index": call.index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": fn.get("arguments") or ""},
                    }
                )
                continue
            if isinstance(up_index, int):
                ch.by_upstream_index.setdefault(up_index, call)
            args = fn.get("arguments")
            if args:
                out.append({"index": call.index, "function": {"arguments": args}})
        return out

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]:
        """The upstream ended. Returns the closing chunks (finish reasons, usage)."""
        out: list[dict[str, Any]] = []
        if not self.choices:
            if not done_seen:
                raise UpstreamError(
                    502,
                    f"Provider '{self.provider}': the stream ended before any answer",
                    provider=self.provider,
                    retryable=True,
                    code="upstream_error",
                )
            self._choice(0)
            out.append(self._chunk(0, {"role": "assistant", "content": ""}, None))
        for index, ch in sorted(self.choices.items()):
            if ch.finished:
                continue
            if not done_seen:
                raise UpstreamError(
                    502,
                    f"Provider '{self.provider}': the stream was cut off before the answer was complete",
                    provider=self.provider,
                    retryable=True,
                    code="upstream_error",
                )
            ch.finished = True
            out.append(self._chunk(index, {}, "tool_calls" if ch.calls else "stop"))
        if self.include_usage:
            out.append(
                chunk(id=self.id, model=self.model, created=self.created, choices=[], usage=self.usage)
            )
        return out

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return chunk(
            id=self.id,
            model=self.model,
            created=self.created,
            choices=[delta_choice(index, delta, finish)],
        )
