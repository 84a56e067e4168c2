"""GET /v1/board-pack: the chosen dashboards and reports of a period as one PDF, read back here as a
reader would see it: each page rendered to an image (pypdfium2) and its text extracted. (The analyst's
pack, which needs accounts, and the audit trail are tested in test_accounts.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import ImageStat
from redis.asyncio import Redis

from tidemark_gateway.adapters.board_pack import write_pdf
from tidemark_gateway.domain.board_pack import SECTIONS, BarChart, board_pack, chosen_sections, section
from tidemark_gateway.domain.tables import tabulate
from tidemark_gateway.testing import TRUST, Gateway, cell, gateway_settings, in_process
from tidemark_schemas.vocabulary import YearGroup

YEAR, PERIOD = "2025/26", "AUT2"
UPDATED = "2025-12-01T08:00:00+00:00"
PACK = {"academic_year": YEAR, "period": PERIOD}


@pytest.fixture
async def gateway(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[Gateway]:
    """The app with a display name for the test Trust."""
    settings = gateway_settings(redis_url, prefix, trust_names={TRUST: "Oak Learning Trust"})
    async with in_process(settings, redis) as running:
        yield running


async def seed_trust(gateway: Gateway) -> None:
    """Oak (S1) has 4 pupils in each measure (a small group), Ash (S2) 8."""
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    for period in ("AUT1", PERIOD):
        for measure in ("reading", "writing", "maths", "rwm", "gld", "gld_rwm"):
            await seed.counts(YEAR, period, measure, "S1", at=3, below=1)
            await seed.counts(YEAR, period, measure, "S2", cell(year_group=YearGroup.Y4), at=5, above=2, below=1)
    for measure in ("ks2.reading", "ks2.rwm"):
        await seed.statutory(YEAR, measure, "S2", EXS=3, GDS=1, NOT=3)
    await seed.updated(UPDATED)


def pages_of(pdf: bytes) -> list[tuple[str, float, int]]:
    """(text, pixel standard deviation of the page rendered in grey, path objects drawn) per page."""
    document = pdfium.PdfDocument(pdf)
    found = []
    for page in document:
        text = page.get_textpage().get_text_range()
        image = page.render(scale=1).to_pil().convert("L")
        paths = sum(1 for obj in page.get_objects() if obj.type == pdfium.raw.FPDF_PAGEOBJ_PATH)
        found.append((text, ImageStat.Stat(image).stddev[0], paths))
    return found


def all_text(pages: list[tuple[str, float, int]]) -> str:
    return "\n".join(text for text, _, _ in pages)


async def test_the_pack_has_a_page_per_section_with_its_title_charts_and_the_jsons_figures(gateway: Gateway) -> None:
    await seed_trust(gateway)
    attainment = (await gateway.get("/v1/reports/attainment", **PACK, measure="rwm", by="school")).json()

    response = await gateway.get("/v1/board-pack", **PACK)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="board-pack_2025-26_AUT2.pdf"'
    pages = pages_of(response.content)
    assert len(pages) >= 1 + len(SECTIONS)  # the cover, then each section from a new page
    assert all(deviation > 5 for _, deviation, _ in pages)  # no blank page
    text = all_text(pages)
    for title in SECTIONS.values():
        assert title in text
    for text_of_page, _, _ in pages:  # every page says whose, when and for what
        assert "Oak Learning Trust" in text_of_page and f"{YEAR} {PERIOD}" in text_of_page
        assert "Last updated 2025-12-01T08:00:00+00:00" in text_of_page and "Filters: none" in text_of_page
    rows = [attainment["all_pupils"], *attainment["rows"]]
    assert [(row["label"], row["pct"]) for row in rows] == [
        ("All Pupils", pytest.approx(100 * 10 / 12)), ("Ash Academy", 87.5), ("Oak Primary", 75.0)]
    for row in rows:
        assert f"{row['pct']:.1f}% (n={row['n']})" in text  # the bar's label
    attainment_page = next(page for page in pages if "% at or above ARE" in page[0])
    assert attainment_page[2] >= len(rows)  # a bar each (and the axes)


async def test_the_pack_carries_the_filters_and_only_the_chosen_sections(gateway: Gateway) -> None:
    await seed_trust(gateway)

    response = await gateway.get("/v1/board-pack", **PACK, sections="attainment,summative", year_group="Y4")

    assert response.status_code == 200, response.text
    pages = pages_of(response.content)
    text = all_text(pages)
    assert "Filters: year_group = Y4" in text
    assert SECTIONS["summative"] in text and SECTIONS["attainment"] in text
    assert SECTIONS["statutory"] not in text and SECTIONS["attendance"] not in text
    contents = text[text.index("Contents"):]
    assert contents.index(SECTIONS["summative"]) < contents.index(SECTIONS["attainment"])
    assert "87.5% (n=8)" in text and "75.0%" not in text  # Oak has no Year 4 pupil


async def test_a_school_scoped_caller_gets_its_schools_only(gateway: Gateway) -> None:
    await seed_trust(gateway)

    own = await gateway.get("/v1/board-pack", token="s1-viewer", **PACK, sections="attainment")
    other = await gateway.get("/v1/board-pack", token="s1-viewer", **PACK, school="S2")

    assert own.status_code == 200
    text = all_text(pages_of(own.content))
    assert "Oak Primary" in text and "Ash Academy" not in text and "87.5" not in text
    assert other.status_code == 403


@pytest.mark.parametrize(("token", "status"), [("ingest", 403), (None, 401)])
async def test_a_caller_that_may_not_read_figures_gets_no_pack(
    gateway: Gateway, token: str | None, status: int
) -> None:
    await seed_trust(gateway)

    response = await gateway.get("/v1/board-pack", token=token, **PACK)

    assert response.status_code == status


@pytest.mark.parametrize(("params", "field"), [
    ({"sections": "attainment,minutes"}, "sections"),
    ({"sections": ""}, "sections"),
    ({"period": "SPR9"}, "period"),
    ({"academic_year": "2025"}, "academic_year"),
])
async def test_bad_input_is_a_422_naming_the_field(gateway: Gateway, params: dict[str, Any], field: str) -> None:
    response = await gateway.get("/v1/board-pack", **{**PACK, **params})

    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.text


def test_sections_are_printed_in_their_own_order_whatever_order_they_are_asked_in() -> None:
    assert chosen_sections("attendance,summative,attendance") == ("summative", "attendance")
    with pytest.raises(ValueError, match="unknown section 'minutes'"):
        chosen_sections("summative,minutes")


def test_a_trust_of_forty_schools_gets_every_school_in_charts_that_each_fit_a_page() -> None:
    rows = [{"group": f"S{i:02}", "label": f"School {i:02}", "n": 10 + i, "at_or_above": i, "pct": 100 * i / (10 + i),
             "small_group": False} for i in range(40)]
    document = {"academic_year": YEAR, "period": PERIOD, "measure": "rwm", "by": "school", "last_updated": UPDATED,
                "rows": rows, "all_pupils": {**rows[1], "group": "all", "label": "All Pupils"}}
    attainment = section("attainment", document, tabulate(document))

    pdf = write_pdf(board_pack("trust-gw", YEAR, PERIOD, "2025-12-02T10:00:00+00:00", [], [attainment]))

    assert [len(chart.bars) for chart in attainment.charts if isinstance(chart, BarChart)] == [25, 16]
    text = all_text(pages_of(pdf))
    assert all(f"School {i:02}" in text for i in range(40))
    assert f"{100 * 39 / 49:.1f}% (n=49)" in text and "Filters: none" in text
