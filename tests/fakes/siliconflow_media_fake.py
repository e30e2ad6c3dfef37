"""A fake SiliconFlow media API on 127.0.0.1 (base ``/v1``), from its API reference:

* ``POST /images/generations`` ``{model, prompt, image_size, batch_size (Kolors only, 1..4),
  seed, num_inference_steps, guidance_scale, negative_prompt}`` → ``{images: [{url}], timings:
  {inference}, seed}``. https://docs.siliconflow.cn/cn/api-reference/images/images-generations
* ``POST /audio/speech`` ``{model, input, voice ("model:name"), response_format (mp3, opus, wav,
  pcm), sample_rate, stream, speed (0.25..4), gain}`` → the audio bytes.
  https://docs.siliconflow.cn/cn/api-reference/audio/create-speech
* ``POST /audio/transcriptions`` multipart ``file``, ``model`` → ``{text}``.
  https://docs.siliconflow.cn/cn/api-reference/audio/create-audio-transcriptions
* ``POST /rerank`` ``{model, query, documents, top_n, return_documents}`` → ``{id, results:
  [{index, relevance_score, document?}], tokens: {input_tokens, output_tokens}}``.
  https://docs.siliconflow.cn/cn/api-reference/rerank/create-rerank

Errors are ``{code, message, data}`` with the HTTP status (401 for a bad key; 400 code 20015 for a
bad parameter). The model ``overloaded`` answers 503 (code 50505) on every path.
"""

from __future__ import annotations

import io
import json
import wave
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.dashscope_media_fake import scores
from tests.fakes.media_files import PNG, Files, audio

API_KEY = "sk-siliconflow-media-fake"
SENSEVOICE_TEXT = "hello from sensevoice"
_SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/opus", "wav": "audio/wav", "pcm": "audio/pcm"}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class State:
    requests: list[Seen] = field(default_factory=list)


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "data": None}, status=status)


class FakeSiliconFlowMedia:
    def __init__(self) -> None:
        self.state = State()
        self.files = Files()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        r = self.app.router
        r.add_post("/v1/images/generations", self.images)
        r.add_post("/v1/audio/speech", self.speech)
        r.add_post("/v1/audio/transcriptions", self.transcriptions)
        r.add_post("/v1/rerank", self.rerank)
        self.files.route(self.app)

    @property
    def last(self) -> Seen:
        return self.state.requests[-1]

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, 20003, "Invalid token")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            body: dict[str, Any] = {k: (v if isinstance(v, str) else {"filename": v.filename,
                                                                      "bytes": v.file.read()})
                                    for k, v in form.items()}
        else:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return _error(400, 20015, "invalid json")
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.state.requests.append(Seen(request.path, headers, body))
        if body.get("model") == "overloaded":
            return _error(503, 50505, "Model service overloaded. Please try again later.")
        return body

    async def images(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        model, prompt = body.get("model"), body.get("prompt")
        if not isinstance(model, str) or not isinstance(prompt, str) or not prompt:
            return _error(400, 20015, "model and prompt are required")
        if "size" in body or "n" in body:
            return _error(400, 20015, "unknown parameter: use image_size and batch_size")
        batch = body.get("batch_size", 1)
        if batch != 1 and "Kolors" not in model:
            return _error(400, 20015, "batch_size is only supported by Kwai-Kolors/Kolors")
        if not isinstance(batch, int) or not 1 <= batch <= 4:
            return _error(400, 20015, "batch_size should be in [1, 4]")
        images = [{"url": self.files.add(request, PNG, "png", "image/png")} for _ in range(batch)]
        return web.json_response({"images": images, "timings": {"inference": 0.5}, "seed": 42})

    async def speech(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        model, text, voice = body.get("model"), body.get("input"), body.get("voice")
        fmt = body.get("response_format", "mp3")
        if not isinstance(text, str) or not text:
            return _error(400, 20015, "input is required")
        if not isinstance(voice, str) or not voice.startswith(f"{model}:"):
            return _error(400, 20015, "voice should be like FunAudioLLM/CosyVoice2-0.5B:alex")
        if fmt not in _SPEECH_TYPES:
            return _error(400, 20015, f"response_format {fmt} is not supported")
        speed = body.get("speed", 1.0)
        if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            return _error(400, 20015, "speed should be in [0.25, 4.0]")
        return web.Response(body=audio(fmt, text), content_type=_SPEECH_TYPES[fmt])

    async def transcriptions(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/form-data"):
            return _error(400, 20015, "multipart/form-data expected")
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        upload = body.get("file")
        if not isinstance(upload, dict) or not upload["bytes"]:
            return _error(400, 20015, "file is required")
        if body.get("model") not in ("FunAudioLLM/SenseVoiceSmall", "TeleAI/TeleSpeechASR"):
            return _error(400, 20012, "Model does not exist. Please check it carefully.")
        try:
            with wave.open(io.BytesIO(upload["bytes"])):
                pass
        except (wave.Error, EOFError):
            return _error(400, 20015, "the audio could not be decoded")
        return web.json_response({"text": SENSEVOICE_TEXT})

    async def rerank(self, request: web.Request) -> web.Response:
        body = await self._admit(request)
        if isinstance(body, web.Response):
            return body
        query, docs = body.get("query"), body.get("documents")
        if not isinstance(query, str) or not isinstance(docs, list) or not docs:
            return _error(400, 20015, "query and documents are required")
        top_n = body.get("top_n", len(docs))
        ranked = sorted(enumerate(scores(query, docs)), key=lambda p: p[1], reverse=True)[:top_n]
        results: list[dict[str, Any]] = [{"index": i, "relevance_score": s} for i, s in ranked]
        if body.get("return_documents"):
            for r in results:
                r["document"] = {"text": docs[r["index"]]}
        tokens = len(query.split()) * len(docs) + sum(len(d.split()) for d in docs)
        return web.json_response({"id": "rerank-fake", "results": results,
                                  "tokens": {"input_tokens": tokens, "output_tokens": 0}})
