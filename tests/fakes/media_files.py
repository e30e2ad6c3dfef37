"""What the media fakes hand out: real (tiny) PNG and WAV files, stand-ins for the compressed audio
formats, and a store of files the fakes link to (the vendors' OSS/TOS links)."""

from __future__ import annotations

import base64
import io
import itertools
import math
import struct
import wave

from aiohttp import web

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
# the first bytes of each format, so a test can tell which one it got
MAGIC = {"mp3": b"ID3\x04\x00", "opus": b"OggS\x00", "aac": b"\xff\xf1", "flac": b"fLaC", "pcm": b""}


def wav(seconds: float, rate: int = 16000) -> bytes:
    """A mono 16-bit WAV of a 440 Hz tone."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(frames)
        ))
    return out.getvalue()


def audio(fmt: str, text: str) -> bytes:
    """Speech for ``text`` in ``fmt``: a real WAV (0.1 s per character), or bytes that start as
    the format does (tests check the format and the length, never play it)."""
    if fmt == "wav":
        return wav(0.1 * len(text), 8000)
    return MAGIC.get(fmt, b"") + text.encode() * 64


class Files:
    """Files served at ``GET /files/{name}``, as the vendors' storage links."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.fetched: list[str] = []
        self._ids = itertools.count(1)

    def add(self, request: web.Request, data: bytes, ext: str, ctype: str) -> str:
        name = f"f{next(self._ids)}.{ext}"
        self.files[name] = (data, ctype)
        return f"{request.url.origin()}/files/{name}"

    async def serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.files:
            return web.Response(status=404, text="NoSuchKey")
        self.fetched.append(name)
        data, ctype = self.files[name]
        return web.Response(body=data, content_type=ctype)

    def route(self, app: web.Application) -> None:
        app.router.add_get("/files/{name}", self.serve)
