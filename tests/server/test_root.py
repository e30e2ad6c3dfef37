"""The root answers a person or a client's start-up probe (Claude Code sends ``HEAD /``) with where
the APIs are, instead of a 404."""

from __future__ import annotations

import httpx

from tests.harness import Gateway


def test_the_root_says_where_the_apis_are(gateway: Gateway) -> None:
    r = httpx.get(gateway.root + "/")
    assert r.status_code == 200
    assert r.json()["openai_base_url"] == "/v1" and r.json()["console"] == "/console/"
    assert httpx.head(gateway.root + "/").status_code == 200
