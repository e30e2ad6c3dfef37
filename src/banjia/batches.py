"""OpenAI's Batch API (``/v1/files``, ``/v1/batches``) over the upstreams' own batch APIs.

Only a vendor's own batch API bills its batch price: a batch replayed as real-time calls costs the
real-time price. So banjia keeps its own files and batches (``file-…``, ``batch_…``, each owned by
the key that made it, in the store, so that any replica answers for any of them) and runs each
batch on one provider whose type has the ``batch`` capability (:mod:`banjia.vendors`: DashScope's
compatible mode, Zhipu, SiliconFlow, any OpenAI-compatible server), through its Files and Batches
APIs:

1. ``POST /v1/files`` keeps the JSONL file (each line must be a JSON object).
2. ``POST /v1/batches`` checks every line (``custom_id`` unique, ``method`` POST, ``url`` the
   batch's endpoint, ``body.model``), routes each model as a request would be (the key's allowlist;
   the first entry of the chain whose provider runs batches), requires one provider for the whole
   file (a 400 that says which lines differ), rewrites ``body.model`` to the upstream model (and
   the path to the vendor's: Zhipu's ``/v4/…``), uploads that file to the provider and creates the
   upstream batch. An exhausted key is refused before anything is uploaded.
3. ``GET /v1/batches/{id}`` asks the upstream. The first replica to see the batch finished claims
   its settlement with a conditional UPDATE (the others answer ``finalizing`` meanwhile), downloads
   the output and error files, writes one ledger row per answered line, priced at the batch rate
   with the usage of the line's answer, and keeps both files with each answer's ``model`` shown
   as the client named it. Rows are keyed ``<batch id>-<line>``, so a settlement retried after a
   crash writes nothing twice.

The wire, from the vendors' documentation:

* OpenAI: https://platform.openai.com/docs/api-reference/batch and
  https://platform.openai.com/docs/api-reference/files (the shapes banjia answers with).
* DashScope, compatible mode: ``{base}/files`` and ``{base}/batches``, endpoints
  ``/v1/chat/completions`` and ``/v1/embeddings``:
  https://help.aliyun.com/zh/dashscope/developer-reference/openai-batch-interface,
  https://www.alibabacloud.com/help/doc-detail/2864784.html
* Zhipu: ``/paas/v4/files`` and ``/paas/v4/batches``; the endpoint and each line's ``url`` are
  ``/v4/chat/completions`` (``/v4/embeddings``):
  https://docs.bigmodel.cn/api-reference/%E6%89%B9%E5%A4%84%E7%90%86-api/%E5%88%9B%E5%BB%BA%E6%89%B9%E5%A4%84%E7%90%86%E4%BB%BB%E5%8A%A1,
  https://docs.bigmodel.cn/cn/faq/batch-api-issues.md
* SiliconFlow: ``/v1/files`` answers the file object inside ``{code, message, status, data}``;
  a queued batch is ``in_queue``; results may be linked by URL:
  https://docs.siliconflow.cn/cn/userguide/guides/batch,
  https://docs.siliconflow.cn/cn/api-reference/batch/create-batch,
  https://docs.siliconflow.cn/cn/api-reference/batch/upload-file
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import orjson
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.media.base import multipart
from banjia.config import ProviderConfig
from banjia.context import Accounting, KeyInfo, RequestContext
from banjia.errors import APIError, UpstreamError, bad_request
from banjia.providers import HTTPProvider, Provider
from banjia.routing.router import Router, Target
from banjia.store._engine import Database
from banjia.store._text import clean, has_control
from banjia.store.keys import store_unavailable
from banjia.store.schema import batches, files
from banjia.tokens import estimate_messages, estimate_text
from banjia.vendors import DESCRIPTORS

__all__ = [
    "CLAIM_STALE",
    "COMPLETION_WINDOW",
    "ENDPOINTS",
    "LIST_LIMIT",
    "MAX_LINES",
    "BatchService",
    "Upstream",
    "batch_types",
    "read_jsonl",
    "snapshot",
]

log = logging.getLogger("banjia.batches")

# the endpoints a batch may run, as the client names them → the ledger's endpoint name
ENDPOINTS: Mapping[str, str] = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}
COMPLETION_WINDOW = "24h"  # the only window OpenAI (and every vendor here) offers
MAX_LINES = 50_000  # requests per batch (OpenAI's limit, and DashScope's and Zhipu's)
# seconds after which a settlement claimed by a replica that went quiet may be taken over
CLAIM_STALE = 300.0
LIST_LIMIT = 100  # batches per page of GET /v1/batches
_LIST_REFRESH = 4  # upstreams asked at once while a page is listed
_ERRORS_KEPT = 100  # of an upstream batch's errors[] (a failed validation names each line)

_STATUSES = frozenset({"validating", "failed", "in_progress", "finalizing", "completed", "expired",
                       "cancelling", "cancelled"})
_FINISHED = frozenset({"completed", "failed", "expired", "cancelled"})
# what some vendors call OpenAI's statuses (SiliconFlow queues batches as in_queue)
_STATUS_ALIASES = {"in_queue": "validating", "queued": "validating", "pending": "validating",
                   "running": "in_progress", "processing": "in_progress", "canceled": "cancelled",
                   "canceling": "cancelling", "succeeded": "completed", "success": "completed",
                   "error": "failed"}
_TIMES = ("in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
          "expired_at", "cancelling_at", "cancelled_at")


def batch_types() -> list[str]:
    """The provider types that run batches (their descriptors' ``batch`` capability)."""
    return sorted(t for t, d in DESCRIPTORS.items() if d.serves("batch"))


def _new(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


_last_ms = 0


def _new_batch_id() -> str:
    """``batch_`` + the creation time in milliseconds (hex) + random: ids sort as the batches
    were made, which is the order (and the cursor) of ``GET /v1/batches``."""
    global _last_ms
    _last_ms = max(time.time_ns() // 1_000_000, _last_ms + 1)
    return f"batch_{_last_ms:012x}{secrets.token_hex(6)}"


def _is_id(value: str) -> bool:
    """Whether ``value`` could be one of banjia's ids (anything else is not found, without asking
    the database, which would refuse a NUL)."""
    return 0 < len(value) <= 64 and not has_control(value)


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


# -- the file -----------------------------------------------------------------------------------


def read_jsonl(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a 400 names the first line that is not a
    JSON object."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise bad_request("The file is not UTF-8 text: a batch file is JSONL, one JSON object per "
                          "line.", param="file", code="invalid_file") from None
    out: list[tuple[int, dict[str, Any]]] = []
    # split on line feeds only: a JSON string may hold U+2028, which str.splitlines() splits on
    for n, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise bad_request(f"Line {n} of the file is not valid JSON (a batch file is JSONL, "
                              "one JSON object per line).", param="file",
                              code="invalid_file") from None
        if not isinstance(item, dict):
            raise bad_request(f"Line {n} of the file is not a JSON object.", param="file",
                              code="invalid_file")
        out.append((n, item))
        if len(out) > MAX_LINES:
            raise bad_request(f"The file has more than {MAX_LINES} requests, the most one batch "
                              "may hold; split it.", param="file", code="invalid_file")
    if not out:
        raise bad_request("The file holds no requests (one JSON object per line).", param="file",
                          code="invalid_file")
    return out


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # in the file, from 1
    custom_id: str
    model: str  # as the client named it
    body: dict[str, Any]


def _bad_line(n: int, message: str, code: str = "invalid_batch_line") -> APIError:
    return bad_request(f"Line {n} of the input file: {message}", param="input_file_id", code=code)


def check_lines(items: list[tuple[int, dict[str, Any]]], endpoint: str) -> list[Line]:
    """The batch's requests, each checked against OpenAI's input format
    (https://platform.openai.com/docs/api-reference/batch/request-input)."""
    seen: dict[str, int] = {}
    out: list[Line] = []
    for n, item in items:
        cid = item.get("custom_id")
        if not isinstance(cid, str) or not cid:
            raise _bad_line(n, "'custom_id' must be a non-empty string.")
        if cid in seen:
            raise _bad_line(n, f"custom_id '{clean(cid)[:64]}' repeats line {seen[cid]}; each "
                               "request needs its own.")
        seen[cid] = n
        method = item.get("method", "POST")
        if method != "POST":
            raise _bad_line(n, f"'method' must be POST, got {str(method)[:16]!r}.")
        url = item.get("url")
        if url != endpoint:
            shown = clean(url)[:100] if isinstance(url, str) else repr(url)[:100]
            raise _bad_line(n, f"'url' is '{shown}', but the batch's endpoint is '{endpoint}'; "
                               "every line must use it.")
        body = item.get("body")
        if not isinstance(body, dict):
            raise _bad_line(n, "'body' must be a JSON object (the request's body).")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise _bad_line(n, "'body.model' must name a model.", code="missing_model")
        if has_control(model) or len(model) > 200:
            raise _bad_line(n, "'body.model' must be a model name (at most 200 characters, no "
                               "control characters).")
        out.append(Line(n, cid, model, body))
    return out


def check_metadata(raw: object) -> dict[str, str] | None:
    """OpenAI's metadata: at most 16 string pairs, keys up to 64 and values up to 512 characters."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) > 16 or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
        for k, v in raw.items()
    ):
        raise bad_request("Invalid 'metadata': at most 16 pairs of strings, keys up to 64 and "
                          "values up to 512 characters.", param="metadata", code="invalid_value")
    return dict(raw) or None


# -- the upstream's batch -----------------------------------------------------------------------


def _seconds(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value / 1000) if value > 1e11 else int(value)  # some vendors count milliseconds


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def snapshot(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What banjia keeps of an upstream batch object: its status in OpenAI's words, its times,
    counts, result file ids and errors (nothing else the vendor adds)."""
    raw = str(obj.get("status") or "").lower()
    snap: dict[str, Any] = {"status": raw if raw in _STATUSES else _STATUS_ALIASES.get(raw, "in_progress")}
    for k in _TIMES:
        t = _seconds(obj.get(k))
        if t is not None:
            snap[k] = t
    counts = obj.get("request_counts")
    source = counts if isinstance(counts, Mapping) else obj  # Zhipu documents them at the top
    got = {k: _count(source.get(k)) for k in ("total", "completed", "failed")}
    if all(v is not None for v in got.values()):
        snap["request_counts"] = got
    for k in ("output_file_id", "error_file_id"):
        v = obj.get(k)
        if isinstance(v, str) and v:
            snap[k] = v
    errors = obj.get("errors")
    data = errors.get("data") if isinstance(errors, Mapping) else errors
    if isinstance(data, list):
        kept = []
        for e in data[:_ERRORS_KEPT]:
            if isinstance(e, Mapping):
                kept.append({
                    "code": _text(e.get("code"), 100),
                    "line": _count(e.get("line")),
                    "message": _text(e.get("message"), 1000),
                    "param": _text(e.get("param"), 100),
                })
        if kept:
            snap["errors"] = kept
    return snap


def _text(value: object, limit: int) -> str | None:
    return clean(str(value))[:limit] if value is not None else None


def _upstream_message(body: bytes) -> str:
    """The message of an upstream's error body, short and printable."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return clean(body[:300].decode("utf-8", "replace")).strip() or "no message"
    if isinstance(data, Mapping):
        err = data.get("error")
        for candidate in (err.get("message") if isinstance(err, Mapping) else err,
                          data.get("message"), data.get("msg")):
            if isinstance(candidate, str) and candidate:
                return clean(candidate)[:300]
    return "no message"


@runtime_checkable
class _Authorizing(Protocol):
    """What :class:`Upstream` uses of a provider's chat adaptor (the OpenAI-compatible, Zhipu and
    DashScope adaptors all have it)."""

    base_url: str

    def headers(self) -> dict[str, str]: ...


class Upstream:
    """One provider's Files and Batches APIs: OpenAI's shapes, with the vendors' few differences
    (Zhipu's ``/v4`` paths, SiliconFlow's wrapped file object, result files linked by URL)."""

    def __init__(self, provider: HTTPProvider, adaptor: _Authorizing) -> None:
        self.provider = provider
        self.name = provider.name
        # the chat adaptor's base URL and credentials (Zhipu's JWT, signed and cached there)
        self.adaptor = adaptor
        self.base = adaptor.base_url.rstrip("/")
        # Zhipu names its paths /v4/… in the batch's endpoint and in each line's url
        self.version = "/v4" if provider.type == "zhipu" else "/v1"

    def path(self, endpoint: str) -> str:
        """The vendor's name for one of :data:`ENDPOINTS`."""
        return self.version + endpoint.removeprefix("/v1")

    def _headers(self) -> dict[str, str]:
        headers = {k: v for k, v in self.adaptor.headers().items() if k.lower() != "content-type"}
        headers["Accept"] = "application/json"
        return headers

    async def _send(self, method: str, path: str, body: bytes = b"", content_type: str | None = None,
                    *, refusal_is_clients: bool = False) -> UpstreamResponse:
        if path.startswith(("https://", "http://")):  # a result file the vendor links to
            url, headers = path, {"Accept": "*/*"}
        else:
            url, headers = self.base + path, self._headers()
        if content_type:
            headers["Content-Type"] = content_type
        resp = await self.provider.fetch(UpstreamRequest(url, body, headers, method=method))
        if resp.status >= 300:
            raise self._refused(resp, refusal_is_clients)
        return resp

    def _refused(self, resp: UpstreamResponse, clients: bool) -> APIError:
        message = _upstream_message(resp.body)
        if resp.status == 429:
            retry = {k: v for k in ("retry-after",)
                     if (v := resp.headers.get(k)) is not None and v.isascii() and v.isprintable()}
            return APIError(429, f"Provider '{self.name}' is throttling its batch API: {message}",
                            type="rate_limit_error", code="rate_limit_exceeded", headers=retry)
        if clients and 400 <= resp.status < 500 and resp.status not in (401, 402, 403):
            return bad_request(f"Provider '{self.name}' refused the batch: {message}",
                               code="upstream_refused")
        return UpstreamError.broken(self.name, f"its batch API answered HTTP {resp.status}: {message}")

    def _object(self, resp: UpstreamResponse, what: str) -> dict[str, Any]:
        try:
            data = orjson.loads(resp.body)
        except orjson.JSONDecodeError:
            raise UpstreamError.broken(self.name, f"its {what} answer is not JSON") from None
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("data"), dict):
            if data.get("status") is False:  # SiliconFlow's refusal inside a 200
                raise bad_request(f"Provider '{self.name}' refused the batch: "
                                  f"{_upstream_message(resp.body)}", code="upstream_refused")
            data = data["data"]  # SiliconFlow wraps it: {code, message, status, data}
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise UpstreamError.broken(self.name, f"its {what} answer has no id")
        return data

    async def upload(self, content: bytes, filename: str) -> str:
        body, ctype = multipart({"purpose": "batch"}, ("file", filename, "application/jsonl", content))
        resp = await self._send("POST", "/files", body, ctype, refusal_is_clients=True)
        return str(self._object(resp, "file upload")["id"])

    async def create(self, file_id: str, endpoint: str, metadata: dict[str, str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"input_file_id": file_id, "endpoint": self.path(endpoint),
                                "completion_window": COMPLETION_WINDOW}
        if metadata:
            body["metadata"] = metadata
        resp = await self._send("POST", "/batches", orjson.dumps(body), "application/json",
                                refusal_is_clients=True)
        return self._object(resp, "batch")

    async def retrieve(self, batch_id: str) -> dict[str, Any]:
        return self._object(await self._send("GET", f"/batches/{quote(batch_id, safe='')}"), "batch")

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        resp = await self._send("POST", f"/batches/{quote(batch_id, safe='')}/cancel")
        return self._object(resp, "batch")

    async def content(self, file_id: str) -> bytes:
        if file_id.startswith(("https://", "http://")):
            return (await self._send("GET", file_id)).body
        return (await self._send("GET", f"/files/{quote(file_id, safe='')}/content")).body


# -- the service --------------------------------------------------------------------------------


class _Lost(Exception):
    """Another replica settled the batch first (its claim had lapsed and was taken over)."""


def file_object(row: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's File object (https://platform.openai.com/docs/api-reference/files/object)."""
    return {"id": row["id"], "object": "file", "bytes": row["bytes"], "created_at": row["created_at"],
            "filename": row["filename"], "purpose": row["purpose"], "status": "processed",
            "expires_at": None, "status_details": None}


class BatchService:
    """The Files and Batches endpoints over one runtime's router, providers and store."""

    def __init__(
        self,
        db: Database,
        *,
        router: Router,
        providers: Mapping[str, Provider],
        configs: Mapping[str, ProviderConfig],
        accounting: Accounting,
        flush: Callable[[], Awaitable[None]] | None = None,
        operator_disabled: Callable[[str], bool] = lambda _: False,
        instance_id: str | None = None,
    ) -> None:
        self.db = db
        self.router = router
        self.providers = providers
        self.configs = configs
        self.accounting = accounting
        self._flush = flush
        self._operator_disabled = operator_disabled
        self.instance_id = instance_id or _new("inst_")[:40]
        self._upstreams: dict[str, Upstream] = {}

    # -- the store ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _conn(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection (in a transaction when ``write``); a failing database is a 503."""
        try:
            async with self.db.write() if write else self.db.read() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise store_unavailable(e) from e

    async def _file(self, key: KeyInfo, file_id: str, param: str = "file_id") -> dict[str, Any]:
        row = None
        if _is_id(file_id):
            async with self._conn() as conn:
                row = (await conn.execute(select(files).where(
                    files.c.id == file_id, files.c.key_id == key.id))).first()
        if row is None:
            raise APIError(404, f"No such File object: {clean(file_id)[:100]}", param=param,
                           code="file_not_found")
        return dict(row._mapping)

    async def _batch(self, key: KeyInfo, batch_id: str) -> dict[str, Any]:
        row = None
        if _is_id(batch_id):
            async with self._conn() as conn:
                row = (await conn.execute(select(batches).where(
                    batches.c.id == batch_id, batches.c.key_id == key.id))).first()
        if row is None:
            raise APIError(404, f"No such Batch object: {clean(batch_id)[:100]}", param="batch_id",
                           code="batch_not_found")
        return dict(row._mapping)

    # -- files -------------------------------------------------------------------------------
    async def create_file(self, key: KeyInfo, filename: str, content: bytes) -> dict[str, Any]:
        read_jsonl(content)  # what cannot be a batch is refused now, not at batches.create
        row = {"id": _new("file-"), "key_id": key.id, "purpose": "batch",
               "filename": clean(filename or "batch.jsonl")[:255], "bytes": len(content),
               "created_at": int(time.time()), "batch_id": None, "content": content}
        async with self._conn(write=True) as conn:
            await conn.execute(files.insert().values(**row))
        return file_object(row)

    async def get_file(self, key: KeyInfo, file_id: str) -> dict[str, Any]:
        return file_object(await self._file(key, file_id))

    async def file_content(self, key: KeyInfo, file_id: str) -> bytes:
        content: bytes = (await self._file(key, file_id))["content"]
        return content

    async def list_files(self, key: KeyInfo, *, after: str | None, limit: int, order: str,
                         purpose: str | None) -> dict[str, Any]:
        """The key's files (https://platform.openai.com/docs/api-reference/files/list): by upload
        time, newest first unless ``order`` is "asc", ``limit`` per page after the file ``after``;
        banjia keeps batch files only, so another ``purpose`` lists nothing."""
        f = files.c
        columns = [f.id, f.bytes, f.created_at, f.filename, f.purpose]  # never the contents
        query = select(*columns).where(f.key_id == key.id)
        if purpose is not None:
            query = query.where(f.purpose == purpose)
        asc = order == "asc"
        if after:
            cursor = await self._file(key, after, param="after")  # not one of the key's files: 404
            at, ident = cursor["created_at"], cursor["id"]
            query = query.where(
                (f.created_at > at) | ((f.created_at == at) & (f.id > ident)) if asc
                else (f.created_at < at) | ((f.created_at == at) & (f.id < ident)))
        keys = (f.created_at, f.id) if asc else (f.created_at.desc(), f.id.desc())
        async with self._conn() as conn:
            rows = (await conn.execute(query.order_by(*keys).limit(limit + 1))).all()
        data = [file_object(dict(r._mapping)) for r in rows[:limit]]
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": len(rows) > limit}

    async def delete_file(self, key: KeyInfo, file_id: str) -> dict[str, Any]:
        await self._file(key, file_id)
        async with self._conn(write=True) as conn:
            await conn.execute(delete(files).where(files.c.id == file_id, files.c.key_id == key.id))
        return {"id": file_id, "object": "file", "deleted": True}

    # -- creating a batch --------------------------------------------------------------------
    def runs_batches(self, provider: str) -> bool:
        p = self.providers.get(provider)
        d = DESCRIPTORS.get(p.type) if p is not None else None
        return (isinstance(p, HTTPProvider) and d is not None and d.serves("batch")
                and provider in self.configs and not self._operator_disabled(provider))

    def _target(self, key: KeyInfo, line: Line) -> Target:
        """Where ``line``'s model runs as a batch: the first entry of its chain whose provider
        runs batches."""
        try:
            route = self.router.route(line.model)
        except APIError as e:
            raise _bad_line(line.number, e.message, e.code or "model_not_found") from None
        if not key.may_use(line.model):
            raise APIError(403, f"Line {line.number} of the input file: this API key is not "
                                f"allowed to use the model '{line.model}'.",
                           type="permission_error", code="model_not_allowed", param="input_file_id")
        for t in route.targets:
            if self.runs_batches(t.provider):
                return t
        chain = ", ".join(t.key for t in route.targets)
        raise _bad_line(
            line.number,
            f"no provider that runs batches serves the model '{line.model}' (its chain: {chain}). "
            "A batch runs on the vendor's own batch API, the only way it is billed at the batch "
            f"price; the provider types that have one: {', '.join(batch_types())}.",
            "model_not_batchable")

    def _plan(self, key: KeyInfo, lines: list[Line]) -> tuple[str, dict[str, Target]]:
        """The one provider that runs the batch, and each custom_id's target."""
        by_model: dict[str, Target] = {}
        plan: dict[str, Target] = {}
        first: tuple[Line, Target] | None = None
        for line in lines:
            t = by_model.get(line.model)
            if t is None:
                t = by_model[line.model] = self._target(key, line)
            if first is None:
                first = (line, t)
            elif t.provider != first[1].provider:
                raise bad_request(
                    f"A batch runs on one provider: line {first[0].number}'s model "
                    f"'{first[0].model}' runs on '{first[1].provider}', but line {line.number}'s "
                    f"model '{line.model}' runs on '{t.provider}'. Split the file by provider.",
                    param="input_file_id", code="mixed_providers")
            plan[line.custom_id] = t
        assert first is not None  # read_jsonl refuses an empty file
        return first[1].provider, plan

    def upstream(self, provider: str) -> Upstream:
        up = self._upstreams.get(provider)
        if up is not None:
            return up
        p = self.providers.get(provider)
        if (not isinstance(p, HTTPProvider) or provider not in self.configs
                or not isinstance(p.adaptor, _Authorizing)):
            raise APIError(502, f"The provider '{provider}' that runs this batch is no longer "
                                "configured.", type="upstream_error", code="upstream_unavailable")
        up = self._upstreams[provider] = Upstream(p, p.adaptor)
        return up

    async def create_batch(self, ctx: RequestContext, body: Mapping[str, Any]) -> dict[str, Any]:
        key = ctx.key
        assert key is not None
        file_id = body.get("input_file_id")
        if not isinstance(file_id, str) or not file_id:
            raise bad_request("Missing required parameter: 'input_file_id'.", param="input_file_id",
                              code="missing_required_parameter")
        endpoint = body.get("endpoint")
        if not isinstance(endpoint, str) or endpoint not in ENDPOINTS:
            raise bad_request(f"Invalid 'endpoint': banjia runs batches for {' and '.join(ENDPOINTS)}"
                              f" (got {clean(str(endpoint))[:100]!r}).", param="endpoint",
                              code="invalid_value")
        window = body.get("completion_window")
        if window != COMPLETION_WINDOW:
            raise bad_request(f"Invalid 'completion_window': only '{COMPLETION_WINDOW}' is supported "
                              f"(got {clean(str(window))[:32]!r}).", param="completion_window",
                              code="invalid_value")
        metadata = check_metadata(body.get("metadata"))
        source = await self._file(key, file_id, "input_file_id")
        if source["purpose"] != "batch":
            raise bad_request(f"The file {file_id} is not a batch input file (its purpose is "
                              f"'{source['purpose']}').", param="input_file_id", code="invalid_value")
        lines = check_lines(read_jsonl(source["content"]), endpoint)
        provider, plan = self._plan(key, lines)
        first = plan[lines[0].custom_id]
        ctx.model, ctx.provider, ctx.upstream_model = lines[0].model, provider, first.model
        ctx.provider_type = self.providers[provider].type
        # an exhausted key (or one over its RPM) starts nothing; the lines are billed as they come
        # back, at the batch price. media={}: what the admission prices is nothing made now
        ctx.media, ctx.prompt_tokens_estimate, ctx.max_output_tokens = {}, 0, 0
        await self.accounting.admit(ctx)
        up = self.upstream(provider)
        wire = b"".join(
            orjson.dumps({"custom_id": line.custom_id, "method": "POST", "url": up.path(endpoint),
                          "body": {**line.body, "model": plan[line.custom_id].model}}) + b"\n"
            for line in lines)
        uploaded = await up.upload(wire, str(source["filename"]))
        created = await up.create(uploaded, endpoint, metadata)
        snap = snapshot(created)
        lines_map = {line.custom_id: [line.number, line.model, plan[line.custom_id].model]
                     for line in lines}
        rec = {"id": _new_batch_id(), "key_id": key.id, "endpoint": endpoint,
               "input_file_id": file_id, "provider": provider, "provider_type": ctx.provider_type,
               "upstream_id": clean(str(created["id"]))[:200], "model": lines[0].model,
               "lines": _dumps(lines_map), "meta": _dumps(metadata) if metadata else None,
               "status": snap["status"], "snapshot": _dumps(snap), "request_total": len(lines),
               "created_at": int(time.time()), "claimed_by": None, "claimed_at": None,
               "settled_at": None, "output_file_id": None, "error_file_id": None}
        async with self._conn(write=True) as conn:
            await conn.execute(batches.insert().values(**rec))
        return self._object(rec)

    # -- the batch object --------------------------------------------------------------------
    def _object(self, rec: Mapping[str, Any], snap: Mapping[str, Any] | None = None,
                status: str | None = None) -> dict[str, Any]:
        """OpenAI's Batch object (https://platform.openai.com/docs/api-reference/batch/object),
        with banjia's ids."""
        if snap is None:
            snap = orjson.loads(rec["snapshot"])
        counts = snap.get("request_counts") or {"total": rec["request_total"], "completed": 0,
                                                "failed": 0}
        errors = snap.get("errors")
        obj: dict[str, Any] = {
            "id": rec["id"], "object": "batch", "endpoint": rec["endpoint"],
            "errors": {"object": "list", "data": errors} if errors else None,
            "input_file_id": rec["input_file_id"], "completion_window": COMPLETION_WINDOW,
            "status": status or rec["status"], "output_file_id": rec["output_file_id"],
            "error_file_id": rec["error_file_id"], "created_at": rec["created_at"],
            **{k: snap.get(k) for k in _TIMES},
            "request_counts": counts, "metadata": orjson.loads(rec["meta"]) if rec["meta"] else None,
            "model": rec["model"],
        }
        if obj["expires_at"] is None:
            obj["expires_at"] = rec["created_at"] + 24 * 3600
        return obj

    # -- following a batch -------------------------------------------------------------------
    async def retrieve(self, key: KeyInfo, batch_id: str) -> dict[str, Any]:
        return await self._refresh(await self._batch(key, batch_id))

    async def _refresh(self, rec: dict[str, Any], snap: dict[str, Any] | None = None) -> dict[str, Any]:
        """The batch as the upstream has it now (``snap``: what it has just said); a finished
        batch is settled once, by whichever replica claims it first."""
        if rec["settled_at"] is not None:
            return self._object(rec)
        if snap is None:
            snap = snapshot(await self.upstream(rec["provider"]).retrieve(rec["upstream_id"]))
        if snap["status"] == "completed" and not (snap.get("output_file_id") or snap.get("error_file_id")):
            # every line of a completed batch is in one of its files: they are not named yet
            snap = {**snap, "status": "finalizing"}
        if snap["status"] in _FINISHED:
            settled = await self._settle(rec, snap)
            if settled is None:  # another replica is settling it, or has just done so
                rec = await self._reload(rec["id"])
                if rec["settled_at"] is None:
                    return self._object(rec, snap, "finalizing")
                settled = rec
            return self._object(settled)
        b = batches.c
        async with self._conn(write=True) as conn:
            await conn.execute(update(batches).where(b.id == rec["id"], b.settled_at.is_(None))
                               .values(status=snap["status"], snapshot=_dumps(snap)))
        return self._object({**rec, "status": snap["status"]}, snap)

    async def _reload(self, batch_id: str) -> dict[str, Any]:
        async with self._conn() as conn:
            row = (await conn.execute(select(batches).where(batches.c.id == batch_id))).one()
        return dict(row._mapping)

    async def _settle(self, rec: dict[str, Any], snap: dict[str, Any]) -> dict[str, Any] | None:
        """Claim the finished batch's settlement (a conditional UPDATE: one replica wins) and
        settle it; None when another replica holds the claim or settled it."""
        now = time.time()
        b = batches.c
        async with self._conn(write=True) as conn:
            claimed = await conn.execute(
                update(batches).where(
                    b.id == rec["id"], b.settled_at.is_(None),
                    or_(b.claimed_by.is_(None), b.claimed_at < now - CLAIM_STALE),
                ).values(claimed_by=self.instance_id, claimed_at=now))
        if claimed.rowcount != 1:
            return None
        try:
            return await self._settle_claimed(rec, snap)
        except _Lost:
            return None
        except BaseException:
            # give the claim back: the next poll, here or on another replica, tries again (the
            # ledger rows already written are keyed by line, so none is written twice)
            with contextlib.suppress(Exception):
                async with self._conn(write=True) as conn:
                    await conn.execute(update(batches).where(
                        b.id == rec["id"], b.claimed_by == self.instance_id, b.settled_at.is_(None),
                    ).values(claimed_by=None, claimed_at=None))
            raise

    async def _settle_claimed(self, rec: dict[str, Any], snap: dict[str, Any]) -> dict[str, Any]:
        up = self.upstream(rec["provider"])
        out_id, err_id = snap.get("output_file_id"), snap.get("error_file_id")
        output = await up.content(out_id) if out_id else b""
        errors = await up.content(err_id) if err_id else b""
        lines: dict[str, list[Any]] = orjson.loads(rec["lines"])
        answers = _Answers(self, rec, lines)
        shown_output = await answers.read(output, bill=True)
        shown_errors = await answers.read(errors, bill=False)
        for ctx in answers.billed:
            self.accounting.record(ctx)
        if self._flush is not None:
            await self._flush()  # the rows are in the database before the batch says completed
        now = int(time.time())
        made = []
        for content, suffix in ((shown_output, "output"), (shown_errors, "error")):
            if content:
                made.append({"id": _new("file-"), "key_id": rec["key_id"], "purpose": "batch_output",
                             "filename": f"{rec['id']}_{suffix}.jsonl", "bytes": len(content),
                             "created_at": now, "batch_id": rec["id"], "content": content})
        out_file = made[0]["id"] if shown_output else None
        err_file = made[-1]["id"] if shown_errors else None
        final = {**snap, "request_counts": snap.get("request_counts") or {
            "total": rec["request_total"], "completed": len(answers.billed),
            "failed": answers.failed}}
        final.setdefault({"completed": "completed_at", "failed": "failed_at",
                          "expired": "expired_at", "cancelled": "cancelled_at"}[snap["status"]], now)
        values = {"settled_at": now, "status": snap["status"], "snapshot": _dumps(final),
                  "output_file_id": out_file, "error_file_id": err_file}
        b = batches.c
        async with self._conn(write=True) as conn:
            done = await conn.execute(update(batches).where(
                b.id == rec["id"], b.claimed_by == self.instance_id, b.settled_at.is_(None),
            ).values(**values))
            if done.rowcount != 1:
                raise _Lost
            for row in made:
                await conn.execute(files.insert().values(**row))
        log.info("batch %s settled: %d answered lines billed at the batch rate, %d failed",
                 rec["id"], len(answers.billed), answers.failed)
        return {**rec, **values}

    async def cancel(self, key: KeyInfo, batch_id: str) -> dict[str, Any]:
        rec = await self._batch(key, batch_id)
        if rec["settled_at"] is not None or rec["status"] in _FINISHED:
            raise bad_request(f"Cannot cancel a batch with status '{rec['status']}'.",
                              param="batch_id", code="batch_not_cancellable")
        snap = snapshot(await self.upstream(rec["provider"]).cancel(rec["upstream_id"]))
        return await self._refresh(rec, snap)

    async def list_batches(self, key: KeyInfo, after: str | None, limit: int) -> dict[str, Any]:
        b = batches.c
        query = select(batches).where(b.key_id == key.id)
        if after:
            await self._batch(key, after)  # a cursor that is not one of the key's batches: 404
            query = query.where(b.id < after)
        query = query.order_by(b.id.desc()).limit(limit + 1)  # newest first (see _new_batch_id)
        async with self._conn() as conn:
            rows = [dict(r._mapping) for r in (await conn.execute(query)).all()]
        more = len(rows) > limit
        rows = rows[:limit]
        gate = asyncio.Semaphore(_LIST_REFRESH)

        async def shown(rec: dict[str, Any]) -> dict[str, Any]:
            if rec["settled_at"] is not None:
                return self._object(rec)
            async with gate:
                try:
                    return await self._refresh(rec)
                except APIError as e:  # a listing shows what is known; retrieve says what failed
                    log.warning("batch %s: its upstream could not be asked while listing: %s",
                                rec["id"], e.message)
                    return self._object(rec)

        data = list(await asyncio.gather(*(shown(r) for r in rows)))
        return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None, "has_more": more}


def _answer_text(body: Mapping[str, Any]) -> str:
    parts = []
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            parts.append(content)
    return "".join(parts)


def _created(value: object, rec: Mapping[str, Any], now: float) -> float:
    """When an answer was made: its ``created`` when plausible, else now (prices in bands are
    those of the time the vendor ran the line)."""
    t = _seconds(value)
    return float(t) if t is not None and rec["created_at"] - 60 <= t <= now + 60 else now


class _Answers:
    """Reads a result file: each line's ``model`` shown as the client named it, and (for the
    output file) one ledger row per answered line."""

    def __init__(self, service: BatchService, rec: Mapping[str, Any], lines: Mapping[str, list[Any]]) -> None:
        self.service = service
        self.rec = rec
        self.lines = lines
        self.billed: list[RequestContext] = []
        self.failed = 0
        self._seen: set[str] = set()
        self._inputs: dict[str, dict[str, Any]] | None = None
        self._now = time.time()

    async def read(self, data: bytes, *, bill: bool) -> bytes:
        shown = bytearray()
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                item = orjson.loads(raw)
            except orjson.JSONDecodeError:
                log.warning("batch %s: a result line is not JSON; served as it came", self.rec["id"])
                shown += raw.rstrip(b"\r") + b"\n"
                continue
            if not isinstance(item, dict):
                shown += raw.rstrip(b"\r") + b"\n"
                continue
            cid = item.get("custom_id")
            entry = self.lines.get(cid) if isinstance(cid, str) else None
            response = item.get("response")
            body = response.get("body") if isinstance(response, dict) else None
            if entry is not None and isinstance(body, dict) and "model" in body:
                body["model"] = entry[1]  # the name the client sent
            shown += orjson.dumps(item) + b"\n"
            status = response.get("status_code") if isinstance(response, dict) else None
            answered = (entry is not None and isinstance(body, dict) and not item.get("error")
                        and status in (200, None) and "error" not in body)
            if not answered or not bill:
                self.failed += 1
                continue
            assert isinstance(cid, str) and isinstance(body, dict) and entry is not None
            if cid not in self._seen:  # a line answered twice is billed once
                self._seen.add(cid)
                self.billed.append(await self._row(cid, entry, body))
        return bytes(shown)

    async def _row(self, cid: str, entry: list[Any], body: dict[str, Any]) -> RequestContext:
        rec = self.rec
        number, asked, upstream = int(entry[0]), str(entry[1]), str(entry[2])
        ctx = RequestContext(request_id=f"{rec['id']}-{number}", endpoint=ENDPOINTS[rec["endpoint"]],
                             key=KeyInfo(id=rec["key_id"], name=""), model=asked, batch=True)
        ctx.provider, ctx.provider_type, ctx.upstream_model = rec["provider"], rec["provider_type"], upstream
        ctx.started_at = _created(body.get("created"), rec, self._now)
        usage = body.get("usage")
        if isinstance(usage, dict) and usage:
            ctx.usage = usage
        else:  # the vendor reported none: counted here, and the row says so
            prompt = await self._estimate_prompt(cid)
            completion = estimate_text(_answer_text(body))
            ctx.usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                         "total_tokens": prompt + completion}
            ctx.usage_estimated = True
        return ctx

    async def _estimate_prompt(self, cid: str) -> int:
        if self._inputs is None:
            self._inputs = {}
            async with self.service._conn() as conn:
                row = (await conn.execute(select(files.c.content).where(
                    files.c.id == self.rec["input_file_id"]))).first()
            if row is not None:  # the client may have deleted its input file since
                with contextlib.suppress(APIError):
                    for _, item in read_jsonl(row[0]):
                        if isinstance(item.get("custom_id"), str) and isinstance(item.get("body"), dict):
                            self._inputs[item["custom_id"]] = item["body"]
        body = self._inputs.get(cid) or {}
        messages = body.get("messages")
        if isinstance(messages, list):
            return estimate_messages(messages)
        given = body.get("input")  # an embeddings line: a string or a list of them
        texts = [given] if isinstance(given, str) else given if isinstance(given, list) else []
        return sum(estimate_text(t) for t in texts if isinstance(t, str))
