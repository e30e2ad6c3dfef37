"""Signing in to the console, in Chromium: only the master key, a session cookie that is
HttpOnly/SameSite=Strict and expires, CSRF on every form, rate-limited attempts."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.console.conftest import Tab, admin, console_config, http_sign_in, open_tab, sign_in
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway

PAGES = ["/console/", "/console/providers", "/console/models", "/console/keys", "/console/usage",
         "/console/logs", "/console/playground", "/console/usage.csv", "/console/logs/req_x",
         "/console/keys/key_x"]


@pytest.mark.parametrize("path", PAGES)
def test_without_a_session_a_page_redirects_to_login_with_303(gw: Gateway, path: str) -> None:
    r = httpx.get(gw.root + path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=")


def test_without_a_session_the_browser_lands_on_the_login_form(tab: Tab) -> None:
    tab.goto("/console/keys")
    assert "/console/login" in tab.page.url
    assert tab.page.locator("input[name=key][type=password]").count() == 1
    tab.shot("login-zh")


def test_a_wrong_key_cannot_sign_in(tab: Tab) -> None:
    sign_in(tab, "sk-banjia-not-a-key-at-all")
    assert "/console/login" in tab.page.url
    assert tab.page.locator(".alert.error").inner_text() == "密钥不正确。"
    assert tab.context.cookies() == [c for c in tab.context.cookies() if c["name"] != "banjia_console"]
    tab.shot("login-wrong-key")


def test_a_client_key_cannot_sign_in(tab: Tab, gw: Gateway) -> None:
    with admin(gw) as c:
        client_key = c.post("/admin/keys", json={"name": "app"}).json()["key"]
    sign_in(tab, client_key)
    assert "/console/login" in tab.page.url
    assert "只有主密钥" in tab.page.locator(".alert.error").inner_text()
    assert not [c for c in tab.context.cookies() if c["name"] == "banjia_console"]


def test_the_master_key_signs_in_with_a_strict_httponly_expiring_cookie(tab: Tab) -> None:
    sign_in(tab)
    assert tab.page.url.endswith("/console/")
    assert tab.page.locator("h1").inner_text() == "概览"
    (cookie,) = [c for c in tab.context.cookies() if c["name"] == "banjia_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    assert time.time() < cookie["expires"] <= time.time() + 12 * 3600 + 60
    assert cookie["secure"] is False  # plain HTTP here; Secure is set when served over HTTPS


def test_the_key_never_appears_in_a_url_or_a_page(tab: Tab) -> None:
    urls: list[str] = []
    tab.page.on("request", lambda r: urls.append(r.url))
    sign_in(tab)
    for path in ("/console/", "/console/keys", "/console/playground"):
        tab.goto(path)
        assert MASTER_KEY not in tab.page.content()
    assert not [u for u in urls if MASTER_KEY in u]
    assert all(MASTER_KEY not in c["value"] for c in tab.context.cookies())


def test_after_sign_in_the_page_asked_for_opens(tab: Tab) -> None:
    tab.goto("/console/models")
    tab.page.fill("input[name=key]", MASTER_KEY)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_url("**/console/models")


def test_signing_out_ends_the_session(signed_in: Tab) -> None:
    signed_in.page.click("header form button")
    signed_in.page.wait_for_url("**/console/login")
    signed_in.goto("/console/keys")
    assert "/console/login" in signed_in.page.url


def test_a_form_without_its_csrf_token_is_refused(signed_in: Tab, gw: Gateway) -> None:
    before = httpx.get(gw.root + "/admin/keys", headers={"authorization": f"Bearer {MASTER_KEY}"}).json()
    api = signed_in.context.request
    missing = api.post(gw.root + "/console/keys", form={"name": "forged"}, max_redirects=0)
    wrong = api.post(gw.root + "/console/keys", form={"name": "forged", "csrf": "0" * 32}, max_redirects=0)
    assert (missing.status, wrong.status) == (403, 403)
    assert "CSRF" in missing.text()
    after = httpx.get(gw.root + "/admin/keys", headers={"authorization": f"Bearer {MASTER_KEY}"}).json()
    assert len(after["data"]) == len(before["data"])


def test_the_csrf_token_of_one_session_does_not_work_in_another(browser: Browser, gw: Gateway) -> None:
    first, second = open_tab(browser, gw), open_tab(browser, gw)
    try:
        sign_in(first)
        sign_in(second)
        first.goto("/console/keys")
        token = first.page.locator("#create-key input[name=csrf]").input_value()
        r = second.context.request.post(gw.root + "/console/keys", form={"name": "x", "csrf": token},
                                        max_redirects=0)
        assert r.status == 403
    finally:
        first.context.close()
        second.context.close()


def test_the_login_form_itself_needs_its_csrf_token(gw: Gateway) -> None:
    r = httpx.post(gw.root + "/console/login", data={"key": MASTER_KEY}, follow_redirects=False)
    assert r.status_code == 403
    assert "banjia_console=" not in r.headers.get("set-cookie", "")


def test_login_attempts_are_rate_limited(browser: Browser, fake: FakeOpenAI, tmp_path: Path) -> None:
    g = Gateway(console_config(fake, tmp_path))
    tab = open_tab(browser, g)
    try:
        for _ in range(5):
            sign_in(tab, "sk-banjia-wrong")
            assert tab.page.locator(".alert.error").inner_text() == "密钥不正确。"
        sign_in(tab, MASTER_KEY)  # even the right key waits now
        assert "/console/login" in tab.page.url
        assert "尝试次数过多" in tab.page.locator(".alert.error").inner_text()
        tab.shot("login-rate-limited")
    finally:
        tab.context.close()
        g.stop()


def test_pages_are_not_cached_framed_or_open_to_foreign_scripts(gw: Gateway) -> None:
    c = http_sign_in(gw)
    for path in ("/console/", "/console/keys", "/console/login"):
        h = c.get(path).headers
        assert h["cache-control"] == "no-store"
        assert h["x-frame-options"] == "DENY"
        assert "script-src 'self';" in h["content-security-policy"]
        assert "frame-ancestors 'none'" in h["content-security-policy"]
