"""The pieces of ``banjia compare`` that need no server: prompt files, verdicts, prices, picks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from banjia.migrate._compare_prompts import PromptError, load_capture, load_prompts
from banjia.migrate._compare_report import ModelSummary, percentile, picks
from banjia.migrate._compare_run import Pricer, Sample
from banjia.migrate._compare_score import parse_verdict

USER = [{"role": "user", "content": "hi"}]


def _write(tmp: Path, *lines: Any, name: str = "p.jsonl") -> Path:
    path = tmp / name
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8"
    )
    return path


# -- prompt files --------------------------------------------------------------------------------
def test_prompts_take_ids_from_the_line_number_and_skip_comments(tmp_path: Path) -> None:
    path = _write(tmp_path, "# a comment", {"messages": USER}, "", {"messages": USER, "id": "named"})
    assert [p.id for p in load_prompts(path)] == ["2", "named"]


def test_prompt_params_keep_only_replayable_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, {"messages": USER, "params": {"temperature": 0.1, "stream": False, "model": "x"}})
    assert load_prompts(path)[0].params == {"temperature": 0.1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ({"reference": "x"}, "'messages' must be a non-empty list"),
        ({"messages": [{"content": "x"}]}, "needs a 'role'"),
        ({"messages": USER, "match": "("}, "not a valid regular expression"),
        ({"messages": USER, "reference": 3}, "'reference' must be a string"),
    ],
)
def test_malformed_prompt_lines_name_the_file_and_line(tmp_path: Path, line: Any, message: str) -> None:
    path = _write(tmp_path, {"messages": USER}, line)
    with pytest.raises(PromptError, match=message) as e:
        load_prompts(path)
    assert f"{path}:2" in str(e.value)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="appears twice"):
        load_prompts(_write(tmp_path, {"messages": USER, "id": "a"}, {"messages": USER, "id": "a"}))
    with pytest.raises(PromptError, match="no prompts"):
        load_prompts(_write(tmp_path, "# nothing", name="empty.jsonl"))


def test_a_capture_uses_the_served_answer_as_reference_unless_one_is_given(tmp_path: Path) -> None:
    served = {
        "id": "req_1",
        "messages": USER,
        "response": "hello",
        "model": "gpt-4o",
        "upstream": "qwen/qwen-plus",
    }
    own = {"id": "req_2", "messages": USER, "response": "hello", "reference": "better"}
    prompts = load_capture(_write(tmp_path, served, own))
    assert [(p.id, p.reference) for p in prompts] == [("req_1", "hello"), ("req_2", "better")]


def test_a_capture_folder_reads_every_jsonl_in_name_order(tmp_path: Path) -> None:
    _write(tmp_path, {"messages": USER}, name="b.jsonl")
    _write(tmp_path, {"messages": USER}, {"messages": USER}, name="a.jsonl")
    _write(tmp_path, "ignored", name="notes.txt")
    assert [p.id for p in load_capture(tmp_path)] == ["a:1", "a:2", "b:1"]


# -- verdicts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("A", "A"),
        (" b. ", "B"),
        ("tie", "TIE"),
        ("[[B]]", "B"),
        ("Answer A is more detailed, but B is correct.\n[[B]]", "B"),
        ("Reasoning first.\nVerdict: A", "A"),
        ("Both answers have merit.", None),
    ],
)
def test_verdicts_are_read_from_the_judges_answer(text: str, verdict: str | None) -> None:
    assert parse_verdict(text) == verdict


# -- prices --------------------------------------------------------------------------------------
def _price(
    provider_type: str, model: str, prompt: int, completion: int, cached_tokens: int = 0
) -> float | None:
    table = {("deepseek", "deepseek-chat"): (2.0, 8.0)}
    if (provider_type, model) not in table:
        return None
    p, c = table[(provider_type, model)]
    return (prompt * p + completion * c) / 1e6


def test_who_served_comes_from_the_header_then_the_name_then_owned_by() -> None:
    pricer = Pricer(owners={"deepseek-chat": "ds", "gpt-4o": "banjia"}, provider_types={"ds": "deepseek"})
    assert pricer.served_by("gpt-4o", "ds/deepseek-chat") == ("deepseek", "deepseek-chat")
    assert pricer.served_by("ds/deepseek-chat", None) == ("deepseek", "deepseek-chat")
    assert pricer.served_by("deepseek-chat", None) == ("deepseek", "deepseek-chat")
    assert pricer.served_by("gpt-4o", None) is None  # an alias, and nobody said who served it


def test_costs_are_the_catalogs_or_unknown() -> None:
    pricer = Pricer(provider_types={"ds": "deepseek"}, price=_price)
    assert pricer.cost("ds/deepseek-chat", None, 1000, 500) == pytest.approx(0.006)
    assert pricer.cost("ds/unknown-model", None, 1000, 500) is None
    assert pricer.cost("ds/deepseek-chat", None, None, 500) is None  # no usage reported


# -- summaries and picks -------------------------------------------------------------------------
def test_percentiles_interpolate() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([1.0, 2.0], 0.95) == pytest.approx(1.95)


def _summary(model: str, quality: float | None, cost: float | None, p50: float = 1.0) -> ModelSummary:
    return ModelSummary(
        model=model,
        requests=10,
        errors=0,
        latency_mean=p50,
        latency_p50=p50,
        latency_p95=p50,
        ttft_mean=p50 / 2,
        ttft_p50=p50 / 2,
        prompt_tokens=100,
        completion_tokens=100,
        cost_cny=cost,
        similarity=quality,
        exact_rate=None,
        match_rate=None,
        judge=None,
        quality=quality,
    )


def test_picks_name_the_cheapest_model_within_each_tolerance() -> None:
    rows = [
        _summary("best", 0.90, 1.0, p50=3.0),
        _summary("close", 0.87, 0.2, p50=2.0),
        _summary("cheap", 0.75, 0.05, p50=1.0),
        _summary("mystery", 0.89, None, p50=0.5),
    ]
    got = {p.label: p.model for p in picks(rows, within=[5, 20], budgets=[10, 1])}
    assert got == {
        "Best quality": "best",
        "Cheapest within 5% of the best quality": "close",
        "Cheapest within 20% of the best quality": "cheap",
        "Fastest within 20% of the best quality": "mystery",
        # per 1,000 requests: best 100, close 20, cheap 5
        "Best quality at most CNY 10 per 1,000 requests": "cheap",
        "Best quality at most CNY 1 per 1,000 requests": None,
    }


def test_picks_against_a_baseline_leave_the_baseline_out() -> None:
    rows = [_summary("gpt-4o", 0.80, 5.0), _summary("qwen", 0.78, 1.0), _summary("glm", 0.70, 0.1)]
    got = {p.label: p.model for p in picks(rows, within=[5], baseline="gpt-4o")}
    assert got["Cheapest within 5% of gpt-4o's quality"] == "qwen"


def test_without_quality_scores_the_picks_are_cheapest_and_fastest() -> None:
    rows = [_summary("a", None, 2.0, p50=0.5), _summary("b", None, 1.0, p50=2.0)]
    got = [(p.label.split(" (")[0], p.model) for p in picks(rows)]
    assert got == [("Cheapest", "b"), ("Fastest", "a")]


def test_a_failed_sample_scores_zero_and_an_unscored_one_has_no_quality() -> None:
    assert Sample("p", "m", error="500: boom", similarity=0.9).quality == 0.0
    assert Sample("p", "m").quality is None
    assert Sample("p", "m", matched=True, similarity=-0.2, judge=0.5).quality == pytest.approx(0.5)
