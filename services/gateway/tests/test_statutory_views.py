"""GET /v1/dashboards/statutory, /v1/reports/statutory, /v1/reports/progress-from-statutory and
/v1/progress-categories."""

from __future__ import annotations

import csv
import io

import pytest

from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.progress import CATEGORY_LABELS, ProgressCategory
from tidemark_schemas.vocabulary import Sex, YearGroup

YEAR, LAST = "2025/26", "2024/25"
Y6_GIRL, Y6_BOY = cell(year_group=YearGroup.Y6), cell(year_group=YearGroup.Y6, sex=Sex.M)


async def ok(gateway: Gateway, path: str, **params: object) -> dict:
    response = await gateway.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def two_schools(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")


async def test_the_ks2_widget_pools_the_trust_and_compares_with_last_year(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(YEAR, "ks2.rwm", "S1", Y6_GIRL, GDS=1, EXS=5, NOT=4)
    await gateway.seed.statutory(YEAR, "ks2.rwm", "S2", Y6_BOY, EXS=2, NOT=8)
    await gateway.seed.statutory(LAST, "ks2.rwm", "S1", Y6_GIRL, EXS=4, NOT=6)
    await gateway.seed.statutory(YEAR, "ks2.reading_ss", "S1", Y6_GIRL, _100=2, _110=1)

    body = await ok(gateway, "/v1/dashboards/statutory", academic_year=YEAR)

    tiles = {tile["measure"]: tile["all_pupils"] for tile in body["widgets"]["ks2"]}
    rwm = tiles["ks2.rwm"]
    assert rwm["figures"] == {"eligible": 20, "exs_plus_pct": 40.0, "gds_pct": 5.0}
    assert rwm["previous"]["exs_plus_pct"] == 40.0 and rwm["changes"]["exs_plus_pct"]["display"] == "~ 0"
    assert rwm["changes"]["gds_pct"]["display"] == "+5.0"
    assert tiles["ks2.reading_ss"]["figures"] == {"pupils": 3, "average": pytest.approx(310 / 3)}
    assert tiles["ks2.maths"]["figures"]["exs_plus_pct"] is None  # no data is null, not 0%
    assert tiles["ks2.maths"]["changes"]["exs_plus_pct"] == {  # and its change "no data", not "~ 0"
        "difference": None, "change": None, "direction": "none", "display": "no data"}
    assert list(body["widgets"]) == ["ks2", "ks1", "eyfs", "phonics", "mtc"]


async def test_the_statutory_report_groups_and_filters_like_the_summative_ones(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(YEAR, "phonics.y1", "S1", cell(year_group=YearGroup.Y1), MET=8, NOT=2)
    await gateway.seed.statutory(YEAR, "phonics.y1", "S1", cell(year_group=YearGroup.Y1, sex=Sex.M), MET=3, NOT=3)
    await gateway.seed.statutory(YEAR, "phonics.y1", "S2", cell(year_group=YearGroup.Y1, sex=Sex.M), MET=1)

    by_sex = await ok(gateway, "/v1/reports/statutory", measure="phonics.y1", academic_year=YEAR, by="sex")
    boys_at_oak = await ok(gateway, "/v1/reports/statutory", measure="phonics.y1", academic_year=YEAR,
                           sex="M", school="S1")

    assert [(r["label"], r["figures"]["eligible"], r["figures"]["pct"]) for r in by_sex["rows"]] == [
        ("Female", 10, 80.0), ("Male", 7, pytest.approx(400 / 7))]
    assert by_sex["all_pupils"]["figures"] == {"eligible": 17, "pct": pytest.approx(1200 / 17)}
    assert boys_at_oak["all_pupils"]["figures"] == {"eligible": 6, "pct": 50.0}
    assert (await gateway.get("/v1/reports/statutory", measure="ks3.reading", academic_year=YEAR)).status_code == 422


async def test_progress_counts_each_category_and_drills_down_to_its_pupils(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.progress(YEAR, "SPR1", "S1", on_track_at=3, not_on_track_below=1, not_categorised=2)
    await gateway.seed.progress(YEAR, "SPR1", "S2", cell(sex=Sex.M), not_on_track_below=1)
    await gateway.seed.progress_pupil(YEAR, "SPR1", "S1", "P7", "not_on_track_below")
    await gateway.seed.progress_pupil(YEAR, "SPR1", "S2", "P9", "not_on_track_below", cell(sex=Sex.M))
    await gateway.seed.progress_pupil(YEAR, "SPR1", "S1", "P1", "on_track_at")

    report = await ok(gateway, "/v1/reports/progress-from-statutory", academic_year=YEAR, period="SPR1")
    drill = await ok(gateway, "/v1/reports/progress-from-statutory", academic_year=YEAR, period="SPR1",
                     category="not_on_track_below", by="sex", pupils="true")
    dashboard = await ok(gateway, "/v1/dashboards/summative", academic_year=YEAR, period="SPR1")

    pooled = {c["category"]: (c["pupils"], c["pct"]) for c in report["all_pupils"]["categories"]}
    assert report["all_pupils"]["categorised"] == 5
    assert pooled["on_track_at"] == (3, 60.0) and pooled["not_on_track_below"] == (2, 40.0)
    assert pooled["not_categorised"] == (2, None)
    assert [(r["label"], r["categories"][0]["pupils"]) for r in drill["rows"]] == [("Female", 1), ("Male", 1)]
    assert [(p["pupil_id"], p["school"], p["sex"]) for p in drill["pupils"]] == [("P9", "Ash Academy", "M"),
                                                                               ("P7", "Oak Primary", "F")]
    assert [(c["category"], c["label"]) for c in report["all_pupils"]["categories"]] == [
        ("not_on_track_below", "Not on track and BELOW standard"), ("not_on_track_at", "Not on track but AT standard"),
        ("on_track_below", "On track but BELOW standard"), ("on_track_at", "On track and AT standard"),
        ("on_track_above", "On track and ABOVE standard"), ("accelerated_at", "Accelerated track and AT standard"),
        ("accelerated_above", "Accelerated track and ABOVE standard"), ("not_categorised", "Not categorised")]
    assert [c["pupils"] for c in dashboard["progress_from_statutory"]] == [2, 0, 0, 3, 0, 0, 0, 2]
    assert [c["category"] for c in dashboard["progress_from_statutory"]] == [
        c["category"] for c in report["all_pupils"]["categories"]]


async def test_pupil_lists_need_a_token_that_may_see_pupils(gateway: Gateway) -> None:
    await two_schools(gateway)
    refused = await gateway.get("/v1/reports/progress-from-statutory", token="figures-viewer",
                                academic_year=YEAR, period="SPR1", pupils="true")
    figures = await gateway.get("/v1/reports/progress-from-statutory", token="figures-viewer",
                                academic_year=YEAR, period="SPR1")
    assert refused.status_code == 403 and "pupils:read" in refused.json()["detail"]
    assert figures.status_code == 200 and figures.json()["pupils"] is None


async def test_a_school_scoped_viewer_sees_only_its_schools_statutory_figures(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(YEAR, "eyfs.gld", "S1", cell(year_group=YearGroup.R), YES=6, NO=4)
    await gateway.seed.statutory(YEAR, "eyfs.gld", "S2", cell(year_group=YearGroup.R), NO=10)
    body = await ok(gateway, "/v1/dashboards/statutory", token="s1-viewer", academic_year=YEAR)
    gld = next(t for t in body["widgets"]["eyfs"] if t["measure"] == "eyfs.gld")["all_pupils"]["figures"]
    assert gld == {"eligible": 10, "pct": 60.0}


async def test_the_progress_categories_are_served_in_display_order_with_their_labels(gateway: Gateway) -> None:
    categories = await ok(gateway, "/v1/progress-categories")

    assert [(c["category"], c["label"]) for c in categories] == [
        (c.value, CATEGORY_LABELS[c]) for c in ProgressCategory]
    assert categories[4] == {"category": "on_track_above", "label": "On track and ABOVE standard"}
    assert (await gateway.get("/v1/progress-categories", token=None)).status_code == 401


KS2_SOURCE = "DfE, Key stage 2 attainment (England, all schools)"


async def test_the_statutory_report_shows_the_national_figure_of_its_year_beside_each_group_it_is_published_for(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(LAST, "ks2.rwm", "S1", Y6_GIRL, GDS=1, EXS=5, NOT=4)
    await gateway.seed.statutory(LAST, "ks2.rwm", "S2", Y6_BOY, EXS=2, NOT=8)

    by_sex = await ok(gateway, "/v1/reports/statutory", measure="ks2.rwm", academic_year=LAST, by="sex")
    by_school = await ok(gateway, "/v1/reports/statutory", measure="ks2.rwm", academic_year=LAST)

    national = by_sex["all_pupils"]["national"]
    assert national["exs_plus_pct"] == {"value": 62.0, "academic_year": "2024/25", "source": KS2_SOURCE, "note": ""}
    assert (national["gds_pct"]["value"], national["gds_pct"]["academic_year"]) == (8.0, "2022/23")
    assert [(r["label"], r["national"]["exs_plus_pct"]["value"], r["national"]["gds_pct"]["value"])
            for r in by_sex["rows"]] == [("Female", 65.0, 9.0), ("Male", 59.0, 7.0)]
    assert by_school["all_pupils"]["national"] == national
    assert [r["national"] for r in by_school["rows"]] == [None, None]  # the DfE publishes no school's figure here

    exported = await gateway.get("/v1/reports/statutory", measure="ks2.rwm", academic_year=LAST, format="csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    column = lines[0].index("national.exs_plus_pct.value")
    assert [line[column] for line in lines[1:] if line and line[0] == "all_pupils"] == ["62.0"]  # in the file too


async def test_the_statutory_dashboard_compares_with_the_latest_national_figures_until_its_year_is_published(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(YEAR, "eyfs.gld", "S1", cell(year_group=YearGroup.R), YES=7, NO=3)

    body = await ok(gateway, "/v1/dashboards/statutory", academic_year=YEAR)

    tiles = {t["measure"]: t["all_pupils"] for widget in body["widgets"].values() for t in widget}
    assert tiles["eyfs.gld"]["figures"]["pct"] == 70.0
    assert tiles["eyfs.gld"]["national"]["pct"]["value"] == 68.3
    assert tiles["eyfs.gld"]["national"]["pct"]["academic_year"] == "2024/25"
    assert tiles["ks1.reading"]["national"]["exs_plus_pct"]["academic_year"] == "2022/23"  # KS1 ended in 2023
    assert tiles["mtc.score"]["national"]["average"]["value"] == 21.0
    assert tiles["mtc.score"]["national"]["full_marks_pct"]["value"] == 37.0
    assert tiles["phonics.y2"]["national"] is None  # none published for the retake alone


async def test_the_statutory_disadvantaged_gap_compares_with_non_disadvantaged_pupils_nationally(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    await gateway.seed.statutory(YEAR, "ks2.rwm", "S1", cell(year_group=YearGroup.Y6, disadvantaged=True), EXS=3, NOT=7)
    await gateway.seed.statutory(YEAR, "ks2.rwm", "S2", Y6_GIRL, GDS=2, EXS=4, NOT=4)

    gap = (await ok(gateway, "/v1/dashboards/statutory", academic_year=YEAR))["disadvantaged_gap"]

    assert gap["measure"] == "ks2.rwm"
    assert gap["disadvantaged"]["figures"]["exs_plus_pct"] == 30.0
    assert gap["not_disadvantaged"]["figures"]["exs_plus_pct"] == 60.0
    assert gap["disadvantaged"]["national"]["exs_plus_pct"]["value"] == 45.0
    assert gap["national_not_disadvantaged"]["value"] == 67.0
    assert gap["national_not_disadvantaged"]["academic_year"] == "2023/24"
    assert gap["gap"] == pytest.approx(30.0)
    assert gap["gap_to_national"] == pytest.approx(37.0)
