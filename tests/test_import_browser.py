"""Issue 14's bulk import in the web UI, on the whole stack (ingest, the broker, metrics, statutory and
the gateway as processes, as the end-to-end tests start them) in a real browser (Debian's chromium
driven by Playwright): a teacher uploads the demo samples (`tools/samples`) on the Import page through
the gateway's forward to ingest; a file with a bad row shows every error (row, column, reason) and
gives them as CSV; a file whose header names no field is mapped on the page, checked again,
committed, and its progress followed to done; the school's next upload of that shape is read with
the mapping saved. axe-core finds no serious or critical violation on the page in its states, and it
fits a phone's width."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.service import Identity
from tidemark_runtime.browser_testing import AXE, AXE_SERIOUS
from tidemark_runtime.browser_testing import signed_in as signed_in_page
from tidemark_schemas.assessment_model import SONAR_MODEL

pytestmark = pytest.mark.e2e

TRUST = "trust-import"
SCHOOL = "S01"
"""The samples' school."""
PASSWORD = "a long enough passphrase 42"
SAMPLES = Path(__file__).resolve().parents[1] / "tools" / "samples"
WAIT_MS = 60_000
"""How long Playwright waits (a guard: the whole stack shares a loaded machine)."""
expect.set_options(timeout=WAIT_MS)

RESULTS = (SAMPLES / "summative-rows.csv").read_text()
RESULT_ROWS = RESULTS.count("\n") - 1
BAD_ROW = 5
"""The file row (the header is row 1) given a code the school's model does not have."""


def with_bad_code(text: str, row: int) -> str:
    lines = text.splitlines(keepends=True)
    cells = lines[row - 1].split(",")
    cells[6] = "XX"  # Code
    lines[row - 1] = ",".join(cells)
    return "".join(lines)


UPN_RESULTS = RESULTS.replace("Pupil Id,", "UPN,", 1)
"""The good results whose pupil column is headed as an MIS heads it: no field has that name."""


@pytest.fixture(scope="module")
def teacher(platform, platform_database: str) -> str:  # type: ignore[no-untyped-def]
    """The samples' school S01 on the Sonar model, and a teacher of it."""
    with platform.ingest(TRUST) as ingest:
        school = ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Oak Primary",
                                                   "assessment_model": SONAR_MODEL.model_dump(mode="json")}])
    assert school.status_code == 200, school.text

    async def create() -> None:
        engine = create_async_engine(platform_database)
        try:
            await Identity.on(engine).create_person(TRUST, "test", "teacher@oak.org", "Tia Teacher", "teacher",
                                                    [SCHOOL], PASSWORD)
        finally:
            await engine.dispose()

    asyncio.run(create())
    return "teacher@oak.org"


@contextlib.asynccontextmanager
async def signed_in(site: str, email: str) -> AsyncIterator[tuple[Any, list[str]]]:
    """A chromium page signed in as `email` on the Import page, and the page errors and CSP violations
    it reports."""
    async with signed_in_page(site, email, PASSWORD, WAIT_MS) as (page, problems):
        await page.click("#nav a[href='#/import']")
        await expect(page.locator("#import-form")).to_be_visible()
        yield page, problems


async def upload(page, name: str, text: str, kind: str = "summative") -> None:  # type: ignore[no-untyped-def]
    await page.select_option("#import-kind", kind)
    await page.set_input_files("#import-file",
                               files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])
    await page.click("#import-form button[type=submit]")


async def committed(page, rows: int) -> None:  # type: ignore[no-untyped-def]
    """Commit the checked file and follow its progress to done."""
    await page.click("#import-commit")
    await expect(page.locator("#import-progress .import-state")).to_have_class("import-state done")
    stored = page.locator("#import-progress progress[aria-label='Rows stored']")
    await expect(stored).to_have_attribute("value", str(rows))
    await expect(stored).to_have_attribute("max", str(rows))
    await expect(page.locator("#import-progress")).to_contain_text(f"{rows:,} of {rows:,}")


async def test_a_teacher_sees_every_error_of_a_sample_maps_a_column_commits_and_follows_it_to_done(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    async with signed_in(platform.gateway_url, teacher) as (page, problems):
        classes = (SAMPLES / "classes.csv").read_text()  # first: each pupil's row names their class
        await upload(page, "classes.csv", classes, kind="classes")
        await committed(page, classes.count("\n") - 1)
        pupils = (SAMPLES / "pupils.csv").read_text()
        await upload(page, "pupils.csv", pupils, kind="pupils")
        await committed(page, pupils.count("\n") - 1)

        # A sample with a bad row: every error named, nothing to commit, the errors as CSV.
        await upload(page, "summative-rows.csv", with_bad_code(RESULTS, BAD_ROW))
        errors = page.locator("#import-errors tbody tr")
        await expect(errors).to_have_count(1)
        await expect(errors.first.locator("td")).to_have_text(
            [str(BAD_ROW), "Code", "unknown code in assessment model 'sonar'; expected one of SB, B, JA, SA, A, SAB",
             "XX"])
        await expect(page.locator("#import-progress .import-state")).to_have_class("import-state invalid")
        await expect(page.locator("#import-commit")).to_have_count(0)
        async with page.expect_download() as downloading:
            await page.click("#import-errors-csv")
        listed = Path(await (await downloading.value).path()).read_text()
        assert listed.splitlines() == ["row,column,reason,value",
                                       f'{BAD_ROW},Code,"unknown code in assessment model \'sonar\'; expected one of '
                                       f'SB, B, JA, SA, A, SAB",XX']

        # The good file with its pupil column headed "UPN": mapped on the page, checked again, committed.
        await upload(page, "mis-export.csv", UPN_RESULTS)
        await expect(page.locator("#import-errors")).to_contain_text("no column for 'pupil_id'")
        column = page.locator("#import-mapping tr", has_text="UPN").locator("select")
        await expect(column).to_have_value("")  # matched nothing by its header
        await column.select_option("pupil_id")
        await page.click("#import-remap")
        await expect(page.locator("#import-progress .import-state")).to_have_class("import-state ready")
        await expect(page.locator("#import-mapping")).to_contain_text("Read with the mapping chosen below")
        await committed(page, RESULT_ROWS)

        # The school's next export of that shape is read with the mapping saved at the commit.
        await upload(page, "mis-export-next.csv", UPN_RESULTS)
        await expect(page.locator("#import-progress .import-state")).to_have_class("import-state ready")
        await expect(page.locator("#import-mapping")).to_contain_text("Read with the column mapping saved for this school")
        await expect(page.locator("#import-mapping tr", has_text="UPN").locator("select")).to_have_value("pupil_id")
    assert problems == []

    with platform.ingest(TRUST) as ingest:
        saved = ingest.get("/v1/imports/mappings", params={"school_id": SCHOOL, "kind": "summative"}).json()
    assert [m["mapping"] for m in saved] == [{"UPN": "pupil_id"}]  # only what was changed on the page


async def test_the_import_page_has_no_serious_accessibility_violation_and_fits_a_phone(
    platform, teacher: str  # type: ignore[no-untyped-def]
) -> None:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: `make axe-core` installs it from npm (or set TIDEMARK_AXE)")
    found: dict[str, list[str]] = {}
    overflowing: dict[int, list[int]] = {}
    async with signed_in(platform.gateway_url, teacher) as (page, problems):
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;typeof axe.run")
        if serious := await page.evaluate(AXE_SERIOUS):
            found["form"] = serious
        await upload(page, "bad.csv", with_bad_code(UPN_RESULTS, BAD_ROW))  # errors and the mapping step shown
        await expect(page.locator("#import-mapping")).to_be_visible()
        for width, height in ((1440, 900), (390, 844), (360, 780)):
            await page.set_viewport_size({"width": width, "height": height})
            if serious := await page.evaluate(AXE_SERIOUS):
                found[f"{width} report"] = serious
            widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if widths[0] > widths[1]:
                overflowing[width] = widths
    assert found == {}
    assert overflowing == {}
    assert problems == []
