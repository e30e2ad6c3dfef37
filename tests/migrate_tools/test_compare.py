"""``banjia compare`` end to end: banjia over fakes with deterministic answers, and the reports' numbers."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from banjia.cli import main
from banjia.migrate._compare_prompts import Prompt, load_prompts
from banjia.migrate._compare_report import Run
from banjia.migrate._compare_run import Sample
from banjia.migrate.compare import CompareOptions, run_compare, write_reports
from tests.harness import MASTER_KEY, Gateway

PROMPTS: list[dict[str, Any]] = [
    {
        "id": "add",
        "messages": [{"role": "user", "content": "What is two plus two"}],
        "reference": "echo: What is two plus two",
    },
    {"id": "colour", "messages": [{"role": "user", "content": "Name a colour"}], "match": "^echo: Name"},
    {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say something nice please"},
        ]
    },
]
ECHO, PRICED, ALIAS, TERSE, SLOW, BROKEN = (
    "fake/echo",
    "deepseek/deepseek-chat",
    "cmp-alias",
    "scripted/terse",
    "fake/slowchunks:0.03",
    "fake/e400",
)
MODELS = [ECHO, PRICED, ALIAS, TERSE, SLOW, BROKEN]
TYPES = {"fake": "openai", "deepseek": "deepseek", "scripted": "openai"}


def _prompts(tmp: Path) -> list[Prompt]:
    path = tmp / "prompts.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in PROMPTS) + "\n", encoding="utf-8")
    return load_prompts(path)


def _options(g: Gateway, prompts: list[Prompt], models: list[str], **kw: Any) -> CompareOptions:
    return CompareOptions(
        base_url=g.base_url,
        api_key=MASTER_KEY,
        models=models,
        prompts=prompts,
        provider_types=TYPES,
        progress=False,
        request_timeout=20,
        **kw,
    )


@pytest.fixture(scope="module")
def run(tools_gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Run:
    prompts = _prompts(tmp_path_factory.mktemp("compare"))
    return asyncio.run(run_compare(_options(tools_gateway, prompts, MODELS)))


def _sample(run: Run, prompt_id: str, model: str) -> Sample:
    return next(s for s in run.samples if s.prompt_id == prompt_id and s.model == model)


def _catalog_cost(provider_type: str, model: str, prompt: int, completion: int) -> float | None:
    try:
        from banjia.catalog import price_cny
    except ImportError:
        return None
    return price_cny(provider_type, model, prompt, completion)


def _words(text: str) -> int:
    return len(text.split())


# -- the numbers ---------------------------------------------------------------------------------
def test_every_prompt_is_replayed_on_every_model(run: Run) -> None:
    assert sorted((s.prompt_id, s.model) for s in run.samples) == sorted(
        (pid, m) for pid in ("add", "colour", "3") for m in MODELS
    )


def test_latency_and_time_to_first_token_are_measured(run: Run) -> None:
    for s in run.samples:
        if s.model == BROKEN:
            continue
        assert s.latency_s is not None and s.ttft_s is not None
        assert 0 < s.ttft_s <= s.latency_s
    slow = _sample(run, "add", SLOW)
    # the fake waits 0.03 s before each of its 6 words
    assert slow.latency_s is not None and slow.latency_s >= 6 * 0.03
    assert slow.ttft_s is not None and slow.ttft_s < slow.latency_s


def test_token_counts_are_the_fakes(run: Run) -> None:
    for p in PROMPTS:
        pid = str(p.get("id", "3"))
        prompt_words = sum(_words(m["content"]) for m in p["messages"])
        echo = _sample(run, pid, ECHO)
        assert echo.text == "echo: " + p["messages"][-1]["content"]
        assert (echo.prompt_tokens, echo.completion_tokens) == (prompt_words, _words(echo.text))
        terse = _sample(run, pid, TERSE)
        assert (terse.text, terse.prompt_tokens, terse.completion_tokens) == ("ok", prompt_words, 1)
    summary = next(s for s in run.summaries if s.model == ECHO)
    assert summary.prompt_tokens == 5 + 3 + 6 and summary.completion_tokens == 6 + 4 + 5


def test_costs_come_from_the_catalog_or_are_unknown(run: Run) -> None:
    for s in run.samples:
        if s.model in (PRICED, ALIAS):
            assert s.prompt_tokens is not None and s.completion_tokens is not None
            expected = _catalog_cost("deepseek", "deepseek-chat", s.prompt_tokens, s.completion_tokens)
            assert s.cost_cny == expected
        elif s.model in (ECHO, SLOW, TERSE):
            upstream = s.model.split("/", 1)[1]
            assert s.cost_cny == _catalog_cost(
                "openai", upstream, s.prompt_tokens or 0, s.completion_tokens or 0
            )
    by_model = {s.model: s for s in run.summaries}
    priced = by_model[PRICED]
    if _catalog_cost("deepseek", "deepseek-chat", 1, 1) is None:
        assert priced.cost_cny is None and priced.cost_note
    else:
        total = sum(s.cost_cny or 0.0 for s in run.samples if s.model == PRICED)
        assert priced.cost_cny == pytest.approx(total)
        assert priced.cost_per_1k == pytest.approx(total / 3 * 1000)
    assert by_model[ECHO].cost_cny is None and by_model[ECHO].cost_note == "no catalog price for openai/echo"
    assert by_model[BROKEN].cost_cny is None


def test_an_alias_is_priced_by_the_upstream_that_served_it(run: Run) -> None:
    s = _sample(run, "add", ALIAS)
    assert s.upstream == "deepseek/deepseek-chat"
    assert s.cost_cny == _sample(run, "add", PRICED).cost_cny


def _fake_embedding(text: str) -> list[float]:
    """tests/fakes/openai_fake.py's deterministic embedding, truncated to 16 dimensions."""
    raw = [(b - 128) / 128 for b in hashlib.sha256(text.encode()).digest()[:16]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1
    return [x / norm for x in raw]


def test_an_exact_answer_scores_exactly(run: Run) -> None:
    echo = _sample(run, "add", ECHO)
    assert echo.exact is True and echo.similarity == 1.0
    terse = _sample(run, "add", TERSE)
    a, b = _fake_embedding("ok"), _fake_embedding("echo: What is two plus two")
    assert terse.exact is False
    assert terse.similarity == pytest.approx(sum(x * y for x, y in zip(a, b, strict=True)), abs=1e-6)
    assert _sample(run, "colour", ECHO).similarity is None  # no reference


def test_regex_match_scores_one_or_zero(run: Run) -> None:
    assert _sample(run, "colour", ECHO).matched is True
    assert _sample(run, "colour", TERSE).matched is False
    assert _sample(run, "add", ECHO).matched is None
    echo = next(s for s in run.summaries if s.model == ECHO)
    assert (echo.exact_rate, echo.match_rate, echo.similarity) == (1.0, 1.0, 1.0)


def test_quality_is_the_mean_of_the_scores_a_prompt_has(run: Run) -> None:
    by_model = {s.model: s for s in run.summaries}
    # echo: similarity 1 on "add", match 1 on "colour", nothing to score on the third
    assert by_model[ECHO].quality == 1.0
    terse = _sample(run, "add", TERSE)
    assert terse.similarity is not None
    assert by_model[TERSE].quality == pytest.approx((max(0.0, terse.similarity) + 0.0) / 2)


def test_failed_requests_are_counted_and_score_zero(run: Run) -> None:
    broken = next(s for s in run.summaries if s.model == BROKEN)
    assert (broken.errors, broken.requests, broken.quality, broken.latency_p50) == (3, 3, 0.0, None)
    assert all((s.error or "").startswith("400") for s in run.samples if s.model == BROKEN)


def test_the_picks_name_the_cheapest_model_close_to_the_best(run: Run) -> None:
    picks = {p.label: p for p in run.picks}
    assert picks["Best quality"].model in (ECHO, PRICED, ALIAS, SLOW)
    cheapest = picks["Cheapest within 5% of the best quality"]
    if _catalog_cost("deepseek", "deepseek-chat", 1, 1) is None:
        assert cheapest.model is None and "known cost" in cheapest.why
    else:
        assert cheapest.model in (PRICED, ALIAS)


# -- the judge -----------------------------------------------------------------------------------
def _judged(g: Gateway, tmp: Path, judge: str) -> Run:
    opts = _options(g, _prompts(tmp), [ECHO, TERSE], judge=judge)
    return asyncio.run(run_compare(opts))


def test_a_judge_that_always_picks_the_first_answer_cancels_out(
    tools_gateway: Gateway, tmp_path: Path
) -> None:
    run = _judged(tools_gateway, tmp_path, "scripted/judge-first")
    assert {s.judge for s in run.samples} == {0.5}
    assert run.judge is not None
    assert (run.judge.calls, run.judge.pairs, run.judge.first_wins, run.judge.consistent) == (6, 3, 6, 0)


def test_a_judge_with_a_real_preference_keeps_it_under_the_swap(
    tools_gateway: Gateway, tmp_path: Path
) -> None:
    run = _judged(tools_gateway, tmp_path, "scripted/judge-longer")
    assert {s.judge for s in run.samples if s.model == ECHO} == {1.0}
    assert {s.judge for s in run.samples if s.model == TERSE} == {0.0}
    assert run.judge is not None and run.judge.consistency == 1.0
    echo = next(s for s in run.summaries if s.model == ECHO)
    assert echo.quality == 1.0


def test_the_judge_sees_each_pair_in_both_orders(
    tools_gateway: Gateway, tmp_path: Path, scripted: Any
) -> None:
    before = len(scripted.judge_prompts)
    _judged(tools_gateway, tmp_path, "scripted/judge-longer")
    seen = scripted.judge_prompts[before:]
    firsts = sorted(re.search(r"\[Answer A\]\n(.*?)\n", p).group(1) for p in seen)  # type: ignore[union-attr]
    assert len(seen) == 6
    assert firsts.count("ok") == 3 and sum(f.startswith("echo:") for f in firsts) == 3
    assert all("[Reference answer]\necho: What is two plus two" in p for p in seen if "two plus two" in p)


def test_unreadable_verdicts_count_as_ties(tools_gateway: Gateway, tmp_path: Path) -> None:
    run = _judged(tools_gateway, tmp_path, "scripted/judge-mumble")
    assert run.judge is not None and run.judge.unparsed == 6
    assert {s.judge for s in run.samples} == {0.5}


# -- the reports ---------------------------------------------------------------------------------
def test_reports_are_self_contained_and_carry_the_numbers(run: Run, tmp_path: Path) -> None:
    html, md, js = write_reports(run, _prompts(tmp_path), tmp_path / "out" / "report.html")
    assert (md.name, js.name) == ("report.md", "report.json")
    page = html.read_text(encoding="utf-8")
    assert "<script" not in page and not re.search(r'\b(src|href)="', page)
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(svgs) == 3
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    assert "cost against quality" in svgs[0] and "Latency" in svgs[1] and "Time to first token" in svgs[2]
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [s["model"] for s in data["summaries"]] == MODELS
    echo = data["summaries"][0]
    assert (echo["prompt_tokens"], echo["completion_tokens"], echo["quality"]) == (14, 15, 1.0)
    summary = md.read_text(encoding="utf-8")
    assert "## Best replacement per budget" in summary and "**Best quality**" in summary
    assert "| fake/echo | 1.000 | – | 1.000 | 100% | 100% |" in summary  # Δ quality: no baseline
    assert "`fake/e400`" not in summary or "unknown" in summary


def test_the_command_writes_the_reports(tools_gateway: Gateway, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps(PROMPTS[0]) + "\n", encoding="utf-8")
    out = tmp_path / "r" / "cmp.html"
    code = main(
        [
            "compare",
            "--prompts",
            str(prompts),
            "--models",
            f"{ECHO},{TERSE}",
            "--base-url",
            tools_gateway.base_url,
            "--api-key",
            MASTER_KEY,
            "--out",
            str(out),
            "--budgets",
            "1",
        ]
    )
    assert code == 0
    assert out.exists() and out.with_suffix(".md").exists() and out.with_suffix(".json").exists()
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["prompts"] == 1 and data["summaries"][0]["similarity"] == 1.0


def test_the_command_replays_a_capture(tools_gateway: Gateway, tmp_path: Path) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    line = {
        "id": "req_1",
        "captured_at": "2025-05-01T12:00:00Z",
        "model": "gpt-4o",
        "upstream": "qwen/qwen-plus",
        "messages": [{"role": "user", "content": "hello there"}],
        "params": {"temperature": 0.2},
        "response": "echo: hello there",
    }
    (capture / "2025-05-01.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    out = tmp_path / "cap.html"
    args = ["compare", "--from-capture", str(capture), "--models", ECHO, "--no-progress"]
    code = main([*args, "--base-url", tools_gateway.base_url, "--api-key", MASTER_KEY, "--out", str(out)])
    assert code == 0
    sample = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["samples"][0]
    assert (sample["prompt_id"], sample["exact"], sample["similarity"]) == ("req_1", True, 1.0)


def test_every_request_failing_exits_1(tools_gateway: Gateway, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps(PROMPTS[0]) + "\n", encoding="utf-8")
    args = [
        "compare",
        "--prompts",
        str(prompts),
        "--models",
        BROKEN,
        "--no-progress",
        "--out",
        str(tmp_path / "x.html"),
    ]
    assert main([*args, "--base-url", tools_gateway.base_url, "--api-key", MASTER_KEY]) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give either --prompts"),
        (["--prompts", "missing.jsonl"], "cannot read"),
        (["--prompts", "{p}", "--within", "five"], "--within takes comma-separated numbers"),
        (["--prompts", "{p}", "--models", "a,a"], "names a model twice"),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text(json.dumps(PROMPTS[0]) + "\n", encoding="utf-8")
    args = ["compare", "--models", "a", *(x.replace("{p}", str(p)) for x in extra)]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_the_command_finds_the_gateway_and_its_provider_types_in_the_config(
    tools_gateway: Gateway, own_fake: Any, scripted: Any, tmp_path: Path
) -> None:
    import yaml

    from tests.migrate_tools.conftest import tools_config

    cfg = tools_config(own_fake, scripted, tmp_path)
    cfg["server"].update(host="127.0.0.1", port=tools_gateway.port)
    config = tmp_path / "banjia.yaml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps(PROMPTS[0]) + "\n", encoding="utf-8")
    out = tmp_path / "cfg.html"
    args = ["compare", "--config", str(config), "--prompts", str(prompts), "--models", ECHO, "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["endpoint"] == tools_gateway.base_url
    assert data["summaries"][0]["cost_note"] == "no catalog price for openai/echo"  # fake is type openai
