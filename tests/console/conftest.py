"""The console under a real headless Chromium: Debian's ``chromium`` (installed by
``scripts/browser.sh``) driven by Playwright through ``executable_path`` — no browser download.

A missing browser fails the tests; it never skips them. Every page visited is written as a PNG to
``tests/console/screenshots/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.conftest import fake_provider
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY, Gateway
from tests.store.conftest import db_url, pg_url, store  # noqa: F401  (the store's real databases)

CHROMIUM = os.environ.get("BANJIA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def console_config(fake: FakeOpenAI, tmp: Path, **overrides: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "server": {"master_key": MASTER_KEY},
        "store": {"url": f"sqlite:///{tmp / 'banjia.db'}"},
        "providers": {
            "deepseek": fake_provider(fake, "deepseek"),
            "fake": fake_provider(fake),
        },
        "models": {
            "gpt-4o": ["deepseek/deepseek-chat"],
            "gpt-4o-mini": ["fake/echo"],
            "balanced": [["fake/echo", "deepseek/deepseek-chat"]],
            "flaky": ["fake/e503", "deepseek/deepseek-chat"],
        },
    }
    cfg.update(overrides)
    return cfg


@pytest.fixture(scope="module")
def gw(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    g = Gateway(console_config(fake, tmp_path_factory.mktemp("console")))
    yield g
    g.stop()


# per module: while Playwright's synchronous API runs, its event loop counts as running in this
# thread, and async tests (which start their own loop) cannot run
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (Debian's chromium package)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@dataclass
class Watch:
    """What went wrong in a page: script errors, console errors, failed requests."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("response", lambda r: self.failed.append(f"{r.request.method} {r.url}: {r.status}")
                if r.status >= 400 else None)

    def clear(self) -> None:
        self.errors.clear()
        self.failed.clear()


@dataclass
class Tab:
    context: BrowserContext
    page: Page
    watch: Watch
    base: str

    def goto(self, path: str) -> None:
        self.watch.clear()
        self.page.goto(self.base + path)

    def shot(self, name: str, full: bool = True) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
        self.page.screenshot(path=str(path), full_page=full)
        return path


def open_tab(browser: Browser, g: Gateway, **context: Any) -> Tab:
    options: dict[str, Any] = {"locale": "zh-CN", "viewport": {"width": 1280, "height": 860}, **context}
    ctx = browser.new_context(**options)
    page = ctx.new_page()
    page.on("dialog", lambda d: d.accept())  # confirm() before a revocation
    watch = Watch()
    watch.attach(page)
    return Tab(ctx, page, watch, g.root)


def sign_in(tab: Tab, key: str = MASTER_KEY) -> None:
    tab.goto("/console/login")
    tab.page.fill("input[name=key]", key)
    tab.page.click("button[type=submit]")
    tab.page.wait_for_load_state("networkidle")


@pytest.fixture
def tab(browser: Browser, gw: Gateway) -> Iterator[Tab]:
    t = open_tab(browser, gw)
    yield t
    t.context.close()


@pytest.fixture
def signed_in(tab: Tab) -> Tab:
    sign_in(tab)
    assert tab.page.url.endswith("/console/"), tab.page.url
    return tab


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def http_sign_in(g: Gateway) -> httpx.Client:
    """A console session without a browser (for what a browser cannot show: headers, bytes)."""
    c = httpx.Client(base_url=g.root, timeout=30)
    token = csrf_of(c.get("/console/login").text)
    r = c.post("/console/login", data={"csrf": token, "key": MASTER_KEY, "next": "/console/"})
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    return c


def admin(g: Gateway) -> httpx.Client:
    return httpx.Client(base_url=g.root, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=30)
