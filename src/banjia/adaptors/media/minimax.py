"""MiniMax speech: T2A v2 (``minimax`` and ``minimax-pro`` providers).

``POST /v1/t2a_v2`` (``?GroupId=`` when the provider has a group id) ``{model, text, stream,
voice_setting: {voice_id, speed 0.5..2, vol, pitch}, audio_setting: {sample_rate, bitrate,
format (mp3 | pcm | flac | wav), channel}, output_format: "hex"}`` answers ``{data: {audio: <hex>,
status: 2}, extra_info: {audio_length (ms), usage_characters, audio_format…}, base_resp:
{status_code, status_msg}}``; a non-zero ``base_resp.status_code`` in a 200 is an error (codes as
for chat: 1002 rate limit, 1004 auth, 1008 balance, 1026 sensitive input…).
https://platform.minimaxi.com/document/t2a_http,
https://platform.minimax.io/docs/api-reference/speech-t2a-http
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.adaptors.media.base import OPENAI_VOICES, MediaAdaptor
from banjia.adaptors.vendors import MINIMAX_ERRORS
from banjia.protocol.media import Audio, SpeechRequest

__all__ = ["MiniMaxMedia"]

PATH = "/t2a_v2"
_FORMATS = frozenset({"mp3", "pcm", "flac", "wav"})
_SPEED = (0.5, 2.0)


class MiniMaxMedia(MediaAdaptor):
    error_table = MappingProxyType(dict(MINIMAX_ERRORS))

    def __init__(self, provider: str, *, base_url: str, api_key: str | None, group_id: str | None) -> None:
        super().__init__(provider, base_url=base_url, api_key=api_key)
        self.group_id = group_id

    def speech_request(self, req: SpeechRequest, model: str) -> UpstreamRequest:
        if req.response_format not in _FORMATS:
            raise self.unsupported(f"'{model}' makes mp3, pcm, flac or wav audio, not "
                                   f"{req.response_format}", param="response_format")
        voice = req.voice_name
        setting: dict[str, Any] = {"voice_id": "male-qn-qingse" if voice in OPENAI_VOICES else voice,
                                   "vol": 1, "pitch": 0}
        if req.speed is not None:
            setting["speed"] = min(max(req.speed, _SPEED[0]), _SPEED[1])
        audio: dict[str, Any] = {"format": req.response_format, "channel": 1,
                                 "sample_rate": 24000 if req.response_format == "pcm" else 32000}
        if req.response_format == "mp3":
            audio["bitrate"] = 128000
        body = {"model": model, "text": req.input, "stream": False, "voice_setting": setting,
                "audio_setting": audio, "output_format": "hex"}
        path = PATH + (f"?GroupId={quote(self.group_id, safe='')}" if self.group_id else "")
        return self.json_request(path, body)

    def speech_result(self, resp: UpstreamResponse, req: SpeechRequest) -> Audio:
        data = self.parsed(resp)
        base = data.get("base_resp")
        if isinstance(base, dict) and base.get("status_code") not in (0, None):
            raise self.make_error(502, base.get("status_code"), str(base.get("status_msg") or ""))
        payload = data.get("data")
        hex_audio = payload.get("audio") if isinstance(payload, dict) else None
        if not isinstance(hex_audio, str) or not hex_audio:
            raise self.make_error(502, None, "the answer has no audio")
        try:
            audio = bytes.fromhex(hex_audio)
        except ValueError:
            raise self.make_error(502, None, "the answer's audio is not hex") from None
        extra = data.get("extra_info") or {}
        length = extra.get("audio_length") if isinstance(extra, dict) else None
        return Audio(audio, seconds=length / 1000 if isinstance(length, int | float) else None)
