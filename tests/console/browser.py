"""The system's headless Chromium, driven through Playwright, signed in to the officer console.

Chromium is Debian's (`apt-get install chromium`), never a browser Playwright downloads. Without
it the browser tests skip with the reason, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page, Request, async_playwright

from edge.app import App

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1600, "height": 1000}
# Liveness bound for anything the page is waited on for (milliseconds, Playwright's unit).
WAIT_MS = 20_000


def chromium_path() -> str:
    """The system Chromium; skips the test (fails it under CI) when there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "the officer console tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass
class Console:
    """A signed-in console page and every request the browser made."""

    page: Page
    context: BrowserContext
    base: str
    requests: list[str] = field(default_factory=list)
    methods: list[tuple[str, str]] = field(default_factory=list)
    made: list[Request] = field(default_factory=list)
    # The one-time sign-in address the browser was given (None: not signed in).
    login: str | None = None

    def seen(self, request: Request) -> None:
        self.requests.append(request.url)
        self.methods.append((request.method, request.url))
        self.made.append(request)

    async def text(self, selector: str) -> str:
        return await self.page.locator(selector).inner_text(timeout=WAIT_MS)

    async def wait_text(self, selector: str, words: str) -> None:
        """Wait until `selector` shows `words` (liveness bound WAIT_MS)."""
        await self.page.wait_for_function(
            "([s, w]) => { const e = document.querySelector(s); "
            "return e !== null && e.textContent.includes(w); }",
            arg=[selector, words],
            timeout=WAIT_MS,
        )

    async def stored_in_browser(self) -> dict[str, int]:
        """What the page keeps in web storage: entries per store (all must stay empty)."""
        counts: dict[str, int] = await self.page.evaluate(
            """async () => ({
                local: localStorage.length,
                session: sessionStorage.length,
                indexeddb: (await indexedDB.databases()).length,
                caches: (await caches.keys()).length,
            })"""
        )
        return counts


async def login_path(app: App) -> str:
    """A one-time sign-in path, asked for with the token as `midas-edge console` does."""
    auth = {"Authorization": f"Bearer {app.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(app.api_url + "/v1/console/login-code", headers=auth) as resp,
    ):
        assert resp.status == 201
        path: str = (await resp.json())["path"]
        return path


@asynccontextmanager
async def browser(profile: Path) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh profile directory; closed on exit."""
    executable = chromium_path()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=FLAGS,
            viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
            locale="en-GB",
            timezone_id="UTC",
        )
        try:
            yield context
        finally:
            await context.close()


@asynccontextmanager
async def console(
    app: App, profile: Path, *, sign_in: bool = True, base: str | None = None
) -> AsyncIterator[Console]:
    """The console page of `app` (at `base`, default the API's address), following the stream.

    Signing in goes as an officer's does: the console first (the sign-in page), then the
    one-time address `midas-edge console` hands out, opened in the same browser.
    """
    async with browser(profile) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        view = Console(page, context, base or app.api_url)
        context.on("request", view.seen)
        await page.goto(view.base + "/console")
        await page.locator("#signin").wait_for(timeout=WAIT_MS)
        if sign_in:
            view.login = view.base + await login_path(app)
            await page.goto(view.login)
            await page.wait_for_selector("#link.link-up", timeout=WAIT_MS)
        yield view
