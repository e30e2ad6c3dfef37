"""``banjia check`` probes the media endpoints on the models given for them (``--model-for``), and
leaves them alone otherwise (they cost money upstream)."""

from __future__ import annotations

import asyncio

from banjia.migrate.check import Target, run_checks
from tests.harness import MASTER_KEY, Gateway

MEDIA = ["images_url", "images_b64_json", "speech", "transcription", "rerank"]


def test_media_probes_pass_against_banjia(media_gateway: Gateway) -> None:
    models = {"images": "ds/wanx2.1-t2i-turbo", "speech": "mm/speech-02-turbo",
              "transcription": "whisper-1", "rerank": "sf/BAAI/bge-reranker-v2-m3"}
    target = Target(media_gateway.base_url, MASTER_KEY, "unused", models_for=models)
    report = asyncio.run(run_checks(target, only=MEDIA, probe_timeout=30))
    assert {r.feature: (r.status, r.detail) for r in report.results if r.status != "pass"} == {}
    assert [r.feature for r in report.results] == MEDIA


def test_media_probes_without_a_model_are_not_run(media_gateway: Gateway) -> None:
    target = Target(media_gateway.base_url, MASTER_KEY, "unused")
    report = asyncio.run(run_checks(target, only=MEDIA, probe_timeout=30))
    assert {r.status for r in report.results} == {"unsupported"}
    assert "--model-for images=MODEL" in report.results[0].detail
