"""Out-of-range admin input is a 400 in OpenAI's envelope that names the field and its range
(never a 500 or a 503), and the same on the command line as one clear line — on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from banjia.cli import main
from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import store_settings
from tests.store.test_gateway import admin, create_key


@pytest.fixture
def gw(fake: FakeOpenAI, db_url: str) -> Iterator[Gateway]:
    g = Gateway({"server": {"master_key": MASTER_KEY}, "store": store_settings(db_url),
                 "providers": {"fake": fake_provider(fake)}, "models": {"gpt-4o": ["fake/echo"]}})
    yield g
    g.stop()


def _refused(r: httpx.Response, param: str) -> str:
    assert r.status_code == 400, r.text
    error: dict[str, Any] = r.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param), error
    message: str = error["message"]
    return message


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("expires_at", 1e12, "253402214400"),
    ("expires_at", -1e20, "253402214400"),
    ("expires_at", "9999-12-31T23:59:59-05:00", "9999-12-31"),
    ("expires_at", "0001-01-01T00:00:00+01:00", "1970-01-01"),
    ("quota_tokens", 2**63, "1000000000000000"),
    ("quota_tokens", 2**64, "1000000000000000"),
    ("rpm", 2**63, "2147483647"),
    ("tpm", 2**31, "2147483647"),
    ("quota_cny", 1e308, "1000000000"),
])
def test_out_of_range_key_fields_are_a_400_naming_the_range(gw: Gateway, field: str, value: Any,
                                                            shown: str) -> None:
    message = _refused(admin(gw, "POST", "/admin/keys", json={"name": "x", field: value}), field)
    assert shown in message


@pytest.mark.parametrize(("body", "param"), [
    ({"tokens": 2**63}, "tokens"),
    ({"cny": 1e308}, "cny"),
    ({"tokens": 5, "note": "n" * 1001}, "note"),
])
def test_out_of_range_grants_are_a_400(gw: Gateway, body: dict[str, Any], param: str) -> None:
    key = create_key(gw, quota_tokens=10)
    _refused(admin(gw, "POST", f"/admin/keys/{key['id']}/grants", json=body), param)


def test_grants_cannot_take_a_quota_past_its_maximum(gw: Gateway) -> None:
    key = create_key(gw, quota_tokens=10**15)
    message = _refused(admin(gw, "POST", f"/admin/keys/{key['id']}/grants",
                             json={"tokens": 1}), "tokens")
    assert "maximum" in message
    assert admin(gw, "GET", f"/admin/keys/{key['id']}").json()["quota_tokens"] == 10**15


@pytest.mark.parametrize("since", ["99999999d", "9" * 5000 + "d", "0001-01-01T00:00:00+01:00"])
def test_out_of_range_since_is_a_400(gw: Gateway, since: str) -> None:
    assert "36500d" in _refused(admin(gw, "GET", "/admin/usage", params={"since": since}), "since")


def test_a_huge_max_tokens_on_a_key_with_a_quota_is_a_400(gw: Gateway) -> None:
    key = create_key(gw, quota_tokens=1000)
    body = {"model": "gpt-4o", "max_tokens": 2_200_000_000_000_000,
            "messages": [{"role": "user", "content": "x"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=body,
                   headers={"Authorization": f"Bearer {key['key']}"}, timeout=30)
    assert "2147483647" in _refused(r, "max_tokens")


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "banjia.yaml"
    path.write_text(yaml.safe_dump({"store": {"url": db_url}}))
    return path


@pytest.mark.parametrize(("argv", "flag"), [
    (["keys", "create", "--name", "x", "--quota-tokens", str(2**63)], "--quota-tokens"),
    (["keys", "create", "--name", "x", "--quota-cny", "1e308"], "--quota-cny"),
    (["keys", "create", "--name", "x", "--rpm", str(2**40)], "--rpm"),
    (["keys", "create", "--name", "x", "--expires", "9999-12-31T23:59:59-05:00"], "--expires"),
    (["keys", "create", "--name", "a\x01b"], "--name"),
    (["usage", "--since", "99999999d"], "--since"),
])
def test_the_command_line_names_the_option_out_of_range(
        config_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], flag: str) -> None:
    code = main([*argv, "--config", str(config_file)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"banjia: {flag}: ") and err.count("\n") == 1, err
