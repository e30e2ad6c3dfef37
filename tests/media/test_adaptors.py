"""The media adaptors as pure translation (wire payloads in, OpenAI shapes out), the media price
rules and the pieces the flow uses; no server."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartParser

from banjia.adaptors.base import UpstreamResponse
from banjia.adaptors.media import MEDIA, media_adaptor, openai_media_endpoint
from banjia.adaptors.media.base import Task, multipart
from banjia.adaptors.media.dashscope import DashScopeMedia, native_base
from banjia.adaptors.media.minimax import MiniMaxMedia
from banjia.adaptors.media.openai_style import OpenAIMedia
from banjia.config import ProviderConfig
from banjia.errors import Action, UpstreamError
from banjia.media import wav_seconds
from banjia.pricing import Schedule, parse_schedule
from banjia.protocol.media import (
    ImageRequest,
    SpeechRequest,
    Transcript,
    TranscriptionRequest,
    transcription_body,
)
from tests.fakes.media_files import wav

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def resp(body: Any, status: int = 200, **headers: str) -> UpstreamResponse:
    return UpstreamResponse(status, headers, json.dumps(body).encode())


def ds() -> DashScopeMedia:
    return DashScopeMedia("ds", base_url="https://dashscope.example", api_key="k")


# -- DashScope's task protocol ------------------------------------------------------------------
def test_a_running_task_has_no_pictures_yet() -> None:
    assert ds().task_result(resp({"output": {"task_id": "t", "task_status": "RUNNING"}})) is None


def test_a_succeeded_task_keeps_the_pictures_that_were_made() -> None:
    got = ds().task_result(resp({"output": {"task_status": "SUCCEEDED", "results": [
        {"url": "https://oss/1.png"}, {"code": "DataInspectionFailed", "message": "no"}]}}))
    assert [p.url for p in got or []] == ["https://oss/1.png"]


def test_a_failed_task_maps_its_code_through_the_error_table() -> None:
    with pytest.raises(UpstreamError) as e:
        ds().task_result(resp({"output": {"task_status": "FAILED", "code": "Throttling.RateQuota",
                                          "message": "slow down"}}))
    assert (e.value.status, e.value.code, e.value.action) == (429, "rate_limit_exceeded", Action.RETRY)


def test_an_unknown_task_is_a_transient_upstream_failure() -> None:
    with pytest.raises(UpstreamError) as e:
        ds().task_result(resp({"output": {"task_status": "UNKNOWN"}}))
    assert e.value.status == 502 and e.value.action is Action.RETRY


def test_a_submission_without_a_task_id_is_an_error() -> None:
    with pytest.raises(UpstreamError):
        ds().image_result(resp({"code": "InvalidParameter", "message": "bad", "request_id": "r"}))
    assert ds().image_result(resp({"output": {"task_id": "t1", "task_status": "PENDING"}})) == Task("t1")


def test_tasks_are_polled_and_cancelled_on_their_own_paths() -> None:
    a = ds()
    poll, cancel = a.task_request(Task("t9")), a.task_cancel(Task("t9"))
    assert (poll.method, poll.url) == ("GET", "https://dashscope.example/api/v1/tasks/t9")
    assert cancel is not None and cancel.url.endswith("/api/v1/tasks/t9/cancel")


def test_the_compatible_mode_base_becomes_the_native_one() -> None:
    assert native_base("https://dashscope.aliyuncs.com/compatible-mode/v1/") == "https://dashscope.aliyuncs.com"
    assert native_base("https://dashscope.aliyuncs.com") == "https://dashscope.aliyuncs.com"


def test_paraformer_is_refused_as_this_entrys_limit() -> None:
    req = TranscriptionRequest(file=b"x", filename="a.wav", content_type="audio/wav", model="m")
    with pytest.raises(UpstreamError) as e:
        ds().transcription_request(req, "paraformer-v2")
    assert e.value.action is Action.SKIP and "public URLs" in e.value.message


def test_qwen_tts_makes_wav_only() -> None:
    req = SpeechRequest.model_validate({"model": "m", "input": "hi", "voice": "alloy"})
    with pytest.raises(UpstreamError) as e:
        ds().speech_request(req, "qwen-tts")
    assert e.value.action is Action.SKIP and e.value.param == "response_format"
    wav_req = SpeechRequest.model_validate({"model": "m", "input": "hi", "voice": "alloy",
                                            "response_format": "wav"})
    body = json.loads(ds().speech_request(wav_req, "qwen-tts").body)
    assert body == {"model": "qwen-tts", "input": {"text": "hi", "voice": "Cherry"}}


# -- other vendors ------------------------------------------------------------------------------
def test_minimax_errors_inside_a_200_are_errors() -> None:
    a = MiniMaxMedia("mm", base_url="https://api.minimax.chat/v1", api_key="k", group_id=None)
    req = SpeechRequest.model_validate({"model": "m", "input": "hi", "voice": "alloy"})
    with pytest.raises(UpstreamError) as e:
        a.speech_result(resp({"base_resp": {"status_code": 1004, "status_msg": "login fail"}}), req)
    assert e.value.status == 401 and e.value.action is Action.DISABLE


def test_openai_type_servers_get_the_clients_body() -> None:
    a = OpenAIMedia("vllm", base_url="http://127.0.0.1:9/v1", api_key="k")
    req = ImageRequest.model_validate({"model": "dall-e-3", "prompt": "x", "style": "vivid", "n": 2})
    up = a.image_request(req, "flux", 2)
    assert up.url == "http://127.0.0.1:9/v1/images/generations"
    assert json.loads(up.body) == {"model": "flux", "prompt": "x", "style": "vivid", "n": 2}


def test_every_media_type_is_a_provider_type() -> None:
    from banjia.adaptors import registry

    assert set(MEDIA) <= set(registry())


def test_a_type_without_media_has_no_adaptor() -> None:
    cfg = ProviderConfig(type="deepseek", api_key="k")
    assert media_adaptor("d", cfg, "images") is None
    assert media_adaptor("z", ProviderConfig(type="zhipu", api_key="k"), "speech") is None


@pytest.mark.parametrize(("name", "endpoint"), [
    ("dall-e-3", "images"), ("gpt-image-1", "images"), ("tts-1-hd", "speech"),
    ("gpt-4o-mini-tts-2025-03-20", "speech"), ("whisper-1", "transcriptions"), ("gpt-4o", None),
])
def test_openai_media_names_are_known_by_endpoint(name: str, endpoint: str | None) -> None:
    assert openai_media_endpoint(name) == endpoint


# -- the pieces around them ---------------------------------------------------------------------
async def test_the_multipart_body_is_what_a_form_parser_reads_back() -> None:
    body, ctype = multipart({"model": "m", "language": "zh"}, ("file", 'a"b.wav', "audio/wav", b"RIFF\0\1"))

    async def stream() -> Any:
        yield body

    form = await MultiPartParser(Headers({"content-type": ctype}), stream()).parse()
    assert form["model"] == "m" and form["language"] == "zh"
    upload = form["file"]
    assert not isinstance(upload, str)
    assert await upload.read() == b"RIFF\0\1" and upload.filename == "a%22b.wav"


def test_wav_seconds_reads_the_clip_and_nothing_else() -> None:
    assert wav_seconds(wav(1.25)) == 1.25
    assert wav_seconds(b"ID3 not a wav") is None


def sched(**media: float) -> Schedule:
    return parse_schedule({"input": 0.8, **media}, "t")


def test_media_prices_follow_what_was_made() -> None:
    assert sched(per_image=0.14).quote_media({"images": 3}, at=AT).cost_cny == pytest.approx(0.42)
    assert sched(per_million_chars=200).quote_media({"chars": 50}, at=AT).cost_cny == pytest.approx(0.01)
    assert sched(per_audio_second=0.00022).quote_media({"audio_seconds": 10}, at=AT).cost_cny \
        == pytest.approx(0.0022)
    assert sched().quote_media({}, prompt=1000, at=AT).cost_cny == pytest.approx(0.0008)


def test_media_without_a_rate_or_an_amount_has_no_price() -> None:
    assert sched().quote_media({"images": 1}, at=AT).cost_cny is None
    assert sched(per_audio_second=1).quote_media({"audio_seconds": None}, at=AT).cost_cny is None
    assert sched(per_image=0.1).quote_media({"images": 0}, at=AT).cost_cny == 0
    assert sched(per_audio_second=0).quote_media({"audio_seconds": None}, at=AT).cost_cny == 0


def test_subtitles_use_the_vendors_segments_when_it_has_them() -> None:
    t = Transcript("a b", "en", 4.0, [(0.0, 1.5, "a"), (1.5, 4.0, "b")])
    srt, _ = transcription_body(t, "srt", None)
    assert srt == "1\n00:00:00,000 --> 00:00:01,500\na\n\n2\n00:00:01,500 --> 00:00:04,000\nb\n"
    verbose, _ = transcription_body(t, "verbose_json", None)
    assert [s["text"] for s in verbose["segments"]] == ["a", "b"]
