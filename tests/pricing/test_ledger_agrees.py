"""``banjia cost`` and the ledger price a request alike: real requests through banjia's HTTP server
over the fake upstream (which reports cached tokens), priced by a config ``pricing:`` override;
each expected CNY is worked out by hand here.

The fake counts words: a prompt of N words is N prompt tokens, and the answer ("echo:" + the
words) is N + 1 completion tokens; ``cached:<n>`` reports n of the prompt tokens as cached.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from banjia.cli import main
from banjia.context import RequestContext
from banjia.pricing import BEIJING, Pricer, parse_overrides
from banjia.store.ledger import ledger_row
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOW = dt.datetime.now(BEIJING)
TODAY = DAYS[NOW.weekday()]
THIS_HOUR = f"{NOW.hour:02d}:00-{NOW.hour + 1:02d}:00"

PRICING: dict[str, Any] = {
    # flat, with a cache rate
    "fake/cached:2": {"input": 5, "output": 30, "cache_read": 1},
    # tiers: one rate for the whole request by its prompt tokens
    "fake/cached:02": {"tiers": [{"up_to": 5, "input": 1, "output": 2, "cache_read": 0.5},
                                 {"up_to": 100, "input": 4, "output": 8, "cache_read": 1}]},
    # bands: today is peak / today is not peak / this hour is peak
    "fake/cached:002": {"bands": [{"days": [TODAY], "input": 6, "output": 12, "cache_read": 2},
                                  {"input": 1, "output": 2, "cache_read": 0.5}]},
    "fake/cached:0002": {"bands": [{"days": [d for d in DAYS if d != TODAY], "input": 6,
                                    "output": 12, "cache_read": 2},
                                   {"input": 1, "output": 2, "cache_read": 0.5}]},
    "fake/cached:00002": {"bands": [{"hours": [THIS_HOUR], "input": 6, "output": 12},
                                    {"input": 1, "output": 2}]},
    "fake/cached:000002": {"input": 5, "output": 30, "cache_read": 1},
    # batch: the flat rates times the batch multiplier (a line of a Batch API batch)
    "fake/cached:0000002": {"input": 5, "output": 30, "cache_read": 1, "batch": 0.5},
}


def config(fake: FakeOpenAI, tmp: Path) -> dict[str, Any]:
    return {"server": {"master_key": MASTER_KEY}, "store": {"url": f"sqlite:///{tmp / 'b.db'}"},
            "providers": {"fake": fake_provider(fake)}, "pricing": PRICING}


@pytest.fixture(scope="module")
def setup(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Path]]:
    tmp = tmp_path_factory.mktemp("pricing")
    cfg = config(fake, tmp)
    path = tmp / "banjia.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    g = Gateway(cfg)
    yield g, path
    g.stop()


def request(g: Gateway, model: str, words: int) -> dict[str, Any]:
    """Send one chat request; its ledger row."""
    prompt = " ".join(f"w{i}" for i in range(words))
    r = httpx.post(g.base_url + "/chat/completions", timeout=30,
                   headers={"Authorization": f"Bearer {MASTER_KEY}"},
                   json={"model": model, "messages": [{"role": "user", "content": prompt}]})
    assert r.status_code == 200, r.text
    rows = httpx.get(g.root + "/admin/requests?limit=20", timeout=30,
                     headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()["rows"]
    row: dict[str, Any] = next(x for x in rows if x["request_id"] == r.headers["x-request-id"])
    return row


def cli_cost(path: Path, row: dict[str, Any], *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["cost", "--config", str(path), "--model", row["upstream"],
                     "--prompt", str(row["prompt_tokens"]), "--completion",
                     str(row["completion_tokens"]), "--cached", str(row["cached_tokens"]),
                     "--at", row["created_at"], "--format", "json", *extra])
    assert code == 0
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def started(row: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(row["created_at"]).astimezone(BEIJING)


def agree(path: Path, row: dict[str, Any], expected: float) -> None:
    assert row["cost_cny"] == pytest.approx(expected, abs=1e-9)
    assert cli_cost(path, row)["cost_cny"] == pytest.approx(expected, abs=1e-9)


def test_the_ledger_counts_what_the_fake_reported(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:2", 10)
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (10, 11, 2)


def test_flat_price_with_cached_tokens_agrees(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:2", 10)
    # 8 fresh at 5 + 2 cached at 1 + 11 out at 30 = 372 per million
    agree(setup[1], row, 372e-6)


def test_tiered_price_agrees_above_the_first_tier(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:02", 10)
    # 10 prompt tokens > 5: the second tier for all of them: 8 x 4 + 2 x 1 + 11 x 8 = 122
    agree(setup[1], row, 122e-6)


def test_tiered_price_agrees_within_the_first_tier(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:02", 4)
    # 4 prompt tokens <= 5: 2 x 1 + 2 x 0.5 + 5 x 2 = 13
    agree(setup[1], row, 13e-6)


def test_banded_price_agrees_on_a_peak_day(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:002", 10)
    peak = DAYS[started(row).weekday()] == TODAY  # the request started today (Beijing)
    # peak: 8 x 6 + 2 x 2 + 11 x 12 = 184; otherwise 8 x 1 + 2 x 0.5 + 11 x 2 = 31
    agree(setup[1], row, (184e-6 if peak else 31e-6))


def test_banded_price_agrees_off_peak(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:0002", 10)
    peak = DAYS[started(row).weekday()] != TODAY
    agree(setup[1], row, (184e-6 if peak else 31e-6))


def test_banded_price_agrees_in_peak_hours(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:00002", 10)
    peak = started(row).hour == NOW.hour
    # no cache rate in these bands: the 2 cached tokens cost the band's input rate
    agree(setup[1], row, ((10 * 6 + 11 * 12) if peak else (10 * 1 + 11 * 2)) * 1e-6)


def test_the_cost_command_and_the_ledger_agree_on_openais_price(setup: tuple[Gateway, Path]) -> None:
    row = request(setup[0], "fake/cached:000002", 10)
    # a model no OpenAI name matches: compared with gpt-5-mini (USD 0.25 / 2, cached 0.025)
    expected = (8 * 0.25 + 2 * 0.025 + 11 * 2) * 7.2 / 1e6
    usage = httpx.get(setup[0].root + "/admin/usage?by=model", timeout=30,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()
    mine = next(r for r in usage["rows"] if r["group"] == "fake/cached:000002")
    assert mine["requests"] == 1
    assert mine["openai_cost_cny"] == pytest.approx(expected, abs=1e-9)
    assert cli_cost(setup[1], row)["openai_cost_cny"] == pytest.approx(expected, abs=1e-9)


def test_a_batch_line_costs_the_batch_price_in_the_ledger_and_the_cost_command(
        setup: tuple[Gateway, Path]) -> None:
    # a line of a Batch API batch (tests/batches runs whole batches through banjia's HTTP server)
    ctx = _ctx(NOW.timestamp())
    ctx.upstream_model, ctx.batch = "cached:0000002", True
    row = ledger_row(ctx, Pricer(parse_overrides(PRICING)))
    # (8 fresh at 5 + 2 cached at 1 + 11 out at 30) at half price = 186 per million
    assert row["batch"] and row["cost_nano_cny"] == 186_000
    shown = {**row, "upstream": "fake/cached:0000002", "created_at": NOW.isoformat()}
    assert cli_cost(setup[1], shown, "--batch")["cost_cny"] == pytest.approx(186e-6, abs=1e-9)
    assert cli_cost(setup[1], shown)["cost_cny"] == pytest.approx(372e-6, abs=1e-9)
    assert ledger_row(_ctx(NOW.timestamp()), Pricer(parse_overrides(PRICING)))["batch"] is False


# -- the schedule in force when the request started --------------------------------------------------


def _ctx(started_at: float) -> RequestContext:
    ctx = RequestContext(request_id="r1", endpoint="chat", model="qwen-plus", provider="fake",
                         provider_type="openai", upstream_model="cached:2")
    ctx.started_at = started_at
    ctx.usage = {"prompt_tokens": 10, "completion_tokens": 11, "total_tokens": 21,
                 "prompt_tokens_details": {"cached_tokens": 2}}
    return ctx


def test_a_row_is_priced_by_when_its_request_started_not_when_it_is_written() -> None:
    prices = Pricer(parse_overrides({"fake/cached:2": {"bands": [
        {"hours": ["09:00-12:00"], "input": 6, "output": 12, "cache_read": 2},
        {"input": 1, "output": 2, "cache_read": 0.5}]}}))
    # started at 11:59:30 Beijing, in the peak; it is written now, whatever the time
    start = dt.datetime(2026, 12, 8, 11, 59, 30, tzinfo=BEIJING).timestamp()
    row = ledger_row(_ctx(start), prices)
    assert row["cost_nano_cny"] == round((8 * 6 + 2 * 2 + 11 * 12) * 1e3)  # 184e-6 CNY
    later = dt.datetime(2026, 12, 8, 12, 0, 0, tzinfo=BEIJING).timestamp()
    assert ledger_row(_ctx(later), prices)["cost_nano_cny"] == round((8 * 1 + 2 * 0.5 + 11 * 2) * 1e3)
