"""``/v1/images/generations`` end to end: the official SDK through banjia to DashScope's
asynchronous task API, Zhipu CogView, Ark Seedream and SiliconFlow, with fallback, quotas and a
ledger row priced per image."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx
import openai
import pytest

from banjia.store.schema import to_nano
from tests.e2e.ledger_rows import row
from tests.fakes.media_files import PNG
from tests.harness import MASTER_KEY, Gateway
from tests.media.conftest import TASK_BOUND, Fakes
from tests.store.test_gateway import create_key

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_dashscope_task_is_submitted_polled_and_answered_in_one_call(
        client: openai.OpenAI, fakes: Fakes, media_gateway: Gateway) -> None:
    raw = client.images.with_raw_response.generate(
        model="ds/wanx2.1-t2i-turbo", prompt="a red kite", n=2, size="1024x768")
    images = raw.parse()
    assert images.data is not None and len(images.data) == 2
    assert all(d.url and d.url.startswith(fakes.urls["dashscope"]) for d in images.data)
    assert images.data[0].revised_prompt == "a red kite, detailed"
    submitted = fakes.dashscope.submitted()[-1]
    assert submitted.headers["x-dashscope-async"] == "enable"
    assert submitted.body["parameters"] == {"n": 2, "size": "1024*768"}
    assert raw.headers["x-banjia-upstream"] == "ds/wanx2.1-t2i-turbo"
    r = row(media_gateway, raw.headers["x-request-id"])
    assert (r["endpoint"], r["status"], r["cost_nano_cny"]) == ("images/generations", 200, to_nano(0.28))


def test_b64_json_fetches_the_linked_picture_through_banjia(client: openai.OpenAI, fakes: Fakes) -> None:
    images = client.images.generate(model="ds/wanx2.1-t2i-turbo", prompt="a kite",
                                    response_format="b64_json")
    assert images.data is not None and images.data[0].url is None
    assert base64.b64decode(images.data[0].b64_json or "") == PNG
    assert fakes.dashscope.files.fetched  # banjia fetched it; the client never saw the link


def test_a_failed_task_is_the_vendors_error_in_openais_envelope(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(model="ds/wanx2.1-t2i-turbo", prompt="moderate me please")
    assert e.value.code == "content_filter"
    assert "inappropriate" in e.value.message


def test_a_task_that_crashes_upstream_is_a_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        client.images.generate(model="ds/wanx2.1-t2i-turbo", prompt="crash now")
    assert e.value.status_code == 502


def test_a_task_that_outlives_its_bound_is_a_504_and_is_cancelled(
        client: openai.OpenAI, fakes: Fakes, media_gateway: Gateway) -> None:
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as e:
        client.images.with_raw_response.generate(model="dsfast/wanx2.1-t2i-turbo", prompt="never finish")
    assert e.value.status_code == 504
    assert f"within {TASK_BOUND:g} s" in e.value.message
    assert time.monotonic() - started < TASK_BOUND + 5
    task = fakes.dashscope.submitted()[-1]
    assert task.body["input"]["prompt"] == "never finish"
    wait_for(lambda: any(t for t in fakes.dashscope.state.cancelled
                         if fakes.dashscope.state.tasks[t].prompt == "never finish"))
    r = row(media_gateway, e.value.response.headers["x-request-id"])
    assert (r["status"], r["error_code"], r["cost_nano_cny"]) == (504, "upstream_timeout", 0)


def test_a_task_that_times_out_falls_back_to_the_next_entry(client: openai.OpenAI) -> None:
    raw = client.images.with_raw_response.generate(model="slow-then-sf", prompt="never finish")
    assert raw.headers["x-banjia-upstream"] == "sf/Kwai-Kolors/Kolors"
    assert raw.parse().data


def test_an_entry_that_serves_no_images_is_skipped_without_a_call(client: openai.OpenAI) -> None:
    raw = client.images.with_raw_response.generate(model="images-fallback", prompt="a kite")
    assert raw.headers["x-banjia-upstream"] == "sf/Kwai-Kolors/Kolors"


def test_a_chain_where_nothing_serves_images_says_so(media_gateway: Gateway) -> None:
    r = httpx.post(f"{media_gateway.base_url}/images/generations", json={
        "model": "deepseek/deepseek-chat", "prompt": "a kite"},
        headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_endpoint"
    assert "images/generations" in r.json()["error"]["message"]


def test_siliconflow_gets_its_own_field_names(client: openai.OpenAI, fakes: Fakes) -> None:
    images = client.images.generate(model="sf/Kwai-Kolors/Kolors", prompt="a kite", n=3, size="1024x1024")
    assert images.data is not None and len(images.data) == 3
    assert fakes.siliconflow.last.body == {"model": "Kwai-Kolors/Kolors", "prompt": "a kite",
                                           "image_size": "1024x1024", "batch_size": 3}


def test_zhipu_cogview_makes_one_image_per_request(
        client: openai.OpenAI, fakes: Fakes, media_gateway: Gateway) -> None:
    before = len(fakes.zhipu.state.requests)
    raw = client.images.with_raw_response.generate(model="zp/cogview-4-250304", prompt="a kite", n=2,
                                                   quality="hd")
    assert len(raw.parse().data or []) == 2
    sent = fakes.zhipu.state.requests[before:]
    assert [s.body for s in sent] == [{"model": "cogview-4-250304", "prompt": "a kite", "quality": "hd"}] * 2
    assert row(media_gateway, raw.headers["x-request-id"])["cost_nano_cny"] == to_nano(0.12)


def test_zhipu_content_filter_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(model="zp/cogview-4-250304", prompt="moderate me")
    assert e.value.code == "content_filter"


def test_ark_seedream_answers_b64_json_itself_and_carries_no_watermark(
        client: openai.OpenAI, fakes: Fakes, media_gateway: Gateway) -> None:
    raw = client.images.with_raw_response.generate(model="ark/seedream", prompt="a kite",
                                                   response_format="b64_json")
    assert base64.b64decode(raw.parse().data[0].b64_json or "") == PNG  # type: ignore[index]
    assert fakes.ark.state.requests[-1] == {"model": "doubao-seedream-3-0-t2i-250415", "prompt": "a kite",
                                            "response_format": "b64_json", "watermark": False}
    r = row(media_gateway, raw.headers["x-request-id"])
    # "seedream" is an endpoint name of the config: the catalog knows the model only by its id
    assert r["upstream_model"] == "seedream"


def test_openai_image_names_reach_a_vendors_image_model(client: openai.OpenAI) -> None:
    raw = client.images.with_raw_response.generate(model="dall-e-3", prompt="a kite")
    assert raw.headers["x-banjia-upstream"] == "ds/wanx2.1-t2i-turbo"


def test_a_key_whose_quota_cannot_pay_for_the_image_is_refused_before_any_call(
        media_gateway: Gateway, fakes: Fakes) -> None:
    key = create_key(media_gateway, quota_cny=0.1)
    before = len(fakes.dashscope.submitted())
    c = openai.OpenAI(base_url=media_gateway.base_url, api_key=key["key"], max_retries=0)
    with pytest.raises(openai.RateLimitError) as e:
        c.images.generate(model="ds/wanx2.1-t2i-turbo", prompt="a kite")
    assert e.value.code == "insufficient_quota"
    assert len(fakes.dashscope.submitted()) == before


def test_bad_parameters_are_400s_naming_them(media_gateway: Gateway) -> None:
    for body, param in [({"model": "dall-e-3", "prompt": ""}, "prompt"),
                        ({"model": "dall-e-3", "prompt": "x", "n": 11}, "n"),
                        ({"model": "dall-e-3", "prompt": "x", "size": "big"}, "size"),
                        ({"model": "dall-e-3", "prompt": "x", "response_format": "png"}, "response_format")]:
        r = httpx.post(f"{media_gateway.base_url}/images/generations", json=body,
                       headers=AUTH)
        assert r.status_code == 400, body
        assert r.json()["error"]["param"] == param


def test_a_refused_request_has_its_row_and_no_price_trace(
        media_gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    r = httpx.post(f"{media_gateway.base_url}/images/generations", content=b"{not json",
                   headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400
    ledger = row(media_gateway, r.headers["x-request-id"])
    assert (ledger["endpoint"], ledger["status"]) == ("images/generations", 400)
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]
