"""GET /v1/reports/pupil-overview and /v1/reports/data-completion against a real Redis."""

from __future__ import annotations

from tidemark_gateway.testing import Gateway, cell
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup

YEAR, PERIOD = "2025/26", "AUT1"
RECEPTION = cell(year_group=YearGroup.R)


async def two_schools(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")


async def get_ok(gateway: Gateway, path: str, **params: object) -> dict:
    response = await gateway.get(path, academic_year=YEAR, period=PERIOD, **params)
    assert response.status_code == 200, response.text
    return response.json()


def counts(row: dict, characteristic: str) -> dict[str, int]:
    return {entry["group"]: entry["pupils"] for entry in row["breakdown"][characteristic]}


async def test_pupil_overview_counts_pupils_with_data_per_school_broken_down_by_characteristic(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    boy = cell(sex=Sex.M, disadvantaged=True, sen=SenProvision.K, ethnic_group=EthnicGroup.ASIAN, lac=True)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S1", at=3)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S1", boy, at=2)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S2", cell(year_group=YearGroup.R, eal=True), at=1)
    await gateway.seed.counts(YEAR, "AUT2", "pupils", "S2", at=50)  # another period

    body = await get_ok(gateway, "/v1/reports/pupil-overview")

    assert body["by"] == "school"
    assert [(row["group"], row["label"], row["pupils"]) for row in body["rows"]] == [
        ("S2", "Ash Academy", 1), ("S1", "Oak Primary", 5)]
    everyone = body["all_pupils"]
    assert (everyone["group"], everyone["label"], everyone["pupils"]) == ("all", "All Pupils", 6)
    assert counts(everyone, "sex") == {"F": 4, "M": 2}
    assert counts(everyone, "disadvantaged") == {"disadvantaged": 2, "not_disadvantaged": 4}
    assert counts(everyone, "sen") == {"N": 4, "K": 2, "E": 0}
    assert counts(everyone, "eal") == {"eal": 1, "not_eal": 5}
    assert counts(everyone, "lac") == {"lac": 2, "not_lac": 4}
    assert counts(everyone, "ethnicity") == {group.name: {"WHITE": 4, "ASIAN": 2}.get(group.name, 0)
                                             for group in EthnicGroup}
    assert [entry["label"] for entry in everyone["breakdown"]["sex"]] == ["Female", "Male"]
    oak = body["rows"][1]
    assert counts(oak, "sex") == {"F": 3, "M": 2}


async def test_pupil_overview_by_year_group_with_a_filter(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S1", at=3)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S1", cell(disadvantaged=True, year_group=YearGroup.Y6), at=2)
    await gateway.seed.counts(YEAR, PERIOD, "pupils", "S2", cell(disadvantaged=True), at=4)

    body = await get_ok(gateway, "/v1/reports/pupil-overview", by="year_group", disadvantaged=True)

    assert [(row["label"], row["pupils"]) for row in body["rows"]] == [("Year 3", 4), ("Year 6", 2)]
    assert body["all_pupils"]["pupils"] == 6


async def seed_completion(gateway: Gateway) -> None:
    seed = gateway.seed
    await two_schools(gateway)
    await seed.roll("S1", pupils=4)  # 4 Year 3 girls on roll
    await seed.roll("S1", cell(sex=Sex.M), pupils=0)
    await seed.roll("S1", RECEPTION, pupils=2)
    await seed.counts(YEAR, PERIOD, "entered.reading", "S1", at=2, below=1, above=1)
    await seed.counts(YEAR, PERIOD, "reading", "S1", at=2, below=1)
    await seed.counts(YEAR, PERIOD, "entered.writing", "S1", at=2)
    await seed.counts(YEAR, PERIOD, "entered.E01", "S1", RECEPTION, at=1, below=1)
    await seed.counts(YEAR, PERIOD, "E01", "S1", RECEPTION, at=1, below=1)
    await seed.counts(YEAR, "AUT2", "entered.maths", "S1", at=4)  # another period
    # S2: a Year 1 pupil entered, then left (no longer on roll)
    await seed.counts(YEAR, PERIOD, "entered.reading", "S2", cell(year_group=YearGroup.Y1), at=1)


async def test_data_completion_compares_entries_with_the_current_roll(gateway: Gateway) -> None:
    await seed_completion(gateway)

    body = await get_ok(gateway, "/v1/reports/data-completion")

    rows = {(r["school_id"], r["year_group"], r["subject"]): r for r in body["rows"]}
    assert rows[("S1", "Y3", "reading")] == {
        "school_id": "S1", "school": "Oak Primary", "year_group": "Y3", "subject": "reading", "label": "Reading",
        "on_roll": 4, "entered": 4, "locked": 3, "missing": 0, "complete": True, "left": 0, "status": "complete",
    }
    assert [(rows[("S1", "Y3", s)]["entered"], rows[("S1", "Y3", s)]["missing"], rows[("S1", "Y3", s)]["complete"])
            for s in ("writing", "maths", "science")] == [(2, 2, False), (0, 4, False), (0, 4, False)]
    e01, e02 = rows[("S1", "R", "E01")], rows[("S1", "R", "E02")]
    assert (e01["on_roll"], e01["entered"], e01["locked"], e01["complete"]) == (2, 2, 2, True)
    assert (e02["on_roll"], e02["entered"], e02["missing"], e02["complete"]) == (2, 0, 2, False)
    left = rows[("S2", "Y1", "reading")]
    assert (left["on_roll"], left["entered"], left["missing"], left["complete"]) == (0, 1, 0, False)
    assert (left["left"], left["status"]) == (1, "leavers_only")  # a leaver's entry: nothing is missing
    assert rows[("S1", "Y3", "writing")]["status"] == "incomplete"
    # schools by name, Reception first, subjects in order; year groups with nothing are left out
    assert [(r["school_id"], r["year_group"]) for r in body["rows"]][:1] == [("S2", "Y1")]
    s1 = [(r["year_group"], r["subject"]) for r in body["rows"] if r["school_id"] == "S1"]
    assert s1 == [("R", f"E{n:02d}") for n in range(1, 18)] + [
        ("Y3", subject) for subject in ("reading", "writing", "maths", "science")]


async def test_leavers_entries_beyond_the_roll_do_not_make_a_year_group_incomplete(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.seed.roll("S1", pupils=3)  # 3 Year 3 pupils on roll today
    await gateway.seed.counts(YEAR, PERIOD, "entered.reading", "S1", at=4, below=1)  # 5 entered: 2 have left since

    body = await get_ok(gateway, "/v1/reports/data-completion")

    reading = next(r for r in body["rows"] if (r["year_group"], r["subject"]) == ("Y3", "reading"))
    assert (reading["on_roll"], reading["entered"], reading["missing"], reading["left"]) == (3, 5, 0, 2)
    assert (reading["complete"], reading["status"]) == (True, "complete")


async def test_data_completion_keeps_to_the_requested_school(gateway: Gateway) -> None:
    await seed_completion(gateway)

    body = await get_ok(gateway, "/v1/reports/data-completion", school="S2")

    assert {row["school_id"] for row in body["rows"]} == {"S2"}
