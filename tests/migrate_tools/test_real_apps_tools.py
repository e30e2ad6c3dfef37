"""check and compare on what real apps and endpoints showed (issue 16), each from a small
reproduction: timeouts told apart from incompatibility, concurrency that adapts, and the
comparison's scores, picks, exit codes, costs, baseline deltas, labels and fonts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from banjia.cli import main
from banjia.migrate._check_base import PROBES, classify
from banjia.migrate._compare_html import FONTS, place_labels, render_html
from banjia.migrate._compare_prompts import Prompt
from banjia.migrate._compare_report import Run, against_baseline, picks, render_markdown, summarize
from banjia.migrate._compare_run import Pricer, Sample
from banjia.migrate.check import Target, Window, run_checks
from banjia.migrate.compare import CompareOptions, run_compare
from tests.harness import MASTER_KEY, AioServer, Gateway


# -- check: timeouts and concurrency ------------------------------------------------------------
def test_a_timeout_is_its_own_status_not_a_failure() -> None:
    outcome = classify("chat", PROBES[0], TimeoutError(), 60)
    assert outcome.status == "timeout"
    assert "slow or busy" in outcome.detail and "says nothing about the feature" in outcome.detail


def test_the_window_grows_on_quick_answers_and_backs_off_on_slow_ones_timeouts_and_429s() -> None:
    w = Window(limit=8, start=2)
    for _ in range(10):
        w.record(0.1, timeout=10, status="pass")
    assert w.size == 8
    w.record(6.0, timeout=10, status="pass")  # more than half the timeout: the endpoint queues
    assert w.size == 4
    w.record(0.1, timeout=10, status="fail", throttled=True)
    assert w.size == 1
    w.record(0.1, timeout=10, status="pass")
    w.record(10.0, timeout=10, status="timeout")
    assert w.size == 1
    fixed = Window(limit=3, fixed=True)
    fixed.record(10.0, timeout=10, status="timeout")
    assert fixed.size == 3


class SerialEndpoint:
    """Answers one request at a time, each after a pause, like one local model: every request
    is refused with a clear 400 (so each probe ends quickly as "unsupported")."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.lock = asyncio.Lock()
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        async with self.lock:
            await asyncio.sleep(self.hold)
        return web.json_response({"error": {"message": "not here", "type": "invalid_request_error",
                                             "param": None, "code": None}}, status=400)


@pytest.fixture(scope="module")
def serial() -> Iterator[str]:
    server = AioServer(SerialEndpoint(hold=0.15).app, "serial-fake")
    yield server.url + "/v1"
    server.stop()


def test_a_serial_endpoint_makes_probes_queue_and_time_out_at_a_fixed_concurrency_of_8(
        serial: str) -> None:
    report = asyncio.run(run_checks(Target(serial, "k", "m"), only=["core"], concurrency=8,
                                    probe_timeout=1.0))
    # eight in flight wait up to 8 × 0.15 s: the later ones time out, then run again alone
    assert report.retried
    assert [r.feature for r in report.results if r.status == "timeout"] == []


def test_adaptive_concurrency_ends_without_a_timeout_on_a_serial_endpoint(serial: str) -> None:
    report = asyncio.run(run_checks(Target(serial, "k", "m"), only=["core"], probe_timeout=1.0))
    assert {r.status for r in report.results} <= {"unsupported", "fail", "pass"}


# -- compare -------------------------------------------------------------------------------------
def _sample(model: str, prompt: str = "p", **kw: Any) -> Sample:
    return Sample(prompt, model, text="echo", latency_s=0.1, ttft_s=0.05, prompt_tokens=3,
                  completion_tokens=2, **kw)


def test_prompts_with_only_a_match_regex_get_a_score(tools_gateway: Gateway) -> None:
    prompts = [Prompt("m1", [{"role": "user", "content": "Name a colour"}], match="^echo: Name")]
    run = asyncio.run(run_compare(CompareOptions(
        base_url=tools_gateway.base_url, api_key=MASTER_KEY, models=["fake/echo"], prompts=prompts,
        progress=False)))
    assert run.summaries[0].quality == 1.0
    assert run.picks[0].label == "Best quality" and run.picks[0].model == "fake/echo"


def test_a_model_whose_every_request_failed_is_never_picked() -> None:
    pricer = Pricer(price=lambda *a, **k: 0.01)
    broken = summarize("broken", [_sample("broken", error="500: down")], pricer)
    unscored = summarize("fine", [_sample("fine", scored=False)], pricer)
    assert broken.quality is not None  # it failed a scored prompt: quality 0
    chosen = {p.model for p in picks([broken, unscored])}
    assert "broken" not in chosen
    assert picks([broken])[0].model is None


def test_an_unreachable_endpoint_exits_2_without_a_report_or_a_pick(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    out = tmp_path / "report.html"
    code = main(["compare", "--prompts", str(prompts), "--models", "a,b", "--base-url",
                 "http://127.0.0.1:9/v1", "--api-key", "k", "--out", str(out), "--no-progress",
                 "--timeout", "5"])
    assert code == 2
    assert "cannot reach http://127.0.0.1:9/v1" in capsys.readouterr().err
    assert not out.exists()


def test_without_the_config_costs_come_from_the_catalog_by_the_upstream_model() -> None:
    pricer = Pricer()  # no --config: provider names are not known as types
    assert pricer.served_by("gpt-4o", "qwen/qwen-plus") == ("dashscope", "qwen-plus")
    assert pricer.cost("gpt-4o", "qwen/qwen-plus", 1000, 1000) is not None
    assert pricer.cost("gpt-4o", "mine/no-such-model", 1000, 1000) is None


def test_quality_delta_and_saving_against_the_baseline() -> None:
    pricer = Pricer(price=lambda *a, **k: 0.0)
    base = summarize("x/big", [_sample("x/big", similarity=0.9, cost_cny=0.02)], pricer)
    cheap = summarize("x/small", [_sample("x/small", similarity=0.8, cost_cny=0.005)], pricer)
    against_baseline([base, cheap], "x/big")
    assert cheap.quality_delta == pytest.approx(-0.1)
    assert cheap.saving_pct == pytest.approx(75.0)
    run = Run("http://gw/v1", ["x/big", "x/small"], 1, [], [base, cheap],
              picks([base, cheap], baseline="x/big"), baseline="x/big")
    md = render_markdown(run)
    assert "| x/small | 0.800 | -0.100 |" in md and "| 75% |" in md
    assert "against the baseline `x/big`" in md


def test_scatter_labels_do_not_overlap() -> None:
    boxes = []
    points = [(100.0, 100.0, "qwen/qwen-plus"), (104.0, 101.0, "deepseek/deepseek-chat"),
              (100.0, 106.0, "moonshot/moonshot-v1-8k"), (300.0, 200.0, "glm-4-flash")]
    for x, y, anchor, text in place_labels(points, (0.0, 0.0, 600.0, 340.0)):
        w = sum(11.0 if ord(c) > 0x2E80 else 6.2 for c in text)
        x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        boxes.append((x0, y - 10, x0 + w, y + 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_the_html_report_declares_a_cjk_font() -> None:
    pricer = Pricer(price=lambda *a, **k: 0.01)
    s = summarize("qwen/qwen-plus", [_sample("qwen/qwen-plus", similarity=0.9)], pricer)
    run = Run("http://gw/v1", [s.model], 1, [], [s], picks([s]))
    html = render_html(run, [Prompt("p", [{"role": "user", "content": "你好"}])])
    assert "Noto Sans CJK SC" in FONTS and "Microsoft YaHei" in FONTS
    assert html.count(FONTS) == 2  # the page and the plots' text


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["scan", ".", "--target", "nonsense"],
    ["migrate", ".", "--target", "nonsense"],
    ["rewrite", ".", "--base-url", "not-a-url"],
    ["migrate", ".", "--base-url", "not-a-url"],
    ["check", "--base-url", "not-a-url", "--model", "m"],
    ["compare", "--prompts", "p.jsonl", "--models", "a", "--base-url", "not-a-url"],
    ["check", "--base-url", "http://x/v1", "--model", "m", "--concurrency", "0"],
])
def test_bad_targets_and_base_urls_are_usage_errors(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown provider type 'nonsense'" in err or "not an http(s) URL" in err \
        or "auto or a number" in err


# -- migrate's check and compare steps ------------------------------------------------------------
def test_migrate_checks_the_target_and_compares_models_when_asked(
        tools_gateway: Gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    root = tmp_path / "app"
    shutil.copytree(Path(__file__).parents[1] / "migrate/apps/quickstart_node", root)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"messages": [{"role": "user", "content": "Name a colour"}],
                                   "match": "^echo"}) + "\n")
    report = tmp_path / "r.md"
    code = main(["migrate", str(root), "--check-url", tools_gateway.base_url, "--check-key",
                 MASTER_KEY, "--check-model", "check-chat", "--check-only", "chat,stream",
                 "--prompts", str(prompts), "--models", "fake/echo", "--format", "json",
                 "--report", str(report)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(r["feature"], r["status"]) for r in out["check"]["results"]] == [
        ("chat", "pass"), ("stream", "pass")]
    assert out["compare"]["picks"][0]["model"] == "fake/echo"
    text = report.read_text()
    assert "| chat | pass |" in text and "**Best quality**: `fake/echo`" in text
    assert (tmp_path / "r-compare.html").exists()
