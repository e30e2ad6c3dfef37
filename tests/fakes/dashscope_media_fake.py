"""A fake DashScope (Alibaba Bailian) media API on 127.0.0.1: Wanx / Qwen-Image tasks, CosyVoice and
Qwen-TTS, Qwen-ASR, text rerank. Written from the vendor's API references:

* text-to-image (asynchronous only: without ``X-DashScope-Async: enable`` it answers 403
  ``AccessDenied`` "current user api does not support synchronous calls"):
  https://help.aliyun.com/zh/model-studio/text-to-image-v2-api-reference — ``POST
  /api/v1/services/aigc/text2image/image-synthesis`` → ``{output: {task_id, task_status:
  PENDING}, request_id}``; ``GET /api/v1/tasks/{id}`` → PENDING / RUNNING / SUCCEEDED (``results[]
  .url``, ``task_metrics``, ``usage.image_count``) / FAILED (``output.code``, ``output.message``) /
  UNKNOWN; ``POST /api/v1/tasks/{id}/cancel``.
* CosyVoice HTTP: https://help.aliyun.com/zh/model-studio/cosyvoice-tts-http-api — ``input:
  {text, voice, format, sample_rate, rate}`` → ``output.audio.url``, ``usage.characters``.
* Qwen-TTS and Qwen-ASR on ``/api/v1/services/aigc/multimodal-generation/generation``:
  https://help.aliyun.com/zh/model-studio/qwen-tts-api,
  https://help.aliyun.com/zh/model-studio/qwen-asr-api-reference — TTS ``input: {text, voice}`` →
  ``output.audio.url`` (WAV); ASR ``input.messages`` with ``{audio: data URI}`` →
  ``output.choices[0].message.content[0].text``, ``annotations[{language}]``, ``usage.seconds``.
* Rerank: https://help.aliyun.com/zh/model-studio/text-rerank-api — ``input: {query, documents}``,
  ``parameters: {top_n, return_documents}`` → ``output.results[{index, relevance_score}]``,
  ``usage.total_tokens``.

Errors are ``{code, message, request_id}`` with a real HTTP status (401 ``InvalidApiKey``, 400
``InvalidParameter``). The prompt picks a task's fate: ``moderate me`` (FAILED,
``DataInspectionFailed``), ``crash`` (FAILED, ``InternalError``), ``never finish`` (RUNNING for
ever); any other prompt succeeds after ``polls`` polls. Scores are word overlaps with the query.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import math
import wave
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.media_files import PNG, Files, audio

API_KEY = "sk-dashscope-media-fake"
IMAGE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
TTS_PATH = "/api/v1/services/audio/tts/SpeechSynthesizer"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
RERANK_PATH = "/api/v1/services/rerank/text-rerank/text-rerank"
ASR_TEXT = "the quick brown fox"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeTask:
    id: str
    prompt: str
    n: int
    polls: int = 0
    status: str = "PENDING"


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "request_id": "fake-err"}, status=status)


def scores(query: str, documents: list[str]) -> list[float]:
    """Word overlap of each document with the query (what the rerank fakes answer)."""
    words = set(query.lower().split())
    return [len(words & set(d.lower().split())) / max(len(words), 1) for d in documents]


class FakeDashScopeMedia:
    def __init__(self, polls: int = 1) -> None:
        self.polls = polls  # polls a task answers RUNNING before it succeeds
        self.state = State()
        self.files = Files()
        self._ids = itertools.count(1)
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        r = self.app.router
        r.add_post(IMAGE_PATH, self.image)
        r.add_get("/api/v1/tasks/{id}", self.task)
        r.add_post("/api/v1/tasks/{id}/cancel", self.cancel)
        r.add_post(TTS_PATH, self.cosyvoice)
        r.add_post(MULTIMODAL_PATH, self.multimodal)
        r.add_post(RERANK_PATH, self.rerank)
        self.files.route(self.app)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    def submitted(self) -> list[Seen]:
        return [s for s in self.state.requests if s.path == IMAGE_PATH]

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "InvalidApiKey", "Invalid API-key provided.")
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return _error(400, "InvalidParameter", "Request body is not valid JSON")
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.state.requests.append(Seen(request.path, headers, body))
        return body  # type: ignore[no-any-return]

    # -- images -------------------------------------------------------------------------------
    async def image(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        if request.headers.get("X-DashScope-Async") != "enable":
            return _error(403, "AccessDenied", "current user api does not support synchronous calls")
        prompt = (body.get("input") or {}).get("prompt")
        params = body.get("parameters") or {}
        n = params.get("n", 1)
        if not isinstance(prompt, str) or not prompt:
            return _error(400, "InvalidParameter", "Field required: input.prompt")
        if not isinstance(n, int) or not 1 <= n <= 4:
            return _error(400, "InvalidParameter", "n should be in [1, 4]")
        size = params.get("size", "1024*1024")
        if not isinstance(size, str) or "*" not in size:
            return _error(400, "InvalidParameter", f"size {size!r} should be like 1024*1024")
        task = FakeTask(f"task-{next(self._ids)}", prompt, n)
        self.state.tasks[task.id] = task
        return web.json_response({"output": {"task_status": "PENDING", "task_id": task.id},
                                  "request_id": "fake-req"})

    async def task(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        task = self.state.tasks.get(request.match_info["id"])
        if task is None:
            return web.json_response({"output": {"task_id": request.match_info["id"],
                                                 "task_status": "UNKNOWN"}, "request_id": "fake-req"})
        out: dict[str, Any] = {"task_id": task.id}
        if task.status == "CANCELED":
            out["task_status"] = "CANCELED"
        elif "never finish" in task.prompt or task.polls < self.polls:
            task.polls += 1
            task.status = out["task_status"] = "RUNNING"
        elif "moderate me" in task.prompt:
            task.status = out["task_status"] = "FAILED"
            out.update(code="DataInspectionFailed", message="Input data may contain inappropriate content.")
        elif "crash" in task.prompt:
            task.status = out["task_status"] = "FAILED"
            out.update(code="InternalError", message="Internal server error!")
        else:
            task.status = out["task_status"] = "SUCCEEDED"
            out["results"] = [
                {"url": self.files.add(request, PNG, "png", "image/png"), "orig_prompt": task.prompt,
                 "actual_prompt": task.prompt + ", detailed"}
                for _ in range(task.n)
            ]
            out["task_metrics"] = {"TOTAL": task.n, "SUCCEEDED": task.n, "FAILED": 0}
            return web.json_response({"output": out, "usage": {"image_count": task.n},
                                      "request_id": "fake-req"})
        return web.json_response({"output": out, "request_id": "fake-req"})

    async def cancel(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        task = self.state.tasks.get(request.match_info["id"])
        if task is None or task.status not in ("PENDING", "RUNNING"):
            return _error(400, "UnsupportedOperation", "Failed to cancel the task, please confirm "
                                                       "if the task is in PENDING status.")
        task.status = "CANCELED"
        self.state.cancelled.append(task.id)
        return web.json_response({"request_id": "fake-req"})

    # -- speech -------------------------------------------------------------------------------
    async def cosyvoice(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        inp = body.get("input") or {}
        text, voice, fmt = inp.get("text"), inp.get("voice"), inp.get("format", "mp3")
        if not str(body.get("model", "")).startswith("cosyvoice"):
            return _error(400, "InvalidParameter", "Model not exist.")
        if not isinstance(text, str) or not text or not isinstance(voice, str) or not voice:
            return _error(400, "InvalidParameter", "input.text and input.voice are required")
        if fmt not in ("mp3", "wav", "pcm", "opus"):
            return _error(400, "InvalidParameter", f"format {fmt} is not supported")
        rate = inp.get("rate", 1.0)
        if not isinstance(rate, int | float) or not 0.5 <= rate <= 2.0:
            return _error(400, "InvalidParameter", "rate should be in [0.5, 2.0]")
        url = self.files.add(request, audio(fmt, text), fmt, "application/octet-stream")
        return web.json_response({
            "output": {"finish_reason": "stop", "audio": {"url": url, "id": "audio-1", "expires_at": 0}},
            "usage": {"characters": len(text)},
            "request_id": "fake-req",
        })

    # -- Qwen-TTS and Qwen-ASR ----------------------------------------------------------------
    async def multimodal(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        model = str(body.get("model", ""))
        if "tts" in model:
            inp = body.get("input") or {}
            if not isinstance(inp.get("text"), str) or not isinstance(inp.get("voice"), str):
                return _error(400, "InvalidParameter", "input.text and input.voice are required")
            url = self.files.add(request, audio("wav", inp["text"]), "wav", "audio/wav")
            return web.json_response({"output": {"finish_reason": "stop", "audio": {"url": url, "data": ""}},
                                      "usage": {"input_tokens": 10, "output_tokens": 100},
                                      "request_id": "fake-req"})
        if "asr" not in model:
            return _error(400, "InvalidParameter", "Model not exist.")
        return self._asr(body)

    def _asr(self, body: dict[str, Any]) -> web.Response:
        messages = (body.get("input") or {}).get("messages") or []
        clip = None
        for m in messages:
            for part in m.get("content") or () if isinstance(m, dict) else ():
                if isinstance(part, dict) and isinstance(part.get("audio"), str):
                    clip = part["audio"]
        if clip is None or not clip.startswith("data:") or ";base64," not in clip:
            return _error(400, "InvalidParameter", "The audio is missing or is not a data URI")
        try:
            raw = base64.b64decode(clip.split(";base64,", 1)[1], validate=True)
            with wave.open(io.BytesIO(raw)) as w:
                seconds = w.getnframes() / w.getframerate()
        except (binascii.Error, wave.Error, EOFError):
            return _error(400, "InvalidParameter", "The audio file could not be decoded")
        options = (body.get("parameters") or {}).get("asr_options") or {}
        language = options.get("language") or "en"
        return web.json_response({
            "output": {"choices": [{"finish_reason": "stop", "message": {
                "role": "assistant",
                "annotations": [{"type": "audio_info", "language": language, "emotion": "neutral"}],
                "content": [{"text": ASR_TEXT}],
            }}]},
            "usage": {"input_tokens_details": {"text_tokens": 0}, "output_tokens_details": {"text_tokens": 4},
                      "seconds": math.ceil(seconds)},
            "request_id": "fake-req",
        })

    # -- rerank -------------------------------------------------------------------------------
    async def rerank(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        inp = body.get("input") or {}
        query, docs = inp.get("query"), inp.get("documents")
        if not isinstance(query, str) or not isinstance(docs, list) or not docs:
            return _error(400, "InvalidParameter", "input.query and input.documents are required")
        top_n = (body.get("parameters") or {}).get("top_n", len(docs))
        ranked = sorted(enumerate(scores(query, docs)), key=lambda p: p[1], reverse=True)[:top_n]
        tokens = len(query.split()) + sum(len(d.split()) for d in docs)
        return web.json_response({
            "output": {"results": [{"index": i, "relevance_score": s} for i, s in ranked]},
            "usage": {"total_tokens": tokens},
            "request_id": "fake-req",
        })
