"""A fake MiniMax T2A v2 API on 127.0.0.1, from its API reference
(https://platform.minimaxi.com/document/t2a_http):

``POST /v1/t2a_v2[?GroupId=…]`` ``{model, text, stream, voice_setting: {voice_id, speed (0.5..2),
vol, pitch}, audio_setting: {sample_rate, bitrate, format (mp3 | pcm | flac | wav), channel},
output_format (hex | url)}`` → ``{data: {audio: <hex>, status: 2}, extra_info: {audio_length (ms),
usage_characters, audio_format…}, trace_id, base_resp: {status_code: 0, status_msg: "success"}}``.
Errors come in a 200 with ``base_resp.status_code`` (1004 auth, 2013 bad parameter, 1026
sensitive input — the text ``moderate me``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.media_files import audio

API_KEY = "minimax-media-fake-key"


@dataclass
class State:
    requests: list[dict[str, Any]] = field(default_factory=list)
    group_ids: list[str | None] = field(default_factory=list)


def _failed(code: int, message: str) -> web.Response:
    return web.json_response({"base_resp": {"status_code": code, "status_msg": message}, "trace_id": "t"})


class FakeMiniMaxMedia:
    def __init__(self) -> None:
        self.state = State()
        self.app = web.Application()
        self.app.router.add_post("/v1/t2a_v2", self.t2a)

    async def t2a(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _failed(1004, "login fail: Please carry the API secret key in the 'Authorization' field")
        try:
            body: dict[str, Any] = await request.json()
        except json.JSONDecodeError:
            return _failed(2013, "invalid params: body is not json")
        self.state.requests.append(body)
        self.state.group_ids.append(request.query.get("GroupId"))
        text = body.get("text")
        voice = (body.get("voice_setting") or {}).get("voice_id")
        fmt = (body.get("audio_setting") or {}).get("format", "mp3")
        speed = (body.get("voice_setting") or {}).get("speed", 1)
        if not isinstance(text, str) or not text or not isinstance(voice, str):
            return _failed(2013, "invalid params: text and voice_setting.voice_id are required")
        if fmt not in ("mp3", "pcm", "flac", "wav") or not 0.5 <= speed <= 2:
            return _failed(2013, "invalid params: audio_setting.format or voice_setting.speed")
        if "moderate me" in text:
            return _failed(1026, "input new_sensitive")
        data = audio(fmt, text)
        return web.json_response({
            "data": {"audio": data.hex(), "status": 2},
            "extra_info": {"audio_length": 100 * len(text), "audio_sample_rate": 32000,
                           "audio_size": len(data), "usage_characters": len(text), "audio_format": fmt},
            "trace_id": "fake-trace",
            "base_resp": {"status_code": 0, "status_msg": "success"},
        })
