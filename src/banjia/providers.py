"""Providers: a configured upstream account, able to answer chat, completions and embeddings.

:class:`HTTPProvider` couples an adaptor (translation) with the transport (sending, timeouts);
the local llama.cpp provider implements :class:`Provider` directly. The gateway sees only this
interface.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol, runtime_checkable

from banjia.adaptors.base import Adaptor, UpstreamRequest, UpstreamResponse
from banjia.errors import APIError, UpstreamError, internal_error
from banjia.protocol.chat import ChatRequest, chat_completion, choice
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.transport import DEFAULT_EGRESS, DONE_MARK, Egress, Timeouts, Transport
from banjia.vendors import refuses_images

__all__ = ["DONE", "HTTPProvider", "MessagesAdaptor", "Provider", "collect_chat"]

# yielded by chat_stream once the upstream has said the answer is complete
DONE: dict[str, Any] = {"__done__": True}

log = logging.getLogger("banjia.providers")


class Provider(ABC):
    # reads text only, whatever the model (the local model): images are refused, never dropped
    text_only: ClassVar[bool] = False

    def __init__(self, name: str, type: str) -> None:
        self.name = name
        self.type = type

    def refuses_images(self, model: str) -> bool:
        """Whether ``model`` is known to read text only (so an image sent to it would be lost).
        A model no family of its type's descriptor names is given the benefit of the doubt: the
        upstream decides."""
        return self.text_only or refuses_images(self.type, model)

    def native_completions(self, req: CompletionRequest, model: str, *, stream: bool) -> bool:
        """Whether :meth:`completions` is worth asking (else the gateway goes over chat)."""
        return type(self).completions is not Provider.completions

    @abstractmethod
    async def chat(self, req: ChatRequest, model: str) -> dict[str, Any]:
        """A complete ``chat.completion`` dict."""

    @abstractmethod
    def chat_stream(self, req: ChatRequest, model: str) -> AsyncIterator[dict[str, Any]]:
        """Chunk fragments (see :mod:`banjia.adaptors.base`), then :data:`DONE` if complete."""

    async def completions(
        self, req: CompletionRequest, model: str, *, stream: bool
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]] | None:
        """A native completions answer, or None to let the gateway go over chat."""
        return None

    @abstractmethod
    async def embeddings(self, req: EmbeddingRequest, model: str) -> tuple[list[list[float]], int]:
        """(vectors, prompt tokens)."""

    # -- Anthropic's Messages API, passed through (banjia.passthrough) --------------------------
    @property
    def speaks_messages(self) -> bool:
        """Whether this upstream speaks Anthropic's Messages API, so that a Messages request
        passes through (:meth:`messages`, :meth:`messages_stream`) instead of over chat."""
        return False

    async def messages(self, body: dict[str, Any], model: str, *, beta: str | None = None) -> dict[str, Any]:
        """The upstream's message object for the client's Messages request ``body``."""
        raise unsupported(self.name, "Anthropic Messages requests")

    async def messages_stream(
        self, body: dict[str, Any], model: str, *, beta: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The upstream's stream events, as sent, then :data:`DONE` after ``message_stop``."""
        if not self.speaks_messages:
            raise unsupported(self.name, "Anthropic Messages requests")
        yield {}  # pragma: no cover  (never reached: a provider that speaks it implements this)

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


@runtime_checkable
class MessagesAdaptor(Protocol):
    """An adaptor whose upstream speaks Anthropic's Messages API (``adaptors.anthropic``)."""

    def messages_request(
        self, body: dict[str, Any], model: str, *, stream: bool, beta: str | None = None
    ) -> UpstreamRequest: ...

    def messages_response(self, resp: UpstreamResponse) -> dict[str, Any]: ...

    def messages_event(self, data: str) -> dict[str, Any]: ...


class HTTPProvider(Provider):
    def __init__(
        self, name: str, type: str, adaptor: Adaptor, transport: Transport, timeouts: Timeouts,
        egress: Egress = DEFAULT_EGRESS,
    ) -> None:
        super().__init__(name, type)
        self.adaptor = adaptor
        self.transport = transport
        self.timeouts = timeouts
        self.egress = egress  # proxy, trusted CAs, HTTP/2, pool limits
        # a WebSocket protocol has no non-streaming call: answers are collected from the stream
        self.stream_only = adaptor.stream_only
        self.stream_has_done = adaptor.stream_has_done
        # models whose upstream answered /completions with 404 or 405: they go over chat
        self._no_completions: set[str] = set()
        self._messages = adaptor if isinstance(adaptor, MessagesAdaptor) else None
        self._resends = adaptor.__class__.credential_refused is not Adaptor.credential_refused

    async def fetch(self, req: UpstreamRequest) -> UpstreamResponse:
        return await self.transport.send(req, self.timeouts, self.name, self.egress)

    def _error(self, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
        err = self.adaptor.error(status, body)
        for h in ("retry-after", "retry-after-ms"):
            v = headers.get(h)
            if v is not None and v.isascii() and v.isprintable():  # it goes into our answer's head
                err.headers[h] = v
        return err

    async def _send_ok(self, req: UpstreamRequest) -> UpstreamResponse:
        resp = await self.fetch(req)
        if resp.status >= 300:
            raise self._error(resp.status, resp.body, resp.headers)
        return resp

    async def chat(self, req: ChatRequest, model: str) -> dict[str, Any]:
        if self.stream_only:
            return await collect_chat(self.chat_stream(req, model), model, self.name)
        since = self.adaptor.clock()
        try:
            return await self._chat_once(req, model)
        except UpstreamError as e:
            if not self.adaptor.credential_refused(e, since):
                raise
        return await self._chat_once(req, model)

    async def _chat_once(self, req: ChatRequest, model: str) -> dict[str, Any]:
        with _building(self.name):
            up = await self.adaptor.chat_request(req, model, stream=False)
        resp = await self._send_ok(up)
        return self.adaptor.chat_response(resp, model, req)

    def chat_stream(self, req: ChatRequest, model: str) -> AsyncIterator[dict[str, Any]]:
        # the resending layer costs a generator hop per fragment: only adaptors that cache a
        # credential the upstream may refuse (Qianfan's token) pay it
        if self._resends:
            return self._chat_stream_resending(req, model)
        return self._chat_stream_once(req, model)

    async def _chat_stream_resending(self, req: ChatRequest, model: str) -> AsyncIterator[dict[str, Any]]:
        since = self.adaptor.clock()
        yielded = False
        try:
            async for frag in self._chat_stream_once(req, model):
                yielded = True
                yield frag
            return
        except UpstreamError as e:
            if yielded or not self.adaptor.credential_refused(e, since):
                raise
        async for frag in self._chat_stream_once(req, model):
            yield frag

    async def _chat_stream_once(self, req: ChatRequest, model: str) -> AsyncIterator[dict[str, Any]]:
        with _building(self.name):
            up = await self.adaptor.chat_request(req, model, stream=True)
        opened = await self.transport.open_stream(up, self.timeouts, self.name, self.egress)
        if opened.status >= 300:
            raise self._error(opened.status, opened.body or b"", opened.headers)
        translator = self.adaptor.chat_stream(req, model)
        events = opened.events()
        try:
            async for data in events:
                if data == DONE_MARK:
                    for frag in translator.finish():
                        yield frag
                    yield DONE
                    return
                for frag in translator.feed(data):
                    yield frag
            for frag in translator.finish():
                yield frag
            if not self.stream_has_done:
                yield DONE  # protocols without a sentinel end with the connection
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    def native_completions(self, req: CompletionRequest, model: str, *, stream: bool) -> bool:
        if model in self._no_completions:
            return False
        with _building(self.name):
            return self.adaptor.completions_request(req, model, stream=stream) is not None

    async def completions(
        self, req: CompletionRequest, model: str, *, stream: bool
    ) -> dict[str, Any] | AsyncIterator[dict[str, Any]] | None:
        """The native answer; None when the upstream turns out to lack ``/completions`` for
        ``model`` (404/405, as some OpenAI-compatible servers do): remembered, so later requests
        go straight over chat."""
        if model in self._no_completions:
            return None
        with _building(self.name):
            up = self.adaptor.completions_request(req, model, stream=stream)
        if up is None:
            return None
        if not stream:
            resp = await self.fetch(up)
            if self._lacks_completions(resp.status, model):
                return None
            if resp.status >= 300:
                raise self._error(resp.status, resp.body, resp.headers)
            return self.adaptor.completions_response(resp)
        opened = await self.transport.open_stream(up, self.timeouts, self.name, self.egress)
        if self._lacks_completions(opened.status, model):
            return None
        if opened.status >= 300:
            raise self._error(opened.status, opened.body or b"", opened.headers)
        return self._completions_stream(opened.events())

    def _lacks_completions(self, status: int, model: str) -> bool:
        if status in (404, 405):
            self._no_completions.add(model)
            return True
        return False

    async def _completions_stream(self, events: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
        import orjson

        try:
            async for data in events:
                if data == DONE_MARK:
                    yield DONE
                    return
                yield orjson.loads(data)
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    @property
    def speaks_messages(self) -> bool:
        return self._messages is not None

    def _messages_adaptor(self) -> MessagesAdaptor:
        if self._messages is None:
            raise unsupported(self.name, "Anthropic Messages requests")
        return self._messages

    async def messages(self, body: dict[str, Any], model: str, *, beta: str | None = None) -> dict[str, Any]:
        a = self._messages_adaptor()
        with _building(self.name):
            up = a.messages_request(body, model, stream=False, beta=beta)
        resp = await self._send_ok(up)
        return a.messages_response(resp)

    async def messages_stream(
        self, body: dict[str, Any], model: str, *, beta: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        a = self._messages_adaptor()
        with _building(self.name):
            up = a.messages_request(body, model, stream=True, beta=beta)
        opened = await self.transport.open_stream(up, self.timeouts, self.name, self.egress)
        if opened.status >= 300:
            raise self._error(opened.status, opened.body or b"", opened.headers)
        events = opened.events()
        try:
            async for data in events:
                ev = a.messages_event(data)  # an error event raises
                yield ev
                if ev.get("type") == "message_stop":
                    yield DONE  # complete; a stream that ends without it was cut
                    return
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    async def embeddings(self, req: EmbeddingRequest, model: str) -> tuple[list[list[float]], int]:
        with _building(self.name):
            up = await self.adaptor.embeddings_request(req, model)
        resp = await self._send_ok(up)
        return self.adaptor.embeddings_response(resp, model)

    async def aclose(self) -> None:
        return None  # the transport is shared and closed by the app


async def collect_chat(fragments: AsyncIterator[dict[str, Any]], model: str, provider: str) -> dict[str, Any]:
    """Accumulate a stream of fragments into one ``chat.completion`` (for stream-only upstreams)."""
    texts: dict[int, list[str]] = {}
    reasoning: dict[int, list[str]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    finish: dict[int, str | None] = {}
    usage: dict[str, Any] | None = None
    rid = None
    done = False
    async for frag in fragments:
        if frag is DONE:
            done = True
            continue
        rid = rid or frag.get("id")
        if frag.get("usage"):
            usage = frag["usage"]
        for ch in frag.get("choices") or ():
            i = ch.get("index", 0)
            d = ch.get("delta") or {}
            if d.get("content"):
                texts.setdefault(i, []).append(d["content"])
            if d.get("reasoning_content"):
                reasoning.setdefault(i, []).append(d["reasoning_content"])
            for tc in d.get("tool_calls") or ():
                slot = calls.setdefault(i, {})
                ti = tc.get("index", len(slot))
                cur = slot.get(ti)
                fn = tc.get("function") or {}
                if cur is None:
                    slot[ti] = {
                        "id": tc.get("id") or f"call_{i}_{ti}",
                        "type": "function",
                        "function": {"name": fn.get("name") or "", "arguments": fn.get("arguments") or ""},
                    }
                else:
                    cur["function"]["arguments"] += fn.get("arguments") or ""
            if ch.get("finish_reason"):
                finish[i] = ch["finish_reason"]
    if not done and not finish:
        raise UpstreamError.broken(provider, "the answer was cut off")
    indexes = sorted(set(texts) | set(calls) | set(finish)) or [0]
    choices = []
    for i in indexes:
        tcs = [calls[i][k] for k in sorted(calls.get(i, {}))] or None
        fr = finish.get(i) or ("tool_calls" if tcs else "stop")
        choices.append(
            choice(
                i,
                "".join(texts.get(i, [])) if i in texts or not tcs else None,
                fr,
                tool_calls=tcs,
                reasoning_content="".join(reasoning.get(i, [])) or None,
            )
        )
    return chat_completion(id=rid or f"chatcmpl-{time.time_ns()}", model=model, choices=choices, usage=usage)


@contextmanager
def _building(provider: str) -> Iterator[None]:
    """Building the upstream request is banjia's own work on the client's input: what fails there
    (an APIError aside) is a bug of banjia's, answered 500 ``internal_error``, and never the
    upstream's fault, so no circuit hears of it. (Input banjia cannot encode, such as JSON nested
    past the encoder's depth limit, is refused at the edge with a 400.)"""
    try:
        yield
    except APIError:
        raise
    except Exception as e:
        log.exception("building the request for provider '%s' failed", provider)
        raise internal_error(
            f"The request for provider '{provider}' could not be built ({type(e).__name__})."
        ) from e


def unsupported(provider: str, what: str) -> UpstreamError:
    return UpstreamError.unsupported(provider, f"Provider '{provider}' does not support {what}.")
