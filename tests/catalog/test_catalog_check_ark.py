"""``banjia catalog check`` against Volcengine Ark, whose model list is GET /api/v3/models in
OpenAI's shape (https://github.com/QuantumNous/new-api/pull/7203): the list is asked on the Ark base
with the provider's key, and the dated ids Ark lists are compared with the catalog's."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from banjia.catalog import load_catalog
from banjia.cli import main
from tests.fakes import openai_fake
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import AioServer

# what an Ark account lists: dated ids beside the catalog's short ones, and its image models
UPSTREAM = ["doubao-seed-2-0-pro-260215", "doubao-seed-2.0-lite", "doubao-seedream-4-0-250828",
            "Doubao-Embedding"]


@pytest.fixture(scope="module")
def ark() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    fake.state.models = list(UPSTREAM)
    app = web.Application()
    app.router.add_get("/api/v3/models", fake.list_models)  # the OpenAI fake's list, on Ark's path
    server = AioServer(app, "ark-models-fake")
    yield fake, server.url
    server.stop()


def check(tmp: Path, providers: dict[str, Any], models: dict[str, Any] | None = None) -> dict[str, Any]:
    path = tmp / "banjia.yaml"
    cfg = {"server": {"master_key": "sk-test-master-key-0123456789"}, "providers": providers,
           "models": models or {}}
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["catalog", "check", "--config", str(path), "--format", "json"])
    reports: dict[str, Any] = {p["provider"]: p for p in json.loads(out.getvalue())["providers"]}
    reports["exit"] = code
    return reports


def test_arks_list_is_fetched_and_compared(ark: tuple[FakeOpenAI, str], tmp_path: Path) -> None:
    _, url = ark
    r = check(tmp_path, {"doubao": {"type": "ark", "base_url": f"{url}/api/v3",
                                    "api_key": openai_fake.API_KEY}})
    assert r["exit"] == 0
    doubao = r["doubao"]
    assert doubao["status"] == "ok" and doubao["listed"] == len(UPSTREAM)
    # ids compare without regard to case; the dated form is one the catalog does not list
    assert doubao["missing"] == ["doubao-seed-2-0-pro-260215"]
    listed = {m.lower() for m in UPSTREAM}
    current = [m.id for m in load_catalog().vendors["ark"].models if not m.retired_on()]
    assert doubao["gone"] == [m for m in current if m.lower() not in listed]


def test_an_account_that_maps_names_to_endpoint_ids_is_checked_too(
        ark: tuple[FakeOpenAI, str], tmp_path: Path) -> None:
    _, url = ark
    r = check(tmp_path, {"doubao": {"type": "ark", "base_url": f"{url}/api/v3",
                                    "api_key": openai_fake.API_KEY,
                                    "endpoints": {"doubao-pro-32k": "ep-20240607-echo"}}},
              {"cheap": ["doubao/doubao-pro-32k"]})
    assert r["doubao"]["status"] == "ok"
    assert "doubao-pro-32k" in r["doubao"]["gone"]  # the catalog's name, never the endpoint id


def test_a_refused_ark_key_is_an_error_in_the_report(ark: tuple[FakeOpenAI, str], tmp_path: Path) -> None:
    _, url = ark
    r = check(tmp_path, {"doubao": {"type": "ark", "base_url": f"{url}/api/v3", "api_key": "sk-wrong"}})
    assert r["exit"] == 1
    assert r["doubao"]["status"] == "error" and r["doubao"]["listed"] is None
