"""The web UI in a real browser (Debian's chromium, driven by Playwright; no browser is downloaded):
a school leader signs in, sees only their school, and signs out; an administrator manages people;
the statutory pages show the DfE's national figures; every card has its help; every page fits a
phone and a tablet with no sideways scroll and no console error; a page prints without its
controls; attendance beside attainment and the pupils below 90%; axe-core (from npm, `make axe-core`) finds no
serious or critical accessibility violation on any page at desktop and phone width; Download CSV gives
the rows and figures of the JSON the page shows; report tables sort by any column (click or
keyboard) and keep their order through a live update; a pupil list is searched, sorted and shown
whole from one fetch; the charts (plotly.js) show a group's n and % on hover, open its report on a
click, download as a PNG, fit their axis to the figures and shade a model's codes in order. The page
runs under its strict Content-Security-Policy, and the tests fail on any violation of it."""

from __future__ import annotations

import asyncio
import csv
import io
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import uvicorn
from playwright.async_api import expect
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import GIRL_Y3, TRUST, Seeder, cell, gateway_settings
from tidemark_identity.service import Identity
from tidemark_runtime.browser_testing import AXE, AXE_SERIOUS, chromium_page
from tidemark_runtime.embedded import LOOPBACK, free_port
from tidemark_schemas.aggregates import Keyspace, attendance_keyspace, encode_field
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.vocabulary import YearGroup

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
    await seed.statutory("2025/26", "ks2.rwm", "S2", cell(year_group=YearGroup.Y6), GDS=1, EXS=6, NOT=3)
    await seed.statutory("2025/26", "ks2.rwm", "S2", cell(year_group=YearGroup.Y6, disadvantaged=True), EXS=4, NOT=6)
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
    await identity.create_person(TRUST, "test", "leader@oak.org", "Lee Leader", "trust_leader", None, PASSWORD)
    await identity.create_person(TRUST, "test", "admin@oak.org", "Ada Admin", "trust_admin", None, PASSWORD)
    await engine.dispose()
    settings = gateway_settings(
        redis_url, prefix, database_url=database_url, tidemark_tokens={}, live_heartbeat_seconds=1.0
    )
    async with serving(create_app(settings)) as url:
        yield url


def browser_page() -> contextlib.AbstractAsyncContextManager[tuple[Any, list[str]]]:
    """A chromium page, and the Content-Security-Policy violations it reports."""
    return chromium_page(WAIT_MS, page_errors=False)


async def sign_in(page, site: str, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(site)
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#signin-email", email)
    await page.fill("#signin-password", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#account")).to_be_visible()
    # The page has loaded the calendar and schools and routed to its first view: a page.goto of
    # another view from here routes once (before, a goto could route, then the page's own start
    # routed the same view again, fetching it twice).
    await expect(page.locator("#app")).to_be_visible()


PAGES = (
    "/", "/dashboards/statutory", "/reports/primary-subjects", "/reports/early-years-subjects",
    "/reports/primary-attainment-overview", "/reports/early-years-attainment-overview", "/reports/pupil-overview",
    "/reports/progress-over-time", "/reports/diminishing-the-difference", "/reports/data-completion",
    "/reports/statutory", "/reports/progress-from-statutory", "/dashboards/attendance", "/reports/attendance",
    "/reports/attendance-codes", "/reports/attendance-trend", "/reports/attendance-attainment", "/board-pack", "/help",
    "/account/password", "/admin/people", "/admin/keys", "/admin/audit",
)
"""Every page of the web UI (the figures' views, the glossary, the account and administration pages)."""

RENDERED = """(path) => {
  const holder = path === "/" ? document.getElementById("tiles")
    : path.startsWith("/account/") || path.startsWith("/admin/") ? document.getElementById("accounts")
    : document.getElementById("view");
  return holder.children.length > 0 && !document.querySelector("[aria-busy]") && !document.querySelector(".chart-status");
}"""
"""A page has drawn its figures: its holder has content, nothing is loading and every chart is drawn (a
chart that cannot be drawn keeps its status line, so the wait fails)."""


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


async def test_the_statutory_pages_show_the_dfe_national_figures_beside_the_trusts(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "admin@oak.org")

        await page.goto(f"{site}/#/dashboards/statutory")
        rwm = page.locator('#view .tile:has(a[href*="measure=ks2.rwm&"])')
        await expect(rwm).to_contain_text("National 62%")  # KS2 RWM 2024/25: 2025/26 is not published yet
        await expect(rwm).to_contain_text("2024/25")
        gap = page.locator("section", has=page.locator("h3", has_text="Disadvantaged pupils, KS2 combined RWM"))
        await expect(gap.locator(".national-tile")).to_contain_text("67%")  # non-disadvantaged pupils nationally, 2023/24
        await expect(gap).to_contain_text("+27.0 pts")  # 67 - 40

        await page.goto(f"{site}/#/reports/statutory?measure=ks2.rwm&by=sex")
        await expect(page.locator("#view thead")).to_contain_text("DfE, England")
        await expect(page.locator("#view tbody tr.all")).to_contain_text("62%")
        assert await page.locator("#view .bar b.national-line").count() >= 1
    assert violations == []


async def test_each_widget_has_an_info_button_that_opens_and_closes_with_escape_and_a_glossary_page(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "admin@oak.org")

        button = page.locator("#page-dashboard h3 button.info").first
        await expect(button).to_have_attribute("aria-expanded", "false")
        await button.click()
        panel = page.locator(f"#{await button.get_attribute('aria-controls')}")
        await expect(button).to_have_attribute("aria-expanded", "true")
        await expect(panel).to_contain_text("ARE (Age Related Expectations)")
        await page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()
        await expect(button).to_have_attribute("aria-expanded", "false")
        assert await page.evaluate("document.activeElement.classList.contains('info')")
        assert await page.locator("#page-dashboard section h3 button.info").count() == 7

        without_help: dict[str, list[bool]] = {}
        for path in PAGES:
            if path.startswith(("/account/", "/admin/", "/help")):
                continue
            await page.goto(f"{site}/#{path}")
            await page.wait_for_function(RENDERED, arg=path)
            root = "#page-dashboard" if path == "/" else "#view"
            cards = await page.evaluate(f"[...document.querySelectorAll('{root} section')].map((s) => !!s.querySelector('h3 button.info'))")
            if not cards or not all(cards):
                without_help[path] = cards
        assert without_help == {}  # every widget and report card has its info button

        await page.goto(f"{site}/#/help")
        glossary = page.locator("#view dl.glossary")
        for term in ("GLD (Good Level of Development)", "All Pupils (pooled)", "Change since", "pts (percentage points)",
                     "Not on track and BELOW standard", "Accelerated track and ABOVE standard", "Who is counted"):
            await expect(glossary).to_contain_text(term)
        await expect(page.locator("#filters")).to_be_hidden()
    assert violations == []


async def test_every_page_fits_a_360_px_phone_and_a_tablet_without_sideways_scrolling_or_console_errors(site: str) -> None:
    async with browser_page() as (page, violations):
        await page.set_viewport_size({"width": 360, "height": 780})
        await sign_in(page, site, "admin@oak.org")  # (its first look at the session is a 401, as it should be)
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Figures first: the menu and the filters are folded, so the first figure shows on the first screen.
        await expect(page.locator("#nav")).to_be_hidden()
        await expect(page.locator("#filter-controls")).to_be_hidden()
        first_figure = await page.locator("#tiles .tile .pct").first.bounding_box()
        assert first_figure is not None and first_figure["y"] < 780 * 0.6, first_figure  # it was 1,079 px down
        await page.click("#menu-toggle")
        await expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
        await page.click("#nav a[data-path='/reports/primary-subjects']")
        await expect(page.locator("#nav")).to_be_hidden()  # choosing a page folds the menu again
        await page.click("#filters-toggle")
        await expect(page.locator("#filter-controls")).to_be_visible()

        overflowing: dict[str, list[int]] = {}
        unnamed_scroll_boxes: dict[str, int] = {}
        for width in (360, 768):  # a phone, and a tablet upright
            await page.set_viewport_size({"width": width, "height": 780})
            for path in PAGES:
                await page.goto(f"{site}/#{path}")
                await page.wait_for_function(RENDERED, arg=path)
                widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                unnamed = await page.evaluate(
                    "[...document.querySelectorAll('.scroll')].filter((box) => box.offsetParent !== null"
                    " && (box.tabIndex !== 0 || !box.getAttribute('aria-label'))).length")
                if unnamed:
                    unnamed_scroll_boxes[f"{width} {path}"] = unnamed
                if widths[0] > widths[1]:
                    overflowing[f"{width} {path}"] = widths

        assert overflowing == {}
        assert unnamed_scroll_boxes == {}  # each can be reached and scrolled by keyboard, and has a name
        assert errors == []
    assert violations == []


async def test_printing_a_page_keeps_the_figures_and_what_they_are_about_and_drops_the_controls(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "admin@oak.org")
        await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=school&school=S1")
        await expect(page.locator("#view table")).to_contain_text("Oak Primary")
        await page.emulate_media(media="print")

        for hidden in ("#nav", "#export-csv", "#filter-controls", "#view section h3 button.info"):
            await expect(page.locator(hidden).first).to_be_hidden()
        await expect(page.locator("#page-title")).to_have_text("Primary Subjects")
        await expect(page.locator("#filter-chips")).to_contain_text("Schools: Oak Primary")  # the filters printed
        assert await page.evaluate("getComputedStyle(document.querySelector('#view .scroll')).overflowX") == "visible"
        pdf = await page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
    assert violations == []


async def test_the_board_pack_page_downloads_the_chosen_sections_as_one_pdf_with_the_session(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "head@oak.org")
        await page.goto(f"{site}/#/board-pack?academic_year=2025/26&period=AUT1")
        form = page.locator("#board-pack-form")
        await expect(page.locator("#export-csv")).to_be_hidden()  # no CSV of a page that has no report
        await form.locator("input[value=statutory]").uncheck()
        await form.locator("input[value=attendance]").uncheck()
        async with page.expect_download() as waiting:
            await form.locator("button[type=submit]").click()
        download = await waiting.value
        pdf = Path(await download.path()).read_bytes()
        await expect(form.locator("[role=status]")).to_have_text("Downloaded.")

    assert download.suggested_filename == "board-pack_2025-26_AUT1.pdf"
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(pdf))
    assert "Summative Dashboard" in text and "Progress Over Time" in text
    assert "Statutory Dashboard" not in text
    assert "Oak Primary" in text and "Ash Academy" not in text  # the head's school only
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


async def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Run axe-core on the page. It is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern (a script tag with its text would be refused as inline)."""
    if await page.evaluate("typeof axe") == "undefined":
        assert await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;typeof axe.run") == "function"
    return await page.evaluate(AXE_SERIOUS)  # type: ignore[no-any-return]


async def test_axe_core_finds_no_serious_or_critical_violation_on_any_page_at_desktop_and_phone_width(site: str) -> None:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: `make axe-core` installs it from npm (or set TIDEMARK_AXE)")
    async with browser_page() as (page, violations):
        found: dict[str, list[str]] = {}
        await page.set_viewport_size({"width": 1440, "height": 900})
        await page.goto(site)
        await expect(page.locator("#signin")).to_be_visible()
        if serious := await serious_violations(page):
            found["signin"] = serious
        with_pupils = ["/reports/progress-from-statutory?pupils=show", "/reports/attendance?pupils=show"]
        for person, paths in (("leader@oak.org", [p for p in PAGES if not p.startswith("/admin/")] + with_pupils),
                              ("admin@oak.org", [p for p in PAGES if p.startswith("/admin/")])):
            await sign_in(page, site, person)  # a trust leader sees every page but the administration
            for width, height in ((1440, 900), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                for path in paths:
                    await page.goto(f"{site}/#{path}")
                    await page.wait_for_function(RENDERED, arg=path.partition("?")[0])
                    if serious := await serious_violations(page):
                        found[f"{person} {width} {path}"] = serious
            await page.click("#signout")
            # Signing out reloads the page: the next sign-in's goto waits for it (else one aborts the other).
            await expect(page.locator("#signin")).to_be_visible()
        assert found == {}
    assert violations == []



async def test_download_csv_gives_the_rows_and_figures_of_the_json_the_page_shows(site: str) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")
        async with page.expect_response(
            lambda r: "/v1/reports/attainment?" in r.url and "format=" not in r.url
        ) as answered:
            await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=school&year_group=Y3")
        document = await (await answered.value).json()
        await expect(page.locator("#view table")).to_contain_text("Ash Academy")

        async with page.expect_download() as downloading:
            await page.click("#export-csv")
        download = await downloading.value
        text = Path(await download.path()).read_bytes().decode("utf-8-sig")

        assert download.suggested_filename == "attainment-report_2025-26_AUT1.csv"
        table, _, about = text.partition("\r\n\r\n")
        header, *lines = csv.reader(io.StringIO(table))
        rows = [dict(zip(header, line, strict=True)) for line in lines]
        shown = [("rows", row) for row in document["rows"]] + [("all_pupils", document["all_pupils"])]
        assert [(row["section"], row["group"], row["label"], int(row["n"]), int(row["at_or_above"]),
                 float(row["pct"]) if row["pct"] else None) for row in rows] == [
            (section, row["group"], row["label"], row["n"], row["at_or_above"], row["pct"]) for section, row in shown]
        assert [row["label"] for row in rows] == ["Ash Academy", "Oak Primary", "All Pupils"]
        assert float(rows[0]["pct"]) == 87.5  # 7 of Ash Academy's 8
        facts = dict(csv.reader(io.StringIO(about)))
        assert (facts["academic_year"], facts["period"], facts["measure"], facts["year_group"]) == (
            document["academic_year"], document["period"], "reading", "Y3")
        assert facts["last_updated"] == document["last_updated"] == "2025-10-20T09:30:00+00:00"
    assert violations == []


async def test_a_report_table_sorts_by_a_column_by_click_and_by_keyboard_and_keeps_its_order_through_a_live_update(
    site: str, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")
        await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=school")
        table = page.locator("#view table").first
        await expect(table.locator("tbody tr")).to_have_count(3)
        labels = table.locator("tbody tr th")
        header = table.locator("thead th", has_text="% at or above")
        await expect(labels).to_have_text(["All Pupils", "Ash Academy", "Oak Primary"])  # by name, as served

        await header.locator("button").click()
        await expect(header).to_have_attribute("aria-sort", "ascending")
        await expect(labels).to_have_text(["All Pupils", "Oak Primary", "Ash Academy"])  # 75.0% then 87.5%
        await header.locator("button").focus()
        await page.keyboard.press("Enter")
        await expect(header).to_have_attribute("aria-sort", "descending")
        await expect(labels).to_have_text(["All Pupils", "Ash Academy", "Oak Primary"])
        await table.locator("thead th", has_text="Pupils assessed").locator("button").press("Space")
        await expect(header).not_to_have_attribute("aria-sort", "descending")  # one column sorts at a time
        await expect(labels).to_have_text(["All Pupils", "Oak Primary", "Ash Academy"])  # 4 then 8 pupils
        assert await table.locator("thead th", has_text="vs All Pupils").locator("button").count() == 0  # bars: no order

        await seed.counts("2025/26", "AUT1", "reading", "S2", at=10)  # Ash Academy: 18 pupils now
        await seed.notice("2025/26", "AUT1", "reading", "S2")
        await expect(table.locator("tbody tr", has_text="Ash Academy")).to_contain_text("18")
        await expect(labels).to_have_text(["All Pupils", "Oak Primary", "Ash Academy"])  # still by pupils: 4, 18
        await expect(table.locator("thead th", has_text="Pupils assessed")).to_have_attribute("aria-sort", "ascending")
    assert violations == []


async def test_the_pupil_list_is_searched_sorted_and_shown_whole_without_fetching_it_again(
    site: str, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.progress("2025/26", "AUT1", "S1", on_track_at=610)
    await seed.progress("2025/26", "AUT1", "S2", accelerated_above=3)
    await redis.hset(seed.statutory_keys.progress_pupils("2025/26", "AUT1", "S1"),
                     mapping={f"Q{n:04}|{encode_field(GIRL_Y3, 'on_track_at')}": 1 for n in range(1, 611)})
    await redis.hset(seed.statutory_keys.progress_pupils("2025/26", "AUT1", "S2"),
                     mapping={f"A{n}|{encode_field(GIRL_Y3, 'accelerated_above')}": 1 for n in range(1, 4)})
    async with browser_page() as (page, violations):
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url) if "pupils=true" in request.url else None)
        await sign_in(page, site, "leader@oak.org")
        await page.goto(f"{site}/#/reports/progress-from-statutory?pupils=show&academic_year=2025/26&period=AUT1")
        pupils = page.locator("table.pupil-list tbody tr")
        await expect(pupils).to_have_count(500)
        await expect(page.locator("#view")).to_contain_text("613 pupils in every level")

        await page.get_by_role("button", name="Show all 613").click()
        await expect(pupils).to_have_count(613)

        search = page.get_by_label("Search pupils")
        await search.fill("ash academy")
        await expect(pupils).to_have_count(3)
        await expect(page.locator("#view [role=status]")).to_contain_text('3 of 613 pupils match "ash academy"')
        await search.fill("q0007")
        await expect(pupils).to_have_count(1)
        await expect(pupils.first.locator("th")).to_have_text("Q0007")

        await search.fill("")
        pupil = page.locator("table.pupil-list thead th", has_text="Pupil")
        await pupil.locator("button").click()
        await pupil.locator("button").click()
        await expect(pupil).to_have_attribute("aria-sort", "descending")
        await expect(pupils.first.locator("th")).to_have_text("Q0610")  # the whole list sorted, not the rows shown
        assert len(fetched) == 1, fetched  # one fetch of the list, whatever was done with it
    assert violations == []



# ---- charts (plotly.js, served by the gateway from the `plotly` package) ----

CHART_DRAWN = """(selector) => {
  const plots = [...document.querySelectorAll(selector)];
  return plots.length > 0 && plots.every((plot) => plot.classList.contains("js-plotly-plot") && !!plot.querySelector(".main-svg"));
}"""
"""Every chart the selector finds has been drawn by plotly.js."""


def console_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The page's console errors and uncaught exceptions, as they come."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def luminance(rgb: str) -> float:
    """The relative luminance (WCAG) of a computed `rgb(r, g, b)`."""
    channels = [int(part) / 255 for part in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


async def test_a_bar_chart_shows_n_and_percent_on_hover_opens_the_groups_report_on_click_and_downloads_as_a_png(
    site: str, redis: Redis, prefix: str
) -> None:
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")  # (its first look at the session is a 401, as it should be)
        errors = console_errors(page)
        # The figures come first: the table is there before (or whether or not) the chart library arrives.
        await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=school")
        await expect(page.locator("#view table")).to_contain_text("Oak Primary")
        figure = page.locator("#view figure.chart-figure")
        await expect(figure).to_have_count(1)
        await expect(figure).to_have_accessible_name(re.compile(r"^Reading · by school: % at or above ARE"))
        await page.wait_for_function(CHART_DRAWN, arg="#view figure .plot")
        bars = figure.locator(".plot g.point path")
        await expect(bars).to_have_count(3)  # All Pupils, Ash Academy, Oak Primary

        await figure.scroll_into_view_if_needed()
        box = await bars.nth(2).bounding_box()
        assert box is not None
        middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await page.mouse.move(*middle)
        tooltip = figure.locator(".hoverlayer .hovertext")
        await expect(tooltip).to_contain_text("Oak Primary")
        await expect(tooltip).to_contain_text("75.0% at or above")  # the %
        await expect(tooltip).to_contain_text("3 of 4 pupils")  # and the n

        async with page.expect_download() as downloading:
            await figure.get_by_role("button", name=re.compile("Download PNG")).click()
        download = await downloading.value
        png = Path(await download.path()).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
        assert download.suggested_filename == "reading-by-school-at-or-above-are-autumn-1-2025-26.png"

        await page.mouse.click(*middle)
        await expect(page).to_have_url(re.compile(r"#/reports/primary-subjects\?measure=reading&by=year_group&school=S1$"))
        await expect(page.locator("#view section h3").first).to_contain_text("Reading · by year group")
        await expect(page.locator("#filter-chips")).to_contain_text("Schools: Oak Primary")
        await page.wait_for_function(CHART_DRAWN, arg="#view figure .plot")  # the group's report has its chart

        await page.go_back()  # the table's row names open the same reports, by keyboard too
        link = page.locator("#view table tbody th a", has_text="Ash Academy")
        await link.focus()
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"by=year_group&school=S2$"))

        await page.go_back()  # a live update redraws the chart with the new figures
        await page.wait_for_function(CHART_DRAWN, arg="#view figure .plot")
        seed = Seeder(redis, Keyspace(prefix, TRUST))
        await seed.counts("2025/26", "AUT1", "reading", "S2", at=10)  # Ash Academy: 17 of 18
        await seed.notice("2025/26", "AUT1", "reading", "S2")
        await page.wait_for_function(
            "() => { const gd = document.querySelector('#view figure .plot');"
            " return !!gd && !!gd.data && gd.data[0].y[1] === 'Ash Academy' && Math.abs(gd.data[0].x[1] - 94.44) < 0.01; }")
        assert errors == []
    assert violations == []


async def test_progress_over_time_shows_only_periods_with_data_on_a_fitted_axis_and_a_point_opens_its_period(
    site: str, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.counts("2024/25", "SUM2", "reading", "S1", at=1, below=1)  # 50% a period before
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")  # (its first look at the session is a 401, as it should be)
        errors = console_errors(page)
        await page.goto(f"{site}/#/reports/progress-over-time?by=school&measure=reading")
        await page.wait_for_function(CHART_DRAWN, arg="#view figure .plot")
        plot = page.locator("#view figure .plot")
        x, y_range = await plot.evaluate("(gd) => [gd.data[0].x, gd.layout.yaxis.range]")
        assert x == ["SUM2 24/25", "AUT1 25/26"]  # not the 16 other periods of the three years, nor the future
        assert y_range == [40, 100]  # 50% to 87.5%, with room: not 0-100%
        await expect(page.locator("#view table", has=page.locator("caption", has_text="per period")).locator("thead th")).to_have_count(3)

        point = plot.locator(".scatterlayer .trace").last.locator("path.point").last  # All Pupils (on top), AUT1 25/26
        await plot.scroll_into_view_if_needed()
        box = await point.bounding_box()
        assert box is not None
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await plot.screenshot(path="/tmp/charts-progress.png")
        await expect(plot.locator(".hoverlayer .hovertext")).to_contain_text("All Pupils · Autumn 1 2025/26")
        await expect(plot.locator(".hoverlayer .hovertext")).to_contain_text("10 of 12 pupils")
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        await expect(page).to_have_url(re.compile(r"#/reports/primary-subjects\?measure=reading&by=school&academic_year=2025%2F26&period=AUT1$"))
        await expect(page.locator("#page-title")).to_have_text("Primary Subjects")
        assert errors == []
    assert violations == []


async def test_the_school_view_shades_run_in_order_from_below_to_above_and_name_the_model_as_people_know_it(
    site: str, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.school("S1", "Oak Primary", SONAR_MODEL)
    await seed.school("S2", "Ash Academy", SONAR_MODEL)
    await seed.codes("2025/26", "AUT1", "reading", "S1", SB=1, JA=1, SA=2)
    await seed.codes("2025/26", "AUT1", "reading", "S2", B=1, A=5, SAB=2)
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")  # (its first look at the session is a 401, as it should be)
        errors = console_errors(page)
        await page.goto(f"{site}/#/reports/primary-attainment-overview?measure=reading&by=school&view=school")
        await expect(page.locator("#view section h3").first).to_contain_text("School view: Sonar,")  # not "sonar"
        shades = await page.locator("#view ul.key .swatch").evaluate_all(
            "(swatches) => swatches.map((s) => getComputedStyle(s).backgroundColor)")
        assert len(set(shades)) == 6  # SB, B, JA, SA, A, SAB: each its own
        rgb = [[int(part) for part in re.findall(r"\d+", shade)[:3]] for shade in shades]
        assert [r > b for r, _, b in rgb] == [True, True, False, False, False, False]  # oranges below, blues at and above
        light = [luminance(shade) for shade in shades]
        assert light[0] < light[1] and light[2] > light[3] > light[4] > light[5]  # darker further from the expected standard
        await page.wait_for_function(CHART_DRAWN, arg="#view figure .plot")
        colours = await page.locator("#view figure .plot").evaluate("(gd) => gd.data.map((trace) => trace.marker.color)")
        assert len(colours) == 6
        await page.locator("#view figure").screenshot(path="/tmp/charts-school-view.png")

        await page.goto(f"{site}/#/reports/primary-attainment-overview?measure=reading&by=school&view=simple")
        await expect(page.locator("#view ul.key li")).to_have_count(3)
        below, at, above = [[int(part) for part in re.findall(r"\d+", shade)[:3]] for shade in
                            await page.locator("#view ul.key .swatch").evaluate_all(
                                "(swatches) => swatches.map((s) => getComputedStyle(s).backgroundColor)")]
        assert below[0] > below[2] and at[2] > at[0] and above[2] > above[0]  # an orange and two blues: no red and green
        assert luminance(f"rgb({at[0]}, {at[1]}, {at[2]})") > luminance(f"rgb({above[0]}, {above[1]}, {above[2]})")
        assert errors == []
    assert violations == []


async def test_the_class_filter_and_the_group_by_class_show_the_classes_of_the_year(
    site: str, redis: Redis, prefix: str
) -> None:
    seed = Seeder(redis, Keyspace(prefix, TRUST))
    await seed.school_class("S1-3A", "S1", "2025/26", "Year 3 A")
    await seed.school_class("S1-2A", "S1", "2024/25", "Year 2 A", ("Y2",))  # another year: not offered
    await seed.counts("2025/26", "AUT1", "reading", "S1", cell(class_id="S1-3A"), at=2)
    async with browser_page() as (page, violations):
        await sign_in(page, site, "leader@oak.org")
        await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=class&academic_year=2025/26&period=AUT1")
        table = page.locator("#view table")
        await expect(table).to_contain_text("Year 3 A")
        await expect(table).to_contain_text("No class")
        assert "Class" in await page.get_by_label("View options: group by").inner_text()
        choices = page.locator('[data-filter="class"] label')
        assert await choices.all_text_contents() == ["Year 3 A"]  # in the closed dropdown

        await page.goto(f"{site}/#/reports/primary-subjects?measure=reading&by=class&academic_year=2025/26&period=AUT1"
                        "&class=S1-3A")
        await expect(table).not_to_contain_text("No class")
        await expect(table).to_contain_text("Year 3 A")
    assert violations == []
