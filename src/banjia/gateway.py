"""The request flow, top to bottom: resolve the model, admit (quota, limits), call the provider
chain (:class:`~banjia.routing.dispatch.Dispatcher`: fallback, retries, circuits, all before the
first byte), normalise, and record — on every path.

After the first byte of a stream there is no going back: a failure then ends the stream with an
OpenAI error event (never a clean-looking ``[DONE]``), and the entry's circuit hears of it.

An Anthropic Messages request comes with its chat form and the client's own body
(:class:`~banjia.passthrough.MessagesCall`): an entry that speaks Anthropic gets the body as it is
(:mod:`banjia.passthrough`), every other entry the chat form, so the chain may cross protocol families.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from banjia.capture import PromptCapture
from banjia.config import RoutingConfig, TimeoutsConfig
from banjia.context import Accounting, RequestContext
from banjia.errors import APIError, UpstreamError, bad_request
from banjia.passthrough import (
    MessagesCall,
    MessagesRelay,
    SignatureTap,
    chat_result,
    pop_signature,
    signed_history,
)
from banjia.protocol.chat import ChatRequest, UserMessage
from banjia.protocol.chat import usage as make_usage
from banjia.protocol.completions import CompletionRequest, completion, completion_choice
from banjia.protocol.embeddings import EmbeddingRequest, embedding_list
from banjia.providers import HTTPProvider, Provider
from banjia.reasoning import ReasoningStore, repair_history, tool_turns
from banjia.routing.dispatch import Dispatcher
from banjia.routing.logs import event
from banjia.routing.logs import request_id as _rid
from banjia.routing.retry import RetryPolicy
from banjia.routing.router import Route, Router, Target
from banjia.routing.state import RoutingState
from banjia.routing.telemetry import Telemetry
from banjia.streaming import ChatStreamNormalizer, CompletionRelay, GatewayStream, Kind, Shaper, first_chunks
from banjia.tokens import estimate_messages, estimate_text

__all__ = ["CLIENT_GONE", "Gateway", "GatewayStream", "new_id"]

_Req = TypeVar("_Req", ChatRequest, CompletionRequest)

access_log = logging.getLogger("banjia.access")

# the ledger status of a request whose client hung up before any answer was sent (nginx's 499)
CLIENT_GONE = 499
_STREAM_LIMIT = TimeoutsConfig().stream


def new_id() -> str:
    return os.urandom(12).hex()


@dataclass(slots=True)
class _Opened:
    """A stream whose first chunks are in hand."""

    frags: AsyncIterator[dict[str, Any]]
    shaper: Shaper
    first: list[dict[str, Any]]
    done: bool
    kind: Kind = "chat"


@dataclass(slots=True)
class _Life:
    """The gateway's side of one stream (:class:`~banjia.streaming.StreamOwner`): routing's
    verdict on the entry that serves it, the reasoning kept for the next turn, the ledger row."""

    gw: Gateway
    ctx: RequestContext
    target: Target
    deadline: float  # the provider's ``timeouts.stream`` from the request's arrival
    req: ChatRequest | None  # the chat request served (for prompt capture); None: native completions

    def timed_out(self) -> UpstreamError:
        limit = self.deadline - self.ctx.started
        return UpstreamError.timeout(
            self.target.provider, f"the answer took longer than its {limit:g} s limit"
        )

    async def completed(self, shaper: Shaper) -> None:
        ctx = self.ctx
        scope = _scope(ctx)
        signature = shaper.signature if isinstance(shaper, SignatureTap) else None
        for calls, text in shaper.tool_turns():
            await self.gw.reasoning.put_signed(scope, calls, text, signature)
        self.gw.dispatcher.stream_ended(self.target, complete=True)
        if self.gw.capture is not None and self.req is not None:
            self.gw.capture.add(ctx, self.req, shaper.text)
        # recorded before the last bytes leave: once the client has the whole answer, the
        # ledger's journal has the request and its key's quota is being settled
        self.finalize(shaper)

    def failed(self, e: Exception) -> UpstreamError:
        """After the first byte there is no fallback: the client gets an error, never a stream
        that looks complete, and the entry's circuit hears of it."""
        err = e if isinstance(e, UpstreamError) else _unreadable(self.ctx, self.target, e)
        self.gw._fail(self.ctx, err)
        self.gw.dispatcher.after_first_byte(self.ctx, self.target, err)
        return err

    def gone(self) -> None:
        self.ctx.client_disconnected = True
        self.gw.dispatcher.stream_ended(self.target, complete=False)

    def finalize(self, shaper: Shaper) -> None:
        ctx = self.ctx
        if ctx.finished is not None:  # recorded already
            return
        if shaper.usage:
            ctx.usage = shaper.usage
        else:
            ctx.usage_estimated = True
            ctx.usage = make_usage(ctx.prompt_tokens_estimate, estimate_text(shaper.text))
        self.gw._done(ctx)


class Gateway:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        router: Router,
        accounting: Accounting,
        *,
        dispatcher: Dispatcher | None = None,
        capture: PromptCapture | None = None,
        reasoning: ReasoningStore | None = None,
    ) -> None:
        self.providers = providers
        self.reasoning = reasoning or ReasoningStore()
        self.capture = capture
        self.router = router
        self.accounting = accounting
        if dispatcher is None:
            # in-process state and the config's defaults (the runtime passes the configured ones)
            r = RoutingConfig()
            dispatcher = Dispatcher(
                providers,
                RoutingState(failures=r.circuit.failures, cooldown=r.circuit.cooldown),
                Telemetry(list(providers)),
                policy=RetryPolicy.of(r),
                total_timeout=r.total_timeout,
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
        ctx.retired = route.retired or None  # a retired model named by the client: its successor serves
        return route

    def _fail(self, ctx: RequestContext, e: APIError) -> None:
        ctx.status = e.status
        ctx.error_code = e.code or e.type

    def _ended(self, ctx: RequestContext, e: BaseException) -> None:
        """What the exception that ended a request before its answer means for its ledger row."""
        if isinstance(e, APIError):
            self._fail(ctx, e)
        elif isinstance(e, Exception):
            ctx.status, ctx.error_code = 500, "internal_error"  # the middleware answers it so
        else:  # cancelled: the route cancels a request whose client hung up
            ctx.status, ctx.error_code = CLIENT_GONE, "client_disconnected"
            ctx.client_disconnected = True

    def record(self, ctx: RequestContext, failure: BaseException | None = None) -> None:
        """Record a request served outside this class (the media endpoints, :mod:`banjia.media`),
        or refused before it got here (bad JSON, a failed validation, a client gone while
        sending), ended by ``failure`` if it failed: once per request, like every other row."""
        if failure is not None:
            self._ended(ctx, failure)
        self._done(ctx)

    def _done(self, ctx: RequestContext) -> None:
        ctx.finished = time.monotonic()
        self.telemetry.request(ctx)
        if access_log.isEnabledFor(logging.INFO):
            _log_access(ctx)
        self.accounting.record(ctx)

    # -- chat ---------------------------------------------------------------------------------
    async def chat(
        self, ctx: RequestContext, req: ChatRequest, *, anthropic: MessagesCall | None = None
    ) -> dict[str, Any]:
        """The whole answer to ``req``; with ``anthropic`` (a ``/v1/messages`` request), an entry
        that speaks Anthropic passes the client's body through and its message object comes back
        under :data:`~banjia.passthrough.MESSAGE` beside the chat view."""
        try:
            route = self.route(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens, ctx.choices = req.output_limit, req.n or 1
            await self.accounting.admit(ctx)
            req = _capped(req, ctx)
            image = _image_part(req)
            result, _ = await self.dispatcher.run(
                ctx, route, lambda p, t: self._chat_target(ctx, req, image, p, t, anthropic)
            )
            ctx.first_token = time.monotonic()
            if result.get("usage"):
                ctx.usage = result["usage"]
            else:
                ctx.usage_estimated = True
                ctx.usage = result["usage"] = make_usage(
                    ctx.prompt_tokens_estimate, estimate_text(_answer_text(result))
                )
            if self.capture is not None:
                self.capture.add(ctx, req, _answer_text(result))
            return result
        except BaseException as e:
            self._ended(ctx, e)
            raise
        finally:
            self._done(ctx)

    async def _chat_target(
        self,
        ctx: RequestContext,
        req: ChatRequest,
        image: str | None,
        provider: Provider,
        t: Target,
        anthropic: MessagesCall | None = None,
    ) -> dict[str, Any]:
        # reasoning in the history as this vendor needs it (banjia.reasoning); what it serves
        # with tool calls is remembered before the client can send the next turn
        if image is not None:
            _refuse_images(provider, t, image)
        scope = _scope(ctx)
        if anthropic is not None and provider.speaks_messages:
            body = _capped_body(anthropic.body, ctx)
            result = chat_result(await provider.messages(body, t.model, beta=anthropic.beta), t.model)
        else:
            if anthropic is not None and anthropic.untranslatable is not None:
                raise anthropic.refuse(t.provider)
            req = await self._history(req, provider, scope, stream=False)
            result = await provider.chat(req, t.model)
        signature = pop_signature(result)
        for calls, text in tool_turns(result):
            await self.reasoning.put_signed(scope, calls, text, signature)
        return result

    async def _history(
        self, req: ChatRequest, provider: Provider, scope: str, *, stream: bool
    ) -> ChatRequest:
        if provider.speaks_messages:  # thinking goes back signed, or not at all
            return await signed_history(req, self.reasoning, scope)
        return await repair_history(req, provider.type, self.reasoning, scope, stream=stream)

    async def chat_stream(
        self, ctx: RequestContext, req: ChatRequest, *, anthropic: MessagesCall | None = None
    ) -> GatewayStream:
        """Open the stream (falling back until a provider answers): its first chunks are in hand.
        With ``anthropic``, an entry that speaks Anthropic relays its own events (``kind``
        "messages"), every other one chat chunks."""
        ctx.stream = True
        try:
            route = self.route(ctx, req.model)
            ctx.prompt_tokens_estimate = estimate_messages(list(req.messages))
            ctx.max_output_tokens, ctx.choices = req.output_limit, req.n or 1
            await self.accounting.admit(ctx)
            req = _capped(req, ctx)
            image = _image_part(req)
            opened, target = await self.dispatcher.run(
                ctx, route, lambda p, t: self._open_stream(ctx, req, p, t, image, anthropic), stream=True
            )
        except BaseException as e:
            self.record(ctx, e)
            raise
        return self._stream(ctx, opened, target, req)

    def _stream(
        self, ctx: RequestContext, opened: _Opened, target: Target, req: ChatRequest | None
    ) -> GatewayStream:
        ctx.first_token = time.monotonic()
        life = _Life(self, ctx, target, self.stream_deadline(ctx), req)
        return GatewayStream(opened.frags, opened.shaper, opened.first, opened.done, life, opened.kind)

    async def _open_stream(
        self,
        ctx: RequestContext,
        req: ChatRequest,
        provider: Provider,
        t: Target,
        image: str | None,
        anthropic: MessagesCall | None = None,
    ) -> _Opened:
        if image is not None:
            _refuse_images(provider, t, image)
        if anthropic is not None:
            if provider.speaks_messages:
                relay = MessagesRelay(provider=t.provider, model=req.model)
                body = _capped_body(anthropic.body, ctx)
                events = provider.messages_stream(body, t.model, beta=anthropic.beta)
                return await _opened(events, relay, "messages")
            if anthropic.untranslatable is not None:
                raise anthropic.refuse(t.provider)
        norm = ChatStreamNormalizer(
            id="chatcmpl-" + ctx.request_id,
            model=t.model,
            include_usage=req.wants_usage,
            provider=t.provider,
        )
        req = await self._history(req, provider, _scope(ctx), stream=True)
        # an Anthropic-speaking upstream's thinking signature is taken out of the stream and kept
        shaper: Shaper = SignatureTap(norm) if provider.speaks_messages else norm
        return await _opened(provider.chat_stream(req, t.model), shaper, "chat")

    def stream_deadline(self, ctx: RequestContext) -> float:
        """The monotonic time by which the stream ``ctx`` opened must have reached its client
        (sending included: a client that stops reading cannot hold it open past this)."""
        provider = self.providers.get(ctx.provider or "")
        return ctx.started + (_stream_limit(provider) if provider is not None else _STREAM_LIMIT)

    # -- legacy completions -------------------------------------------------------------------
    async def completions(
        self, ctx: RequestContext, req: CompletionRequest
    ) -> dict[str, Any] | GatewayStream:
        """Natively where the chain's first entry has ``/completions`` (an entry without one, or
        found to lack it, is asked over chat in its turn), else over chat. A stream's chunks are
        chat chunks where chat served it (``kind``): the route re-frames them."""
        try:
            if req.has_token_prompt():
                raise bad_request(
                    "Token-id prompts are not supported; send the prompt as text.", param="prompt"
                )
            route = self.route(ctx, req.model)
            first = route.targets[0]
            provider = self.providers[first.provider]
            native = provider.native_completions(req, first.model, stream=bool(req.stream))
            chat = None if native else _chat_for_completion(req)
        except BaseException as e:
            self.record(ctx, e)
            raise
        if chat is None:
            return await self._native_completions(ctx, req, route)
        if not req.stream:
            return _completion_from_chat(await self.chat(ctx, chat), ctx.request_id)
        return await self.chat_stream(ctx, chat)

    async def _native_completions(
        self, ctx: RequestContext, req: CompletionRequest, route: Route
    ) -> dict[str, Any] | GatewayStream:
        stream = bool(req.stream)
        ctx.stream = stream
        try:
            ctx.prompt_tokens_estimate = sum(estimate_text(p) for p in req.prompts())
            ctx.max_output_tokens, ctx.choices = req.max_tokens, req.n or 1
            await self.accounting.admit(ctx)
            req = _capped(req, ctx)
            if not stream:
                answer, _ = await self.dispatcher.run(
                    ctx, route, lambda p, t: self._completion(ctx, req, p, t)
                )
                ctx.first_token = time.monotonic()
                ctx.usage = answer.get("usage")
                self._done(ctx)
                return answer
            opened, target = await self.dispatcher.run(
                ctx, route, lambda p, t: self._open_completions(ctx, req, p, t), stream=True
            )
        except BaseException as e:
            if ctx.finished is None:
                self.record(ctx, e)
            raise
        return self._stream(ctx, opened, target, None)

    async def _completion(
        self, ctx: RequestContext, req: CompletionRequest, provider: Provider, t: Target
    ) -> dict[str, Any]:
        answer = await provider.completions(req, t.model, stream=False)
        if answer is None:  # this entry has no /completions (or was found to lack it): over chat
            result = await provider.chat(_chat_for_completion(req, t), t.model)
            answer = _completion_from_chat(result, ctx.request_id)
        if not isinstance(answer, dict):
            raise TypeError("a non-streaming completions call answered with a stream")
        return answer

    async def _open_completions(
        self, ctx: RequestContext, req: CompletionRequest, provider: Provider, t: Target
    ) -> _Opened:
        got = await provider.completions(req, t.model, stream=True)
        if got is None:  # over chat, as in _completion
            return await self._open_stream(ctx, _chat_for_completion(req, t), provider, t, None)
        if isinstance(got, dict):
            raise TypeError("a streaming completions call did not answer with a stream")
        return await _opened(got, CompletionRelay(provider=t.provider), "completion")

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
        except BaseException as e:
            self._ended(ctx, e)
            raise
        finally:
            self._done(ctx)


def _capped(req: _Req, ctx: RequestContext) -> _Req:
    """``req`` asking for no more output than the key's quota covers (``ctx.output_cap``, set by
    ``admit`` when the client gave no limit); unchanged otherwise."""
    if ctx.output_cap is None:
        return req
    # max_completion_tokens: OpenAI's field (reasoning models refuse max_tokens); adaptors rename
    # it for upstreams that know only max_tokens. Legacy completions have only max_tokens.
    field = "max_completion_tokens" if isinstance(req, ChatRequest) else "max_tokens"
    capped = req.model_copy(update={field: ctx.output_cap})
    object.__setattr__(capped, "_raw", {**req.wire(), field: ctx.output_cap})
    return capped


def _capped_body(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """A passed-through Messages body asking for no more than the key's quota covers (Anthropic
    requires ``max_tokens``, so this is a guard: admit sets no cap for a request with a limit)."""
    cap = ctx.output_cap
    limit = body.get("max_tokens")
    if cap is None or (isinstance(limit, int) and limit <= cap):
        return body
    return {**body, "max_tokens": cap}


def _stream_limit(provider: Provider) -> float:
    """Seconds a streamed answer may take from the request's arrival: the provider's
    ``timeouts.stream`` (the config's default for a provider without timeouts, the local model)."""
    return provider.timeouts.stream if isinstance(provider, HTTPProvider) else _STREAM_LIMIT


def _unreadable(ctx: RequestContext, t: Target, e: Exception) -> UpstreamError:
    """An unforeseen error while relaying a stream: logged with its trace, sent as an error event."""
    logging.getLogger("banjia.routing").exception(
        "unexpected failure relaying %s (request %s)", t.key, _rid(ctx)
    )
    return UpstreamError.broken(t.provider, f"the stream could not be relayed ({type(e).__name__})")


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


async def _opened(frags: AsyncIterator[dict[str, Any]], shaper: Shaper, kind: Kind) -> _Opened:
    try:
        first, done = await first_chunks(frags, shaper)
    except BaseException:
        await frags.aclose()  # type: ignore[attr-defined]
        raise
    return _Opened(frags, shaper, first, done, kind)


def _answer_text(result: dict[str, Any]) -> str:
    return "".join(str((c.get("message") or {}).get("content") or "") for c in result["choices"])


def _shorten(v: list[float], dims: int) -> list[float]:
    """OpenAI's ``dimensions`` for an upstream that ignored it: truncate and re-normalise."""
    if len(v) <= dims:
        return v
    head = v[:dims]
    norm = math.sqrt(sum(x * x for x in head)) or 1.0
    return [x / norm for x in head]


def _scope(ctx: RequestContext) -> str:
    """Whose reasoning a request may replay (:class:`~banjia.reasoning.ReasoningStore`): its key's."""
    return ctx.key.id if ctx.key is not None else ""


def _image_part(req: ChatRequest) -> str | None:
    """Where the request's first image is (``messages[1].content[0]``), or None."""
    for i, m in enumerate(req.messages):
        content = getattr(m, "content", None)
        if isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                    return f"messages[{i}].content[{j}]"
    return None


def _refuse_images(provider: Provider, t: Target, where: str) -> None:
    """An entry that reads text only would drop the image without a word: the next entry of the
    chain may read it; if none can, the client is told which part could not be read."""
    if provider.refuses_images(t.model):
        raise UpstreamError.unsupported(
            t.provider,
            f"{where}: image input is not supported by {t.key}. Send text only, or use a model "
            "that accepts images.",
            param=where,
        )


def _chat_for_completion(req: CompletionRequest, t: Target | None = None) -> ChatRequest:
    """The chat request that answers a legacy completions request (for entry ``t`` of a chain
    served natively: refused as SKIP, so that an entry with ``/completions`` may serve it)."""
    try:
        if req.echo or req.suffix or req.logprobs:
            where = f"the model '{req.model}'" if t is None else f"'{t.key}'"
            raise bad_request(
                "'echo', 'suffix' and 'logprobs' need an upstream with a native completions endpoint; "
                f"{where} is served over chat.",
                param="echo" if req.echo else "suffix" if req.suffix else "logprobs",
            )
        prompts = req.prompts()
        if len(prompts) != 1:
            raise bad_request("Send one prompt per request for this model.", param="prompt")
    except APIError as e:
        if t is None:
            raise
        raise UpstreamError.unsupported(t.provider, e.message, param=e.param) from e
    # over chat for one entry of a native chain: ask for usage, which the pump keeps for the ledger
    usage = t is not None and bool(req.stream)
    return _chat_from_completion(req, prompts[0], usage=usage)


def _chat_from_completion(req: CompletionRequest, prompt: str, *, usage: bool = False) -> ChatRequest:
    options = req.stream_options.model_dump(exclude_none=True) if req.stream_options else None
    if usage:
        options = {**(options or {}), "include_usage": True}
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
            "stream_options": options,
            "seed": req.seed,
            "user": req.user,
        }.items()
        if v is not None
    }
    return ChatRequest.model_validate({**fields, "messages": [UserMessage(role="user", content=prompt)]})


def _completion_from_chat(result: dict[str, Any], rid: str) -> dict[str, Any]:
    choices = [
        completion_choice(c["index"], (c.get("message") or {}).get("content") or "", c["finish_reason"])
        for c in result["choices"]
    ]
    return completion(id="cmpl-" + rid, model=result["model"], choices=choices, usage=result.get("usage"))
