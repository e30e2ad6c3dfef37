"""The request flow, top to bottom: resolve the model, admit (quota, limits), call the provider
chain (:class:`~banjia.routing.dispatch.Dispatcher`: fallback, retries, circuits, all before the
first byte), normalise, and record — on every path.

After the first byte of a stream there is no going back: a failure then ends the stream with an
OpenAI error event (never a clean-looking ``[DONE]``), and the entry's circuit hears of it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from banjia.capture import PromptCapture
from banjia.context import Accounting, RequestContext
from banjia.errors import APIError, UpstreamError, bad_request
from banjia.protocol.chat import ChatRequest, UserMessage
from banjia.protocol.chat import usage as make_usage
from banjia.protocol.completions import (
    CompletionRequest,
    completion,
    completion_choice,
    completion_chunk,
)
from banjia.protocol.embeddings import EmbeddingRequest, embedding_list
from banjia.providers import DONE, HTTPProvider, Provider
from banjia.routing.dispatch import Dispatcher
from banjia.routing.logs import event
from banjia.routing.logs import request_id as _rid
from banjia.routing.retry import RetryPolicy
from banjia.routing.router import Route, Router, Target
from banjia.routing.state import RoutingState
from banjia.routing.telemetry import Telemetry
from banjia.sse import DONE as SSE_DONE
from banjia.sse import encode_data
from banjia.streaming import ChatStreamNormalizer
from banjia.tokens import estimate_messages, estimate_text

__all__ = ["Gateway", "new_id"]

access_log = logging.getLogger("banjia.access")


def new_id() -> str:
    return os.urandom(12).hex()


@dataclass(slots=True)
class _Opened:
    """A chat stream whose first chunks are in hand."""

    frags: AsyncIterator[dict[str, Any]]
    norm: ChatStreamNormalizer
    first: list[dict[str, Any]]
    done: bool
    limit: float  # monotonic time by which the whole answer must be in (provider ``timeouts.total``)


class Gateway:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        router: Router,
        accounting: Accounting,
        *,
        dispatcher: Dispatcher | None = None,
        capture: PromptCapture | None = None,
    ) -> None:
        self.providers = providers
        self.capture = capture
        self.router = router
        self.accounting = accounting
        if dispatcher is None:
            # in-process state and the default policy (the runtime passes the configured one)
            dispatcher = Dispatcher(
                providers,
                RoutingState(failures=5, cooldown=30.0),
                Telemetry(list(providers)),
                policy=RetryPolicy(),
                total_timeout=180.0,
                weights={},
            )
        self.dispatcher = dispatcher
        self.telemetry = dispatcher.telemetry

    # -- shared steps -------------------------------------------------------------------------
    def route(self, ctx: RequestContext, model: str) -> Route:
        ctx.model = model
        route = self.router.route(model)
        if ctx.key is not None and not ctx.key.may_use(model):
            raise APIError(
                403,
                f"This API key is not allowed to use the model '{model}'.",
                type="permission_error",
                code="model_not_allowed",
                param="model",
            )
        # the first entry is the likely server: quota is reserved at its price, not OpenAI's
        # (the dispatcher overwrites these with whoever actually answers)
        first = route.targets[0]
        ctx.provider, ctx.upstream_model = first.provider, first.model
        ctx.provider_type = self.providers[first.provider].type
        return route

    def resolve(self, ctx: RequestContext, model: str) -> list[Target]:
        return list(self.route(ctx, model).targets)

    def _fail(self, ctx: RequestContext, e: APIError) -> None:
        ctx.status = e.status
        ctx.error_code = e.code or e.type

    def _done(self, ctx: RequestContext) -> None:
        ctx.finished = time.monotonic()
        self.telemetry.request(ctx)
        if access_log.isEnabledFor(logging.INFO):
            _log_access(ctx)
        self.accounting.record(ctx)

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, ctx: RequestContext, req: ChatRequest) -> dict[str, Any]:
        try:
            route = self.route(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens = req.output_limit
            await self.accounting.admit(ctx)
            result, _ = await self.dispatcher.run(ctx, route, lambda p, t: p.chat(req, t.model))
            ctx.first_token = time.monotonic()
            if result.get("usage"):
                ctx.usage = result["usage"]
            else:
                ctx.usage = result["usage"] = self._estimate(ctx, req, _answer_text(result))
            if self.capture is not None:
                self.capture.add(ctx, req, _answer_text(result))
            return result
        except APIError as e:
            self._fail(ctx, e)
            raise
        finally:
            self._done(ctx)

    async def chat_stream(self, ctx: RequestContext, req: ChatRequest) -> AsyncIterator[bytes]:
        """Open the stream (falling back until a provider answers), then return the byte stream."""
        ctx.stream = True
        try:
            route = self.route(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens = req.output_limit
            await self.accounting.admit(ctx)
            opened, target = await self.dispatcher.run(
                ctx, route, lambda p, t: self._open_stream(ctx, req, p, t), stream=True
            )
        except APIError as e:
            self._fail(ctx, e)
            self._done(ctx)
            raise
        except BaseException:
            ctx.client_disconnected = True
            self._done(ctx)
            raise
        ctx.first_token = time.monotonic()
        ctx.abandon = lambda: self._abandon(ctx, req, opened, target)
        return self._pump(ctx, req, opened, target)

    async def _abandon(self, ctx: RequestContext, req: ChatRequest, opened: _Opened, target: Target) -> None:
        """The client left before the stream started: close the upstream and record it all the same."""
        ctx.abandon = None
        ctx.client_disconnected = True
        self.dispatcher.stream_ended(target, complete=False)
        await opened.frags.aclose()  # type: ignore[attr-defined]
        ctx.usage = opened.norm.usage or self._estimate(ctx, req, opened.norm.text)
        self._done(ctx)

    async def _open_stream(
        self, ctx: RequestContext, req: ChatRequest, provider: Provider, t: Target
    ) -> _Opened:
        norm = ChatStreamNormalizer(
            id="chatcmpl-" + ctx.request_id,
            model=t.model,
            include_usage=req.wants_usage,
            provider=t.provider,
        )
        frags = provider.chat_stream(req, t.model)
        try:
            first, done = await _first_chunks(frags, norm)
        except BaseException:
            await frags.aclose()  # type: ignore[attr-defined]
            raise
        total = provider.timeouts.total if isinstance(provider, HTTPProvider) else math.inf
        return _Opened(frags, norm, first, done, ctx.started + total)

    async def _pump(
        self, ctx: RequestContext, req: ChatRequest, opened: _Opened, target: Target
    ) -> AsyncIterator[bytes]:
        dumps = orjson.dumps
        ctx.abandon = None  # this generator now owns the clean-up
        frags, norm, done, limit = opened.frags, opened.norm, opened.done, opened.limit
        completed = False
        try:
            yield b"".join(encode_data(dumps(c)) for c in opened.first)
            if not done:
                async for frag in frags:
                    if frag is DONE:
                        done = True
                        break
                    out = norm.feed(frag)
                    if out:
                        yield b"".join(encode_data(dumps(c)) for c in out)
                    if time.monotonic() > limit:
                        raise UpstreamError(
                            504,
                            f"Provider '{target.provider}': the answer took longer than its "
                            f"{limit - ctx.started:g} s limit",
                            provider=target.provider,
                            retryable=True,
                            code="upstream_timeout",
                        )
            tail = norm.finish(done_seen=done)
            completed = True
            self.dispatcher.stream_ended(target, complete=True)
            if self.capture is not None:
                self.capture.add(ctx, req, norm.text)
            yield b"".join(encode_data(dumps(c)) for c in tail) + SSE_DONE
        except Exception as e:
            yield self._failure_event(ctx, target, e)
        except BaseException:
            if not completed:
                ctx.client_disconnected = True
                self.dispatcher.stream_ended(target, complete=False)
            raise
        finally:
            await frags.aclose()  # type: ignore[attr-defined]
            if norm.usage:
                ctx.usage = norm.usage
            else:
                ctx.usage = self._estimate(ctx, req, norm.text)
            self._done(ctx)

    def _failure_event(self, ctx: RequestContext, target: Target, e: Exception) -> bytes:
        """After the first byte there is no fallback: the client gets an error event, never a
        stream that looks complete."""
        err = e if isinstance(e, UpstreamError) else _unreadable(ctx, target, e)
        self._fail(ctx, err)
        self.dispatcher.after_first_byte(ctx, target, err)
        return encode_data(err.body_bytes())

    def _estimate(self, ctx: RequestContext, req: ChatRequest, completion_text: str) -> dict[str, Any]:
        ctx.usage_estimated = True
        return make_usage(estimate_messages(list(req.messages)), estimate_text(completion_text))

    # -- legacy completions -------------------------------------------------------------------
    async def completions(
        self, ctx: RequestContext, req: CompletionRequest
    ) -> dict[str, Any] | AsyncIterator[bytes]:
        if req.has_token_prompt():
            raise bad_request("Token-id prompts are not supported; send the prompt as text.", param="prompt")
        route = self.route(ctx, req.model)
        stream = bool(req.stream)
        if _has_native_completions(self.providers[route.targets[0].provider], req, route.targets[0], stream):
            native = Route.of(
                route.name,
                [
                    [t for t in tier if _has_native_completions(self.providers[t.provider], req, t, stream)]
                    for tier in route.tiers
                ],
            )
            return await self._native_completions(ctx, req, native)
        if req.echo or req.suffix or req.logprobs:
            raise bad_request(
                "'echo', 'suffix' and 'logprobs' need an upstream with a native completions endpoint; "
                f"the model '{req.model}' is served over chat.",
                param="echo" if req.echo else "suffix",
            )
        prompts = req.prompts()
        if len(prompts) != 1:
            raise bad_request("Send one prompt per request for this model.", param="prompt")
        chat = _chat_from_completion(req, prompts[0])
        if not req.stream:
            result = await self.chat(ctx, chat)
            choices = [
                completion_choice(c["index"], c["message"].get("content") or "", c["finish_reason"])
                for c in result["choices"]
            ]
            return completion(
                id="cmpl-" + ctx.request_id, model=result["model"], choices=choices, usage=result.get("usage")
            )
        return _chat_to_completion_stream(await self.chat_stream(ctx, chat), ctx.request_id)

    async def _native_completions(
        self, ctx: RequestContext, req: CompletionRequest, route: Route
    ) -> dict[str, Any] | AsyncIterator[bytes]:
        stream = bool(req.stream)
        ctx.stream = stream
        try:
            ctx.prompt_tokens_estimate = sum(estimate_text(p) for p in req.prompts())
            ctx.max_output_tokens = req.max_tokens
            await self.accounting.admit(ctx)
            if not stream:
                answer, _ = await self.dispatcher.run(
                    ctx, route, lambda p, t: p.completions(req, t.model, stream=False)
                )
                if not isinstance(answer, dict):
                    raise TypeError("a non-streaming completions call answered with a stream")
                ctx.first_token = time.monotonic()
                ctx.usage = answer.get("usage")
                self._done(ctx)
                return answer
            (chunks, first), target = await self.dispatcher.run(
                ctx, route, lambda p, t: _open_completions(p, req, t), stream=True
            )
        except APIError as e:
            self._fail(ctx, e)
            self._done(ctx)
            raise
        except BaseException:
            ctx.client_disconnected = True
            self._done(ctx)
            raise
        ctx.first_token = time.monotonic()
        return self._pump_completions(ctx, req, chunks, first, target)

    async def _pump_completions(
        self,
        ctx: RequestContext,
        req: CompletionRequest,
        chunks: AsyncIterator[dict[str, Any]],
        first: dict[str, Any],
        target: Target,
    ) -> AsyncIterator[bytes]:
        pending: dict[str, Any] | None = first
        completed = False
        try:
            while True:
                c = pending if pending is not None else await anext(chunks, DONE)
                pending = None
                if c is DONE:
                    break
                if c.get("usage"):
                    ctx.usage = c["usage"]
                    if not req.wants_usage:
                        c.pop("usage")
                        if not c.get("choices"):
                            continue
                yield encode_data(orjson.dumps(c))
            completed = True
            self.dispatcher.stream_ended(target, complete=True)
            yield SSE_DONE
        except Exception as e:
            yield self._failure_event(ctx, target, e)
        except BaseException:
            if not completed:
                ctx.client_disconnected = True
                self.dispatcher.stream_ended(target, complete=False)
            raise
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
            self._done(ctx)

    # -- embeddings ---------------------------------------------------------------------------
    async def embeddings(self, ctx: RequestContext, req: EmbeddingRequest) -> dict[str, Any]:
        try:
            if req.texts() is None:
                raise bad_request(
                    "Token-id input is not supported by these upstreams; send the input as text. "
                    "(LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False).)",
                    param="input",
                )
            if req.texts() == [] or any(t == "" for t in req.texts() or []):
                raise bad_request(
                    "'input' must be a non-empty string or a list of non-empty strings.", param="input"
                )
            route = self.route(ctx, req.model)
            ctx.prompt_tokens_estimate = sum(estimate_text(t) for t in req.texts() or [])
            await self.accounting.admit(ctx)
            (vectors, tokens), _ = await self.dispatcher.run(
                ctx, route, lambda p, t: p.embeddings(req, t.model)
            )
            if req.dimensions:
                vectors = [_shorten(v, req.dimensions) for v in vectors]
            ctx.usage = make_usage(tokens, 0)
            return embedding_list(vectors, model=req.model, fmt=req.encoding_format, prompt_tokens=tokens)
        except APIError as e:
            self._fail(ctx, e)
            raise
        finally:
            self._done(ctx)


def _has_native_completions(provider: Provider, req: CompletionRequest, t: Target, stream: bool) -> bool:
    """Whether ``provider`` answers ``/completions`` itself (else the gateway goes over chat)."""
    if isinstance(provider, HTTPProvider):
        return provider.adaptor.completions_request(req, t.model, stream=stream) is not None
    return type(provider).completions is not Provider.completions


async def _open_completions(
    provider: Provider, req: CompletionRequest, t: Target
) -> tuple[AsyncIterator[dict[str, Any]], dict[str, Any]]:
    got = await provider.completions(req, t.model, stream=True)
    if got is None or isinstance(got, dict):
        raise TypeError("a streaming completions call did not answer with a stream")
    try:
        first = await anext(got, DONE)
    except BaseException:
        await got.aclose()  # type: ignore[attr-defined]
        raise
    return got, first


def _unreadable(ctx: RequestContext, t: Target, e: Exception) -> UpstreamError:
    """An unforeseen error while relaying a stream: logged with its trace, sent as an error event."""
    logging.getLogger("banjia.routing").exception(
        "unexpected failure relaying %s (request %s)", t.key, _rid(ctx)
    )
    return UpstreamError(
        502,
        f"Provider '{t.provider}': the stream could not be relayed ({type(e).__name__})",
        provider=t.provider,
        retryable=True,
        code="upstream_error",
    )


def _log_access(ctx: RequestContext) -> None:
    usage = ctx.usage or {}
    event(
        access_log,
        logging.INFO,
        "request",
        request_id=_rid(ctx),
        key_id=ctx.key.id if ctx.key is not None else None,
        endpoint=ctx.endpoint,
        model=ctx.model,
        upstream=ctx.upstream,
        attempts=ctx.attempts,
        stream=ctx.stream,
        status=ctx.status,
        error_code=ctx.error_code,
        latency_ms=round(ctx.latency_ms or 0.0, 1),
        ttft_ms=round(ctx.ttft_ms, 1) if ctx.ttft_ms is not None else None,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        client_disconnected=ctx.client_disconnected,
    )


async def _first_chunks(
    frags: AsyncIterator[dict[str, Any]], norm: ChatStreamNormalizer
) -> tuple[list[dict[str, Any]], bool]:
    """Read until the normaliser has something for the client (or the stream is complete)."""
    async for frag in frags:
        if frag is DONE:
            return norm.finish(done_seen=True), True
        out = norm.feed(frag)
        if out:
            return out, False
    return norm.finish(done_seen=False), True


def _answer_text(result: dict[str, Any]) -> str:
    return "".join(str((c.get("message") or {}).get("content") or "") for c in result["choices"])


def _shorten(v: list[float], dims: int) -> list[float]:
    """OpenAI's ``dimensions`` for an upstream that ignored it: truncate and re-normalise."""
    if len(v) <= dims:
        return v
    head = v[:dims]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return [x / norm for x in head]


def _chat_from_completion(req: CompletionRequest, prompt: str) -> ChatRequest:
    fields: dict[str, Any] = {
        k: v
        for k, v in {
            "model": req.model,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "n": req.n,
            "stop": req.stop,
            "stream": req.stream,
            "stream_options": req.stream_options.model_dump(exclude_none=True)
            if req.stream_options
            else None,
            "seed": req.seed,
            "user": req.user,
        }.items()
        if v is not None
    }
    return ChatRequest.model_validate({**fields, "messages": [UserMessage(role="user", content=prompt)]})


async def _chat_to_completion_stream(chat: AsyncIterator[bytes], rid: str) -> AsyncIterator[bytes]:
    """Re-frame a chat stream as legacy completion chunks."""
    from banjia.sse import SSEDecoder

    dec = SSEDecoder()
    async for block in chat:
        out: list[bytes] = []
        for ev in dec.feed(block):
            if ev.data == "[DONE]":
                out.append(SSE_DONE)
                continue
            c = orjson.loads(ev.data)
            if "error" in c:
                out.append(encode_data(ev.data.encode()))
                continue
            choices = []
            for ch in c["choices"]:
                text = (ch.get("delta") or {}).get("content") or ""
                if text or ch.get("finish_reason"):
                    choices.append(completion_choice(ch["index"], text, ch.get("finish_reason")))
            if choices or c.get("usage"):
                out.append(
                    encode_data(
                        orjson.dumps(
                            completion_chunk(
                                id="cmpl-" + rid,
                                model=c["model"],
                                created=c["created"],
                                choices=choices,
                                usage=c.get("usage"),
                            )
                        )
                    )
                )
        if out:
            yield b"".join(out)
