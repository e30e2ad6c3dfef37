"""The media routes: ``/v1/images/generations``, ``/v1/audio/speech``, ``/v1/audio/transcriptions``
and ``/v1/rerank``. They parse, authenticate, hand the request to :mod:`banjia.media` and wrap the
answer; every authenticated request gets its ledger row, refusals included.

Uploads (``multipart/form-data``, parsed with python-multipart through Starlette's parser) are
bounded by ``server.max_upload_mb``: a larger declared length is refused before the body is read,
and a body without one is cut when it passes the limit; both with a 413 in OpenAI's envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from banjia.context import RequestContext
from banjia.errors import bad_request
from banjia.media import MediaService
from banjia.protocol._base import validate
from banjia.protocol.media import (
    AUDIO_TYPES,
    ImageRequest,
    RerankRequest,
    SpeechRequest,
    TranscriptionRequest,
    transcription_body,
    transcription_fields,
)
from banjia.runtime import Runtime
from banjia.server.auth import authenticate
from banjia.server.http import json_response
from banjia.server.routes import checked, json_body, refused, until_gone, upstream_headers
from banjia.server.uploads import read_form

__all__ = ["routes"]

_MB = 1024 * 1024
_CHUNK = 64 * 1024  # speech is sent in pieces of this size
_FIELDS = ("model", "language", "prompt", "response_format", "temperature")


def _service(rt: Runtime, request: Request) -> MediaService:
    """The media flow of the running runtime (made on first use, beside it on the app's state)."""
    state = request.app.state
    svc: MediaService | None = getattr(state, "media", None)
    if svc is None or svc.gateway is not rt.gateway:
        svc = MediaService(rt.gateway, rt.config, rt.transport, rt.router)
        state.media = svc
    return svc


async def _begin(request: Request, endpoint: str) -> tuple[Runtime, RequestContext]:
    rt: Runtime = request.app.state.runtime
    # media={}: a row written before the request is served is priced as one that made nothing
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint=endpoint, media={})
    ctx.key = await authenticate(request, rt.auth)
    return rt, ctx


async def _json(request: Request, endpoint: str) -> tuple[Runtime, RequestContext, dict[str, Any]]:
    rt, ctx = await _begin(request, endpoint)
    return rt, ctx, await json_body(request, rt, ctx)


async def images(request: Request) -> Response:
    rt, ctx, body = await _json(request, "images/generations")
    req = checked(rt, ctx, ImageRequest, body)
    result = await until_gone(request, ctx, _service(rt, request).images(ctx, req))
    return json_response(result, headers=upstream_headers(ctx))


async def speech(request: Request) -> Response:
    rt, ctx, body = await _json(request, "audio/speech")
    with refused(rt, ctx):
        req = validate(SpeechRequest, body)
        req.check()
    audio = await until_gone(request, ctx, _service(rt, request).speech(ctx, req))

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(audio), _CHUNK):
            yield audio[i : i + _CHUNK]

    return StreamingResponse(pieces(), media_type=AUDIO_TYPES[req.response_format],
                             headers=upstream_headers(ctx))


async def transcriptions(request: Request) -> Response:
    rt, ctx = await _begin(request, "audio/transcriptions")
    with refused(rt, ctx):
        req = await _upload(request, ctx, int(rt.config.server.max_upload_mb * _MB))
    t = await until_gone(request, ctx, _service(rt, request).transcription(ctx, req))
    body, media_type = transcription_body(t, req.response_format, req.language)
    headers = upstream_headers(ctx)
    if isinstance(body, str):
        return Response(body, media_type=media_type, headers=headers)
    return json_response(body, headers=headers)


async def rerank(request: Request) -> Response:
    rt, ctx, body = await _json(request, "rerank")
    req = checked(rt, ctx, RerankRequest, body)
    result = await until_gone(request, ctx, _service(rt, request).rerank(ctx, req))
    return json_response(result, headers=upstream_headers(ctx))


# -- uploads ------------------------------------------------------------------------------------


async def _upload(request: Request, ctx: RequestContext, limit: int) -> TranscriptionRequest:
    """The transcription form, read within ``limit`` bytes and checked."""
    form = await read_form(request, limit, max_files=4, max_fields=32, expected=(
        "A transcription request must be sent as multipart/form-data with the audio in the 'file' field"))
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str) and k in _FIELDS}
        if isinstance(fields.get("model"), str):
            ctx.model = fields["model"]
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise bad_request("Missing required parameter: 'file' (the audio, as a file part).",
                              param="file", code="missing_required_parameter")
        checked = transcription_fields(fields)
        data = await upload.read()
        if not data:
            raise bad_request("The uploaded 'file' is empty.", param="file", code="invalid_value")
        extra = {k: v for k, v in form.multi_items() if isinstance(v, str) and k not in _FIELDS}
        return TranscriptionRequest(
            file=data,
            filename=upload.filename or "audio",
            content_type=upload.content_type or "application/octet-stream",
            model=checked.model,
            language=checked.language,
            prompt=checked.prompt,
            response_format=checked.response_format,
            temperature=checked.temperature,
            extra=extra,
        )
    finally:
        await form.close()


routes = [
    Route("/v1/images/generations", images, methods=["POST"]),
    Route("/v1/audio/speech", speech, methods=["POST"]),
    Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
    Route("/v1/rerank", rerank, methods=["POST"]),
]
