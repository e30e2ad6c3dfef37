"""``/v1/audio/transcriptions`` end to end: the official SDK uploads a real WAV file (made here with
the standard library's ``wave``) through banjia to DashScope Qwen-ASR (the audio inline as a
``data:`` URI) and SiliconFlow SenseVoice (multipart); every response format; uploads bounded by
``server.max_upload_mb``; a ledger row priced per second of audio."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from banjia.store.schema import to_nano
from tests.e2e.ledger_rows import row
from tests.fakes.dashscope_media_fake import ASR_TEXT
from tests.fakes.media_files import wav
from tests.fakes.siliconflow_media_fake import SENSEVOICE_TEXT
from tests.harness import MASTER_KEY, Gateway
from tests.media.conftest import Fakes, media_config


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    path.write_bytes(wav(2.5))
    return path


def test_qwen_asr_transcribes_the_uploaded_wav(
        client: openai.OpenAI, clip: Path, fakes: Fakes, media_gateway: Gateway) -> None:
    with clip.open("rb") as f:
        raw = client.audio.transcriptions.with_raw_response.create(model="ds/qwen3-asr-flash", file=f,
                                                                   language="en")
    t = raw.parse()
    assert t.text == ASR_TEXT
    assert t.usage is not None and t.usage.type == "duration" and t.usage.seconds == 3
    user = fakes.dashscope.last.body["input"]["messages"][1]["content"][0]["audio"]
    assert user.startswith("data:audio/")  # the file went inline, as Qwen-ASR takes it
    assert fakes.dashscope.last.body["parameters"]["asr_options"]["language"] == "en"
    r = row(media_gateway, raw.headers["x-request-id"])
    # the vendor's billed seconds (3), not the clip's 2.5
    assert (r["endpoint"], r["cost_nano_cny"]) == ("audio/transcriptions", to_nano(3 * 0.00022))


def test_sensevoice_gets_the_file_as_multipart(
        client: openai.OpenAI, clip: Path, fakes: Fakes, media_gateway: Gateway) -> None:
    with clip.open("rb") as f:
        raw = client.audio.transcriptions.with_raw_response.create(
            model="sf/FunAudioLLM/SenseVoiceSmall", file=f)
    t = raw.parse()
    assert t.text == SENSEVOICE_TEXT
    # SenseVoice reports no length: banjia read it from the WAV itself
    assert t.usage is not None and t.usage.seconds == 2.5
    sent = fakes.siliconflow.last.body
    assert sent["model"] == "FunAudioLLM/SenseVoiceSmall" and sent["file"]["bytes"] == clip.read_bytes()
    assert row(media_gateway, raw.headers["x-request-id"])["cost_nano_cny"] == 0


def test_text_format_is_the_bare_text(client: openai.OpenAI, clip: Path) -> None:
    with clip.open("rb") as f:
        text = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
    assert text.strip() == ASR_TEXT


def test_srt_and_vtt_are_subtitles_over_the_clip(client: openai.OpenAI, clip: Path) -> None:
    with clip.open("rb") as f:
        srt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
    assert srt.splitlines()[:3] == ["1", "00:00:00,000 --> 00:00:03,000", ASR_TEXT]
    with clip.open("rb") as f:
        vtt = client.audio.transcriptions.create(model="sf/FunAudioLLM/SenseVoiceSmall", file=f,
                                                 response_format="vtt")
    assert vtt.splitlines()[:3] == ["WEBVTT", "", "00:00:00.000 --> 00:00:02.500"]


def test_verbose_json_has_language_and_duration(client: openai.OpenAI, clip: Path) -> None:
    with clip.open("rb") as f:
        t = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="verbose_json")
    assert (t.text, t.language, t.duration) == (ASR_TEXT, "en", 3.0)


def test_an_upload_without_a_file_is_a_400(media_gateway: Gateway) -> None:
    r = httpx.post(f"{media_gateway.base_url}/audio/transcriptions", data={"model": "whisper-1"},
                   files={"other": ("x.txt", b"hi")}, headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"


def test_a_json_body_is_a_400_asking_for_multipart(media_gateway: Gateway) -> None:
    r = httpx.post(f"{media_gateway.base_url}/audio/transcriptions", json={"model": "whisper-1"},
                   headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]["message"]


@pytest.fixture(scope="module")
def small_upload_gateway(fakes: Fakes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cfg = media_config(fakes, tmp_path_factory.mktemp("upload"))
    cfg["server"]["max_upload_mb"] = 0.05  # 52,428 bytes
    g = Gateway(cfg)
    yield g
    g.stop()


def test_an_upload_over_max_upload_mb_is_a_413_in_openais_envelope(
        small_upload_gateway: Gateway, tmp_path: Path, fakes: Fakes) -> None:
    big = tmp_path / "long.wav"
    big.write_bytes(wav(3.0))  # 96 KB
    before = len(fakes.dashscope.state.requests)
    c = openai.OpenAI(base_url=small_upload_gateway.base_url, api_key=MASTER_KEY, max_retries=0)
    with big.open("rb") as f, pytest.raises(openai.APIStatusError) as e:
        c.audio.transcriptions.create(model="whisper-1", file=f)
    assert e.value.status_code == 413
    assert e.value.code == "request_too_large" and "server.max_upload_mb" in e.value.message
    assert len(fakes.dashscope.state.requests) == before


def test_a_chunked_upload_is_cut_at_the_limit(small_upload_gateway: Gateway) -> None:
    def body() -> Iterator[bytes]:  # no Content-Length: the limit is found while reading
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n"
        for _ in range(100):
            yield b"\0" * 1024

    r = httpx.post(f"{small_upload_gateway.base_url}/audio/transcriptions", content=body(),
                   headers={"Authorization": f"Bearer {MASTER_KEY}",
                            "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"
