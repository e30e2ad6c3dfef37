"""The wrk script, the RSS summary and the targets table, from made-up measurements."""

from __future__ import annotations

from typing import Any

from bench.load import LoadSpec, LoadStats, _script
from bench.plan import B1, BASE, BN, DIRECT, LITELLM, alt_target
from bench.report import _columns, rss_summary, targets


def _stats(requests: int = 1000) -> LoadStats:
    return LoadStats(requests, 10.0, requests / 10, 1.0, 2.0, 3.0, 1.2, 0, "wrk")


def test_the_wrk_script_sends_every_body_in_turn_and_stops_at_the_limit() -> None:
    spec = LoadSpec(1, "/v1/chat/completions", (b'{"a": 1}', b'{"b": 2}'), {"authorization": "Bearer k"},
                    limit=500)
    script = _script(spec)
    assert '[====[{"a": 1}]====]' in script and '[====[{"b": 2}]====]' in script
    assert 'wrk.headers["authorization"] = "Bearer k"' in script
    assert "if answered >= 500 then wrk.thread:stop() end" in script
    assert "BENCHJSON" in script


def test_rss_flat_after_warm_up_is_a_small_band() -> None:
    mib = 2**20
    samples = [(float(t), (100 + (5 if t == 0 else 0)) * mib) for t in range(11)]
    got = rss_summary(90 * mib, samples, _stats())
    assert got["after_warmup_mib"] == 100.0
    assert got["band_pct"] == 0.0
    assert got["drift_pct"] == 0.0


def test_targets_compare_banjia_with_direct_litellm_and_one_worker() -> None:
    def at(rps: float, p50: float = 1.0) -> dict[str, float]:
        return {"rps": rps, "p50_ms": p50}

    results: dict[str, Any] = {
        "scenarios": {
            "nonstream_c32": {"targets": {DIRECT: at(10_000), B1: at(2_000), BN: at(3_600), LITELLM: at(50)}},
            "nonstream_c1": {"targets": {DIRECT: at(5_000, 0.2), B1: at(1_000, 0.9)}},
        },
        "ttfb": {DIRECT: {"p50_ms": 0.1}, B1: {"p50_ms": 1.5}},
        "rss": {"band_pct": 3.0},
        "local": {"direct": {"tokens_per_s": 100.0}, "banjia": {"tokens_per_s": 96.0}},
    }
    got = {t["target"]: (round(t["measured"], 3), t["met"]) for t in targets(results)}
    assert got["1w non-stream 32 conns vs LiteLLM"] == (40.0, True)
    assert got["1w non-stream 32 conns vs direct"] == (0.2, True)
    assert got["added median latency, 1 conn (ms)"] == (0.7, True)
    assert got["added TTFB p50, stream (ms)"] == (1.4, False)
    assert got["RSS band after warm-up (%)"] == (3.0, True)
    assert got["local tokens/s, banjia vs direct"] == (0.96, True)
    assert got["N workers vs 1, non-stream 32 conns"] == (1.8, True)


def test_with_a_baseline_the_speed_targets_are_ratios_to_it() -> None:
    results: dict[str, Any] = {
        "scenarios": {
            "nonstream_c32": {"targets": {B1: {"rps": 3_000.0}, BASE: {"rps": 1_000.0}}},
            "stream_c32": {"targets": {B1: {"rps": 1_200.0}, BASE: {"rps": 600.0}}},
        },
    }
    got = {t["target"]: (t["measured"], t["met"]) for t in targets(results)}
    assert got["1w non-stream 32 conns vs baseline"] == (3.0, True)
    assert got["1w stream 32 conns vs baseline"] == (2.0, False)


def test_the_baseline_and_other_clients_are_columns_after_banjia_1w() -> None:
    results: dict[str, Any] = {"scenarios": {"s": {"targets": {
        DIRECT: {}, B1: {}, alt_target("aiohttp"): {}, BASE: {}, BN: {}}}}}
    assert _columns(results) == [DIRECT, B1, alt_target("aiohttp"), BASE, BN]
