"""What operators see: /metrics in Prometheus's format, JSON log lines with the request id and
neither keys nor prompts, and ``x-banjia-upstream`` on every answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import strict_client
from tests.fakes.openai_fake import API_KEY, FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.routing.conftest import AUTH, USER, config, metric, metrics

PROMPT = "my secret plans for tuesday"


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    models = {"chain": ["fake/e503", "fake/echo"]}
    g = Gateway(config(fake, tmp_path_factory.mktemp("obs"), models=models,
                       routing={"retries": 0, "circuit": {"failures": 10_000}}))
    yield g
    g.stop()


def test_metrics_are_open_by_default_in_prometheus_text(gw: Gateway) -> None:
    r = httpx.get(gw.root + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE banjia_requests_total counter" in r.text


def test_requests_failures_fallbacks_and_latency_are_counted(gw: Gateway) -> None:
    before = metric(gw, "banjia_fallbacks_total", provider="fake", model="e503") or 0
    raw = strict_client(gw).chat.completions.with_raw_response.create(model="chain", messages=USER)
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    assert metric(gw, "banjia_fallbacks_total", provider="fake", model="e503") == before + 1
    failures = metric(gw, "banjia_upstream_failures_total", provider="fake", model="e503", status="503")
    assert (failures or 0) >= 1
    assert (metric(gw, "banjia_requests_total", endpoint="chat", model="chain", provider="fake",
                   upstream_model="echo", status="200") or 0) >= 1
    text = metrics(gw)
    assert 'banjia_upstream_latency_seconds_bucket{provider="fake",model="echo",le="+Inf"}' in text
    assert 'banjia_request_duration_seconds_count{endpoint="chat",provider="fake",model="echo"}' in text
    assert 'banjia_provider_disabled{provider="fake"} 0' in text


def test_metrics_can_require_the_master_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    g = Gateway(config(fake, tmp_path, metrics_require_key=True))
    try:
        assert httpx.get(g.root + "/metrics").status_code == 401
        assert httpx.get(g.root + "/metrics", headers=AUTH).status_code == 200
    finally:
        g.stop()


def test_log_lines_are_json_with_the_request_id_and_no_prompt_or_key(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="banjia")
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
    raw = strict_client(gw).chat.completions.with_raw_response.create(model="chain", messages=messages)
    rid = raw.headers["x-request-id"]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.startswith("banjia.")
             and r.getMessage().startswith("{")]
    mine = [x for x in lines if x.get("request_id") == rid]
    events = {x["event"] for x in mine}
    assert {"upstream_failed", "request"} <= events
    access = next(x for x in mine if x["event"] == "request")
    assert access["upstream"] == "fake/echo" and access["attempts"] == ["fake/e503", "fake/echo"]
    assert access["status"] == 200
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PROMPT not in text and API_KEY not in text and MASTER_KEY not in text


def test_redaction_masks_credentials_in_upstream_messages() -> None:
    from banjia.routing.logs import redact

    msg = "Incorrect API key provided: sk-abcdef1234567890. Authorization: Bearer eyJhbGciOi.xyz"
    out = redact(msg)
    assert "sk-abcdef1234567890" not in out and "eyJhbGciOi" not in out
    assert len(redact("x" * 1000)) <= 200
