"""``banjia check``: the compatibility matrix, against banjia over the fakes and a limited endpoint."""

from __future__ import annotations

import asyncio
import json

import pytest

from banjia.cli import main
from banjia.migrate._check_base import PROBES
from banjia.migrate.check import CheckReport, Target, run_checks
from tests.harness import MASTER_KEY, Gateway
from tests.migrate_tools.limited_fake import API_KEY as LIMITED_KEY
from tests.migrate_tools.limited_fake import MODEL as LIMITED_MODEL

# the fake upstream answers every model by its mode: tools, JSON and 429s live on their own aliases
MODELS_FOR = {"tools": "check-tools", "json": "check-json", "retry_after": "check-429"}
RESPONSES = {"responses_basic", "responses_stream"}
# the media probes run only on a model given for their group (tests/media/test_check_media.py)
MEDIA = {"images_url", "images_b64_json", "speech", "transcription", "rerank"}
# features the fake upstream itself lacks: banjia passes the request on, the fake ignores it
FAKE_GAPS = {"stop": "the stop sequence was ignored"}


def _check(target: Target, **kw: object) -> CheckReport:
    return asyncio.run(run_checks(target, probe_timeout=20, **kw))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def banjia_report(tools_gateway: Gateway) -> CheckReport:
    target = Target(tools_gateway.base_url, MASTER_KEY, "check-chat", "text-embedding-3-small", MODELS_FOR)
    return _check(target)


@pytest.fixture(scope="module")
def limited_report(limited: str) -> CheckReport:
    return _check(Target(limited, LIMITED_KEY, LIMITED_MODEL))


def _statuses(report: CheckReport) -> dict[str, str]:
    return {r.feature: r.status for r in report.results}


def test_there_are_about_thirty_probes_with_unique_names() -> None:
    names = [p.feature for p in PROBES]
    assert len(names) == len(set(names)) >= 30
    # --only and --model-for take a feature or a group: a shared name must mean the same probes
    for name in set(names) & {p.group for p in PROBES}:
        assert [p.feature for p in PROBES if p.group == name] == [name]


def test_every_probe_reports_a_status_and_a_detail(banjia_report: CheckReport) -> None:
    assert [r.feature for r in banjia_report.results] == [p.feature for p in PROBES]
    for r in banjia_report.results:
        assert r.status in ("pass", "fail", "unsupported")
        assert r.detail


def test_banjia_passes_every_probe_its_upstream_supports(banjia_report: CheckReport) -> None:
    expected = {p.feature for p in PROBES} - RESPONSES - set(FAKE_GAPS) - MEDIA
    failing = {
        r.feature: r.detail for r in banjia_report.results if r.feature in expected and r.status != "pass"
    }
    assert failing == {}


@pytest.mark.parametrize("feature", sorted(FAKE_GAPS))
def test_what_the_fake_upstream_ignores_shows_as_a_failure(banjia_report: CheckReport, feature: str) -> None:
    result = next(r for r in banjia_report.results if r.feature == feature)
    assert result.status == "fail"
    assert FAKE_GAPS[feature] in result.detail


def test_banjia_passes_the_responses_api_probes(banjia_report: CheckReport) -> None:
    assert {f: s for f, s in _statuses(banjia_report).items() if f in RESPONSES} == dict.fromkeys(
        RESPONSES, "pass"
    )


def test_the_throttled_model_shows_retry_after(banjia_report: CheckReport) -> None:
    result = next(r for r in banjia_report.results if r.feature == "retry_after")
    assert result.status == "pass" and "retry-after: 0" in result.detail


LIMITED_EXPECTED = {
    "models_list": "pass",
    "model_retrieve": "unsupported",  # no /models/{id}
    "chat": "pass",
    "usage": "pass",
    "strict_schema": "fail",  # no "created"
    "system_role": "pass",
    "developer_role": "unsupported",
    "stream": "pass",
    "stream_usage": "fail",  # include_usage ignored
    "stream_usage_only_when_asked": "pass",
    "tool_call": "unsupported",
    "tool_call_stream": "unsupported",
    "parallel_tool_calls": "unsupported",
    "tool_choice_required": "unsupported",
    "tool_choice_named": "unsupported",
    "tool_result": "unsupported",
    "json_object": "fail",  # silently ignored
    "json_schema": "fail",  # 500
    "n": "unsupported",
    "stop": "pass",
    "seed": "fail",  # 429
    "logprobs": "fail",  # 400 without an envelope
    "max_completion_tokens": "fail",  # ignored
    "max_tokens": "pass",
    "temperature_range": "unsupported",
    "vision": "unsupported",
    "completions_legacy": "unsupported",
    "embeddings_float": "unsupported",
    "embeddings_base64": "unsupported",
    "embeddings_batch": "unsupported",
    "embeddings_dimensions": "unsupported",
    "responses_basic": "unsupported",
    "responses_stream": "unsupported",
    "error_bad_key": "fail",  # no error envelope
    "error_unknown_model": "fail",  # 500
    "retry_after": "fail",  # the 429 had no retry-after
    **dict.fromkeys(MEDIA, "unsupported"),  # no model given for them
}


def test_the_limited_endpoint_gets_the_right_verdicts(limited_report: CheckReport) -> None:
    assert _statuses(limited_report) == LIMITED_EXPECTED


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        ("stream_usage", "no chunk carries usage"),
        ("strict_schema", "wrong shape: created"),
        ("json_object", "not bare JSON"),
        ("json_schema", "500"),
        ("logprobs", "without an OpenAI error envelope"),
        ("max_completion_tokens", "ignored"),
        ("tool_call", "tools are not supported"),
        ("error_bad_key", "without an OpenAI error envelope"),
        ("error_unknown_model", "500"),
        ("retry_after", "no retry-after"),
        ("embeddings_float", "404"),
    ],
)
def test_the_limited_endpoint_details_say_why(limited_report: CheckReport, feature: str, words: str) -> None:
    result = next(r for r in limited_report.results if r.feature == feature)
    assert words in result.detail


def test_a_probe_that_hangs_times_out_and_is_not_called_incompatible(tools_gateway: Gateway) -> None:
    target = Target(tools_gateway.base_url, MASTER_KEY, "fake/slow:1")
    report = asyncio.run(run_checks(target, only=["chat"], probe_timeout=0.3))
    assert [(r.feature, r.status) for r in report.results] == [("chat", "timeout")]
    # it ran once more, alone and with twice the time, before being called a timeout
    assert report.results[0].detail.startswith("no answer within 0.6 s: the endpoint is slow or busy")
    assert report.retried == ["chat"]
    assert not report.failed


def test_only_selects_probes_and_groups(tools_gateway: Gateway) -> None:
    target = Target(tools_gateway.base_url, MASTER_KEY, "check-chat", models_for=MODELS_FOR)
    report = _check(target, only=["chat", "json"])
    assert _statuses(report) == {"chat": "pass", "json_object": "pass", "json_schema": "pass"}


# -- the command ---------------------------------------------------------------------------------
def test_json_output_has_the_documented_shape_and_exit_code_0_without_failures(
    tools_gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "check",
            "--base-url",
            tools_gateway.base_url,
            "--api-key",
            MASTER_KEY,
            "--model",
            "check-chat",
            "--model-for",
            "tools=check-tools",
            "--only",
            "chat,stream_usage,tool_call",
            "--format",
            "json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"target", "model", "results"}
    assert out["target"] == tools_gateway.base_url and out["model"] == "check-chat"
    assert [set(r) for r in out["results"]] == [{"feature", "status", "detail"}] * 3
    assert [(r["feature"], r["status"]) for r in out["results"]] == [
        ("chat", "pass"),
        ("stream_usage", "pass"),
        ("tool_call", "pass"),
    ]


def test_table_output_and_exit_code_1_when_a_probe_fails(
    limited: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "check",
            "--base-url",
            limited,
            "--api-key",
            LIMITED_KEY,
            "--model",
            LIMITED_MODEL,
            "--only",
            "chat,json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "json_schema" in out and "fail" in out and "1 pass, 2 fail, 0 unsupported" in out


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--only", "nope"]) == 2
    assert "unknown probe or group: nope" in capsys.readouterr().err
    assert main(["check", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--model-for", "tools"]) == 2


def test_list_names_every_probe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(p.feature in out for p in PROBES)
