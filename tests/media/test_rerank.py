"""``/v1/rerank`` end to end with a plain HTTP client (the Jina/Cohere body RAG frameworks send) and
the openai SDK's raw ``post``, through banjia to SiliconFlow, DashScope and Zhipu; a ledger row
priced per token."""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import openai
import pytest

from banjia.store.schema import to_nano
from tests.e2e.ledger_rows import row
from tests.harness import MASTER_KEY, Gateway
from tests.media.conftest import Fakes

QUERY = "what is a reranker"
DOCS = ["a cat sat on the mat", "a reranker orders documents by what is relevant", "what is love"]


def rerank(g: Gateway, **body: Any) -> httpx.Response:
    return httpx.post(f"{g.base_url}/rerank", json={"query": QUERY, "documents": DOCS, **body},
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)


def test_siliconflow_results_are_ordered_by_relevance(media_gateway: Gateway, fakes: Fakes) -> None:
    r = rerank(media_gateway, model="sf/BAAI/bge-reranker-v2-m3", top_n=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["index"] for x in body["results"]] == [1, 2]
    assert body["results"][0]["relevance_score"] > body["results"][1]["relevance_score"]
    assert "document" not in body["results"][0]
    assert body["usage"]["prompt_tokens"] == 4 * 3 + 6 + 8 + 3
    assert fakes.siliconflow.last.body["top_n"] == 2
    assert r.headers["x-banjia-upstream"] == "sf/BAAI/bge-reranker-v2-m3"
    ledger = row(media_gateway, r.headers["x-request-id"])
    assert (ledger["endpoint"], ledger["prompt_tokens"], ledger["cost_nano_cny"]) == ("rerank", 29, 0)


def test_documents_come_back_when_asked(media_gateway: Gateway) -> None:
    r = rerank(media_gateway, model="sf/BAAI/bge-reranker-v2-m3", return_documents=True)
    assert r.json()["results"][0]["document"] == {"text": DOCS[1]}


def test_dashscope_rerank_on_its_native_path(media_gateway: Gateway, fakes: Fakes) -> None:
    r = rerank(media_gateway, model="ds/gte-rerank-v2", documents=[{"text": d} for d in DOCS])
    assert r.status_code == 200, r.text
    assert [x["index"] for x in r.json()["results"]] == [1, 2, 0]
    assert fakes.dashscope.last.body == {"model": "gte-rerank-v2",
                                         "input": {"query": QUERY, "documents": DOCS},
                                         "parameters": {"top_n": 3, "return_documents": False}}


def test_zhipu_rerank_is_priced_per_token(media_gateway: Gateway, client: openai.OpenAI) -> None:
    # the SDK's own client, for a route it has no method for
    raw = client.post("/rerank", body={"model": "zp/rerank", "query": QUERY, "documents": DOCS, "top_n": 1},
                      cast_to=httpx2.Response)
    body = raw.json()
    assert [x["index"] for x in body["results"]] == [1]
    tokens = 4 + 6 + 8 + 3
    ledger = row(media_gateway, raw.headers["x-request-id"])
    assert ledger["prompt_tokens"] == tokens and ledger["cost_nano_cny"] == to_nano(tokens * 0.8 / 1e6)


def test_a_vendor_error_keeps_its_status(media_gateway: Gateway) -> None:
    r = rerank(media_gateway, model="sf/overloaded")
    assert r.status_code == 503 and r.json()["error"]["type"] == "upstream_error"


@pytest.mark.parametrize(("body", "param"), [
    ({"documents": []}, "documents"),
    ({"query": ""}, "query"),
    ({"top_n": 0}, "top_n"),
])
def test_bad_parameters_are_400s_naming_them(
        media_gateway: Gateway, body: dict[str, Any], param: str) -> None:
    r = rerank(media_gateway, model="sf/BAAI/bge-reranker-v2-m3", **body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param
