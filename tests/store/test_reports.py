"""Usage reports: sums by key, model or provider since a time; saving = OpenAI cost − cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from banjia.catalog import openai_cost_cny, price_cny
from banjia.errors import APIError
from banjia.store import Store, parse_since
from banjia.store.reports import format_table
from tests.store.conftest import ctx_for, finish


async def _traffic(store: Store) -> tuple[str, str]:
    _, ka = await store.keys.create(name="a")
    _, kb = await store.keys.create(name="b")
    a, b = await store.authenticator.authenticate(ka), await store.authenticator.authenticate(kb)
    assert a is not None and b is not None
    plan = [  # key, model asked, provider, type, upstream, prompt, completion
        (a, "gpt-4o", "qwen", "dashscope", "qwen-plus", 1000, 500),
        (a, "gpt-4o", "qwen", "dashscope", "qwen-plus", 2000, 100),
        (a, "gpt-4o-mini", "ds", "deepseek", "deepseek-chat", 300, 300),
        (b, "gpt-4o-mini", "ds", "deepseek", "deepseek-chat", 700, 50),
    ]
    for key, model, prov, ptype, up, p, c in plan:
        ctx = ctx_for(key, model=model)
        store.accounting.record(finish(ctx, prompt=p, completion=c, provider=prov,
                                       provider_type=ptype, upstream_model=up))
    old = ctx_for(b, model="gpt-4o")
    old.started_at = (datetime.now(UTC) - timedelta(days=10)).timestamp()
    store.accounting.record(finish(old, prompt=10_000, completion=10_000))
    await store.flush()
    return a.id, b.id


def _row(report: dict[str, object], group: str) -> dict[str, object]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return next(r for r in rows if r["group"] == group)


async def test_report_by_model_sums_tokens_costs_and_saving(store: Store) -> None:
    await _traffic(store)
    report = await store.usage(by="model", since=datetime.now(UTC) - timedelta(days=1))
    assert report["by"] == "model" and report["since"].endswith("Z")
    row = _row(report, "gpt-4o")
    cost = price_cny("dashscope", "qwen-plus", 1000, 500) + price_cny(  # type: ignore[operator]
        "dashscope", "qwen-plus", 2000, 100)
    openai = openai_cost_cny("gpt-4o", "chat", 1000, 500) + openai_cost_cny(
        "gpt-4o", "chat", 2000, 100)
    assert (row["requests"], row["prompt_tokens"], row["completion_tokens"],
            row["total_tokens"]) == (2, 3000, 600, 3600)
    assert row["cost_cny"] == pytest.approx(cost, abs=1e-8)
    assert row["openai_cost_cny"] == pytest.approx(openai, abs=1e-8)
    assert row["saving_cny"] == pytest.approx(openai - cost, abs=1e-8)
    assert row["saving_pct"] == pytest.approx(100 * (openai - cost) / openai, abs=0.01)
    assert 0 < row["saving_pct"] < 100  # type: ignore[operator]
    total = report["total"]
    assert total["requests"] == 4 and total["total_tokens"] == 4950


async def test_report_by_key_and_by_provider(store: Store) -> None:
    a, b = await _traffic(store)
    by_key = await store.usage(by="key")  # all time: includes the old request
    assert _row(by_key, a)["requests"] == 3 and _row(by_key, b)["requests"] == 2
    by_provider = await store.usage(by="provider", since=parse_since("1d"))
    assert [r["group"] for r in by_provider["rows"]] == ["ds", "qwen"]
    assert _row(by_provider, "ds")["prompt_tokens"] == 1000


async def test_since_leaves_out_older_requests(store: Store) -> None:
    await _traffic(store)
    everything = await store.usage(by="key")
    recent = await store.usage(by="key", since=parse_since("7d"))
    assert everything["total"]["requests"] == 5 and recent["total"]["requests"] == 4
    assert everything["since"] is None


async def test_an_empty_report_has_no_rows_and_zero_totals(store: Store) -> None:
    report = await store.usage(by="provider")
    assert report["rows"] == [] and report["total"]["requests"] == 0
    assert report["total"]["saving_pct"] == 0.0


async def test_bad_group_or_since_is_400(store: Store) -> None:
    with pytest.raises(APIError):
        await store.usage(by="colour")
    with pytest.raises(APIError):
        parse_since("last tuesday")


def test_since_accepts_dates_and_spans() -> None:
    assert parse_since("2025-01-02") == datetime(2025, 1, 2, tzinfo=UTC)
    assert parse_since("2025-01-02T03:04:05+08:00") == datetime(2025, 1, 1, 19, 4, 5, tzinfo=UTC)
    span = parse_since("24h")
    assert span is not None and abs(
        (datetime.now(UTC) - span) - timedelta(hours=24)) < timedelta(seconds=5)
    assert parse_since(None) is None


async def test_table_shows_groups_and_total(store: Store) -> None:
    await _traffic(store)
    text = format_table(await store.usage(by="model"))
    assert "gpt-4o-mini" in text and "total" in text and "saving" in text
