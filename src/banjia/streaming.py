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
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio

from banjia.errors import UpstreamError
from banjia.protocol.chat import chunk
from banjia.providers import DONE

__all__ = [
    "ChatStreamNormalizer",
    "Chunks",
    "CompletionRelay",
    "End",
    "Failed",
    "GatewayStream",
    "Kind",
    "Shaper",
    "StreamEvent",
    "StreamOwner",
    "first_chunks",
]


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
    reasoning: list[str] = field(default_factory=list)  # kept for replay on the next tool turn


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
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str):
                ch.reasoning.append(reasoning)
            if delta:
                c = self._chunk(index, delta, None)
                if raw.get("logprobs") is not None:
                    c["choices"][0]["logprobs"] = raw["logprobs"]
                out.append(c)
            if finish is not None:
                if ch.calls and finish == "stop":
                    finish = "tool_calls"
                ch.finished = True
                c = self._chunk(index, {}, finish)
                if isinstance(raw.get("stop_reason"), str):  # vLLM's: the stop string that matched
                    c["choices"][0]["stop_reason"] = raw["stop_reason"]
                out.append(c)
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

    def tool_turns(self) -> list[tuple[list[str], str]]:
        """(tool call ids, reasoning) of each choice that called tools after reasoning."""
        return [
            ([c.id for c in ch.calls], "".join(ch.reasoning))
            for ch in self.choices.values()
            if ch.calls and ch.reasoning
        ]

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]:
        """The upstream ended. Returns the closing chunks (finish reasons, usage)."""
        out: list[dict[str, Any]] = []
        if not self.choices:
            if not done_seen:
                raise UpstreamError.broken(self.provider, "the stream ended before any answer")
            self._choice(0)
            out.append(self._chunk(0, {"role": "assistant", "content": ""}, None))
        for index, ch in sorted(self.choices.items()):
            if ch.finished:
                continue
            if not done_seen:
                raise UpstreamError.broken(
                    self.provider, "the stream was cut off before the answer was complete"
                )
            ch.finished = True
            out.append(self._chunk(index, {}, "tool_calls" if ch.calls else "stop"))
        if self.include_usage:
            out.append(
                chunk(id=self.id, model=self.model, created=self.created, choices=[], usage=self.usage)
            )
        return out

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        # chunk(…, choices=[delta_choice(…)]) written out: this runs for every piece of every stream
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }


class CompletionRelay:
    """The shaper of a native ``/completions`` stream: its chunks pass as they are; what it
    reports (usage, the text for a local count) is kept, and an end without ``[DONE]`` is a cut."""

    def __init__(self, *, provider: str) -> None:
        self.provider = provider
        self.usage: dict[str, Any] | None = None
        self._text: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._text)

    def feed(self, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        if fragment.get("usage"):
            self.usage = fragment["usage"]
        for ch in fragment.get("choices") or ():
            if isinstance(ch, dict) and isinstance(ch.get("text"), str):
                self._text.append(ch["text"])
        return [fragment]

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]:
        if not done_seen:
            raise UpstreamError.broken(self.provider, "the stream was cut off before the answer was complete")
        return []

    def tool_turns(self) -> list[tuple[list[str], str]]:
        return []


class Shaper(Protocol):
    """Turns one upstream's fragments into the chunks clients get (:class:`ChatStreamNormalizer`,
    :class:`CompletionRelay`)."""

    @property
    def usage(self) -> dict[str, Any] | None: ...

    @property
    def text(self) -> str: ...

    def feed(self, fragment: dict[str, Any]) -> list[dict[str, Any]]: ...

    def finish(self, *, done_seen: bool) -> list[dict[str, Any]]: ...

    def tool_turns(self) -> list[tuple[list[str], str]]: ...


# -- the stream the gateway hands to the route ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chunks:
    """Chunks to send now."""

    chunks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class End:
    """The answer is complete (and already recorded): its closing chunks. The last event."""

    chunks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Failed:
    """The upstream failed after the first byte: there is no fallback now, and the client must
    get its protocol's error, never a clean-looking end. The last event."""

    error: UpstreamError


StreamEvent = Chunks | End | Failed
# what a stream's chunks are: chat chunks, a native upstream's completion chunks, Anthropic events
Kind = Literal["chat", "completion", "messages"]


class StreamOwner(Protocol):
    """What the gateway does at a stream's turning points (routing's verdict, the ledger)."""

    @property
    def deadline(self) -> float:
        """Monotonic time by which the whole answer must be in."""

    def timed_out(self) -> UpstreamError: ...

    async def completed(self, shaper: Shaper) -> None:
        """The upstream finished: settle the entry's health, keep what the next turn needs,
        record — before the client has the last bytes."""

    def failed(self, e: Exception) -> UpstreamError:
        """The stream broke after its first byte: the error the client gets."""

    def gone(self) -> None:
        """The client left before the end."""

    def finalize(self, shaper: Shaper) -> None:
        """The stream is over: record it, unless already recorded."""


class GatewayStream:
    """One streamed answer: iterate it once for :data:`StreamEvent` items (chunks, then
    :class:`End` or :class:`Failed`); :meth:`aclose` releases the upstream and records the
    request whether or not the stream was ever iterated, and may be called any number of times.

    ``kind`` says what the chunks are: ``chat.completion.chunk`` objects ("chat") or a native
    upstream's ``text_completion`` chunks ("completion"); each protocol's edge translates."""

    def __init__(
        self,
        frags: AsyncIterator[dict[str, Any]],
        shaper: Shaper,
        first: list[dict[str, Any]],
        done: bool,
        owner: StreamOwner,
        kind: Kind = "chat",
    ) -> None:
        self.kind = kind
        self.shaper = shaper
        self.error: UpstreamError | None = None
        self._frags = frags
        self._first, self._done = first, done
        self._owner = owner
        self._events: AsyncGenerator[StreamEvent, None] | None = None
        self._started = self._closed = self._released = False

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.shaper.usage

    def __aiter__(self) -> AsyncGenerator[StreamEvent, None]:
        if self._events is None:
            self._events = self._pump()
        return self._events

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._started:
            assert self._events is not None
            await self._events.aclose()  # its ``finally`` releases and records
            return
        # never started: the client left between the stream's opening and its first byte
        self._owner.gone()
        await self._release()

    async def _release(self, *, completed: bool = False) -> None:
        if not self._released:
            self._released = True
            try:
                if completed:  # the upstream said all it had: nothing to protect
                    await self._frags.aclose()  # type: ignore[attr-defined]
                else:
                    # shielded: a cancelled response (client gone) must still release the
                    # upstream, and anyio re-cancels every await made inside a cancelled scope
                    with anyio.CancelScope(shield=True):
                        await self._frags.aclose()  # type: ignore[attr-defined]
            finally:
                self._owner.finalize(self.shaper)

    async def _pump(self) -> AsyncGenerator[StreamEvent, None]:
        self._started = True
        owner, shaper = self._owner, self.shaper
        completed = False
        try:
            done = self._done
            if done:
                tail = self._first
            else:
                yield Chunks(self._first)
                deadline = owner.deadline
                async for frag in self._frags:
                    if frag is DONE:
                        done = True
                        break
                    out = shaper.feed(frag)
                    if out:
                        yield Chunks(out)
                    if time.monotonic() > deadline:
                        raise owner.timed_out()
                tail = shaper.finish(done_seen=done)
            await owner.completed(shaper)
            completed = True
            yield End(tail)
        except Exception as e:
            self.error = owner.failed(e)
            yield Failed(self.error)
        except BaseException:
            if not completed:
                owner.gone()
            raise
        finally:
            await self._release(completed=completed)


async def first_chunks(
    frags: AsyncIterator[dict[str, Any]], shaper: Shaper
) -> tuple[list[dict[str, Any]], bool]:
    """Read until the shaper has something for the client (or the stream is complete): what a
    stream's opening waits for, so that a failure before it can still fall back."""
    async for frag in frags:
        if frag is DONE:
            return shaper.finish(done_seen=True), True
        out = shaper.feed(frag)
        if out:
            return out, False
    return shaper.finish(done_seen=False), True
