"""The OpenAPI document at /openapi.json, and schemathesis driving a real gateway from it.

schemathesis generates requests for every operation of the document (valid ones, boundary
values from the schemas, and invalid ones) and checks each answer: never a 5xx, and a body that
matches the document's schema for its status. The gateway runs over the OpenAI-dialect fake (no
local model, whose answers would take seconds each), with the master key, so the admin routes
are exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from banjia.config import parse_config
from banjia.server.app import create_app
from banjia.server.openapi import document as build_document
from tests.conftest import gateway_config
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
# the document of an app with every optional layer, made at import so schemathesis can make one
# test per operation (its lazy loader, from_fixture, does not run under pytest 9)
DOCUMENT = build_document(create_app(parse_config({}, "openapi")).routes)


@pytest.fixture(scope="module")
def fuzzed(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cfg = gateway_config(fake, Path(tmp_path_factory.mktemp("openapi")))
    del cfg["providers"]["local"]
    cfg["models"] = {"gpt-4o": ["fake/echo"], "text-embedding-3-small": ["fake/embed"]}
    g = Gateway(cfg)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def document(fuzzed: Gateway) -> dict[str, Any]:
    r = httpx.get(fuzzed.root + "/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc: dict[str, Any] = r.json()
    return doc


def test_document_is_openapi_3_1_with_every_route(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    for path, method in [
        ("/v1/chat/completions", "post"),
        ("/v1/completions", "post"),
        ("/v1/embeddings", "post"),
        ("/v1/models", "get"),
        ("/v1/models/{model}", "get"),
        ("/v1/responses", "post"),
        ("/admin/keys", "post"),
        ("/admin/keys/{id}", "delete"),
        ("/admin/usage", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths[path], (path, method)


def test_admin_routes_need_the_master_key_and_model_routes_any_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["MasterKey"] == {"type": "http", "scheme": "bearer", "description": "The master key"}
    assert document["paths"]["/admin/keys"]["post"]["security"] == [{"MasterKey": []}]
    assert document["paths"]["/v1/chat/completions"]["post"]["security"] == [{"ApiKey": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_request_schemas_come_from_the_validating_models(document: dict[str, Any]) -> None:
    chat = document["components"]["schemas"]["ChatRequest"]
    assert chat["required"] == ["model", "messages"]
    n = chat["properties"]["n"]["anyOf"][0]
    assert (n["type"], n["minimum"], n["maximum"]) == ("integer", 1, 128)
    dims = document["components"]["schemas"]["EmbeddingRequest"]["properties"]["dimensions"]["anyOf"][0]
    assert dims["maximum"] == 8192


def test_the_served_document_is_the_one_fuzzed(document: dict[str, Any]) -> None:
    assert document == DOCUMENT


schema = schemathesis.openapi.from_dict(DOCUMENT)
# explicit examples and bounded random generation (valid and invalid data) keep this to a few
# hundred cases; the coverage phase (every boundary of every schema: thousands) runs in
# ``python -m bench.fuzz``
schema.config.phases.update(phases=["examples", "fuzzing"])


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases on every run: a failure here is a regression, not luck
    database=None,
)
def test_no_input_gives_a_5xx_and_every_answer_matches_the_document(case: Any, fuzzed: Gateway) -> None:
    case.call_and_validate(
        base_url=fuzzed.root,
        headers=AUTH,
        timeout=30,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )

