"""What the whole-stack browser tests share (Playwright driving the machine's Chromium): where the
browser and axe-core are, how Chromium is launched, the axe query, and a page signed in to the web
UI. Imported by tests only (Playwright is a test dependency)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

CHROMIUM = Path(os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(os.environ.get("TIDEMARK_AXE", Path(sys.prefix) / "node/node_modules/axe-core/axe.min.js"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]
AXE_SERIOUS = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""
"""The serious and critical violations axe-core finds on the page."""


@contextlib.asynccontextmanager
async def chromium_page(wait_ms: int, page_errors: bool = True) -> AsyncIterator[tuple[Any, list[str]]]:
    """A page of the machine's Chromium, and the CSP violations it reports (and, with
    `page_errors`, its uncaught errors)."""
    if not CHROMIUM.exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `apt-get install chromium` (or set TIDEMARK_CHROMIUM)")
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(wait_ms)
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            if page_errors:
                page.on("pageerror", lambda error: problems.append(str(error)))
            yield page, problems
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def signed_in(site: str, email: str, password: str, wait_ms: int) -> AsyncIterator[tuple[Any, list[str]]]:
    """A chromium page signed in as `email`, started and routed to its first view (a click or goto
    from here routes once), and the page errors and CSP violations it reports."""
    async with chromium_page(wait_ms) as (page, problems):
        await page.goto(site)
        await page.fill("#signin-email", email)
        await page.fill("#signin-password", password)
        await page.click("#signin-form button[type=submit]")
        await expect(page.locator("#account")).to_be_visible()
        await expect(page.locator("#app")).to_be_visible()
        yield page, problems
