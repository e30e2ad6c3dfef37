"""Errors: OpenAI's envelope, the right status for the SDK's retry logic, never 5xx for bad input."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import strict_client
from tests.harness import MASTER_KEY, Gateway

USER = [{"role": "user", "content": "hello there world"}]
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


def post(g: Gateway, path: str, **kw: object) -> httpx.Response:
    headers = {**AUTH, **kw.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.post(g.base_url + path, headers=headers, **kw)  # type: ignore[arg-type]


def assert_envelope(r: httpx.Response, status: int, code: str | None = None) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"]
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    if code is not None:
        assert err["code"] == code
    return err  # type: ignore[no-any-return]


def test_bad_json_is_400(gateway: Gateway) -> None:
    err = assert_envelope(post(gateway, "/chat/completions", content=b"{not json"), 400)
    assert "JSON" in err["message"]


def test_body_that_is_not_an_object_is_400(gateway: Gateway) -> None:
    assert_envelope(post(gateway, "/chat/completions", json=[1, 2]), 400)


def test_missing_messages_names_the_parameter(gateway: Gateway) -> None:
    err = assert_envelope(
        post(gateway, "/chat/completions", json={"model": "gpt-4o"}), 400, "missing_required_parameter"
    )
    assert err["param"] == "messages"


def test_bad_role_names_where(gateway: Gateway) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "x"}, {"role": "wizard", "content": "y"}],
    }
    err = assert_envelope(post(gateway, "/chat/completions", json=body), 400)
    assert err["param"].startswith("messages[1]")


def test_out_of_range_temperature_is_400(gateway: Gateway) -> None:
    body = {"model": "gpt-4o", "messages": USER, "temperature": 3}
    err = assert_envelope(post(gateway, "/chat/completions", json=body), 400)
    assert err["param"] == "temperature"


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="no-such-model", messages=USER)  # type: ignore[arg-type]
    assert e.value.code == "model_not_found"


def test_bad_key_is_401(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        strict_client(gateway, key="sk-wrong-key-123456").chat.completions.create(
            model="gpt-4o", messages=USER
        )  # type: ignore[arg-type]
    assert "sk-wrong-key-123456" not in str(e.value)


def test_missing_key_is_401(gateway: Gateway) -> None:
    r = httpx.post(gateway.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": USER})
    assert_envelope(r, 401, "invalid_api_key")


def test_unknown_route_is_404_envelope(gateway: Gateway) -> None:
    assert_envelope(httpx.get(gateway.base_url + "/nope", headers=AUTH), 404)


def test_upstream_503_becomes_503_after_the_chain_is_exhausted(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="fake/e503", messages=USER)  # type: ignore[arg-type]
    assert e.value.status_code == 503


def test_fallback_before_the_first_byte(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="fallback-model", messages=USER)  # type: ignore[arg-type]
    assert raw.headers["x-banjia-upstream"] == "fake/echo"
    assert raw.parse().choices[0].message.content == "echo: hello there world"


def test_stream_fallback_before_the_first_byte(client: openai.OpenAI) -> None:
    s = client.chat.completions.create(model="fallback-model", messages=USER, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in s if c.choices) == "echo: hello there world"


def test_upstream_429_keeps_retry_after(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "fake/e429:7", "messages": USER})
    assert_envelope(r, 429, "rate_limit_exceeded")
    assert r.headers["retry-after"] == "7"


def test_upstream_bad_request_is_not_5xx(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake/e400", messages=USER)  # type: ignore[arg-type]


def test_deepseek_402_balance_is_429_insufficient_quota(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "deepseek/e402", "messages": USER})
    assert_envelope(r, 429, "insufficient_quota")


def test_spark_error_inside_http_200_is_mapped(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "spark/spark-error", "messages": USER})
    assert_envelope(r, 400, "content_filter")


def test_spark_error_before_a_stream_starts_is_a_status(gateway: Gateway) -> None:
    body = {"model": "spark/spark-error", "messages": USER, "stream": True}
    assert_envelope(post(gateway, "/chat/completions", json=body), 400, "content_filter")


def test_spark_error_mid_stream_ends_with_an_error_event(client: openai.OpenAI) -> None:
    s = client.chat.completions.create(model="spark/spark-mid", messages=USER, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError) as e:
        for _ in s:
            pass
    assert "content review" in str(e.value) or "sensitive" in str(e.value)


def test_minimax_base_resp_error_inside_http_200_is_mapped(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "minimax/minimax-error", "messages": USER})
    assert_envelope(r, 429, "insufficient_quota")


def test_moonshot_content_filter(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "moonshot/moonshot-filter", "messages": USER})
    assert_envelope(r, 400, "content_filter")


def test_zhipu_numeric_codes(gateway: Gateway) -> None:
    r = post(gateway, "/chat/completions", json={"model": "zhipu/zhipu-error", "messages": USER})
    assert_envelope(r, 429, "insufficient_quota")


def test_stream_cut_mid_answer_ends_with_an_error_not_a_clean_finish(client: openai.OpenAI) -> None:
    s = client.chat.completions.create(model="fake/cut", messages=USER, stream=True)  # type: ignore[arg-type]
    got = []
    with pytest.raises(openai.APIError):
        for c in s:
            got.append(c)
    assert all(c.choices[0].finish_reason is None for c in got if c.choices)


def test_timeout_is_504(fake: object, tmp_path: object) -> None:
    from tests.conftest import gateway_config

    cfg = gateway_config(fake, tmp_path)  # type: ignore[arg-type]
    cfg["providers"]["fake"]["timeouts"] = {"first_byte": 0.3}
    g = Gateway(cfg)
    try:
        with pytest.raises(openai.APIStatusError) as e:
            strict_client(g).chat.completions.create(model="fake/slow:2", messages=USER)  # type: ignore[arg-type]
        assert e.value.status_code == 504
    finally:
        g.stop()
