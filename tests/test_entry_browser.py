"""Issue 14's acceptance for the entry screens, on the whole stack (ingest, the broker, metrics,
statutory and the gateway as processes, as the end-to-end tests start them) in a real browser
(Debian's chromium driven by Playwright): a teacher chooses a class, enters its results in the grid
by typing and by pasting a column from a spreadsheet (one with an assessment date chosen), sees a red
message naming the reason of an invalid code (ingest's own validation, through the gateway's
forward), locks the class (another class's draft stays a draft), and sees the dashboard figure
change; the statutory page enters a KS2 result, shows its information key and a summary, and locks.
axe-core finds no serious or critical violation on the Entry pages, and they fit a phone's width."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.service import Identity
from tidemark_runtime.browser_testing import AXE, AXE_SERIOUS
from tidemark_runtime.browser_testing import signed_in as signed_in_page
from tidemark_runtime.testing import eventually
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.calendar import academic_year_of, first_day_of

pytestmark = pytest.mark.e2e

TRUST = "trust-entry"
SCHOOL = "EN-S1"
PASSWORD = "a long enough passphrase 42"
YEAR = academic_year_of(date.today())
PERIOD = "AUT1"
PUPILS = [f"EN0{n}" for n in range(1, 7)]
ASSESSED_ON = min(date.today(), first_day_of(YEAR) + timedelta(days=14))
"""An assessment date chosen on the page (not the day entered)."""
CLASS = "EN-S1-4E"
OTHER_CLASS = "EN-S1-4F"
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)
PASTE = """([selector, text]) => {
  const data = new DataTransfer();
  data.setData("text/plain", text);
  const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
  document.querySelector(selector).dispatchEvent(event);
}"""
"""A column pasted from a spreadsheet (what a browser sends the cell on Ctrl+V)."""


def pupil(pupil_id: str, year_group: str, class_id: str | None = None) -> dict[str, object]:
    return dict(pupil_id=pupil_id, school_id=SCHOOL, year_group=year_group, sex="F", fsm6=False, lac=False, plac=False,
                sen="N", eal=False, ethnicity="WBRI", left_on=None, class_id=class_id)


@pytest.fixture(scope="module")
def teacher(platform, platform_database: str) -> str:  # type: ignore[no-untyped-def]
    """A school on the Sonar model with six Year 4 pupils in class 4 Elm, two in 4 Fir (one with a draft
    reading result), two Year 6, and its teacher."""
    with platform.ingest(TRUST) as ingest:
        school = ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Elm Primary",
                                                   "assessment_model": SONAR_MODEL.model_dump(mode="json")}])
        classes = ingest.post("/v1/classes", json=[{"class_id": CLASS, "school_id": SCHOOL, "academic_year": YEAR,
                                                    "name": "4 Elm", "year_groups": ["Y4"]},
                                                   {"class_id": OTHER_CLASS, "school_id": SCHOOL, "academic_year": YEAR,
                                                    "name": "4 Fir", "year_groups": ["Y4"]}])
        pupils = ingest.post("/v1/pupils", json=[pupil(p, "Y4", CLASS) for p in PUPILS]
                             + [pupil("EN07", "Y4", OTHER_CLASS), pupil("EN08", "Y4", OTHER_CLASS),
                                pupil("EN91", "Y6"), pupil("EN92", "Y6")])
        draft = ingest.post("/v1/assessments", json=[{"pupil_id": "EN07", "school_id": SCHOOL, "academic_year": YEAR,
                                                      "period": PERIOD, "year_group": "Y4", "subject": "reading",
                                                      "code": "SA"}])
    assert school.status_code == classes.status_code == pupils.status_code == draft.status_code == 200, (
        school.text, classes.text, pupils.text, draft.text)

    async def create() -> None:
        engine = create_async_engine(platform_database)
        try:
            await Identity.on(engine).create_person(TRUST, "test", "teacher@elm.org", "Tia Teacher", "teacher",
                                                    [SCHOOL], PASSWORD)
        finally:
            await engine.dispose()

    asyncio.run(create())
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {platform.tokens[TRUST]['viewer']}"}) as gateway:
        # the school reaches the read model the dashboards (and the page's school names) read
        def listed() -> bool:
            answer = gateway.get("/v1/schools")
            return answer.status_code == 200 and any(s["school_id"] == SCHOOL for s in answer.json())

        eventually(listed)
    return "teacher@elm.org"


def signed_in(site: str, email: str) -> contextlib.AbstractAsyncContextManager[tuple[Any, list[str]]]:
    """A chromium page signed in as `email`, and the page errors and CSP violations it reports."""
    return signed_in_page(site, email, PASSWORD, WAIT_MS)


def cell(pupil_id: str, subject: str) -> str:
    return f'#entry input[aria-label="{pupil_id} {subject}"]'


async def test_a_teacher_chooses_a_class_types_and_pastes_its_results_sees_an_invalid_code_locks_and_the_dashboard_moves(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    async with signed_in(platform.gateway_url, teacher) as (page, problems):
        await page.click("#nav a[href='#/entry/summative']")
        await expect(page.locator("#entry-title")).to_have_text("Summative entry")
        await page.select_option("#entry-academic-year", YEAR)
        await page.select_option("#entry-period", PERIOD)
        await page.select_option("#entry-year-group", "Y4")
        await expect(page.locator(cell("EN07", "Reading"))).to_be_visible()  # the year group: both classes
        await page.select_option("#entry-class-id", CLASS)  # the class's pupils only
        await expect(page.locator(cell("EN06", "Reading"))).to_be_visible()
        await expect(page.locator("#entry-status")).to_contain_text("6 pupils")
        await expect(page.locator(cell("EN07", "Reading"))).to_have_count(0)
        subjects = await page.locator("#entry table.entry-grid thead th").count() - 2  # the pupil and date columns
        await expect(page.locator("#entry-status")).to_contain_text(f"{6 * subjects} entries missing")

        # Typing: a code, then the arrow key down to the next pupil (a lower-case code is the model's own).
        await page.click(cell("EN01", "Reading"))
        for code in ("SA", "a", "B", "JA", "SB", "SAB"):
            await page.keyboard.type(code)
            await page.keyboard.press("ArrowDown")
        # Pasting a column from a spreadsheet into the first writing cell fills the column.
        await page.evaluate(PASTE, [cell("EN01", "Writing"), "SA\r\nA\r\nJA\r\nB\r\nSB\r\nSA\r\n"])
        await expect(page.locator('#entry td.assessed[data-pupil="EN06"]')).to_contain_text(str(date.today().year))
        # An invalid code: red at once, with ingest's reason; then corrected (with an assessment date chosen).
        await page.fill("#entry-assessed-on", ASSESSED_ON.isoformat())
        await page.click(cell("EN01", "Mathematics"))
        await page.keyboard.type("ZZ")
        await expect(page.locator(cell("EN01", "Mathematics"))).to_have_class("cell empty invalid")
        await expect(page.locator("#entry-errors")).to_contain_text(
            "EN01, Mathematics: unknown code in assessment model 'sonar'; expected one of SB, B, JA, SA, A, SAB")
        await page.fill(cell("EN01", "Mathematics"), "JA")
        await expect(page.locator("#entry-errors")).to_be_empty()
        await expect(page.locator(cell("EN01", "Mathematics"))).to_have_class("cell draft")
        await expect(page.locator(cell("EN01", "Mathematics"))).to_have_attribute("title", re.compile("assessed"))
        await expect(page.locator(cell("EN02", "Reading"))).to_have_value("A")
        await expect(page.locator(cell("EN06", "Writing"))).to_have_value("SA")
        await expect(page.locator(cell("EN06", "Reading"))).to_have_class("cell draft")

        # Drafts are stored (read back from ingest) but count in no figure until locked.
        await page.reload()
        await expect(page.locator(cell("EN04", "Reading"))).to_have_value("JA")
        await expect(page.locator("#entry-status")).to_contain_text(f"{6 * subjects - 13} entries missing")
        await page.click("#entry-lock")
        await expect(page.locator("#entry-lock-message")).to_contain_text("Locked: 13 results now count")
        await expect(page.locator(cell("EN04", "Reading"))).to_have_class("cell locked")

        # The dashboard: reading 4 of 6 at or above (SA, A, JA, SAB), writing 4 of 6 (SA, A, JA, SA).
        await page.goto(f"{platform.gateway_url}/#/?academic_year={YEAR}&period={PERIOD}")
        reading = page.locator("#tiles .tile", has_text="Reading")
        await expect(reading.locator(".pct")).to_have_text("66.7%")
        await expect(reading).to_contain_text("6 pupils assessed")
    assert problems == []

    with httpx.Client(base_url=platform.ingest_url, timeout=30,
                      headers={"Authorization": f"Bearer {platform.tokens[TRUST]['ingest']}"}) as ingest:
        sheet = ingest.get("/v1/entry/summative", params={"school_id": SCHOOL, "academic_year": YEAR,
                                                          "period": PERIOD, "year_group": "Y4"}).json()
    entries = {(r["pupil_id"], r["subject"]): (r["code"], r["state"], r["assessed_on"]) for r in sheet["results"]}
    assert entries["EN01", "maths"] == ("JA", "locked", ASSESSED_ON.isoformat())
    assert entries["EN01", "reading"] == ("SA", "locked", date.today().isoformat())
    assert entries["EN07", "reading"][:2] == ("SA", "draft")  # the other class's: not locked with 4 Elm


async def test_statutory_entry_shows_the_code_key_takes_a_score_and_a_code_summarises_locks_and_unlocks(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    async with signed_in(platform.gateway_url, teacher) as (page, problems):
        await page.goto(f"{platform.gateway_url}/#/entry/statutory?school_id={SCHOOL}&academic_year={YEAR}&assessment=ks2")
        await expect(page.locator(cell("EN91", "Reading test"))).to_be_visible()
        await page.click("#entry details.info-key summary")
        await expect(page.locator("#entry details.info-key")).to_contain_text(
            "Working below the overall standard of the test, not entered (not met)")
        await page.fill(cell("EN91", "Reading test"), "104")
        await page.fill(cell("EN92", "Reading test"), "B")
        await page.fill(cell("EN91", "Writing teacher assessment"), "exs")
        await page.fill(cell("EN92", "Writing teacher assessment"), "130")
        await expect(page.locator("#entry-errors")).to_contain_text("EN92, Writing teacher assessment:")
        await page.fill(cell("EN92", "Writing teacher assessment"), "WTS")
        await expect(page.locator("#entry-errors")).to_be_empty()
        await expect(page.locator(cell("EN91", "Writing teacher assessment"))).to_have_value("EXS")
        await expect(page.locator(cell("EN92", "Writing teacher assessment"))).to_have_class("cell draft")
        await page.click("#entry-lock")
        await expect(page.locator("#entry-lock-message")).to_contain_text("Locked: 4 results now count")
        await page.select_option("#entry-view", "summary")
        summary = page.locator("#entry table", has_text="Component")
        # two Year 6 pupils, two entered, two locked, none missing
        await expect(summary.locator("tr", has_text="Reading test").locator("td")).to_have_text(["2", "2", "2", "0"])
        await page.click("#entry-unlock")
        await expect(page.locator("#entry-lock-message")).to_contain_text("Unlocked: 4 results no longer count")
        await expect(summary.locator("tr", has_text="Reading test").locator("td")).to_have_text(["2", "2", "0", "0"])
    assert problems == []


async def test_the_entry_pages_have_no_serious_accessibility_violation_and_fit_a_phone(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: `make axe-core` installs it from npm (or set TIDEMARK_AXE)")
    paths = [f"/entry/summative?school_id={SCHOOL}&academic_year={YEAR}&period={PERIOD}&year_group=Y4",
             f"/entry/statutory?school_id={SCHOOL}&academic_year={YEAR}&assessment=ks2",
             f"/entry/statutory?school_id={SCHOOL}&academic_year={YEAR}&assessment=ks2&view=summary"]
    found: dict[str, list[str]] = {}
    overflowing: dict[str, list[int]] = {}
    async with signed_in(platform.gateway_url, teacher) as (page, problems):
        for width, height in ((1440, 900), (360, 780)):
            await page.set_viewport_size({"width": width, "height": height})
            for path in paths:
                await page.goto(f"{platform.gateway_url}/#{path}")
                await expect(page.locator("#entry-status")).to_be_visible()
                await page.click("#entry details.info-key summary")
                if await page.evaluate("typeof axe") == "undefined":
                    await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;typeof axe.run")
                if serious := await page.evaluate(AXE_SERIOUS):
                    found[f"{width} {path}"] = serious
                widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if widths[0] > widths[1]:
                    overflowing[f"{width} {path}"] = widths
    assert found == {}
    assert overflowing == {}
    assert problems == []


def test_a_teacher_reads_its_schools_sheet_through_the_forward_and_no_other(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    """The sheet is read through the gateway's forward with the teacher's session (a GET needs no CSRF
    token); another school and a reader key are refused by ingest."""
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        signed = client.post("/v1/auth/login", json={"email": teacher, "password": PASSWORD})
        assert signed.status_code == 200 and "tracker:write" in signed.json()["permissions"]
        sheet = client.get("/ingest/v1/entry/summative", params={"school_id": SCHOOL, "academic_year": YEAR,
                                                                 "period": PERIOD, "year_group": "Y6"})
        other = client.get("/ingest/v1/entry/summative", params={"school_id": "NOT-MINE", "academic_year": YEAR,
                                                                 "period": PERIOD, "year_group": "Y6"})
    reader = httpx.get(f"{platform.gateway_url}/ingest/v1/entry/statutory-codes", timeout=30,
                       headers={"Authorization": f"Bearer {platform.tokens[TRUST]['viewer']}"})

    assert sheet.status_code == 200
    assert [p["pupil_id"] for p in sheet.json()["pupils"]] == ["EN91", "EN92"]
    assert other.status_code == 403
    assert reader.status_code == 403
