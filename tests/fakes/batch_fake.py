"""A fake vendor Files + Batches API on 127.0.0.1, from OpenAI's API reference and the vendors'
OpenAI-compatible copies of it:

* ``POST /files`` multipart ``purpose=batch`` and ``file`` (JSONL) → the File object;
  ``GET /files/{id}``, ``GET /files/{id}/content``, ``DELETE /files/{id}``.
  https://platform.openai.com/docs/api-reference/files
* ``POST /batches`` ``{input_file_id, endpoint, completion_window: "24h", metadata}`` → the Batch
  object; ``GET /batches/{id}``, ``GET /batches``, ``POST /batches/{id}/cancel``.
  https://platform.openai.com/docs/api-reference/batch
* Output file lines ``{id, custom_id, response: {status_code, request_id, body}, error: null}``;
  error file lines ``{id, custom_id, response: null, error: {code, message}}``.
  https://platform.openai.com/docs/guides/batch

Flavours (``flavor``): ``openai`` (base ``/v1``), ``dashscope`` (``/compatible-mode/v1``, file ids
``file-batch-…``), ``zhipu`` (``/api/paas/v4``; the endpoint and each line's url are
``/v4/chat/completions`` — https://docs.bigmodel.cn/cn/guide/tools/batch) and ``siliconflow``
(``/v1``; the file object comes inside ``{code, message, status, data}`` and a new batch is
``in_queue`` — https://docs.siliconflow.cn/cn/api-reference/batch/upload-file,
https://docs.siliconflow.cn/cn/api-reference/batch/create-batch).

A batch completes on the ``complete_after``-th time it is retrieved: each line is answered then
("echo: " and the last user text; usage counts words, as the OpenAI-dialect fake does), and a line
without ``messages`` (chat) or ``input`` (embeddings) goes to the error file. A line whose url or
``body.model`` is wrong fails the whole batch (``failed``, with ``errors``), as OpenAI's validation
does. Every request must carry ``Authorization: Bearer <API_KEY>``. ``hold_content`` holds file
downloads (each counted in ``state.downloads`` first) until ``release()``, for tests of
concurrent settlement.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-batch-fake"
_PREFIX = {"openai": "/v1", "dashscope": "/compatible-mode/v1", "zhipu": "/api/paas/v4",
           "siliconflow": "/v1"}


@dataclass
class Seen:
    method: str
    path: str
    body: Any


@dataclass
class FakeBatch:
    obj: dict[str, Any]
    polls: int = 0


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    content: dict[str, bytes] = field(default_factory=dict)
    batches: dict[str, FakeBatch] = field(default_factory=dict)
    downloads: Counter[str] = field(default_factory=Counter)  # file id → content downloads


def _error(status: int, message: str, code: str = "invalid_request") -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                        "param": None, "code": code}}, status=status)


def _words(text: str) -> list[str]:
    return text.split()


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


class FakeBatches:
    def __init__(self, flavor: str = "openai", *, complete_after: int = 2) -> None:
        self.flavor = flavor
        self.complete_after = complete_after
        self.version = "/v4" if flavor == "zhipu" else "/v1"
        # while set, a file download is counted and then held until release()
        self.hold_content = False
        self._held: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()
        self.state = State()
        self.app = web.Application(client_max_size=64 * 1024 * 1024,
                                   middlewares=[self._auth])
        p = _PREFIX[flavor]
        r = self.app.router
        r.add_post(f"{p}/files", self.upload)
        r.add_get(f"{p}/files/{{id}}", self.get_file)
        r.add_delete(f"{p}/files/{{id}}", self.delete_file)
        r.add_get(f"{p}/files/{{id}}/content", self.content)
        r.add_post(f"{p}/batches", self.create)
        r.add_get(f"{p}/batches", self.list_batches)
        r.add_get(f"{p}/batches/{{id}}", self.retrieve)
        r.add_post(f"{p}/batches/{{id}}/cancel", self.cancel)

    def release(self) -> None:
        """Stop holding downloads, and let the held ones finish."""
        with self._lock:
            self.hold_content = False
            for loop, gate in self._held:
                loop.call_soon_threadsafe(gate.set)
            self._held.clear()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        response: web.StreamResponse = await handler(request)
        return response

    # -- files ---------------------------------------------------------------------------------
    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.state.requests.append(Seen("POST", request.path, dict(form)))
        upload = form.get("file")
        if form.get("purpose") != "batch" or not isinstance(upload, web.FileField):
            return _error(400, "purpose must be 'batch' and the file must be in 'file'")
        data = upload.file.read()
        fid = ("file-batch-" if self.flavor == "dashscope" else "file-") + secrets.token_hex(8)
        obj = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
               "filename": upload.filename, "purpose": "batch", "status": "processed"}
        self.state.files[fid] = obj
        self.state.content[fid] = data
        if self.flavor == "siliconflow":
            return web.json_response({"code": 20000, "message": "Ok", "status": True, "data": obj})
        return web.json_response(obj)

    async def get_file(self, request: web.Request) -> web.Response:
        obj = self.state.files.get(request.match_info["id"])
        return web.json_response(obj) if obj else _error(404, "No such File object")

    async def delete_file(self, request: web.Request) -> web.Response:
        fid = request.match_info["id"]
        if self.state.files.pop(fid, None) is None:
            return _error(404, "No such File object")
        return web.json_response({"id": fid, "object": "file", "deleted": True})

    async def content(self, request: web.Request) -> web.Response:
        fid = request.match_info["id"]
        self.state.requests.append(Seen("GET", request.path, None))
        if fid not in self.state.content:
            return _error(404, "No such File object")
        self.state.downloads[fid] += 1
        with self._lock:  # release() (from the test's thread) sets every gate held so far
            gate = asyncio.Event() if self.hold_content else None
            if gate is not None:
                self._held.append((asyncio.get_running_loop(), gate))
        if gate is not None:
            await gate.wait()
        return web.Response(body=self.state.content[fid], content_type="application/octet-stream")

    def _store(self, lines: list[dict[str, Any]], name: str) -> str | None:
        if not lines:
            return None
        data = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        fid = "file-" + secrets.token_hex(8)
        self.state.files[fid] = {"id": fid, "object": "file", "bytes": len(data),
                                 "created_at": int(time.time()), "filename": name,
                                 "purpose": "batch_output", "status": "processed"}
        self.state.content[fid] = data
        return fid

    # -- batches -------------------------------------------------------------------------------
    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.state.requests.append(Seen("POST", request.path, body))
        endpoints = {f"{self.version}/chat/completions", f"{self.version}/embeddings"}
        if body.get("endpoint") not in endpoints:
            return _error(400, f"endpoint must be one of {sorted(endpoints)}")
        if body.get("input_file_id") not in self.state.files:
            return _error(400, "input_file_id: no such file")
        if body.get("completion_window") != "24h":
            return _error(400, "completion_window must be 24h")
        now = int(time.time())
        lines = self.state.content[body["input_file_id"]].count(b"\n")
        obj: dict[str, Any] = {
            "id": "batch_" + secrets.token_hex(8), "object": "batch", "endpoint": body["endpoint"],
            "errors": None, "input_file_id": body["input_file_id"], "completion_window": "24h",
            "status": "in_queue" if self.flavor == "siliconflow" else "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None,
            "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None,
            "cancelled_at": None, "request_counts": {"total": lines, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self.state.batches[obj["id"]] = FakeBatch(obj)
        return web.json_response(obj)

    async def retrieve(self, request: web.Request) -> web.Response:
        b = self.state.batches.get(request.match_info["id"])
        if b is None:
            return _error(404, "No such batch")
        b.polls += 1
        status = b.obj["status"]
        if status == "cancelling":
            b.obj.update(status="cancelled", cancelled_at=int(time.time()))
        elif status not in ("completed", "failed", "cancelled", "expired"):
            if b.polls >= self.complete_after:
                self._run(b)
            else:
                b.obj.update(status="in_progress", in_progress_at=b.obj["in_progress_at"] or int(time.time()))
        return web.json_response(b.obj)

    async def list_batches(self, request: web.Request) -> web.Response:
        data = [b.obj for b in self.state.batches.values()]
        return web.json_response({"object": "list", "data": data, "has_more": False,
                                  "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})

    async def cancel(self, request: web.Request) -> web.Response:
        b = self.state.batches.get(request.match_info["id"])
        if b is None:
            return _error(404, "No such batch")
        if b.obj["status"] in ("completed", "failed", "cancelled", "expired"):
            return _error(400, f"Cannot cancel a batch with status '{b.obj['status']}'.")
        b.obj.update(status="cancelling", cancelling_at=int(time.time()))
        return web.json_response(b.obj)

    # -- running a batch -----------------------------------------------------------------------
    def _run(self, b: FakeBatch) -> None:
        now = int(time.time())
        endpoint = b.obj["endpoint"]
        raw = self.state.content[b.obj["input_file_id"]].decode()
        items = [json.loads(x) for x in raw.split("\n") if x.strip()]
        errors = [{"code": "invalid_url", "line": n, "message": f"url must be {endpoint}", "param": "url"}
                  for n, x in enumerate(items, 1) if x.get("url") != endpoint]
        errors += [{"code": "missing_model", "line": n, "message": "body.model is required",
                    "param": "body.model"}
                   for n, x in enumerate(items, 1) if not isinstance((x.get("body") or {}).get("model"), str)]
        if errors:
            b.obj.update(status="failed", failed_at=now, errors={"object": "list", "data": errors})
            return
        answered, failed = [], []
        for x in items:
            body = self._answer(endpoint, x["body"], now)
            rid = "req_" + secrets.token_hex(6)
            if body is None:
                failed.append({"id": "batch_req_" + secrets.token_hex(6), "custom_id": x["custom_id"],
                               "response": None,
                               "error": {"code": "invalid_request", "message": "the request has no input"}})
            else:
                answered.append({"id": "batch_req_" + secrets.token_hex(6), "custom_id": x["custom_id"],
                                 "response": {"status_code": 200, "request_id": rid, "body": body},
                                 "error": None})
        b.obj.update(
            status="completed", in_progress_at=b.obj["in_progress_at"] or now, finalizing_at=now,
            completed_at=now, output_file_id=self._store(answered, "output.jsonl"),
            error_file_id=self._store(failed, "errors.jsonl"),
            request_counts={"total": len(items), "completed": len(answered), "failed": len(failed)})

    def _answer(self, endpoint: str, body: dict[str, Any], now: int) -> dict[str, Any] | None:
        if endpoint.endswith("/embeddings"):
            given = body.get("input")
            texts = [given] if isinstance(given, str) else given if isinstance(given, list) else []
            if not texts:
                return None
            tokens = sum(len(_words(str(t))) for t in texts)
            return {"object": "list", "model": body["model"],
                    "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                             for i in range(len(texts))],
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return None
        prompt = sum(len(_words(_text(m.get("content")))) for m in messages if isinstance(m, dict))
        last = next((_text(m.get("content")) for m in reversed(messages)
                     if isinstance(m, dict) and m.get("role") == "user"), "")
        answer = ["echo:", *_words(last)]
        return {"id": "chatcmpl-" + secrets.token_hex(6), "object": "chat.completion", "created": now,
                "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": " ".join(answer)}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": len(answer),
                          "total_tokens": prompt + len(answer)}}
