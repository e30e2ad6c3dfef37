"""``banjia cost`` (interface.md) and a bad ``pricing:`` config stopping the start."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from banjia.cli import main
from banjia.config import parse_config
from banjia.errors import ConfigError

BANDED = {"bands": [{"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-12:00", "14:00-18:00"],
                     "input": 2, "output": 8, "cache_read": 0.04},
                    {"input": 1, "output": 4, "cache_read": 0.02}]}


def write(tmp_path: Path, pricing: dict[str, Any]) -> Path:
    cfg = {"server": {"master_key": "sk-test-master-key-0123456789"},
           "providers": {"qwen": {"type": "dashscope", "api_key": "k"}},
           "pricing": pricing}
    path = tmp_path / "banjia.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def cost(path: Path | None, *argv: str) -> dict[str, Any]:
    args = ["cost", *(["--config", str(path)] if path else []), *argv, "--format", "json"]
    code, out, _ = run(*args)
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def test_json_gives_the_cost_the_openai_cost_and_the_rule(tmp_path: Path) -> None:
    data = cost(write(tmp_path, {"qwen/qwen-plus": {"input": 0.8, "output": 2}}),
                "--model", "qwen/qwen-plus", "--prompt", "1000", "--completion", "500")
    assert set(data) == {"cost_cny", "openai_cost_cny", "rule"}
    assert data["cost_cny"] == pytest.approx((1000 * 0.8 + 500 * 2) / 1e6)
    assert data["rule"].startswith("config pricing qwen/qwen-plus: flat")


@pytest.mark.parametrize(("at", "expected"), [
    # peak: 800 x 2 + 200 x 0.04 + 100 x 8; off-peak: 800 x 1 + 200 x 0.02 + 100 x 4
    ("2026-12-08T11:59:00+08:00", 800 * 2 + 200 * 0.04 + 100 * 8),
    ("2026-12-08T12:00:00+08:00", 800 * 1 + 200 * 0.02 + 100 * 4),
    ("2026-12-08T13:59:59+08:00", 800 * 1 + 200 * 0.02 + 100 * 4),
    ("2026-12-08T14:00:00+08:00", 800 * 2 + 200 * 0.04 + 100 * 8),
    ("2026-12-08T09:00", 800 * 2 + 200 * 0.04 + 100 * 8),  # no offset: Beijing time
    ("2026-12-08T01:00:00Z", 800 * 2 + 200 * 0.04 + 100 * 8),  # 09:00 in Beijing
    ("2026-12-12T10:00:00+08:00", 800 * 1 + 200 * 0.02 + 100 * 4),  # a Saturday
])
def test_at_picks_the_band_by_the_start_time_in_beijing(tmp_path: Path, at: str, expected: float) -> None:
    data = cost(write(tmp_path, {"qwen/qwen-plus": BANDED}), "--model", "qwen/qwen-plus",
                "--prompt", "1000", "--completion", "100", "--cached", "200", "--at", at)
    assert data["cost_cny"] == pytest.approx(expected / 1e6)


def test_batch_applies_the_multiplier(tmp_path: Path) -> None:
    path = write(tmp_path, {"qwen/qwen-plus": {"input": 1, "output": 2, "cache_read": 0.2, "batch": 0.5}})
    data = cost(path, "--model", "qwen/qwen-plus", "--prompt", "1000", "--completion", "100",
                "--cached", "200", "--batch")
    assert data["cost_cny"] == pytest.approx((800 * 1 + 200 * 0.2 + 100 * 2) * 0.5 / 1e6)


def test_cache_writes_are_billed_at_their_rate(tmp_path: Path) -> None:
    rates = {"input": 1, "output": 2, "cache_read": 0.1, "cache_write": 1.25}
    path = write(tmp_path, {"qwen/qwen-plus": rates})
    data = cost(path, "--model", "qwen/qwen-plus", "--prompt", "1000", "--completion", "0",
                "--cached", "200", "--cache-write", "300")
    assert data["cost_cny"] == pytest.approx((500 * 1 + 200 * 0.1 + 300 * 1.25) / 1e6)


def test_without_an_override_the_catalog_prices_a_provider_type() -> None:
    data = cost(None, "--model", "dashscope/qwen3-max", "--prompt", "40000", "--completion", "1000")
    # one rate for the whole request: the 32K-128K tier, 4 / 16
    assert data["cost_cny"] == pytest.approx((40_000 * 4 + 1000 * 16) / 1e6)
    assert "catalog dashscope/qwen3-max" in data["rule"] and "tiers[1]" in data["rule"]


def test_the_openai_side_prices_the_openai_model_named() -> None:
    data = cost(None, "--model", "deepseek/deepseek-v4-flash", "--prompt", "1000", "--completion", "100",
                "--openai-model", "gpt-4o-2024-08-06")
    assert data["openai_cost_cny"] == pytest.approx((1000 * 2.5 + 100 * 10) * 7.2 / 1e6)


def test_the_text_form_says_the_cost_and_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, {"qwen/qwen-plus": {"input": 1, "output": 1}})
    code, out, _ = run("cost", "--config", str(path), "--model", "qwen/qwen-plus", "--prompt", "1000000",
                       "--completion", "0")
    assert code == 0
    assert "qwen/qwen-plus: CNY 1.000000" in out and "rule: config pricing qwen/qwen-plus" in out


def test_an_unpriced_model_says_so_and_exits_1() -> None:
    code, out, _ = run("cost", "--model", "spark/4.0Ultra", "--prompt", "1", "--completion", "1",
                       "--format", "json")
    assert code == 1 and json.loads(out)["cost_cny"] is None


def test_an_unknown_provider_is_a_clear_error() -> None:
    code, _, err = run("cost", "--model", "nobody/x", "--prompt", "1", "--completion", "1")
    assert code == 2 and "no provider or provider type 'nobody'" in err


# -- a bad pricing config stops the start ---------------------------------------------------------


def test_a_bad_band_hour_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    bad = {"qwen/qwen-plus": {"bands": [{"hours": ["09:00-12:00", "25:00-26:00"], "input": 1, "output": 1}]}}
    proc = subprocess.run([sys.executable, "-m", "banjia", "serve", "--config", str(write(tmp_path, bad))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert 'pricing.qwen/qwen-plus.bands[0].hours[1]: "25:00-26:00" is not HH:MM-HH:MM' in proc.stderr


@pytest.mark.parametrize(("pricing", "message"), [
    ({"nobody/m": {"input": 1}}, "pricing.nobody/m: no provider named 'nobody' is configured"),
    ({"qwen-plus": {"input": 1}}, "pricing.qwen-plus: must be 'provider/model'"),
    ({"qwen/qwen-plus": {"tiers": []}}, "pricing.qwen/qwen-plus.tiers: is empty"),
    ({"qwen/qwen-plus": {"input": 1, "bands": [{"days": ["someday"], "input": 1, "output": 1}]}},
     "pricing.qwen/qwen-plus.bands[0].days[0]: 'someday' is not a day"),
])
def test_a_bad_pricing_entry_is_a_config_error_naming_the_key(pricing: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"providers": {"qwen": {"type": "dashscope", "api_key": "k"}}, "pricing": pricing})
    assert str(e.value).startswith(message)
