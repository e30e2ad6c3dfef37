"""The Responses stream: chat chunks in, typed events out.

One :class:`ResponseEvents` per stream. Each chat chunk (already normalised by the gateway: one
id, stable tool-call indexes, the id and name on a call's first delta) becomes the events the
official SDKs expect, numbered by ``sequence_number``::

    response.created, response.in_progress
    per output item:  response.output_item.added
                      reasoning: content_part.added, reasoning_text.delta…, reasoning_text.done,
                                 content_part.done
                      message:   content_part.added, output_text.delta…, output_text.done,
                                 content_part.done
                      function call: function_call_arguments.delta…, function_call_arguments.done
                      response.output_item.done
    response.completed | response.incomplete (length, content filter) | response.failed (errors)

An item stays open until a different kind of output begins or the answer ends, so reasoning,
then text, then tool calls come out as consecutive items, as OpenAI's models produce them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from banjia.protocol.responses import (
    ResponsesRequest,
    function_call_item,
    message_item,
    output_text,
    reasoning_item,
    response_object,
    response_usage,
)
from banjia.responses._translate import FINISH_STATUS, item_id
from banjia.sse import encode_event

__all__ = ["ResponseEvents"]


@dataclass(slots=True)
class _Item:
    kind: str  # "reasoning" | "message" | "function_call"
    id: str
    index: int
    parts: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def render(self, status: str) -> dict[str, Any]:
        if self.kind == "reasoning":
            return reasoning_item(self.id, self.text if status != "in_progress" else None, status)
        if self.kind == "message":
            return message_item(self.id, status, [output_text(self.text)] if status != "in_progress" else [])
        return function_call_item(
            self.id, self.call_id, self.name, self.text if status != "in_progress" else "", status
        )


class ResponseEvents:
    """Turns the chat chunks of one answer into Responses events (as SSE bytes)."""

    def __init__(
        self,
        req: ResponsesRequest,
        *,
        id: str,
        created_at: int,
        estimate_usage: Callable[[str], dict[str, Any]],
    ) -> None:
        self.req = req
        self.id = id
        self.created_at = created_at
        self._estimate_usage = estimate_usage
        self.seq = 0
        self.items: list[_Item] = []
        self._calls: dict[int, _Item] = {}  # chat tool-call index → open item
        self.finish_reason: str | None = None
        self.chat_usage: dict[str, Any] | None = None
        self.response: dict[str, Any] | None = None  # the final object, once the stream has ended

    # -- framing --------------------------------------------------------------------------------
    def _event(self, type: str, **fields: Any) -> bytes:
        payload = {"type": type, **fields, "sequence_number": self.seq}
        self.seq += 1
        return encode_event(type, orjson.dumps(payload))

    def _snapshot(self, status: str, **extra: Any) -> dict[str, Any]:
        return response_object(
            self.req, id=self.id, created_at=self.created_at, status=status, output=[], **extra
        )

    # -- the stream -----------------------------------------------------------------------------
    def start(self) -> bytes:
        snap = self._snapshot("in_progress")
        return self._event("response.created", response=snap) + self._event(
            "response.in_progress", response=snap
        )

    def feed(self, chunk: dict[str, Any]) -> bytes:
        """One chat chunk → the events it makes (possibly none)."""
        out: list[bytes] = []
        if chunk.get("usage"):
            self.chat_usage = chunk["usage"]
        for ch in chunk.get("choices") or ():
            if ch.get("index", 0) != 0:
                continue  # the Responses API has one answer (n is not a Responses parameter)
            delta = ch.get("delta") or {}
            if delta.get("reasoning_content"):
                out.append(self._reasoning(str(delta["reasoning_content"])))
            if delta.get("content"):
                out.append(self._text(str(delta["content"])))
            for tc in delta.get("tool_calls") or ():
                out.append(self._tool_call(tc))
            if ch.get("finish_reason"):
                self.finish_reason = ch["finish_reason"]
        return b"".join(out)

    def _open(self, kind: str) -> _Item | None:
        """The open item of this kind, if any."""
        current: _Item | None = None
        for item in self.items:
            if item.done:
                continue
            if item.kind == kind:
                current = item
        return current

    def _close_others(self, kind: str) -> bytes:
        return b"".join(self._close(i, "completed") for i in self.items if not i.done and i.kind != kind)

    def _add(self, kind: str, prefix: str, **fields: Any) -> tuple[_Item, bytes]:
        item = _Item(kind, item_id(prefix), len(self.items), **fields)
        self.items.append(item)
        ev = self._event(
            "response.output_item.added", output_index=item.index, item=item.render("in_progress")
        )
        if kind == "reasoning":
            ev += self._part_event(
                "response.content_part.added", item, {"type": "reasoning_text", "text": ""}
            )
        elif kind == "message":
            ev += self._part_event("response.content_part.added", item, output_text(""))
        return item, ev

    def _part_event(self, type: str, item: _Item, part: dict[str, Any]) -> bytes:
        return self._event(type, item_id=item.id, output_index=item.index, content_index=0, part=part)

    def _reasoning(self, text: str) -> bytes:
        out = self._close_others("reasoning")
        item = self._open("reasoning")
        if item is None:
            item, ev = self._add("reasoning", "rs")
            out += ev
        item.parts.append(text)
        return out + self._event(
            "response.reasoning_text.delta",
            item_id=item.id,
            output_index=item.index,
            content_index=0,
            delta=text,
        )

    def _text(self, text: str) -> bytes:
        out = self._close_others("message")
        item = self._open("message")
        if item is None:
            item, ev = self._add("message", "msg")
            out += ev
        item.parts.append(text)
        return out + self._event(
            "response.output_text.delta",
            item_id=item.id,
            output_index=item.index,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _tool_call(self, tc: dict[str, Any]) -> bytes:
        fn = tc.get("function") or {}
        index = tc.get("index", 0)
        out = b""
        item = self._calls.get(index)
        if item is None or item.done:
            out += self._close_others("function_call")
            item, ev = self._add(
                "function_call",
                "fc",
                call_id=str(tc.get("id") or item_id("call")),
                name=str(fn.get("name") or ""),
            )
            self._calls[index] = item
            out += ev
        args = fn.get("arguments") or ""
        if args:
            item.parts.append(args)
            out += self._event(
                "response.function_call_arguments.delta", item_id=item.id, output_index=item.index, delta=args
            )
        return out

    def _close(self, item: _Item, status: str) -> bytes:
        item.done = True
        out = b""
        if item.kind == "reasoning":
            part = {"type": "reasoning_text", "text": item.text}
            out += self._event(
                "response.reasoning_text.done",
                item_id=item.id,
                output_index=item.index,
                content_index=0,
                text=item.text,
            )
            out += self._part_event("response.content_part.done", item, part)
        elif item.kind == "message":
            out += self._event(
                "response.output_text.done",
                item_id=item.id,
                output_index=item.index,
                content_index=0,
                text=item.text,
                logprobs=[],
            )
            out += self._part_event("response.content_part.done", item, output_text(item.text))
        else:
            out += self._event(
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=item.index,
                arguments=item.text,
            )
        return out + self._event(
            "response.output_item.done", output_index=item.index, item=item.render(status)
        )

    # -- the end --------------------------------------------------------------------------------
    def finish(self) -> bytes:
        """The answer is complete: close what is open, then ``response.completed`` (or ``incomplete``)."""
        status, reason = FINISH_STATUS.get(str(self.finish_reason), ("completed", None))
        item_status = "incomplete" if status == "incomplete" else "completed"
        out = b""
        if not self.items:
            _, out = self._add("message", "msg")  # an empty answer is still a message
        for item in self.items:
            if not item.done:
                out += self._close(item, item_status)
        usage = self.chat_usage or self._estimate_usage(self._produced())
        self.response = response_object(
            self.req,
            id=self.id,
            created_at=self.created_at,
            status=status,
            output=[i.render(item_status) for i in self.items],
            usage=response_usage(usage),
            incomplete_reason=reason,
        )
        return out + self._event(f"response.{status}", response=self.response)

    def fail(self, error: dict[str, Any]) -> bytes:
        """The upstream failed mid-answer: ``response.failed`` with what was produced so far."""
        code = "rate_limit_exceeded" if error.get("type") == "rate_limit_error" else "server_error"
        self.response = response_object(
            self.req,
            id=self.id,
            created_at=self.created_at,
            status="failed",
            output=[i.render("completed" if i.done else "incomplete") for i in self.items],
            usage=response_usage(self.chat_usage or self._estimate_usage(self._produced())),
            error={"code": code, "message": str(error.get("message") or "The upstream failed.")},
        )
        return self._event("response.failed", response=self.response)

    def _produced(self) -> str:
        return "".join(i.text for i in self.items)
