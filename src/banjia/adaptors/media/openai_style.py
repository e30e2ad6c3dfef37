"""OpenAI's own media wire, for ``openai``-type providers (any OpenAI-compatible server: OpenAI,
vLLM, a local Whisper server…), and the Jina/Cohere rerank body those servers answer on ``/rerank``.

* ``POST /images/generations``: the client's body as sent, with the upstream model id; the answer
  is OpenAI's ``{created, data: [{url | b64_json, revised_prompt}]}``.
  https://platform.openai.com/docs/api-reference/images/create
* ``POST /audio/speech``: JSON in, the audio bytes out.
  https://platform.openai.com/docs/api-reference/audio/createSpeech
* ``POST /audio/transcriptions``: the file and fields as ``multipart/form-data``; banjia asks for
  ``verbose_json`` when the client wants timed output (``srt``, ``vtt``, ``verbose_json``) and
  renders the format itself, so every format reaches every vendor.
  https://platform.openai.com/docs/api-reference/audio/createTranscription
* ``POST /rerank``: ``{model, query, documents, top_n, return_documents}`` →
  ``{results: [{index, relevance_score}], usage | tokens}`` (https://jina.ai/reranker/,
  https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#re-rank-api).
"""

from __future__ import annotations

from typing import Any

import orjson

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.media.base import MediaAdaptor, multipart, scores
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

__all__ = ["OpenAIMedia"]


class OpenAIMedia(MediaAdaptor):
    images_path = "/images/generations"
    speech_path = "/audio/speech"
    transcriptions_path = "/audio/transcriptions"
    rerank_path = "/rerank"

    # -- images -------------------------------------------------------------------------------
    def image_batch(self, model: str) -> int:
        return 10

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        body = {**req.wire(), "model": model, "n": n}
        return self.json_request(self.images_path, body)

    def image_result(self, resp: UpstreamResponse) -> list[Picture]:
        data = self.parsed(resp)
        items = data.get("data")
        if not isinstance(items, list) or not items:
            raise self.make_error(502, None, "the answer has no images")
        out = [
            Picture(url=d.get("url"), b64_json=d.get("b64_json"), revised_prompt=d.get("revised_prompt"))
            for d in items
            if isinstance(d, dict) and (isinstance(d.get("url"), str) or isinstance(d.get("b64_json"), str))
        ]
        if len(out) != len(items):
            raise self.make_error(502, None, "the answer has an image without a url or b64_json")
        return out

    # -- speech -------------------------------------------------------------------------------
    def speech_request(self, req: SpeechRequest, model: str) -> UpstreamRequest:
        return self.json_request(self.speech_path, {**req.wire(), "model": model}, Accept="*/*")

    def speech_result(self, resp: UpstreamResponse, req: SpeechRequest) -> Audio:
        if resp.headers.get("content-type", "").startswith("application/json"):
            data = self.parsed(resp)  # a JSON body in a 200 is an error, not audio
            code, message = self.error_fields(orjson.dumps(data))
            raise self.make_error(502, code, message or "the upstream answered JSON instead of audio")
        if not resp.body:
            raise self.make_error(502, None, "the upstream answered no audio")
        return Audio(resp.body)

    # -- transcription ------------------------------------------------------------------------
    def transcription_fields(self, req: TranscriptionRequest, model: str) -> dict[str, str]:
        fields = {"model": model}
        if req.language:
            fields["language"] = req.language
        if req.prompt:
            fields["prompt"] = req.prompt
        if req.temperature is not None:
            fields["temperature"] = repr(req.temperature)
        timed = req.response_format in ("srt", "vtt", "verbose_json")
        fields["response_format"] = "verbose_json" if timed else "json"
        return fields

    def transcription_request(self, req: TranscriptionRequest, model: str) -> UpstreamRequest:
        body, ctype = multipart(
            self.transcription_fields(req, model),
            ("file", req.filename, req.content_type or "application/octet-stream", req.file),
        )
        headers = {**self.headers(), "Content-Type": ctype}
        return UpstreamRequest(self.base_url + self.transcriptions_path, body, headers)

    def transcription_result(self, resp: UpstreamResponse, req: TranscriptionRequest) -> Transcript:
        data = self.parsed(resp)
        text = data.get("text")
        if not isinstance(text, str):
            code, message = self.error_fields(orjson.dumps(data))
            raise self.make_error(502, code, message or "the answer has no text")
        duration = data.get("duration")
        segments = [
            (float(s["start"]), float(s["end"]), str(s.get("text", "")))
            for s in data.get("segments") or ()
            if isinstance(s, dict) and isinstance(s.get("start"), int | float)
            and isinstance(s.get("end"), int | float)
        ]
        language = data.get("language")
        return Transcript(
            text,
            language if isinstance(language, str) else None,
            float(duration) if isinstance(duration, int | float) else None,
            segments,
        )

    # -- rerank -------------------------------------------------------------------------------
    def rerank_body(self, req: RerankRequest, model: str) -> dict[str, Any]:
        return {"model": model, "query": req.query, "documents": req.texts(), "top_n": req.wanted,
                "return_documents": False}

    def rerank_request(self, req: RerankRequest, model: str) -> UpstreamRequest:
        return self.json_request(self.rerank_path, self.rerank_body(req, model))

    def rerank_result(self, resp: UpstreamResponse, req: RerankRequest) -> tuple[list[Scored], int]:
        data = self.parsed(resp)
        results = data.get("results")
        if not isinstance(results, list):
            code, message = self.error_fields(orjson.dumps(data))
            raise self.make_error(502, code, message or "the answer has no results")
        return scores(self, results, len(req.documents)), _tokens(data)


def _tokens(data: dict[str, Any]) -> int:
    """Billed tokens, wherever the server reports them (``usage`` or SiliconFlow's ``tokens``)."""
    for key in ("usage", "tokens"):
        u = data.get(key)
        if isinstance(u, dict):
            for name in ("total_tokens", "prompt_tokens", "input_tokens"):
                n = u.get(name)
                if isinstance(n, int) and not isinstance(n, bool):
                    return max(n, 0)
    return 0

