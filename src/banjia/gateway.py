"""The request flow, top to bottom: resolve the model, admit (quota, limits), call the provider
(falling back along the chain before the first byte), normalise, and record — on every path.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson

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
from banjia.providers import DONE, Provider
from banjia.routing.router import Router, Target
from banjia.sse import DONE as SSE_DONE
from banjia.sse import encode_data
from banjia.streaming import ChatStreamNormalizer
from banjia.tokens import estimate_messages, estimate_text

__all__ = ["Gateway", "new_id"]

T = TypeVar("T")


def new_id() -> str:
    return os.urandom(12).hex()


class Gateway:
    def __init__(self, providers: Mapping[str, Provider], router: Router, accounting: Accounting) -> None:
        self.providers = providers
        self.router = router
        self.accounting = accounting

    # -- shared steps -------------------------------------------------------------------------
    def resolve(self, ctx: RequestContext, model: str) -> list[Target]:
        ctx.model = model
        chain = self.router.resolve(model)
        if ctx.key is not None and not ctx.key.may_use(model):
            raise APIError(
                403,
                f"This API key is not allowed to use the model '{model}'.",
                type="permission_error",
                code="model_not_allowed",
                param="model",
            )
        return chain

    async def _call_chain(
        self, ctx: RequestContext, chain: list[Target], call: Callable[[Provider, str], Awaitable[T]]
    ) -> T:
        last: UpstreamError | None = None
        for i, t in enumerate(chain):
            provider = self.providers[t.provider]
            ctx.provider, ctx.provider_type, ctx.upstream_model = t.provider, provider.type, t.model
            ctx.attempts.append(str(t))
            try:
                result: T = await call(provider, t.model)
                return result
            except UpstreamError as e:
                last = e
                if not e.retryable or i == len(chain) - 1:
                    raise
        assert last is not None
        raise last

    def _fail(self, ctx: RequestContext, e: APIError) -> None:
        ctx.status = e.status
        ctx.error_code = e.code or e.type

    def _done(self, ctx: RequestContext) -> None:
        ctx.finished = time.monotonic()
        self.accounting.record(ctx)

    # -- chat ---------------------------------------------------------------------------------
    async def chat(self, ctx: RequestContext, req: ChatRequest) -> dict[str, Any]:
        try:
            chain = self.resolve(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens = req.output_limit
            await self.accounting.admit(ctx)
            result: dict[str, Any] = await self._call_chain(ctx, chain, lambda p, m: p.chat(req, m))
            ctx.first_token = time.monotonic()
            if result.get("usage"):
                ctx.usage = result["usage"]
            else:
                text = "".join(str((c.get("message") or {}).get("content") or "") for c in result["choices"])
                ctx.usage = result["usage"] = self._estimate(ctx, req, text)
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
            chain = self.resolve(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens = req.output_limit
            await self.accounting.admit(ctx)
        except APIError as e:
            self._fail(ctx, e)
            self._done(ctx)
            raise
        last: UpstreamError | None = None
        for i, t in enumerate(chain):
            provider = self.providers[t.provider]
            ctx.provider, ctx.provider_type, ctx.upstream_model = t.provider, provider.type, t.model
            ctx.attempts.append(str(t))
            norm = ChatStreamNormalizer(
                id="chatcmpl-" + ctx.request_id,
                model=t.model,
                include_usage=req.wants_usage,
                provider=t.provider,
            )
            frags = provider.chat_stream(req, t.model)
            try:
                first, done = await _first_chunks(frags, norm)
            except UpstreamError as e:
                await frags.aclose()  # type: ignore[attr-defined]
                last = e
                if e.retryable and i < len(chain) - 1:
                    continue
                self._fail(ctx, e)
                self._done(ctx)
                raise
            except BaseException:
                await frags.aclose()  # type: ignore[attr-defined]
                ctx.client_disconnected = True
                self._done(ctx)
                raise
            ctx.first_token = time.monotonic()
            return self._pump(ctx, req, frags, norm, first, done)
        assert last is not None
        raise last

    async def _pump(
        self,
        ctx: RequestContext,
        req: ChatRequest,
        frags: AsyncIterator[dict[str, Any]],
        norm: ChatStreamNormalizer,
        first: list[dict[str, Any]],
        done: bool,
    ) -> AsyncIterator[bytes]:
        dumps = orjson.dumps
        completed = False
        try:
            yield b"".join(encode_data(dumps(c)) for c in first)
            if not done:
                async for frag in frags:
                    if frag is DONE:
                        done = True
                        break
                    out = norm.feed(frag)
                    if out:
                        yield b"".join(encode_data(dumps(c)) for c in out)
            tail = norm.finish(done_seen=done)
            completed = True
            yield b"".join(encode_data(dumps(c)) for c in tail) + SSE_DONE
        except UpstreamError as e:
            # after the first byte there is no fallback: the client gets an error event, never a
            # stream that looks complete
            self._fail(ctx, e)
            yield encode_data(e.body_bytes())
        except BaseException:
            if not completed:
                ctx.client_disconnected = True
            raise
        finally:
            await frags.aclose()  # type: ignore[attr-defined]
            if norm.usage:
                ctx.usage = norm.usage
            else:
                ctx.usage = self._estimate(ctx, req, norm.text)
            self._done(ctx)

    def _estimate(self, ctx: RequestContext, req: ChatRequest, completion_text: str) -> dict[str, Any]:
        ctx.usage_estimated = True
        return make_usage(estimate_messages(list(req.messages)), estimate_text(completion_text))

    # -- legacy completions -------------------------------------------------------------------
    async def completions(
        self, ctx: RequestContext, req: CompletionRequest
    ) -> dict[str, Any] | AsyncIterator[bytes]:
        if req.has_token_prompt():
            raise bad_request("Token-id prompts are not supported; send the prompt as text.", param="prompt")
        chain = self.resolve(ctx, req.model)
        provider = self.providers[chain[0].provider]
        native = await provider.completions(req, chain[0].model, stream=bool(req.stream))
        if native is not None:
            ctx.provider, ctx.provider_type, ctx.upstream_model = (
                chain[0].provider,
                provider.type,
                chain[0].model,
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
        self,
        ctx: RequestContext,
        req: CompletionRequest,
        native: dict[str, Any] | AsyncIterator[dict[str, Any]],
    ) -> dict[str, Any] | AsyncIterator[bytes]:
        if isinstance(native, dict):
            ctx.usage = native.get("usage")
            self._done(ctx)
            return native
        ctx.stream = True

        async def gen() -> AsyncIterator[bytes]:
            try:
                async for c in native:
                    if c is DONE:
                        break
                    if c.get("usage"):
                        ctx.usage = c["usage"]
                        if not req.wants_usage:
                            c.pop("usage")
                            if not c.get("choices"):
                                continue
                    yield encode_data(orjson.dumps(c))
                yield SSE_DONE
            finally:
                self._done(ctx)

        return gen()

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
            chain = self.resolve(ctx, req.model)
            ctx.prompt_tokens_estimate = sum(estimate_text(t) for t in req.texts() or [])
            await self.accounting.admit(ctx)
            vectors, tokens = await self._call_chain(ctx, chain, lambda p, m: p.embeddings(req, m))
            if req.dimensions:
                vectors = [_shorten(v, req.dimensions) for v in vectors]
            ctx.usage = make_usage(tokens, 0)
            return embedding_list(vectors, model=req.model, fmt=req.encoding_format, prompt_tokens=tokens)
        except APIError as e:
            self._fail(ctx, e)
            raise
        finally:
            self._done(ctx)


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
