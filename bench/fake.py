"""The limit: a fake OpenAI upstream that answers instantly from canned bytes.

A bare asyncio protocol on uvloop, no framework: it parses just enough HTTP/1.1 (request line,
``Content-Length``, ``Connection: close``, keep-alive) to answer ``POST …/chat/completions`` with
either one JSON ``chat.completion`` (with usage) or, when the body says ``"stream": true``, a
20-chunk SSE stream (role, 17 content deltas, finish, usage) and ``data: [DONE]``. Every answer is
built once at start, so a request costs one parse and one write.

Run it alone with ``python -m bench.fake --port 9100``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
from typing import Any, cast

import orjson

__all__ = ["STREAM_CHUNKS", "Answers", "FakeUpstream", "serve"]

STREAM_CHUNKS = 20
_MODEL = "bench-model"
_CREATED = 1_700_000_000
_WORDS = ("Hello", " from", " the", " fake", " upstream", ":", " it", " answers", " every", " request",
          " at", " once", " so", " the", " gateway", " shows", ".")
_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_MAX_HEAD = 64 * 1024


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunk(delta: dict[str, Any] | None, finish: str | None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if delta is None else [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    ]
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": _MODEL,
        "system_fingerprint": None,
        "choices": choices,
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + orjson.dumps(body) + b"\n\n"


class Answers:
    """The canned HTTP responses, encoded once."""

    def __init__(self) -> None:
        text = "".join(_WORDS)
        completion = orjson.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": _CREATED,
                "model": _MODEL,
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(12, len(_WORDS)),
            }
        )
        self.json = _head(200, "application/json", len(completion)) + completion
        events = [_chunk({"role": "assistant", "content": ""}, None)]
        events += [_chunk({"content": w}, None) for w in _WORDS]
        events.append(_chunk({}, "stop"))
        events.append(_chunk(None, None, _usage(12, len(_WORDS))))
        assert len(events) == STREAM_CHUNKS
        events.append(b"data: [DONE]\n\n")
        # one HTTP chunk per SSE event, as a real upstream flushes them
        framed = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
        self.stream = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n" + framed
        )
        models = orjson.dumps({"object": "list", "data": [{"id": _MODEL, "object": "model",
                                                            "created": _CREATED, "owned_by": "fake"}]})
        self.models = _head(200, "application/json", len(models)) + models
        missing = b'{"error":{"message":"not found","type":"invalid_request_error","code":null}}'
        self.not_found = _head(404, "application/json", len(missing)) + missing


def _head(status: int, content_type: str, length: int) -> bytes:
    reason = {200: "OK", 404: "Not Found"}[status]
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


class FakeUpstream(asyncio.Protocol):
    """One connection: requests are answered in order as soon as each is complete."""

    __slots__ = ("_answers", "_buf", "_transport")

    def __init__(self, answers: Answers) -> None:
        self._answers = answers
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        transport = self._transport
        while transport is not None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    transport.close()
                return
            head = bytes(buf[:end]).lower()
            length = _content_length(head)
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            transport.write(self._answer(head, body))
            if b"\r\nconnection: close" in head:
                transport.close()
                return

    def _answer(self, head: bytes, body: bytes) -> bytes:
        line_end = head.find(b"\r\n")
        method, _, rest = head[: line_end if line_end >= 0 else len(head)].partition(b" ")
        path = rest.partition(b" ")[0]
        if method == b"post" and path.endswith(b"/chat/completions"):
            return self._answers.stream if _STREAM_RE.search(body) else self._answers.json
        if method == b"get" and path.endswith(b"/models"):
            return self._answers.models
        return self._answers.not_found


def _content_length(head: bytes) -> int:
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    start = at + len(b"\r\ncontent-length:")
    stop = head.find(b"\r\n", start)
    return int(head[start : stop if stop >= 0 else len(head)].strip())


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    answers = Answers()
    server = await loop.create_server(lambda: FakeUpstream(answers), host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    import uvloop

    parser = argparse.ArgumentParser(prog="python -m bench.fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
