"""Every console page in Chromium, in both languages, after real traffic through banjia: no script
error, no failed request, no untranslated string; readable on a phone; usable without JavaScript."""

from __future__ import annotations

import re

import openai
import pytest
from playwright.sync_api import Browser

from banjia.console._i18n import STRINGS
from tests.conftest import strict_client
from tests.console.conftest import Tab, open_tab, sign_in
from tests.harness import Gateway

PAGES = {"overview": "/console/", "providers": "/console/providers", "models": "/console/models",
         "keys": "/console/keys", "usage": "/console/usage", "usage-by-day": "/console/usage?by=day",
         "logs": "/console/logs", "playground": "/console/playground"}
# a key of STRINGS on a page means a string was not translated
_KEY = re.compile(r"\b(" + "|".join(re.escape(k) for k in STRINGS if "_" in k) + r")\b")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def traffic(gw: Gateway) -> None:
    """Requests of every kind through banjia over the fake upstream."""
    client = strict_client(gw)
    for text in ("hello there", "one two three four", "你好 世界"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": text}])
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "a b"}])
    client.chat.completions.create(model="flaky", messages=[{"role": "user", "content": "falls back"}])
    stream = client.chat.completions.create(model="gpt-4o", stream=True,
                                            messages=[{"role": "user", "content": "streamed words"}])
    for _ in stream:
        pass
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_renders_without_errors_in_both_languages(signed_in: Tab, traffic: None,
                                                              lang: str) -> None:
    tab = signed_in
    for name, path in PAGES.items():
        sep = "&" if "?" in path else "?"
        tab.goto(f"{path}{sep}lang={lang}")
        tab.page.wait_for_load_state("networkidle")
        assert tab.page.locator("html").get_attribute("lang") == lang
        assert tab.watch.errors == [], (name, tab.watch.errors)
        assert tab.watch.failed == [], (name, tab.watch.failed)
        switch = tab.page.locator(".langs a")
        assert switch.count() == 2
        text = tab.page.locator("body").inner_text()
        assert not _KEY.search(text), (name, _KEY.search(text))
        if lang == "en":
            stray = _CJK.findall(text.replace("中文", "").replace("你好", "").replace("世界", ""))
            assert not stray, (name, "".join(stray))
        else:
            assert "概览" in text
        for chart in tab.page.locator("[data-chart]").all():
            assert chart.get_attribute("data-drawn") == "true", (name, chart.get_attribute("id"))
        tab.shot(f"{lang}-{name}")


def test_the_language_choice_is_kept_from_page_to_page(signed_in: Tab) -> None:
    signed_in.goto("/console/?lang=en")
    signed_in.page.click("nav >> text=Keys")
    signed_in.page.wait_for_url("**/console/keys")
    assert signed_in.page.locator("h1").inner_text() == "Keys"
    signed_in.page.click(".langs >> text=中文")
    signed_in.page.wait_for_load_state("networkidle")
    assert signed_in.page.locator("h1").inner_text() == "密钥"


def test_pages_are_readable_on_a_phone(browser: Browser, gw: Gateway, traffic: None) -> None:
    tab = open_tab(browser, gw, viewport={"width": 390, "height": 844}, is_mobile=True,
                   has_touch=True, device_scale_factor=2)
    try:
        sign_in(tab)
        for name in ("overview", "providers", "keys", "logs", "playground"):
            tab.goto(PAGES[name])
            tab.page.wait_for_load_state("networkidle")
            # the page itself never scrolls sideways; wide tables scroll inside their box
            overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (name, overflow)
            tab.shot(f"phone-{name}", full=False)
    finally:
        tab.context.close()


def test_the_console_works_without_javascript(browser: Browser, gw: Gateway) -> None:
    tab = open_tab(browser, gw, java_script_enabled=False)
    try:
        sign_in(tab)
        assert tab.page.url.endswith("/console/")
        tab.goto("/console/keys")
        tab.page.fill("#create-key input[name=name]", "no-js")
        tab.page.click("#create-key button[type=submit]")
        assert tab.page.locator("#new-key").inner_text().startswith("sk-banjia-")
        tab.goto("/console/playground")
        tab.page.fill("#pg-model", "gpt-4o-mini")
        tab.page.fill("#pg-prompt", "without scripts")
        tab.page.click("#pg-send")
        assert tab.page.locator(".msg.assistant .text").inner_text() == "echo: without scripts"
        assert tab.page.locator("[data-field=upstream]").inner_text() == "fake/echo"
        tab.shot("nojs-playground")
    finally:
        tab.context.close()
