"""The one Server-Sent Events decoder and the one encoder of the project.

Every upstream stream (OpenAI-dialect, DashScope's ``data:`` without a space, DeepSeek's
``: keep-alive`` comments, Hunyuan's bare JSON lines) is read by :class:`SSEDecoder`; every stream
banjia sends is framed by :func:`encode_data` / :func:`encode_event`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DONE", "SSEDecoder", "SSEEvent", "encode_data", "encode_event"]

DONE = b"data: [DONE]\n\n"


@dataclass(slots=True)
class SSEEvent:
    data: str
    event: str | None = None
    id: str | None = None


class SSEDecoder:
    """Incremental decoder: feed it bytes as they arrive, get complete events back.

    Follows the WHATWG rules: lines end in LF, CR or CRLF; ``field:value`` with one optional space
    after the colon; lines starting with ``:`` are comments (keep-alives); a blank line dispatches
    the event; several ``data`` lines join with LF. Lines have no length limit.
    """

    __slots__ = ("_buf", "_data", "_event", "_id", "_pending_cr")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if (
            not self._buf
            and not self._data
            and self._event is None
            and not self._pending_cr
            and chunk.startswith(b"data:")
            and chunk.find(b"\n") == len(chunk) - 2
            and chunk.endswith(b"\n\n")
            and b"\r" not in chunk
        ):
            # the usual piece of an OpenAI-dialect stream: exactly one ``data:`` event
            value = chunk[6:-2] if chunk[5:6] == b" " else chunk[5:-2]
            return [SSEEvent(value.decode("utf-8", "replace"), None, self._id)]
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf.endswith(b"\r"):
                # a CR at the end may be the first half of a CRLF split across reads
                self._pending_cr = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            self._line(buf[start:end], events)
            start = end + 1
        self._buf = buf[start:]
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: a final event not followed by a blank line still counts."""
        events: list[SSEEvent] = []
        if self._buf:
            self._line(self._buf, events)
            self._buf = b""
        self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[SSEEvent]) -> None:
        if not raw:
            if self._data:
                events.append(SSEEvent("\n".join(self._data), self._event, self._id))
            self._data = []
            self._event = None
            return
        if raw[0] == 0x3A:  # ':' comment, e.g. ": keep-alive" or DashScope's ":HTTP_STATUS/200"
            return
        line = raw.decode("utf-8", "replace")
        if raw[0] in b"{[" and not self._data:
            # some upstreams (Spark and Hunyuan on error, a few proxies) send bare JSON lines
            self._data.append(line)
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        # "retry" and unknown fields are ignored, as the spec says


def encode_data(payload: bytes) -> bytes:
    """Frame one JSON payload as ``data: …`` (payload must not contain newlines; JSON never does)."""
    return b"data: " + payload + b"\n\n"


def encode_event(event: str, payload: bytes) -> bytes:
    """Frame a typed event (the Responses API's ``event: <type>`` + ``data:``)."""
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
