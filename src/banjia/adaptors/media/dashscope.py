"""DashScope (Alibaba Bailian) media: Wanx / Qwen-Image, CosyVoice / Qwen-TTS, Qwen-ASR, rerank.

Served for both ``dashscope`` (its base URL's ``/compatible-mode/v1`` is dropped: these APIs live
on the native paths) and ``dashscope-native``.

* Images: ``POST /api/v1/services/aigc/text2image/image-synthesis`` with ``X-DashScope-Async:
  enable`` answers ``output.task_id``; ``GET /api/v1/tasks/{id}`` reports ``output.task_status``
  (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, UNKNOWN) and, once SUCCEEDED, ``output.results[]
  .url`` (a result that failed alone carries ``code``/``message`` instead); a failed task carries
  ``output.code``/``output.message``. ``POST /api/v1/tasks/{id}/cancel`` cancels a pending one.
  Size is ``W*H``; ``n`` 1..4.
  https://help.aliyun.com/zh/model-studio/text-to-image-v2-api-reference,
  https://www.alibabacloud.com/help/en/model-studio/qwen-image-api
* Speech: CosyVoice over HTTP, ``POST /api/v1/services/audio/tts/SpeechSynthesizer`` with
  ``input: {text, voice, format, sample_rate, rate}`` answers ``output.audio.url`` and
  ``usage.characters``; Qwen-TTS on ``/api/v1/services/aigc/multimodal-generation/generation``
  with ``input: {text, voice}`` answers a WAV at ``output.audio.url``.
  https://help.aliyun.com/zh/model-studio/cosyvoice-tts-http-api,
  https://help.aliyun.com/zh/model-studio/qwen-tts-api
* Transcription: Qwen-ASR on the multimodal path, the audio as a ``data:`` URI in a user message,
  ``parameters.asr_options``; the text at ``output.choices[0].message.content[0].text``, the
  detected language in ``annotations``, ``usage.seconds``. Paraformer's recorded-file API takes
  public file URLs only, so an upload cannot reach it.
  https://help.aliyun.com/zh/model-studio/qwen-asr-api-reference
* Rerank: ``POST /api/v1/services/rerank/text-rerank/text-rerank`` with ``input: {query,
  documents}``, ``parameters: {top_n, return_documents}`` answers ``output.results[{index,
  relevance_score}]`` and ``usage.total_tokens``.
  https://help.aliyun.com/zh/model-studio/text-rerank-api
"""

from __future__ import annotations

import base64
from types import MappingProxyType
from typing import Any

from banjia.adaptors.base import ErrorRule, UpstreamRequest, UpstreamResponse
from banjia.adaptors.dashscope import DashScopeAdaptor
from banjia.adaptors.media.base import OPENAI_VOICES, MediaAdaptor, Task, scores
from banjia.adaptors.vendors import CONTENT_FILTER
from banjia.protocol.media import (
    Audio,
    ImageRequest,
    Picture,
    RerankRequest,
    Scored,
    SpeechRequest,
    Transcript,
    TranscriptionRequest,
)

__all__ = ["DashScopeMedia", "native_base"]

IMAGE_PATH = "/api/v1/services/aigc/text2image/image-synthesis"
TASK_PATH = "/api/v1/tasks/"
TTS_PATH = "/api/v1/services/audio/tts/SpeechSynthesizer"
MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
RERANK_PATH = "/api/v1/services/rerank/text-rerank/text-rerank"

# CosyVoice's formats (https://help.aliyun.com/zh/model-studio/cosyvoice-tts-python-sdk)
_COSYVOICE_FORMATS = frozenset({"mp3", "wav", "pcm", "opus"})
# OpenAI's speed 0.25..4 onto CosyVoice's rate 0.5..2
_RATE = (0.5, 2.0)
# extras a client may send (extra_body) that are DashScope image parameters
_IMAGE_PARAMS = ("prompt_extend", "watermark", "seed")

_ERRORS: dict[str | int, ErrorRule] = {
    **DashScopeAdaptor.error_table,
    # a task's own failure codes (the task API answers 200; the code says what went wrong)
    "ipinfringementsuspect": CONTENT_FILTER,
    "datainspectionfailed": CONTENT_FILTER,
}


def native_base(base_url: str) -> str:
    """The native API's root from a provider's base URL (the compatible-mode one included)."""
    base = base_url.rstrip("/")
    return base.removesuffix("/compatible-mode/v1")


class DashScopeMedia(MediaAdaptor):
    error_table = MappingProxyType(_ERRORS)

    # -- images -------------------------------------------------------------------------------
    def image_batch(self, model: str) -> int:
        return 4

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        extras = req.extras()
        params: dict[str, Any] = {"n": n}
        dims = req.dimensions()
        if dims is not None:
            params["size"] = f"{dims[0]}*{dims[1]}"
        for k in _IMAGE_PARAMS:
            if extras.get(k) is not None:
                params[k] = extras[k]
        prompt: dict[str, Any] = {"prompt": req.prompt}
        if isinstance(extras.get("negative_prompt"), str):
            prompt["negative_prompt"] = extras["negative_prompt"]
        body = {"model": model, "input": prompt, "parameters": params}
        return self.json_request(IMAGE_PATH, body, **{"X-DashScope-Async": "enable"})

    def image_result(self, resp: UpstreamResponse) -> list[Picture] | Task:
        data = self.parsed(resp)
        out = data.get("output") or {}
        task = out.get("task_id") if isinstance(out, dict) else None
        if not isinstance(task, str) or not task:
            raise self.make_error(502, _code(data), _message(data) or "the task was not accepted")
        return Task(task)

    def task_request(self, task: Task) -> UpstreamRequest:
        return UpstreamRequest(self.base_url + TASK_PATH + task.id, b"", self.headers(), method="GET")

    def task_cancel(self, task: Task) -> UpstreamRequest | None:
        return UpstreamRequest(self.base_url + TASK_PATH + task.id + "/cancel", b"", self.headers())

    def task_result(self, resp: UpstreamResponse) -> list[Picture] | None:
        data = self.parsed(resp)
        out = data.get("output")
        if not isinstance(out, dict):
            raise self.make_error(502, _code(data), _message(data) or "the task answer has no output")
        status = out.get("task_status")
        if status in ("PENDING", "RUNNING"):
            return None
        if status == "SUCCEEDED":
            results = out.get("results") or []
            pictures = [
                Picture(url=r["url"], revised_prompt=r.get("actual_prompt"))
                for r in results
                if isinstance(r, dict) and isinstance(r.get("url"), str)
            ]
            if pictures:
                return pictures
            failed = next((r for r in results if isinstance(r, dict) and r.get("code")), {})
            raise self.make_error(502, failed.get("code"), str(failed.get("message") or
                                                               "the task succeeded without an image"))
        what = {"FAILED": "failed", "CANCELED": "was canceled", "UNKNOWN": "is unknown (expired?)"}
        message = str(out.get("message") or f"the image task {what.get(str(status), status)}")
        raise self.make_error(502, out.get("code"), message)

    # -- speech -------------------------------------------------------------------------------
    def speech_request(self, req: SpeechRequest, model: str) -> UpstreamRequest:
        voice = req.voice_name
        if _is_qwen_tts(model):
            if req.response_format != "wav":
                raise self.unsupported(f"'{model}' makes WAV audio only; ask response_format 'wav'",
                                       param="response_format")
            if req.speed is not None and req.speed != 1.0:
                raise self.unsupported(f"'{model}' has no speed setting", param="speed")
            text_in = {"text": req.input, "voice": "Cherry" if voice in OPENAI_VOICES else voice}
            return self.json_request(MULTIMODAL_PATH, {"model": model, "input": text_in})
        if req.response_format not in _COSYVOICE_FORMATS:
            raise self.unsupported(
                f"'{model}' makes mp3, wav, pcm or opus audio, not {req.response_format}",
                param="response_format",
            )
        body_in: dict[str, Any] = {
            "text": req.input,
            "voice": _cosyvoice_voice(model) if voice in OPENAI_VOICES else voice,
            "format": req.response_format,
        }
        if req.response_format == "pcm":
            body_in["sample_rate"] = 24000  # OpenAI's pcm: 24 kHz, 16-bit, mono
        if req.speed is not None:
            body_in["rate"] = min(max(req.speed, _RATE[0]), _RATE[1])
        if req.instructions and model.startswith("cosyvoice-v3"):
            body_in["instruction"] = req.instructions
        return self.json_request(TTS_PATH, {"model": model, "input": body_in})

    def speech_result(self, resp: UpstreamResponse, req: SpeechRequest) -> Audio:
        data = self.parsed(resp)
        out = data.get("output") or {}
        audio = out.get("audio") if isinstance(out, dict) else None
        if not isinstance(audio, dict):
            raise self.make_error(502, _code(data), _message(data) or "the answer has no audio")
        if isinstance(audio.get("data"), str) and audio["data"]:
            return Audio(base64.b64decode(audio["data"]))
        if isinstance(audio.get("url"), str) and audio["url"]:
            return Audio(None, url=audio["url"])
        raise self.make_error(502, None, "the answer has no audio")

    # -- transcription ------------------------------------------------------------------------
    def transcription_request(self, req: TranscriptionRequest, model: str) -> UpstreamRequest:
        if model.startswith("paraformer"):
            raise self.unsupported(
                f"'{model}' reads audio from public URLs only (DashScope's recorded-file API), so "
                "an upload cannot reach it; use qwen3-asr-flash",
                param="model",
            )
        audio = "data:" + (req.content_type or "audio/wav") + ";base64," + base64.b64encode(req.file).decode()
        options: dict[str, Any] = {"enable_itn": False}
        if req.language:
            options["language"] = req.language.split("-")[0].split("_")[0].lower()
        else:
            options["enable_lid"] = True
        messages = [
            {"role": "system", "content": [{"text": req.prompt or ""}]},
            {"role": "user", "content": [{"audio": audio}]},
        ]
        body = {"model": model, "input": {"messages": messages}, "parameters": {"asr_options": options}}
        return self.json_request(MULTIMODAL_PATH, body)

    def transcription_result(self, resp: UpstreamResponse, req: TranscriptionRequest) -> Transcript:
        data = self.parsed(resp)
        try:
            message = data["output"]["choices"][0]["message"]
            parts = message.get("content") or []
        except (KeyError, IndexError, TypeError):
            raise self.make_error(502, _code(data), _message(data) or "the answer has no text") from None
        text = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
        language = None
        for note in message.get("annotations") or ():
            if isinstance(note, dict) and isinstance(note.get("language"), str):
                language = note["language"]
        usage = data.get("usage") or {}
        seconds = usage.get("seconds") if isinstance(usage, dict) else None
        return Transcript(text, language, float(seconds) if isinstance(seconds, int | float) else None)

    # -- rerank -------------------------------------------------------------------------------
    def rerank_request(self, req: RerankRequest, model: str) -> UpstreamRequest:
        body = {
            "model": model,
            "input": {"query": req.query, "documents": req.texts()},
            "parameters": {"top_n": req.wanted, "return_documents": False},
        }
        return self.json_request(RERANK_PATH, body)

    def rerank_result(self, resp: UpstreamResponse, req: RerankRequest) -> tuple[list[Scored], int]:
        data = self.parsed(resp)
        out = data.get("output") or {}
        results = out.get("results") if isinstance(out, dict) else None
        if not isinstance(results, list):
            raise self.make_error(502, _code(data), _message(data) or "the answer has no results")
        usage = data.get("usage") or {}
        return scores(self, results, len(req.documents)), int(usage.get("total_tokens") or 0)


def _is_qwen_tts(model: str) -> bool:
    return model.startswith("qwen") and "tts" in model


def _cosyvoice_voice(model: str) -> str:
    """The voice OpenAI's voice names stand for: one the model's generation ships."""
    if model.startswith("cosyvoice-v1"):
        return "longxiaochun"
    if model.startswith("cosyvoice-v2"):
        return "longxiaochun_v2"
    return "longanyang"


def _code(data: dict[str, Any]) -> str | None:
    code = data.get("code")
    return code if isinstance(code, str) and code else None


def _message(data: dict[str, Any]) -> str:
    return str(data.get("message") or "")

