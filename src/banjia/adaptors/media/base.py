"""The media adaptor interface: images, speech, transcription and rerank, as pure translation.

A :class:`MediaAdaptor` builds the upstream request for one endpoint and parses the answer; it
never sends anything. What it cannot serve it refuses with an ``unsupported`` error (the routing
layer then tries the next entry of the chain), never by dropping a parameter without a word.
Errors go through the same :class:`~banjia.adaptors.base.ErrorRule` tables as chat, so a vendor's
media errors reach the client with the statuses its chat errors do.

An image vendor that works asynchronously answers the submission with a :class:`Task`; the core
(:mod:`banjia.media`) then polls :meth:`MediaAdaptor.task_request` until
:meth:`MediaAdaptor.task_result` has the pictures, within a time bound.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from banjia.adaptors.base import (
    Adaptor,
    StreamTranslator,
    UpstreamRequest,
    UpstreamResponse,
)
from banjia.errors import UpstreamError
from banjia.protocol.chat import ChatRequest
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

__all__ = [
    "ENDPOINTS",
    "OPENAI_VOICES",
    "MediaAdaptor",
    "Task",
    "multipart",
    "scores",
]

# the endpoints, as the ledger, the catalog's capabilities and the error messages name them
ENDPOINTS = {
    "images": "images/generations",
    "speech": "audio/speech",
    "transcriptions": "audio/transcriptions",
    "rerank": "rerank",
}

# OpenAI's built-in voices: each adaptor maps them onto one of its vendor's voices
OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
     "marin", "cedar"}
)


@dataclass(frozen=True, slots=True)
class Task:
    """An asynchronous job the vendor accepted; its pictures are fetched by polling."""

    id: str


async def _no_fetch(_: UpstreamRequest) -> UpstreamResponse:
    raise AssertionError("media adaptors send no auxiliary requests")


class MediaAdaptor(Adaptor):
    """One vendor's media protocols for one configured provider. Chat is not its business: the
    provider's chat adaptor serves that; the inherited chat methods refuse."""

    def __init__(self, provider: str, *, base_url: str, api_key: str | None) -> None:
        super().__init__(provider, _no_fetch)
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json",
                "Accept": "application/json"}

    def json_request(self, path: str, body: Mapping[str, Any], **headers: str) -> UpstreamRequest:
        return UpstreamRequest(self.base_url + path, orjson.dumps(body), {**self.headers(), **headers})

    def unsupported(self, what: str, *, param: str | None = None) -> UpstreamError:
        return UpstreamError.unsupported(self.provider, f"Provider '{self.provider}': {what}", param=param)

    def refuse(self, endpoint: str) -> UpstreamError:
        return UpstreamError.unsupported(
            self.provider,
            f"Provider '{self.provider}' does not serve /v1/{ENDPOINTS[endpoint]}.",
            code="unsupported_endpoint",
            param="model",
        )

    def parsed(self, resp: UpstreamResponse) -> dict[str, Any]:
        """A 2xx body as a JSON object; one that is not is the upstream's failure."""
        try:
            data = resp.json()
        except orjson.JSONDecodeError as e:
            raise self.make_error(502, None, "the upstream sent a body that is not JSON") from e
        if not isinstance(data, dict):
            raise self.make_error(502, None, "the upstream sent a body that is not a JSON object")
        return data

    # -- images -------------------------------------------------------------------------------
    def image_batch(self, model: str) -> int:
        """The most images one upstream request for ``model`` may ask for (the core sends several
        requests when ``n`` is larger)."""
        return 1

    def image_request(self, req: ImageRequest, model: str, n: int) -> UpstreamRequest:
        raise self.refuse("images")

    def image_result(self, resp: UpstreamResponse) -> list[Picture] | Task:
        raise NotImplementedError

    def task_request(self, task: Task) -> UpstreamRequest:
        raise NotImplementedError

    def task_result(self, resp: UpstreamResponse) -> list[Picture] | None:
        """The task's pictures; None while it is still running. Raises the task's error."""
        raise NotImplementedError

    def task_cancel(self, task: Task) -> UpstreamRequest | None:
        """A request that cancels the task (sent, unawaited, when banjia stops waiting), if any."""
        return None

    # -- speech -------------------------------------------------------------------------------
    def speech_request(self, req: SpeechRequest, model: str) -> UpstreamRequest:
        raise self.refuse("speech")

    def speech_result(self, resp: UpstreamResponse, req: SpeechRequest) -> Audio:
        raise NotImplementedError

    # -- transcription ------------------------------------------------------------------------
    def transcription_request(self, req: TranscriptionRequest, model: str) -> UpstreamRequest:
        raise self.refuse("transcriptions")

    def transcription_result(self, resp: UpstreamResponse, req: TranscriptionRequest) -> Transcript:
        raise NotImplementedError

    # -- rerank -------------------------------------------------------------------------------
    def rerank_request(self, req: RerankRequest, model: str) -> UpstreamRequest:
        raise self.refuse("rerank")

    def rerank_result(self, resp: UpstreamResponse, req: RerankRequest) -> tuple[list[Scored], int]:
        """(a score for each document returned, the tokens billed)."""
        raise NotImplementedError

    # -- chat is another adaptor's --------------------------------------------------------------
    async def chat_request(self, req: ChatRequest, model: str, *, stream: bool) -> UpstreamRequest:
        raise UpstreamError.unsupported(self.provider, "media adaptors do not serve chat")

    def chat_response(self, resp: UpstreamResponse, model: str, req: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def chat_stream(self, req: ChatRequest, model: str) -> StreamTranslator:
        raise NotImplementedError


def scores(a: MediaAdaptor, results: list[Any], n: int) -> list[Scored]:
    """Jina/Cohere-style rerank results (``[{index, relevance_score}]``) for ``n`` documents."""
    out: list[Scored] = []
    for r in results:
        i, score = (r.get("index"), r.get("relevance_score")) if isinstance(r, dict) else (None, None)
        if isinstance(i, bool) or not isinstance(i, int) or not isinstance(score, int | float) \
                or not 0 <= i < n:
            raise a.make_error(502, None, "the upstream sent a result without a valid index or score")
        out.append(Scored(i, float(score)))
    return out


def multipart(fields: Mapping[str, str], file: tuple[str, str, str, bytes]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (RFC 7578) with text ``fields`` and one file
    ``(field, filename, content type, bytes)``; returns (body, Content-Type header)."""
    boundary = "banjia" + os.urandom(12).hex()
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'
                     .encode() + value.encode() + b"\r\n")
    name, filename, ctype, data = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"; '
        f'filename="{_quoted(filename)}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(text: str) -> str:
    # RFC 7578 section 4.2: a quote, CR or LF in a name is percent-encoded, as browsers do
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
