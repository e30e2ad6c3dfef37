"""SiliconFlow media: OpenAI's speech and transcription wire and Jina's rerank body, with its own
image dialect.

* Images: ``POST /images/generations`` takes ``image_size`` (``WxH``) and ``batch_size`` (1..4, for
  Kwai-Kolors only) instead of OpenAI's ``size``/``n``, and answers ``{images: [{url}], timings,
  seed}``; the URLs last an hour.
  https://docs.siliconflow.cn/cn/api-reference/images/images-generations
* Speech: ``POST /audio/speech`` (``voice`` is ``model:name``, e.g.
  ``FunAudioLLM/CosyVoice2-0.5B:alex``; formats mp3, opus, wav, pcm; speed 0.25..4) answers the
  audio bytes. https://docs.siliconflow.cn/cn/api-reference/audio/create-speech
* Transcription: ``POST /audio/transcriptions``, multipart ``file`` and ``model`` (SenseVoice,
  TeleSpeechASR), answers ``{text}``.
  https://docs.siliconflow.cn/cn/api-reference/audio/create-audio-transcriptions
* Rerank: ``POST /rerank`` answers ``results[{index, relevance_score}]`` and ``tokens.input_tokens``.
  https://docs.siliconflow.cn/cn/api-reference/rerank/create-rerank
Errors are ``{code, message, data}`` with a real HTTP status.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.media.base import OPENAI_VOICES
from banjia.adaptors.media.openai_style import OpenAIMedia
from banjia.adaptors.vendors import VENDORS
from banjia.protocol.media import ImageRequest, Picture, SpeechRequest, TranscriptionRequest

__all__ = ["SiliconFlowMedia"]

_SPEECH_FORMATS = frozenset({"mp3", "opus", "wav", "pcm"})
# extras a client may send (extra_body) that are SiliconFlow image parameters
_IMAGE_PARAMS = ("negative_prompt", "seed", "num_inference_steps", "guidance_scale", "prompt_enhancement")


class SiliconFlowMedia(OpenAIMedia):
    error_table = MappingProxyType(dict(VENDORS["siliconflow"].error_table))

    def image_batch(self, model: str) -> int:
        return 4 if "kolors" in model.lower() else 1

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        extras = req.extras()
        body: dict[str, Any] = {"model": model, "prompt": req.prompt}
        dims = req.dimensions()
        if dims is not None:
            body["image_size"] = f"{dims[0]}x{dims[1]}"
        if n > 1:
            body["batch_size"] = n
        for k in _IMAGE_PARAMS:
            if extras.get(k) is not None:
                body[k] = extras[k]
        return self.json_request(self.images_path, body)

    def image_result(self, resp: UpstreamResponse) -> list[Picture]:
        data = self.parsed(resp)
        items = data.get("images") or data.get("data")
        urls = [d.get("url") for d in items if isinstance(d, dict)] if isinstance(items, list) else []
        if not urls or not all(isinstance(u, str) and u for u in urls):
            message = str(data.get("message") or "the answer has no images")
            raise self.make_error(502, data.get("code"), message)
        return [Picture(url=u) for u in urls]

    def speech_request(self, req: SpeechRequest, model: str) -> UpstreamRequest:
        if req.response_format not in _SPEECH_FORMATS:
            raise self.unsupported(f"'{model}' makes mp3, opus, wav or pcm audio, not "
                                   f"{req.response_format}", param="response_format")
        voice = req.voice_name
        if ":" not in voice:
            voice = f"{model}:{'alex' if voice in OPENAI_VOICES else voice}"
        body: dict[str, Any] = {"model": model, "input": req.input, "voice": voice,
                                "response_format": req.response_format, "stream": False}
        if req.speed is not None:
            body["speed"] = req.speed
        if req.response_format == "pcm":
            body["sample_rate"] = 24000  # OpenAI's pcm: 24 kHz, 16-bit, mono
        return self.json_request(self.speech_path, body, Accept="*/*")

    def transcription_fields(self, req: TranscriptionRequest, model: str) -> dict[str, str]:
        # SenseVoice and TeleSpeechASR take the file and the model; they answer {text}
        return {"model": model}
