"""The pricing engine (interface.md ``pricing:``), each expected figure worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from banjia.pricing import BEIJING, PricingError, Schedule, parse_schedule

TUE_10 = dt.datetime(2026, 12, 8, 10, 0, tzinfo=BEIJING)  # a Tuesday, in the morning peak
TUE_20 = dt.datetime(2026, 12, 8, 20, 0, tzinfo=BEIJING)
SAT_10 = dt.datetime(2026, 12, 12, 10, 0, tzinfo=BEIJING)


def schedule(**raw: Any) -> Schedule:
    return parse_schedule(raw, "pricing.p/m")


def cost(s: Schedule, prompt: int, completion: int, **kw: Any) -> float | None:
    """The quote's price, checked against the number the ledger takes (``Schedule.cost``)."""
    kw.setdefault("at", TUE_20)
    quoted = s.quote(prompt, completion, **kw).cost_cny
    assert s.cost(prompt, completion, **kw) == quoted
    return quoted


PEAK = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-12:00", "14:00-18:00"],
        "input": 2, "output": 8}
OFF = {"input": 1, "output": 4}


# -- flat, cache, batch ---------------------------------------------------------------------------


def test_flat_rates_are_per_million_tokens() -> None:
    s = schedule(input=0.8, output=2)
    assert cost(s, 1000, 500) == pytest.approx((1000 * 0.8 + 500 * 2) / 1e6)


def test_cached_tokens_are_part_of_the_prompt_and_billed_once_at_cache_read() -> None:
    s = schedule(input=0.8, output=2, cache_read=0.16)
    # 1,000 prompt tokens of which 300 cached: 700 at 0.8 + 300 at 0.16, never 1,000 at 0.8 + 300 more
    assert cost(s, 1000, 500, cached=300) == pytest.approx((700 * 0.8 + 300 * 0.16 + 500 * 2) / 1e6)


def test_more_cached_tokens_than_prompt_tokens_never_make_a_negative_figure() -> None:
    s = schedule(input=0.8, output=2, cache_read=0.16)
    assert cost(s, 1000, 0, cached=5000) == pytest.approx(1000 * 0.16 / 1e6)


def test_cache_writes_are_part_of_the_prompt_at_the_cache_write_rate() -> None:
    s = schedule(input=1, output=2, cache_read=0.1, cache_write=1.25)
    # 1,000 prompt = 200 read from cache + 300 written to it + 500 fresh
    assert cost(s, 1000, 0, cached=200, cache_write=300) == pytest.approx(
        (500 * 1 + 200 * 0.1 + 300 * 1.25) / 1e6)


def test_without_a_cache_rate_cached_tokens_cost_ordinary_input() -> None:
    s = schedule(input=1, output=2)
    assert cost(s, 1000, 100, cached=400) == cost(s, 1000, 100)


def test_batch_multiplies_the_whole_request() -> None:
    s = schedule(input=1, output=2, cache_read=0.2, batch=0.5)
    assert cost(s, 1000, 100, cached=200, batch=True) == pytest.approx(
        (800 * 1 + 200 * 0.2 + 100 * 2) * 0.5 / 1e6)
    assert cost(s, 1000, 100, cached=200) == pytest.approx((800 + 40 + 200) / 1e6)


def test_a_batch_request_without_a_batch_rate_pays_the_full_price_and_says_so() -> None:
    s = schedule(input=1, output=2)
    q = s.quote(1000, 0, at=TUE_20, batch=True)
    assert q.cost_cny == pytest.approx(1000 / 1e6)
    assert "no batch discount" in q.rule


def test_an_unknown_output_rate_prices_a_request_with_output_as_unknown() -> None:
    s = schedule(input=1)
    assert cost(s, 1000, 0) == pytest.approx(1000 / 1e6)
    q = s.quote(1000, 10, at=TUE_20)
    assert q.cost_cny is None and "no output price" in q.rule


# -- tiers ------------------------------------------------------------------------------------------

TIERED = {"tiers": [{"up_to": 128000, "input": 0.8, "output": 2.0},
                    {"up_to": 1000000, "input": 2.4, "output": 20}]}


def test_a_tier_sets_one_rate_for_the_whole_request() -> None:
    s = schedule(**TIERED)
    # 200,000 prompt tokens: all at the second tier's 2.4, not 128,000 at 0.8 and the rest at 2.4
    assert cost(s, 200_000, 1000) == pytest.approx((200_000 * 2.4 + 1000 * 20) / 1e6)


def test_the_first_tier_whose_up_to_covers_the_prompt_applies_inclusive() -> None:
    s = schedule(**TIERED)
    assert cost(s, 128_000, 0) == pytest.approx(128_000 * 0.8 / 1e6)
    assert cost(s, 128_001, 0) == pytest.approx(128_001 * 2.4 / 1e6)


def test_cached_tokens_count_towards_the_tier() -> None:
    s = schedule(tiers=[{"up_to": 100, "input": 1, "output": 1, "cache_read": 0.1},
                        {"up_to": 1000, "input": 3, "output": 3, "cache_read": 0.3}])
    # 150 prompt tokens (100 cached) pick the second tier
    assert cost(s, 150, 0, cached=100) == pytest.approx((50 * 3 + 100 * 0.3) / 1e6)


def test_beyond_the_last_tier_the_top_level_rates_apply() -> None:
    s = schedule(input=9, output=9, **TIERED)
    assert cost(s, 2_000_000, 0) == pytest.approx(2_000_000 * 9 / 1e6)
    assert schedule(**TIERED).quote(2_000_000, 0, at=TUE_20).cost_cny is None


def test_a_tier_without_a_cache_rate_takes_the_top_level_one() -> None:
    s = schedule(cache_read=0.05, tiers=[{"up_to": 1000, "input": 1, "output": 1}])
    assert cost(s, 1000, 0, cached=400) == pytest.approx((600 * 1 + 400 * 0.05) / 1e6)


# -- bands ------------------------------------------------------------------------------------------


def test_a_weekday_peak_band_applies_in_its_hours() -> None:
    s = schedule(bands=[PEAK, OFF])
    assert cost(s, 1000, 100, at=TUE_10) == pytest.approx((1000 * 2 + 100 * 8) / 1e6)


def test_outside_its_hours_the_catch_all_band_applies() -> None:
    s = schedule(bands=[PEAK, OFF])
    assert cost(s, 1000, 100, at=TUE_20) == pytest.approx((1000 * 1 + 100 * 4) / 1e6)


def test_at_the_weekend_the_weekday_band_does_not_apply() -> None:
    s = schedule(bands=[PEAK, OFF])
    assert cost(s, 1000, 100, at=SAT_10) == pytest.approx((1000 * 1 + 100 * 4) / 1e6)


@pytest.mark.parametrize(("hh", "mm", "peak"), [
    (8, 59, False), (9, 0, True), (11, 59, True), (12, 0, False),
    (13, 59, False), (14, 0, True), (17, 59, True), (18, 0, False),
])
def test_band_hours_are_half_open_to_the_minute(hh: int, mm: int, peak: bool) -> None:
    s = schedule(bands=[PEAK, OFF])
    at = dt.datetime(2026, 12, 8, hh, mm, 59, tzinfo=BEIJING)
    expected = 1000 * (2 if peak else 1) / 1e6
    assert cost(s, 1000, 0, at=at) == pytest.approx(expected)


def test_bands_read_the_time_in_beijing_whatever_zone_it_is_given_in() -> None:
    s = schedule(bands=[PEAK, OFF])
    utc = dt.datetime(2026, 12, 8, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
    assert cost(s, 1000, 0, at=utc) == pytest.approx(1000 * 2 / 1e6)


def test_the_first_matching_band_wins() -> None:
    s = schedule(bands=[{"hours": ["00:00-24:00"], "input": 5, "output": 5}, PEAK, OFF])
    assert cost(s, 1000, 0, at=TUE_10) == pytest.approx(1000 * 5 / 1e6)


def test_without_a_matching_band_the_top_level_rates_apply() -> None:
    s = schedule(input=3, output=3, bands=[PEAK])
    assert cost(s, 1000, 0, at=SAT_10) == pytest.approx(1000 * 3 / 1e6)


def test_a_band_window_may_end_at_midnight() -> None:
    s = schedule(input=1, output=1, bands=[{"hours": ["22:00-24:00"], "input": 7, "output": 7}])
    late = dt.datetime(2026, 12, 8, 23, 59, tzinfo=BEIJING)
    assert cost(s, 1000, 0, at=late) == pytest.approx(1000 * 7 / 1e6)


def test_the_rule_says_which_band_set_the_rates() -> None:
    q = schedule(bands=[PEAK, OFF]).quote(1000, 0, at=TUE_10)
    assert q.rule.startswith("bands[0] (mon-fri 09:00-12:00, 14:00-18:00;")


# -- media fields ---------------------------------------------------------------------------------


def test_media_rates_are_parsed() -> None:
    s = schedule(per_image=0.2, per_audio_second=0.0003, per_million_chars=2)
    assert (s.per_image, s.per_audio_second, s.per_million_chars) == (0.2, 0.0003, 2)


# -- validation: every message names the key ------------------------------------------------------


@pytest.mark.parametrize(("raw", "message"), [
    ({"bands": [{"hours": ["09:00-12:00", "25:00-26:00"], "input": 1, "output": 1}]},
     'pricing.p/m.bands[0].hours[1]: "25:00-26:00" is not HH:MM-HH:MM'),
    ({"bands": [{"hours": ["9-12"], "input": 1, "output": 1}]},
     'pricing.p/m.bands[0].hours[0]: "9-12" is not HH:MM-HH:MM'),
    ({"bands": [{"hours": ["12:00-09:00"], "input": 1, "output": 1}]},
     'pricing.p/m.bands[0].hours[0]: "12:00-09:00" ends before it starts'),
    ({"bands": [{"days": ["mon", "funday"], "input": 1, "output": 1}]},
     "pricing.p/m.bands[0].days[1]: 'funday' is not a day"),
    ({"bands": [OFF, PEAK]}, "pricing.p/m.bands[1]: never used"),
    ({"bands": [{"days": ["mon"], "input": 1}]}, "pricing.p/m.bands[0].output: missing"),
    ({"tiers": [{"up_to": 100, "input": 1, "output": 1}, {"up_to": 50, "input": 2, "output": 2}]},
     "pricing.p/m.tiers[1].up_to: 50 must be above the previous tier's 100"),
    ({"tiers": [{"up_to": "lots", "input": 1, "output": 1}]}, "pricing.p/m.tiers[0].up_to"),
    ({"input": -1}, "pricing.p/m.input: must be a non-negative number"),
    ({"input": "cheap"}, "pricing.p/m.input: must be a non-negative number"),
    ({"input": 1, "batch": 0}, "pricing.p/m.batch: a multiplier must be above 0"),
    ({"input": 1, "ouput": 2}, "pricing.p/m: unknown key(s) ouput"),
    ({"input": 1, "date": "2026-01-01"}, "pricing.p/m: unknown key(s) date"),
    ({}, "pricing.p/m: gives no price"),
    ({"per_image": -0.1}, "pricing.p/m.per_image: must be a non-negative number"),
])
def test_a_bad_schedule_is_refused_naming_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PricingError) as e:
        schedule(**raw)
    assert str(e.value).startswith(message)


def test_the_ledger_number_is_the_quote_for_every_catalog_schedule() -> None:
    """``Schedule.cost`` (every ledger row) and ``Schedule.quote`` (``banjia cost``, the console)
    agree to the bit for every schedule the catalog has, across tiers, peak hours and cache."""
    from banjia.catalog import load_catalog

    cat = load_catalog()
    schedules = [s for v in cat.vendors.values() for m in v.models for s in m.prices]
    schedules += [s for m in cat.openai.values() for s in m.prices]
    assert len(schedules) > 100
    times = [TUE_20, dt.datetime(2026, 3, 3, 10, 30, tzinfo=BEIJING),
             dt.datetime(2026, 3, 7, 3, 0, tzinfo=BEIJING)]
    shapes = [(0, 0, 0, 0), (12, 17, 0, 0), (40_000, 900, 30_000, 0), (300_000, 8_000, 0, 1_000),
              (1_500_000, 1, 1_500_000, 0)]
    for s in schedules:
        for at in times:
            for prompt, completion, cached, written in shapes:
                for batch in (False, True):
                    q = s.quote(prompt, completion, cached=cached, cache_write=written, at=at,
                                batch=batch)
                    assert s.cost(prompt, completion, cached=cached, cache_write=written, at=at,
                                  batch=batch) == q.cost_cny, (s, prompt, at)
