"""The Batch API routes: ``/v1/files`` (upload, retrieve, content, delete) and ``/v1/batches``
(create, retrieve, list, cancel), in OpenAI's shapes; the flow is :mod:`banjia.batches`.

Every authenticated call gets its ledger row (endpoints ``files`` and ``batches``, cost 0: the
lines are billed when their answers come back). Uploads are ``multipart/form-data`` bounded by
``server.max_upload_mb``: a larger declared length is refused before the body is read, a body
without one is cut when it passes the limit, both with a 413 that names the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from banjia.batches import LIST_LIMIT, BatchService
from banjia.context import KeyInfo, RequestContext
from banjia.errors import bad_request
from banjia.protocol._base import parse_body
from banjia.runtime import Runtime
from banjia.server.auth import authenticate
from banjia.server.http import json_response
from banjia.server.routes import check_edge, upstream_headers
from banjia.server.uploads import read_form

__all__ = ["routes"]

T = TypeVar("T")
_MB = 1024 * 1024
_LOCK = asyncio.Lock()


async def _service(request: Request) -> BatchService:
    """One service per app, made on first use: on the store's database, or (no store) on a
    database in memory that lives as long as the process."""
    state = request.app.state
    svc: BatchService | None = getattr(state, "batches", None)
    if svc is not None:
        return svc
    async with _LOCK:
        svc = getattr(state, "batches", None)
        if svc is None:
            rt: Runtime = state.runtime
            svc = state.batches = await _open(rt)
    return svc


async def _open(rt: Runtime) -> BatchService:
    from banjia.store._engine import Database, create_engine
    from banjia.store.schema import batches, files

    store = rt.store
    if store is not None:
        db, flush, instance = store.db, store.flush, store.accounting.instance_id
    else:
        engine: AsyncEngine = create_engine("sqlite:///:memory:")
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: files.metadata.create_all(c, tables=[files, batches]))
        db, flush, instance = Database(engine), None, None
    state = rt.routing

    def operator_disabled(provider: str) -> bool:
        d = state.disabled.get(provider) if state is not None else None
        return d is not None and d.by_operator

    return BatchService(db, router=rt.router, providers=rt.providers, configs=rt.config.providers,
                        accounting=rt.accounting, flush=flush, operator_disabled=operator_disabled,
                        instance_id=instance)


Call = Callable[[BatchService, RequestContext, KeyInfo], Awaitable[T]]


async def _serve(request: Request, endpoint: str, call: Call[T]) -> T:
    """Authenticate, then ``call`` the service; the request gets its one ledger row whatever
    becomes of it."""
    rt: Runtime = request.app.state.runtime
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint=endpoint)
    key = ctx.key = await authenticate(request, rt.auth)
    failure: BaseException | None = None
    try:
        return await call(await _service(request), ctx, key)
    except ClientDisconnect:
        failure = asyncio.CancelledError()  # recorded as a client gone
        raise
    except BaseException as e:
        failure = e
        raise
    finally:
        rt.gateway.record(ctx, failure)


# -- files --------------------------------------------------------------------------------------


async def _form(request: Request, limit: int) -> tuple[str, bytes]:
    """(filename, content) of a batch file upload, read within ``limit`` bytes."""
    form = await read_form(request, limit, max_files=2, max_fields=16, expected=(
        "A file must be sent as multipart/form-data with 'purpose' and the file in 'file'"))
    try:
        purpose = form.get("purpose")
        if purpose is None:
            raise bad_request("Missing required parameter: 'purpose'.", param="purpose",
                              code="missing_required_parameter")
        if purpose != "batch":
            shown = purpose[:32] if isinstance(purpose, str) else "a file"
            raise bad_request(f"Invalid 'purpose': banjia keeps files for the Batch API only "
                              f"('batch'), got {shown!r}.", param="purpose", code="invalid_value")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise bad_request("Missing required parameter: 'file' (the JSONL, as a file part).",
                              param="file", code="missing_required_parameter")
        return upload.filename or "batch.jsonl", await upload.read()
    finally:
        await form.close()


async def create_file(request: Request) -> Response:
    async def call(svc: BatchService, ctx: RequestContext, key: KeyInfo) -> dict[str, Any]:
        limit = int(request.app.state.runtime.config.server.max_upload_mb * _MB)
        filename, content = await _form(request, limit)
        return await svc.create_file(key, filename, content)

    return json_response(await _serve(request, "files", call))


# OpenAI's default and largest page of files
_FILES_LIMIT = 10_000


async def list_files(request: Request) -> Response:
    async def call(svc: BatchService, ctx: RequestContext, key: KeyInfo) -> dict[str, Any]:
        q = request.query_params
        raw = q.get("limit")
        if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= _FILES_LIMIT):
            raise bad_request(f"Invalid 'limit': a whole number from 1 to {_FILES_LIMIT}.",
                              param="limit", code="invalid_value")
        order = q.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("Invalid 'order': 'asc' or 'desc'.", param="order", code="invalid_value")
        return await svc.list_files(key, after=q.get("after") or None, order=order,
                                    limit=int(raw) if raw is not None else _FILES_LIMIT,
                                    purpose=q.get("purpose") or None)

    return json_response(await _serve(request, "files", call))


async def get_file(request: Request) -> Response:
    file_id = request.path_params["file_id"]
    return json_response(await _serve(request, "files", lambda s, _, k: s.get_file(k, file_id)))


async def file_content(request: Request) -> Response:
    file_id = request.path_params["file_id"]
    content = await _serve(request, "files", lambda s, _, k: s.file_content(k, file_id))
    return Response(content, media_type="application/octet-stream")


async def delete_file(request: Request) -> Response:
    file_id = request.path_params["file_id"]
    return json_response(await _serve(request, "files", lambda s, _, k: s.delete_file(k, file_id)))


# -- batches ------------------------------------------------------------------------------------


async def create_batch(request: Request) -> Response:
    headers: dict[str, str] = {}

    async def call(svc: BatchService, ctx: RequestContext, key: KeyInfo) -> dict[str, Any]:
        body = parse_body(await request.body())
        check_edge(body)
        created = await svc.create_batch(ctx, body)
        headers.update(upstream_headers(ctx))  # x-banjia-upstream: who runs it
        return created

    return json_response(await _serve(request, "batches", call), headers=headers)


async def get_batch(request: Request) -> Response:
    batch_id = request.path_params["batch_id"]
    return json_response(await _serve(request, "batches", lambda s, _, k: s.retrieve(k, batch_id)))


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_LIMIT:
        raise bad_request(f"Invalid 'limit': a whole number from 1 to {LIST_LIMIT}.", param="limit",
                          code="invalid_value")
    return int(raw)


async def list_batches(request: Request) -> Response:
    async def call(svc: BatchService, ctx: RequestContext, key: KeyInfo) -> dict[str, Any]:
        limit = _limit(request.query_params.get("limit"))
        return await svc.list_batches(key, request.query_params.get("after") or None, limit)

    return json_response(await _serve(request, "batches", call))


async def cancel_batch(request: Request) -> Response:
    batch_id = request.path_params["batch_id"]
    return json_response(await _serve(request, "batches", lambda s, _, k: s.cancel(k, batch_id)))


routes = [
    Route("/v1/files", create_file, methods=["POST"]),
    Route("/v1/files", list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", get_file, methods=["GET"]),
    Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
    Route("/v1/batches", create_batch, methods=["POST"]),
    Route("/v1/batches", list_batches, methods=["GET"]),
    Route("/v1/batches/{batch_id}", get_batch, methods=["GET"]),
    Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
]
