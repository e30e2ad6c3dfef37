"""``/v1/audio/speech`` end to end: the official SDK's ``with_streaming_response`` writes the audio
to a file, through banjia to DashScope CosyVoice (a linked file banjia fetches), MiniMax T2A v2
(hex in JSON) and SiliconFlow (the bytes); a ledger row priced per million characters."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import openai
import pytest

from banjia.store.schema import to_nano
from tests.e2e.ledger_rows import row
from tests.fakes.media_files import MAGIC, audio
from tests.harness import MASTER_KEY, Gateway
from tests.media.conftest import Fakes

TEXT = "你好,欢迎使用半价网关。"


def speak(client: openai.OpenAI, path: Path, **kw: object) -> dict[str, str]:
    with client.audio.speech.with_streaming_response.create(**kw) as resp:  # type: ignore[call-overload]
        resp.stream_to_file(path)
        return dict(resp.headers)


def test_cosyvoice_audio_is_streamed_to_the_file(
        client: openai.OpenAI, tmp_path: Path, fakes: Fakes, media_gateway: Gateway) -> None:
    out = tmp_path / "speech.mp3"
    headers = speak(client, out, model="ds/cosyvoice-v2", voice="alloy", input=TEXT, speed=1.5)
    assert out.read_bytes() == audio("mp3", TEXT)
    assert headers["content-type"] == "audio/mpeg"
    assert headers["x-banjia-upstream"] == "ds/cosyvoice-v2"
    sent = fakes.dashscope.last.body
    assert sent["input"] == {"text": TEXT, "voice": "longxiaochun_v2", "format": "mp3", "rate": 1.5}
    r = row(media_gateway, headers["x-request-id"])
    assert (r["endpoint"], r["cost_nano_cny"]) == ("audio/speech", to_nano(len(TEXT) * 200 / 1e6))


def test_wav_is_a_playable_file(client: openai.OpenAI, tmp_path: Path) -> None:
    out = tmp_path / "speech.wav"
    speak(client, out, model="ds/cosyvoice-v2", voice="longwan_v2", input="hello", response_format="wav")
    with wave.open(str(out)) as w:
        assert w.getnframes() > 0


def test_minimax_hex_audio_arrives_as_bytes(
        client: openai.OpenAI, tmp_path: Path, fakes: Fakes, media_gateway: Gateway) -> None:
    out = tmp_path / "speech.flac"
    headers = speak(client, out, model="mm/speech-02-hd", voice="female-shaonv", input="hello there",
                    response_format="flac")
    assert out.read_bytes().startswith(MAGIC["flac"])
    assert fakes.minimax.state.group_ids[-1] == "g-42"
    assert fakes.minimax.state.requests[-1]["voice_setting"]["voice_id"] == "female-shaonv"
    assert row(media_gateway, headers["x-request-id"])["cost_nano_cny"] == to_nano(11 * 350 / 1e6)


def test_siliconflow_voice_names_are_qualified_by_model(
        client: openai.OpenAI, tmp_path: Path, fakes: Fakes) -> None:
    out = tmp_path / "speech.opus"
    speak(client, out, model="sf/FunAudioLLM/CosyVoice2-0.5B", voice="nova", input="hi",
          response_format="opus")
    assert out.read_bytes().startswith(MAGIC["opus"])
    assert fakes.siliconflow.last.body["voice"] == "FunAudioLLM/CosyVoice2-0.5B:alex"


def test_a_format_the_first_entry_cannot_make_moves_on_to_the_next(
        client: openai.OpenAI, tmp_path: Path) -> None:
    # CosyVoice makes no flac; MiniMax does
    headers = speak(client, tmp_path / "a.flac", model="speech-fallback", voice="alloy", input="hi",
                    response_format="flac")
    assert headers["x-banjia-upstream"] == "mm/speech-02-turbo"


def test_a_format_no_entry_can_make_is_a_400_naming_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.audio.speech.create(model="ds/cosyvoice-v2", voice="alloy", input="hi", response_format="aac")
    assert e.value.param == "response_format"


def test_a_vendor_error_inside_a_200_is_mapped_by_its_table(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.audio.speech.create(model="mm/speech-02-hd", voice="alloy", input="moderate me")
    assert e.value.code == "content_filter"


def test_openai_speech_names_reach_a_vendors_speech_model(client: openai.OpenAI, tmp_path: Path) -> None:
    headers = speak(client, tmp_path / "a.mp3", model="tts-1", voice="alloy", input="hi")
    assert headers["x-banjia-upstream"] == "ds/cosyvoice-v2"


def test_sse_stream_format_is_refused_with_a_400(media_gateway: Gateway) -> None:
    body = {"model": "tts-1", "voice": "alloy", "input": "hi", "stream_format": "sse"}
    r = httpx.post(f"{media_gateway.base_url}/audio/speech", json=body,
                   headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream_format"
