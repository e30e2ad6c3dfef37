"""The media endpoints' request flow: images, speech, transcription and rerank.

The same steps as chat (:mod:`banjia.gateway`), with the gateway's own pieces: the router resolves
the model (``Gateway.route``: allowlist, retired models), accounting admits the request (quota,
rate limits; the reservation is priced from what the request will make), the dispatcher tries the
chain (fallback, retries, circuits, ``routing.total_timeout``), and the ledger gets exactly one
row with its CNY cost, on every path (``Gateway.record``). An entry whose provider type does not
serve the endpoint, or whose model the catalog lists without the endpoint's capability, is
skipped without a call.

What the vendors do differently from OpenAI stays here or in the adaptors
(:mod:`banjia.adaptors.media`): an asynchronous image task is submitted, polled with a growing
interval and fetched, all within the provider's ``timeouts.first_byte`` (the bound of any answer
that does not stream), and cancelled when banjia stops waiting; pictures the vendor only links to
are fetched through the transport (bounded in size) when the client asked for ``b64_json``; speech
a vendor only links to is fetched the same way.

A media request's ledger row prices what it made (``RequestContext.media``: images, seconds of
audio, characters of speech input) at the catalog's ``per_image``, ``per_audio_second`` and
``per_million_chars`` (rerank: its tokens at the input rate).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import time
import wave
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.media import (
    ENDPOINTS,
    MEDIA,
    OPENAI_MEDIA_NAMES,
    MediaAdaptor,
    Task,
    media_adaptor,
)
from banjia.config import Config
from banjia.context import RequestContext
from banjia.errors import UpstreamError
from banjia.gateway import Gateway
from banjia.protocol.media import (
    Audio,
    ImageRequest,
    Picture,
    RerankRequest,
    SpeechRequest,
    Transcript,
    TranscriptionRequest,
    image_response,
    rerank_response,
)
from banjia.providers import HTTPProvider, Provider
from banjia.routing.router import Route, Router, Target
from banjia.tokens import estimate_text
from banjia.transport import Transport
from banjia.vendors import known_without

__all__ = ["CAPABILITY", "MAX_AUDIO_BYTES", "MAX_IMAGE_BYTES", "MediaService", "wav_seconds"]

T = TypeVar("T")
log = logging.getLogger("banjia.media")

# the catalog capability a model needs for each endpoint (a model it lists without it is skipped)
CAPABILITY = {"images": "images", "speech": "speech", "transcriptions": "transcription",
              "rerank": "rerank"}
# a linked file larger than this is refused rather than held in memory
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_AUDIO_BYTES = 50 * 1024 * 1024
# polling an asynchronous task: first after this many seconds, then 1.5 times longer, at most
POLL_FIRST = 0.2
POLL_MAX = 3.0
CANCEL_TIMEOUT = 5.0

Attempt = Callable[[MediaAdaptor, HTTPProvider, str], Awaitable[T]]


class MediaService:
    """The media flow over one runtime's gateway, providers and transport."""

    def __init__(self, gateway: Gateway, config: Config, transport: Transport, router: Router) -> None:
        self.gateway = gateway
        self.configs = config.providers
        self.transport = transport
        self._adaptors: dict[tuple[str, str], MediaAdaptor | None] = {}
        self._cancels: set[asyncio.Task[None]] = set()
        add_presets(router, config)

    # -- the endpoints ------------------------------------------------------------------------
    async def images(self, ctx: RequestContext, req: ImageRequest) -> dict[str, Any]:
        async def attempt(a: MediaAdaptor, p: HTTPProvider, model: str) -> list[Picture]:
            pictures: list[Picture] = []
            left = req.count
            while left > 0:
                k = min(left, max(a.image_batch(model), 1))
                got = a.image_result(await self._send(p, a, a.image_request(req, model, k)))
                if isinstance(got, Task):
                    got = await self._wait(p, a, got)
                pictures.extend(got)
                left -= k
            return await self._as_requested(p, pictures, req.response_format or "url")

        def made(pictures: list[Picture]) -> None:
            ctx.media = {"images": len(pictures)}

        pictures = await self._serve(ctx, "images", req.model, {"images": req.count}, 0, attempt, made)
        return image_response(pictures)

    async def speech(self, ctx: RequestContext, req: SpeechRequest) -> bytes:
        async def attempt(a: MediaAdaptor, p: HTTPProvider, model: str) -> Audio:
            audio = a.speech_result(await self._send(p, a, a.speech_request(req, model)), req)
            if audio.data is None:
                audio.data = await self._download(p, audio.url or "", MAX_AUDIO_BYTES)
            return audio

        units = {"chars": float(len(req.input))}
        audio = await self._serve(ctx, "speech", req.model, units, 0, attempt, lambda _: None)
        return audio.data or b""

    async def transcription(self, ctx: RequestContext, req: TranscriptionRequest) -> Transcript:
        local = wav_seconds(req.file)

        async def attempt(a: MediaAdaptor, p: HTTPProvider, model: str) -> Transcript:
            return a.transcription_result(await self._send(p, a, a.transcription_request(req, model)), req)

        def made(t: Transcript) -> None:
            if t.seconds is None:
                t.seconds = local
            ctx.media = {"audio_seconds": t.seconds}

        return await self._serve(ctx, "transcriptions", req.model, {"audio_seconds": local or 0.0}, 0,
                                 attempt, made)

    async def rerank(self, ctx: RequestContext, req: RerankRequest) -> dict[str, Any]:
        texts = req.texts()
        estimate = sum(estimate_text(req.query) + estimate_text(t) for t in texts)

        async def attempt(a: MediaAdaptor, p: HTTPProvider, model: str) -> tuple[list[Any], int]:
            return a.rerank_result(await self._send(p, a, a.rerank_request(req, model)), req)

        def made(result: tuple[list[Any], int]) -> None:
            tokens = result[1]
            if not tokens:
                tokens, ctx.usage_estimated = estimate, True
            ctx.usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}

        scored, _ = await self._serve(ctx, "rerank", req.model, {}, estimate, attempt, made)
        tokens = int((ctx.usage or {}).get("prompt_tokens") or 0)
        return rerank_response("rerank-" + ctx.request_id, req.model, scored, req, tokens)

    # -- the flow -----------------------------------------------------------------------------
    async def _serve(
        self,
        ctx: RequestContext,
        endpoint: str,
        model: str,
        expected: Mapping[str, float | None],
        prompt_tokens: int,
        attempt: Attempt[T],
        made: Callable[[T], None],
    ) -> T:
        """Resolve, admit, dispatch and record one media request (the row exactly once)."""
        failure: BaseException | None = None
        try:
            route = self.gateway.route(ctx, model)
            # what the quota reserves: the request's worth at the media rates, no output tokens
            ctx.media = dict(expected)
            ctx.prompt_tokens_estimate = prompt_tokens
            ctx.max_output_tokens = 0
            await self.gateway.accounting.admit(ctx)
            result, _ = await self.gateway.dispatcher.run(
                ctx, route, lambda p, t: self._attempt(endpoint, p, t, attempt)
            )
            ctx.first_token = time.monotonic()
            made(result)
            return result
        except BaseException as e:
            failure = e
            ctx.media = {}  # nothing was made: the row costs nothing
            raise
        finally:
            self.gateway.record(ctx, failure)

    def _attempt(self, endpoint: str, provider: Provider, t: Target, attempt: Attempt[T]) -> Awaitable[T]:
        a = self.adaptor(t.provider, endpoint)
        if a is None or not isinstance(provider, HTTPProvider):
            raise UpstreamError.unsupported(
                t.provider,
                f"Provider '{t.provider}' (type {provider.type}) does not serve "
                f"/v1/{ENDPOINTS[endpoint]}.",
                code="unsupported_endpoint",
                param="model",
            )
        if known_without(provider.type, t.model, CAPABILITY[endpoint]):
            raise UpstreamError.unsupported(
                t.provider,
                f"'{t.key}' does not serve /v1/{ENDPOINTS[endpoint]} (its family in the type's "
                "descriptor does not serve it).",
                code="unsupported_endpoint",
                param="model",
            )
        return attempt(a, provider, t.model)

    def adaptor(self, provider: str, endpoint: str) -> MediaAdaptor | None:
        key = (provider, endpoint)
        if key not in self._adaptors:
            cfg = self.configs.get(provider)
            self._adaptors[key] = media_adaptor(provider, cfg, endpoint) if cfg is not None else None
        return self._adaptors[key]

    async def _send(self, p: HTTPProvider, a: MediaAdaptor, up: UpstreamRequest) -> UpstreamResponse:
        resp = await p.fetch(up)
        if resp.status >= 300:
            code, message = a.error_fields(resp.body)
            raise a.make_error(resp.status, code, message, resp.headers)
        return resp

    # -- asynchronous tasks -------------------------------------------------------------------
    async def _wait(self, p: HTTPProvider, a: MediaAdaptor, task: Task) -> list[Picture]:
        """Poll ``task`` until it has its pictures, within the provider's ``timeouts.first_byte``;
        a task left behind (timeout, client gone, the request's deadline) is cancelled."""
        bound = p.timeouts.first_byte
        deadline = time.monotonic() + bound
        delay = POLL_FIRST
        ended = False  # the task reached its end (pictures, or its own failure)
        try:
            while True:
                await asyncio.sleep(max(min(delay, deadline - time.monotonic()), 0))
                resp = await self._send(p, a, a.task_request(task))
                try:
                    got = a.task_result(resp)
                except UpstreamError:
                    ended = True
                    raise
                if got is not None:
                    ended = True
                    return got
                if time.monotonic() >= deadline:
                    raise UpstreamError.timeout(
                        p.name, f"the image task {task.id} did not finish within {bound:g} s "
                                "(the provider's timeouts.first_byte)"
                    )
                delay = min(delay * 1.5, POLL_MAX)
        finally:
            if not ended:
                self._cancel(p, a, task)

    def _cancel(self, p: HTTPProvider, a: MediaAdaptor, task: Task) -> None:
        up = a.task_cancel(task)
        if up is None:
            return

        async def cancel() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CANCEL_TIMEOUT):
                    await p.fetch(up)

        job = asyncio.get_running_loop().create_task(cancel(), name="banjia-media-cancel")
        self._cancels.add(job)
        job.add_done_callback(self._cancels.discard)

    # -- linked files -------------------------------------------------------------------------
    async def _as_requested(self, p: HTTPProvider, pictures: list[Picture], fmt: str) -> list[Picture]:
        """Pictures in the form the client asked for: linked ones fetched for ``b64_json``,
        inline ones as ``data:`` URLs for ``url``."""
        out: list[Picture] = []
        for pic in pictures:
            if fmt == "b64_json" and pic.b64_json is None and pic.url:
                data = await self._download(p, pic.url, MAX_IMAGE_BYTES)
                pic = Picture(b64_json=base64.b64encode(data).decode(), revised_prompt=pic.revised_prompt)
            elif fmt == "url" and pic.url is None and pic.b64_json is not None:
                pic = Picture(url="data:image/png;base64," + pic.b64_json, revised_prompt=pic.revised_prompt)
            out.append(pic)
        return out

    async def _download(self, p: HTTPProvider, url: str, limit: int) -> bytes:
        """A file the upstream links to, sent through the transport with the provider's timeouts
        and egress, and read piece by piece up to ``limit`` bytes."""
        if not url.startswith(("https://", "http://")):
            raise UpstreamError.broken(p.name, "the upstream linked its file with a URL that is not http(s)")
        t = p.timeouts
        req = UpstreamRequest(url, b"", {"Accept": "*/*"}, method="GET")
        try:
            async with asyncio.timeout(t.first_byte), self.transport.stream(req, t, p.name, p.egress) as body:
                if body.status >= 300:
                    raise UpstreamError.broken(p.name, f"its file could not be fetched (HTTP {body.status})")
                declared = body.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _too_large(p, limit)
                parts: list[bytes] = []
                size = 0
                async for piece in body.chunks():
                    size += len(piece)
                    if size > limit:
                        raise _too_large(p, limit)
                    parts.append(piece)
                return b"".join(parts)
        except TimeoutError as e:
            raise UpstreamError.timeout(p.name, "its file was not fetched within the time limit") from e


def _too_large(p: HTTPProvider, limit: int) -> UpstreamError:
    mb = limit // (1024 * 1024)
    return UpstreamError.broken(p.name, f"its file is larger than the {mb} MB banjia fetches")


def wav_seconds(data: bytes) -> float | None:
    """The length of a WAV file's audio, or None when ``data`` is not a WAV file."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else None
    except (wave.Error, EOFError, ValueError):
        return None


def add_presets(router: Router, config: Config) -> None:
    """OpenAI's media model names (``dall-e-3``, ``tts-1``, ``whisper-1``…) route to the configured
    providers whose type names a model for the endpoint, in configuration order, unless the
    config's ``models:`` routes the name itself."""
    for endpoint, names in OPENAI_MEDIA_NAMES.items():
        chain = [
            Target(name, vendor.presets[endpoint])
            for name, pc in config.providers.items()
            if (vendor := MEDIA.get(pc.type)) is not None and endpoint in vendor.presets
        ]
        if not chain:
            continue
        for openai_name in names:
            if openai_name not in router.routes:
                router.routes[openai_name] = Route.of(openai_name, [[t] for t in chain])
