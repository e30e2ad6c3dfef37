"""Images, speech, transcription and rerank: request models and response builders.

Request models follow OpenAI's API reference field by field (``/v1/images/generations``,
``/v1/audio/speech``, ``/v1/audio/transcriptions``) and, for ``/v1/rerank``, the Jina/Cohere body
that SiliconFlow, DashScope and Zhipu serve. Answers are plain dicts (and text for the
transcription formats that are not JSON), built here.

Sources: https://platform.openai.com/docs/api-reference/images/create,
https://platform.openai.com/docs/api-reference/audio/createSpeech,
https://platform.openai.com/docs/api-reference/audio/createTranscription,
https://docs.siliconflow.cn/cn/api-reference/rerank/create-rerank.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from banjia.errors import bad_request
from banjia.protocol._base import Bool, OpenAIModel, Temperature

__all__ = [
    "AUDIO_TYPES",
    "MAX_DOCUMENTS",
    "Audio",
    "ImageRequest",
    "Picture",
    "RerankRequest",
    "Scored",
    "SpeechRequest",
    "Transcript",
    "TranscriptionRequest",
    "image_response",
    "rerank_response",
    "transcription_body",
]

# OpenAI: n is 1..10; dall-e-3 takes 1, the vendors 1..4 (banjia sends several requests when needed)
ImageCount = Annotated[int, Field(strict=True, ge=1, le=10)]
MAX_DOCUMENTS = 1000  # far beyond any vendor's own cap (SiliconFlow's, DashScope's: 500)

# OpenAI's speech formats and the media types its API answers them with
AUDIO_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


class ImageRequest(OpenAIModel):
    # OpenAI's default when the field is left out (openai-python leaves it out unless given)
    model: str = "dall-e-2"
    prompt: Annotated[str, Field(min_length=1, max_length=32000)]
    n: ImageCount | None = None
    size: Annotated[str, Field(pattern=r"^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$")] | None = None
    quality: Literal["standard", "hd", "low", "medium", "high", "auto"] | None = None
    response_format: Literal["url", "b64_json"] | None = None
    style: Literal["vivid", "natural"] | None = None
    user: str | None = None

    @property
    def count(self) -> int:
        return self.n or 1

    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) asked for, or None for ``auto`` / the vendor's default."""
        if self.size is None or self.size == "auto":
            return None
        w, _, h = self.size.partition("x")
        return int(w), int(h)


class SpeechRequest(OpenAIModel):
    model: str
    input: Annotated[str, Field(min_length=1, max_length=4096)]
    # a built-in voice's name, or {"id": ...} for a custom voice (openai-python 2.x)
    voice: str | dict[str, Any]
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, Field(strict=True, ge=0.25, le=4.0)] | None = None
    instructions: Annotated[str, Field(max_length=4096)] | None = None
    stream_format: Literal["audio", "sse"] | None = None

    @field_validator("voice")
    @classmethod
    def _voice(cls, v: Any) -> Any:
        if isinstance(v, dict) and not isinstance(v.get("id"), str):
            raise ValueError("a voice object needs its 'id' as a string")
        if isinstance(v, str) and not v.strip():
            raise ValueError("the voice must not be empty")
        return v

    @property
    def voice_name(self) -> str:
        return self.voice if isinstance(self.voice, str) else str(self.voice["id"])

    def check(self) -> None:
        if self.stream_format == "sse":
            raise bad_request(
                "stream_format 'sse' is not supported here; leave it out (or send 'audio') to "
                "receive the audio bytes as they are produced.",
                param="stream_format",
                code="unsupported_value",
            )


@dataclass(slots=True)
class TranscriptionRequest:
    """The form fields of a transcription upload (multipart, so not a JSON model)."""

    file: bytes
    filename: str
    content_type: str
    model: str
    language: str | None = None
    prompt: str | None = None
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


class _TranscriptionFields(OpenAIModel):
    """Validation of the text fields of the form (the file is checked by the route)."""

    model: Annotated[str, Field(min_length=1)]
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")] | None = None
    prompt: Annotated[str, Field(max_length=8000)] | None = None
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: Temperature | None = None


def transcription_fields(form: dict[str, str]) -> _TranscriptionFields:
    """The form's text fields, validated (numbers arrive as text in a form)."""
    from banjia.protocol._base import validate

    data: dict[str, Any] = dict(form)
    if "temperature" in data:
        try:
            data["temperature"] = float(data["temperature"])
        except ValueError:
            raise bad_request(
                f"Invalid type for 'temperature': expected a number, but got '{form['temperature']}'.",
                param="temperature",
                code="invalid_type",
            ) from None
    return validate(_TranscriptionFields, data)


class RerankDocument(OpenAIModel):
    text: str


class RerankRequest(OpenAIModel):
    model: str
    query: Annotated[str, Field(min_length=1)]
    documents: Annotated[list[str | RerankDocument], Field(min_length=1, max_length=MAX_DOCUMENTS)]
    top_n: Annotated[int, Field(strict=True, ge=1)] | None = None
    return_documents: Bool | None = None

    def texts(self) -> list[str]:
        return [d if isinstance(d, str) else d.text for d in self.documents]

    @property
    def wanted(self) -> int:
        n = len(self.documents)
        return min(self.top_n, n) if self.top_n is not None else n


# -- what adaptors hand back ------------------------------------------------------------------


@dataclass(slots=True)
class Picture:
    """One generated image: its URL at the vendor, or its bytes (base64)."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


@dataclass(slots=True)
class Audio:
    """Generated speech: the bytes, or a URL to fetch them from."""

    data: bytes | None
    url: str | None = None
    seconds: float | None = None


@dataclass(slots=True)
class Transcript:
    text: str
    language: str | None = None
    seconds: float | None = None  # the audio's length, when the vendor says it
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, text)


@dataclass(slots=True)
class Scored:
    index: int
    relevance_score: float


# -- answers ------------------------------------------------------------------------------------


def image_response(pictures: list[Picture], *, created: int | None = None) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    for p in pictures:
        item: dict[str, Any] = {"b64_json": p.b64_json} if p.b64_json is not None else {"url": p.url}
        if p.revised_prompt:
            item["revised_prompt"] = p.revised_prompt
        data.append(item)
    return {"created": created or int(time.time()), "data": data}


def rerank_response(
    rid: str, model: str, scored: list[Scored], req: RerankRequest, tokens: int
) -> dict[str, Any]:
    docs = req.texts()
    ordered = sorted(scored, key=lambda s: s.relevance_score, reverse=True)[: req.wanted]
    results: list[dict[str, Any]] = []
    for s in ordered:
        item: dict[str, Any] = {"index": s.index, "relevance_score": s.relevance_score}
        if req.return_documents:
            item["document"] = {"text": docs[s.index]}
        results.append(item)
    return {
        "id": rid,
        "object": "list",
        "model": model,
        "results": results,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def transcription_body(t: Transcript, fmt: str, language: str | None) -> tuple[Any, str]:
    """(body, media type) of a transcription in the format the client asked for."""
    seconds = t.seconds or 0.0
    if fmt == "text":
        return t.text + "\n", "text/plain; charset=utf-8"
    if fmt in ("srt", "vtt"):
        cues = t.segments or [(0.0, seconds, t.text)]
        return _subtitles(cues, vtt=fmt == "vtt"), "text/plain; charset=utf-8"
    if fmt == "verbose_json":
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": t.language or language or "unknown",
            "duration": round(seconds, 3),
            "text": t.text,
        }
        if t.segments:
            body["segments"] = [_segment(i, s) for i, s in enumerate(t.segments)]
        if t.seconds is not None:
            body["usage"] = {"type": "duration", "seconds": round(t.seconds, 3)}
        return body, "application/json"
    out: dict[str, Any] = {"text": t.text}
    if t.seconds is not None:
        out["usage"] = {"type": "duration", "seconds": round(t.seconds, 3)}
    return out, "application/json"


def _segment(i: int, s: tuple[float, float, str]) -> dict[str, Any]:
    # the fields openai-python's TranscriptionSegment requires; the vendors report no decoder
    # statistics, so those are neutral
    start, end, text = s
    return {"id": i, "seek": 0, "start": start, "end": end, "text": text, "tokens": [],
            "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0}


def _subtitles(cues: list[tuple[float, float, str]], *, vtt: bool) -> str:
    sep = "." if vtt else ","

    def stamp(t: float) -> str:
        ms = max(round(t * 1000), 0)
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"

    blocks = [
        (f"{i}\n" if not vtt else "") + f"{stamp(a)} --> {stamp(b)}\n{text.strip()}\n"
        for i, (a, b, text) in enumerate(cues, 1)
    ]
    return ("WEBVTT\n\n" if vtt else "") + "\n".join(blocks)

