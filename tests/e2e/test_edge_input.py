"""What the API edge refuses before anything is forwarded or recorded, and the row every
refused (authenticated) request still gets.

- names with control characters (a NUL stopped the PostgreSQL ledger for every key; CR/LF break
  header lines): 400 naming the field, on every endpoint;
- bodies nested deeper than the encoder can re-encode: 400 for that caller, and no upstream's
  circuit hears of it (they used to count as upstream failures and lock every key out);
- validation failures and unknown models: a ledger row each (status, no tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from banjia.server.routes import MAX_DEPTH
from tests.conftest import fake_provider
from tests.e2e.ledger_rows import row, rows
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
USER = [{"role": "user", "content": "hello there world"}]

# each endpoint with a body that is valid apart from the field under test
BODIES: dict[str, dict[str, Any]] = {
    "/chat/completions": {"model": "gpt-4o", "messages": USER},
    "/completions": {"model": "gpt-4o", "prompt": "hello"},
    "/embeddings": {"model": "text-embedding-3-small", "input": "hello"},
    "/responses": {"model": "gpt-4o", "input": "hello"},
}


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("edge")
    g = Gateway({
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {"fake": fake_provider(fake)},
        "models": {"gpt-4o": ["fake/echo"], "text-embedding-3-small": ["fake/embed"]},
        # the defaults would need 5 failures to open the circuit; 3 shows the point sooner
        "routing": {"circuit": {"failures": 3, "cooldown": 30}},
    })
    yield g
    g.stop()


def post(g: Gateway, path: str, body: dict[str, Any], key: str = MASTER_KEY) -> httpx.Response:
    return httpx.post(g.base_url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep."""
    out: dict[str, Any] = {}
    for _ in range(depth - 1):
        out = {"x": out}
    return out


# -- control characters in names ----------------------------------------------------------------
@pytest.mark.parametrize("path", list(BODIES))
@pytest.mark.parametrize("field", ["model", "user"])
@pytest.mark.parametrize("char", ["\x00", "\r\n", "\x7f", "\x1b"])
def test_a_control_character_in_a_name_is_a_400_naming_the_field(
    gw: Gateway, path: str, field: str, char: str
) -> None:
    body = dict(BODIES[path])
    body[field] = f"{body['model'] if field == 'model' else 'u'}{char}x"
    r = post(gw, path, body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == field and err["code"] == "invalid_value"
    assert "control characters" in err["message"]


def test_a_nul_model_is_recorded_without_the_nul_and_the_ledger_keeps_going(gw: Gateway) -> None:
    bad = post(gw, "/chat/completions", {"model": "x\x00", "messages": USER})
    ok = post(gw, "/chat/completions", {"model": "gpt-4o", "messages": USER})
    assert bad.status_code == 400 and ok.status_code == 200
    refused = row(gw, bad.headers["x-request-id"])
    assert refused["status"] == 400 and "\x00" not in refused["model"]
    assert row(gw, ok.headers["x-request-id"])["status"] == 200


def test_a_model_id_with_a_control_character_is_a_400(gw: Gateway) -> None:
    r = httpx.get(gw.base_url + "/models/gpt-4o%00x", headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


# -- nesting --------------------------------------------------------------------------------------
def test_a_body_nested_past_the_limit_is_a_400(gw: Gateway) -> None:
    r = post(gw, "/chat/completions", {**BODIES["/chat/completions"], "extra": nested(MAX_DEPTH)})
    assert r.status_code == 400, r.text
    assert f"nested more than {MAX_DEPTH} levels" in r.json()["error"]["message"]


def test_a_body_nested_within_the_limit_is_forwarded(gw: Gateway) -> None:
    r = post(gw, "/chat/completions", {**BODIES["/chat/completions"], "extra": nested(MAX_DEPTH - 2)})
    assert r.status_code == 200, r.text


def test_deeply_nested_requests_do_not_lock_other_keys_out(gw: Gateway) -> None:
    """Nested past the JSON encoder's limit (255), they used to fail while banjia built the
    upstream request, counted twice each against the provider's circuit: after 3, every key got
    503 for 30 s."""
    made = httpx.post(gw.root + "/admin/keys", json={"name": "attacker"}, headers=AUTH)
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    for _ in range(6):
        r = post(gw, "/chat/completions", {**BODIES["/chat/completions"], "extra": nested(300)}, key=key)
        assert r.status_code == 400, r.text
    r = post(gw, "/chat/completions", BODIES["/chat/completions"])
    assert r.status_code == 200, r.text


# -- rows for refused requests ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/chat/completions", {"model": "gpt-4o", "messages": []}, 400),
        ("/chat/completions", {"model": "gpt-4o", "messages": USER, "tools": [{"type": "function"}]}, 400),
        ("/completions", {"model": "no-such-model", "prompt": "hello"}, 404),
        ("/embeddings", {"model": "text-embedding-3-small"}, 400),
        ("/responses", {"model": "gpt-4o"}, 400),
    ],
)
def test_a_refused_request_gets_its_ledger_row(
    gw: Gateway, path: str, body: dict[str, Any], status: int
) -> None:
    r = post(gw, path, body)
    assert r.status_code == status, r.text
    got = row(gw, r.headers["x-request-id"])
    assert got["status"] == status and got["model"] == body["model"]
    assert got["prompt_tokens"] == got["completion_tokens"] == 0
    assert got["endpoint"] == path.strip("/").split("/")[0]


def test_a_body_that_is_not_json_gets_its_ledger_row(gw: Gateway) -> None:
    r = httpx.post(gw.base_url + "/chat/completions", content=b"{not json", headers=AUTH)
    assert r.status_code == 400
    got = row(gw, r.headers["x-request-id"])
    assert got["status"] == 400 and got["model"] == "" and got["endpoint"] == "chat"


def test_an_unauthenticated_request_gets_no_row(gw: Gateway) -> None:
    r = httpx.post(gw.base_url + "/chat/completions", json=BODIES["/chat/completions"])
    assert r.status_code == 401
    assert rows(gw, request_id=r.headers["x-request-id"].removeprefix("req_")) == []
