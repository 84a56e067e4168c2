"""The web UI in a real browser (Debian's chromium, driven by Playwright; no browser is downloaded):
a school leader signs in, sees only their school, and signs out. The page runs under its strict
Content-Security-Policy, and the test fails on any violation of it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import TRUST, Seeder, gateway_settings
from tidemark_identity.service import Identity
from tidemark_runtime.embedded import LOOPBACK, free_port
from tidemark_gateway.testing import GIRL_Y3
from tidemark_schemas.aggregates import Keyspace, attendance_keyspace, encode_field

CHROMIUM = Path(os.environ.get("TIDEMARK_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium (`apt-get install chromium`); Playwright never downloads one here."""
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long enough passphrase 42"
WAIT_MS = 30_000
"""How long Playwright waits for the page (a guard: a loaded machine starts chromium slowly)."""
expect.set_options(timeout=WAIT_MS)


@contextlib.asynccontextmanager
async def serving(app: object) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=LOOPBACK,
            port=port,
            log_level="warning",  # type: ignore[arg-type]
            timeout_graceful_shutdown=1,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        await asyncio.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def site(redis_url: str, redis: Redis, prefix: str, database_url: str) -> AsyncIterator[str]:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    await seed.counts("2025/26", "AUT1", "reading", "S1", at=3, below=1)
    await seed.counts("2025/26", "AUT1", "reading", "S2", at=7, below=1)
    await seed.updated("2025-10-20T09:30:00+00:00")
    attendance = attendance_keyspace(prefix, TRUST)
    await redis.hset(attendance.attendance_attainment("2025/26", "AUT1", "rwm", "S1"),
                     mapping={encode_field(GIRL_Y3, "persistent.AT"): 1, encode_field(GIRL_Y3, "severe.BELOW"): 1,
                              encode_field(GIRL_Y3, "regular.AT"): 6, encode_field(GIRL_Y3, "regular.BELOW"): 2})
    await redis.hset(attendance.attendance_sessions("2025/26", "YTD", "S1"),
                     mapping={encode_field(GIRL_Y3, "/\\"): 700, encode_field(GIRL_Y3, "I"): 60})
    await redis.hset(attendance.attendance_pupils("2025/26", "YTD", "S1"),
                     mapping={encode_field(GIRL_Y3, "pupils"): 2, encode_field(GIRL_Y3, "persistent"): 1})
    await redis.hset(attendance.attendance_absentees("2025/26", "YTD", "S1"), f"P7|{encode_field(GIRL_Y3, '50:380')}", 1)
    engine = create_async_engine(database_url)
    identity = Identity.on(engine)
    await identity.create_person(
        TRUST, "test", "head@oak.org", "Hana Head", "school_leader", ["S1"], PASSWORD
    )
    await identity.create_person(TRUST, "test", "admin@oak.org", "Ada Admin", "trust_admin", None, PASSWORD)
    await engine.dispose()
    settings = gateway_settings(
        redis_url, prefix, database_url=database_url, tidemark_tokens={}, live_heartbeat_seconds=1.0
    )
    async with serving(create_app(settings)) as url:
        yield url


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[tuple[object, list[str]]]:
    """A chromium page, and the Content-Security-Policy violations it reports."""
    if not CHROMIUM.exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `apt-get install chromium` (or set TIDEMARK_CHROMIUM)")
    violations: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(WAIT_MS)
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )
            yield page, violations
        finally:
            await browser.close()


async def sign_in(page, site: str, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(site)
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#signin-email", email)
    await page.fill("#signin-password", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#account")).to_be_visible()


async def test_a_trust_admin_adds_a_person_creates_a_key_and_reads_the_audit_trail(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "admin@oak.org")
        await page.click("text=People")
        await expect(page.locator("#accounts")).to_contain_text("head@oak.org")
        form = page.locator("#accounts form")
        inputs = form.locator("input")
        await inputs.nth(0).fill("new@oak.org")
        await inputs.nth(1).fill("New Person")
        await form.locator("select").select_option("school_leader")
        await inputs.nth(2).fill("S1")
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#accounts")).to_contain_text("Temporary password, shown once")
        await expect(page.locator("#accounts tbody")).to_contain_text("new@oak.org")

        await page.click("text=API keys")
        key_form = page.locator("#accounts form")
        await key_form.locator("input").nth(0).fill("SIMS connector")
        await key_form.locator("select").select_option("ingest")
        await key_form.locator("button[type=submit]").click()
        await expect(page.locator("#accounts .secret")).to_contain_text("tmk_")

        await page.click("text=Audit trail")
        await expect(page.locator("#accounts tbody")).to_contain_text("key_created")
        await expect(page.locator("#accounts tbody")).to_contain_text("person_created")
    assert violations == []


async def test_a_school_leader_signs_in_sees_only_their_school_and_signs_out(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "head@oak.org")

        await expect(page.locator("#app")).to_be_visible()
        await expect(page.locator("#account-name")).to_have_text("Hana Head · school leader")
        await expect(page.locator("#schools")).to_contain_text("Oak Primary")
        assert "Ash Academy" not in await page.locator("body").inner_text()
        assert await page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
        assert await page.locator("#nav-admin").count() == 0  # no administration for a school leader

        await page.click("#signout")
        await expect(page.locator("#signin")).to_be_visible()
        assert await page.evaluate("fetch('/v1/auth/me').then((r) => r.status)") == 401
    assert violations == []


async def test_attendance_beside_attainment_and_the_pupils_below_90_percent(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "head@oak.org")
        await page.click("text=Attendance vs Attainment")
        table = page.locator("table", has=page.locator("caption", has_text="by attendance"))
        await expect(table).to_contain_text("Persistent absentees (missed 10% or more)")
        await expect(table.locator("tbody tr").nth(1)).to_contain_text("50.0%")  # 1 of the 2 persistent absentees
        await expect(table.locator("tbody tr").first).to_contain_text("70.0%")  # All Pupils: 7 of 10

        await page.click("text=Attendance by Group")
        await page.click("text=Show pupils below 90%")
        await expect(page.locator("table.pupil-list")).to_contain_text("P7")
        await expect(page.locator("table.pupil-list")).to_contain_text("86.8%")  # 330 of 380
    assert violations == []
