"""What an operator does in the console, in Chromium, against banjia over the fake upstream."""

from __future__ import annotations

import json
import time
from typing import Any

import openai

from banjia.catalog import load_catalog
from tests.conftest import strict_client
from tests.console.conftest import Tab, admin, csrf_of, http_sign_in
from tests.harness import Gateway


def _wait(cond: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _chart_series(tab: Tab, chart_id: str) -> dict[str, list[Any]]:
    """What ECharts drew: series id → data, read from the chart instance in the page."""
    option = tab.page.evaluate(
        "id => echarts.getInstanceByDom(document.getElementById(id)).getOption()", chart_id)
    return {s["id"]: s["data"] for s in option["series"]} | {"_x": option["xAxis"][0]["data"]}


def test_a_key_is_created_shown_once_and_revoked_through_the_forms(signed_in: Tab, gw: Gateway) -> None:
    tab = signed_in
    tab.goto("/console/keys")
    form = tab.page.locator("#create-key")
    form.locator("input[name=name]").fill("移动端应用")
    form.locator("input[name=models]").fill("gpt-4o, gpt-4o-mini")
    form.locator("input[name=quota_tokens]").fill("100000")
    form.locator("input[name=quota_cny]").fill("5.5")
    form.locator("input[name=rpm]").fill("60")
    form.locator("input[name=tpm]").fill("20000")
    form.locator("input[name=expires_at]").fill("2030-01-02T03:04")
    form.locator("button[type=submit]").click()
    secret = tab.page.locator("#new-key").inner_text()
    assert secret.startswith("sk-banjia-")
    assert tab.watch.errors == [] and tab.watch.failed == []
    tab.shot("zh-CN-key-created")

    record = next(k for k in admin(gw).get("/admin/keys").json()["data"] if k["name"] == "移动端应用")
    assert (record["models"], record["quota_tokens"], record["quota_cny"], record["rpm"], record["tpm"]) == (
        ["gpt-4o", "gpt-4o-mini"], 100000, 5.5, 60, 20000)
    assert record["expires_at"] == "2030-01-01T19:04:00Z"  # the form's time is Beijing time
    app = strict_client(gw, secret)
    assert [m.id for m in app.models.list().data] == ["gpt-4o", "gpt-4o-mini"]

    tab.goto("/console/keys")
    assert secret not in tab.page.content()  # shown once
    row = tab.page.locator(f"tr[data-key-id='{record['id']}']")
    row.locator("button", has_text="吊销").click()
    tab.page.wait_for_url("**/console/keys?done=revoked")
    assert "已吊销" in tab.page.locator(f"tr[data-key-id='{record['id']}']").inner_text()

    def refused() -> bool:
        try:
            app.models.list()
        except openai.AuthenticationError:
            return True
        return False

    _wait(refused)


def test_a_grant_adds_to_a_key_quota(signed_in: Tab, gw: Gateway) -> None:
    key = admin(gw).post("/admin/keys", json={"name": "grantee", "quota_tokens": 1000}).json()
    tab = signed_in
    tab.goto(f"/console/keys/{key['id']}")
    tab.page.fill("input[name=tokens]", "500")
    tab.page.fill("input[name=note]", "月度追加")
    tab.page.click("button:has-text('追加额度')")
    tab.page.wait_for_url(f"**/console/keys/{key['id']}?done=granted")
    assert "月度追加" in tab.page.locator("#grants").inner_text()
    assert admin(gw).get(f"/admin/keys/{key['id']}").json()["quota_tokens"] == 1500
    tab.shot("zh-CN-key-detail")


def test_a_form_mistake_is_shown_next_to_the_form(signed_in: Tab) -> None:
    signed_in.goto("/console/keys?lang=en")
    form = signed_in.page.locator("#create-key")
    form.locator("input[name=name]").fill("bad")
    form.locator("input[name=rpm]").fill("0")
    form.evaluate("f => { f.noValidate = true; }")  # past the browser's own check (min=1)
    form.locator("button[type=submit]").click()
    message = signed_in.page.locator(".alert.error").inner_text()
    assert message.startswith("That did not work:") and "'rpm'" in message  # the store's own words
    assert form.locator("input[name=name]").input_value() == "bad"


def test_the_usage_chart_draws_the_tokens_and_cny_of_real_requests(signed_in: Tab, gw: Gateway) -> None:
    key = admin(gw).post("/admin/keys", json={"name": "chart-app"}).json()
    client = strict_client(gw, key["key"])
    for text in ("one", "one two", "one two three"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    expected = next(r for r in admin(gw).get("/admin/usage?by=key").json()["rows"]
                    if r["group"] == key["id"])
    assert expected["prompt_tokens"] == 6 and expected["completion_tokens"] == 9  # the fake counts words

    tab = signed_in
    tab.goto("/console/usage?by=key&period=today")
    tab.page.wait_for_selector("#chart-usage-tokens[data-drawn=true]")
    tokens = _chart_series(tab, "chart-usage-tokens")
    i = tokens["_x"].index(f"chart-app ({key['id']})")
    assert (tokens["prompt"][i], tokens["completion"][i]) == (6, 9)
    cny = _chart_series(tab, "chart-usage-cny")
    assert cny["cost"][i] == round(expected["cost_cny"], 6) > 0
    assert cny["openai"][i] == round(expected["openai_cost_cny"], 6)
    assert cny["saving"][i] == round(expected["saving_cny"], 6) > 0
    tab.shot("zh-CN-usage-by-key")

    tab.goto("/console/")
    tab.page.wait_for_selector("#chart-tokens[data-drawn=true]")
    day = _chart_series(tab, "chart-tokens")
    assert day["prompt"][-1] >= 6 and day["completion"][-1] >= 9
    assert int(tab.page.locator("[data-window=today] [data-figure=requests]").inner_text()) >= 3


def test_the_usage_csv_has_one_line_per_group(signed_in: Tab, gw: Gateway) -> None:
    strict_client(gw).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    r = signed_in.context.request.get(gw.root + "/console/usage.csv?by=model&period=7d")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text().lstrip("\ufeff").splitlines()
    assert lines[0] == ("model,requests,prompt_tokens,completion_tokens,total_tokens,cost_cny,"
                        "openai_cost_cny,saving_cny,saving_pct")
    assert any(line.startswith("gpt-4o,") for line in lines[1:])


def test_the_logs_page_lists_a_request_by_the_id_its_client_received(signed_in: Tab, gw: Gateway) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "find me in the logs"}])
    rid = raw.headers["x-request-id"]
    tab = signed_in
    tab.goto("/console/logs?model=gpt-4o&status=200")
    row = tab.page.locator(f"tr[data-request-id='{rid}']")
    assert row.count() == 1
    assert "deepseek/deepseek-chat" in row.inner_text()
    row.locator("a", has_text=rid).click()
    tab.page.wait_for_url(f"**/console/logs/{rid}")
    facts = tab.page.locator("#request").inner_text()
    assert "deepseek/deepseek-chat" in facts and "200" in facts
    assert "find me" not in tab.page.content()  # never the prompt
    tab.shot("zh-CN-log-detail")
    tab.goto("/console/logs?status=error")
    assert tab.page.locator(f"tr[data-request-id='{rid}']").count() == 0


def test_the_playground_streams_a_reply_and_says_who_served_it_and_its_cost(signed_in: Tab) -> None:
    tab = signed_in
    tab.goto("/console/playground")
    tab.page.fill("#pg-model", "fake/slowchunks:0.3")
    tab.page.fill("#pg-prompt", "one two three four five")
    tab.page.click("#pg-send")
    answer = tab.page.locator(".msg.assistant .text").last
    # part of the answer is on the page while the rest is still on its way
    tab.page.wait_for_function(
        "() => { const m = document.querySelector('.msg.assistant.streaming .text');"
        " return m && m.textContent.length > 0 && m.textContent !== 'echo: one two three four five'; }")
    tab.page.wait_for_selector(".msg.assistant:not(.streaming)")
    assert answer.inner_text() == "echo: one two three four five"
    assert tab.page.locator("#reply-meta [data-field=upstream]").inner_text() == "fake/slowchunks:0.3"
    assert tab.watch.errors == []
    # Chromium now and then reports a fetch stream read to its end as aborted; the answer above is
    # whole, and the server ends the body properly (test_the_playground_stream_ends_with_its_summary)
    stream_aborted = "/console/playground/stream: net::ERR_ABORTED"
    assert [f for f in tab.watch.failed if not f.endswith(stream_aborted)] == []

    tab.page.fill("#pg-model", "gpt-4o")
    tab.page.fill("#pg-prompt", "priced words")
    tab.page.click("#pg-send")
    tab.page.wait_for_selector(".msg.assistant:not(.streaming) >> nth=1")
    assert tab.page.locator(".msg.assistant .text").last.inner_text() == "echo: priced words"
    assert tab.page.locator("#reply-meta [data-field=upstream]").inner_text() == "deepseek/deepseek-chat"
    assert tab.page.locator("#reply-meta [data-field=cost]").inner_text().startswith("¥0.0000")
    tab.shot("zh-CN-playground-streamed")


def test_the_playground_stream_ends_with_its_summary(gw: Gateway) -> None:
    c = http_sign_in(gw)
    token = csrf_of(c.get("/console/playground").text)
    messages = '[{"role": "user", "content": "a b c"}]'
    with c.stream("POST", "/console/playground/stream",
                  data={"csrf": token, "model": "gpt-4o", "messages": messages}) as r:
        body = b"".join(r.iter_bytes()).decode()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-banjia-upstream"] == "deepseek/deepseek-chat"
    events = body.strip().split("\n\n")
    assert events[-2] == "data: [DONE]"
    kind, data = events[-1].split("\n")
    summary = json.loads(data.removeprefix("data: "))
    assert kind == "event: banjia"
    assert summary["request_id"] == r.headers["x-request-id"]
    assert summary["upstream"] == "deepseek/deepseek-chat"
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (3, 4)
    assert summary["cost_cny"] > 0


def test_the_playground_shows_an_unknown_model_as_an_error(signed_in: Tab) -> None:
    tab = signed_in
    tab.goto("/console/playground?lang=en")
    tab.page.fill("#pg-model", "no-such-model")
    tab.page.fill("#pg-prompt", "hi")
    tab.page.click("#pg-send")
    failed = tab.page.locator(".msg.failed")
    failed.wait_for()
    assert "does not exist" in failed.inner_text()


def test_the_test_button_probes_a_provider_through_its_adaptor(signed_in: Tab) -> None:
    tab = signed_in
    tab.goto("/console/providers")
    card = tab.page.locator("[data-provider=fake]")
    card.locator("select[name=model]").select_option("echo")
    card.locator("button", has_text="测试").click()
    card.locator("[data-test=ok]").wait_for()
    assert card.locator("[data-test=ok] q").inner_text() == "echo:"  # max_tokens=1: one word
    card.locator("select[name=model]").select_option("e503")
    card.locator("button", has_text="测试").click()
    card.locator("[data-test=failed]").wait_for()
    assert "e503" in card.locator("[data-test=failed]").inner_text()
    assert tab.watch.errors == []
    tab.shot("zh-CN-provider-tested")


def test_a_provider_shows_its_last_failure_even_when_a_fallback_saved_the_request(
        signed_in: Tab, gw: Gateway) -> None:
    raw = strict_client(gw).chat.completions.with_raw_response.create(
        model="flaky", messages=[{"role": "user", "content": "x"}])
    assert raw.headers["x-banjia-upstream"] == "deepseek/deepseek-chat"
    signed_in.goto("/console/providers")
    card = signed_in.page.locator("[data-provider=fake]")
    assert "upstream_overloaded" in card.inner_text()
    assert "e503" in card.inner_text()


def test_disabling_a_provider_takes_it_out_of_rotation(signed_in: Tab, gw: Gateway) -> None:
    tab = signed_in
    tab.goto("/console/providers")
    card = tab.page.locator("[data-provider=fake]")
    card.locator("button", has_text="停用").click()
    tab.page.wait_for_selector("[data-provider=fake] [data-state=disabled]")
    state = gw.runtime.routing
    assert "fake" in state.disabled
    assert "operator" in state.disabled["fake"].reason
    # the balanced alias now goes to the other provider
    for _ in range(4):
        raw = strict_client(gw).chat.completions.with_raw_response.create(
            model="balanced", messages=[{"role": "user", "content": "x"}])
        assert raw.headers["x-banjia-upstream"] == "deepseek/deepseek-chat"
    tab.shot("zh-CN-provider-disabled")
    tab.page.locator("[data-provider=fake]").locator("button", has_text="启用").click()
    tab.page.wait_for_selector("[data-provider=fake] [data-state=ok]")
    assert "fake" not in state.disabled


def test_the_models_page_shows_chains_prices_and_retirements(signed_in: Tab) -> None:
    signed_in.goto("/console/models?lang=en")
    chain = signed_in.page.locator("tr[data-alias=flaky]").inner_text()
    assert chain.index("fake/e503") < chain.index("deepseek/deepseek-chat")
    text = signed_in.page.locator("body").inner_text()
    for m in load_catalog().vendors["deepseek"].models:
        assert m.id in text
        if m.retired:
            page = signed_in.page
            row = page.locator("table.catalog tr", has=page.locator(f"code:text-is('{m.id}')")).inner_text()
            assert m.retired in row and (m.successor or "") in row
