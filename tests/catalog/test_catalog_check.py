"""``banjia catalog check``: each configured provider's upstream model list (fetched from the fake
through the provider's own adaptor and transport) against the catalog."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from banjia.cli import main
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import AioServer

UPSTREAM = ["deepseek-v4-flash", "deepseek-chat", "deepseek-v5-preview"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    f = FakeOpenAI()
    f.state.models = list(UPSTREAM)
    server = AioServer(f.app, "catalog-check-fake")
    f.url = server.url  # type: ignore[attr-defined]
    yield f
    server.stop()


@pytest.fixture(scope="module")
def config_path(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg: dict[str, Any] = {
        "server": {"master_key": "sk-test-master-key-0123456789"},
        "providers": {
            "ds": fake_provider(upstream, "deepseek"),
            "sp": fake_provider(upstream, "spark"),
            "kimi": {**fake_provider(upstream, "moonshot"), "api_key": "sk-wrong"},
        },
        "models": {"old": ["ds/deepseek-reasoner"], "ultra": ["sp/4.0Ultra"]},
    }
    path = tmp_path_factory.mktemp("check") / "banjia.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def check(path: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["catalog", "check", "--config", str(path), *extra])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def report(config_path: Path) -> dict[str, dict[str, Any]]:
    code, out = check(config_path, "--format", "json")
    assert code == 1  # one provider's list could not be fetched
    return {p["provider"]: p for p in json.loads(out)["providers"]}


def test_the_list_is_fetched_with_the_providers_credentials(report: dict[str, Any]) -> None:
    assert report["ds"]["status"] == "ok" and report["ds"]["listed"] == len(UPSTREAM)


def test_a_model_the_upstream_lists_and_the_catalog_lacks_is_missing(report: dict[str, Any]) -> None:
    assert report["ds"]["missing"] == ["deepseek-v5-preview"]


def test_retired_models_listed_upstream_or_named_in_chains_are_reported(report: dict[str, Any]) -> None:
    retired = {r["model"]: r for r in report["ds"]["retired"]}
    assert retired["deepseek-chat"]["where"] == "listed upstream"
    assert retired["deepseek-reasoner"]["where"] == "named in models:"
    assert retired["deepseek-chat"]["successor"] == "deepseek-v4-flash"
    assert retired["deepseek-chat"]["retired"] == "2026-07-24"


def test_a_current_catalog_model_the_upstream_no_longer_lists_is_gone(report: dict[str, Any]) -> None:
    assert report["ds"]["gone"] == ["deepseek-v4-pro"]


def test_models_without_a_price_are_unpriced(report: dict[str, Any]) -> None:
    assert report["ds"]["unpriced"] == ["deepseek-v5-preview"]
    assert report["sp"]["unpriced"] == ["4.0Ultra"]  # named in a chain; Spark sells packages


def test_a_vendor_without_a_model_list_gets_the_catalog_side_only(report: dict[str, Any]) -> None:
    assert report["sp"]["status"] == "no model list" and report["sp"]["listed"] is None


def test_a_refused_key_is_reported_not_raised(report: dict[str, Any]) -> None:
    assert report["kimi"]["status"] == "error"
    assert "API key" in report["kimi"]["error"]


def test_the_text_report_reads_in_80_columns(config_path: Path) -> None:
    code, out = check(config_path)
    assert code == 1
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "ds (deepseek): 3 models upstream" in out
    assert "missing (upstream lists, catalog lacks): deepseek-v5-preview" in out
    assert "    deepseek-chat -> deepseek-v4-flash since 2026-07-24 (listed upstream)" in out
    assert "sp (spark): the vendor publishes no model list" in out
