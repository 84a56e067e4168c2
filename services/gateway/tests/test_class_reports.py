"""By class and the class filter (issue 14): every report sums the pupils' cells, whose class is
the pupil's class in the report's academic year; rows are labelled with the class names; a class
of a school the caller may not see is refused like the school; `GET /v1/classes` lists the
classes the caller may see."""

from __future__ import annotations

from tidemark_gateway.testing import Gateway, cell

YEAR, PERIOD = "2025/26", "AUT1"


async def seeded(gateway: Gateway) -> None:
    seed = gateway.seed
    await seed.school("S1", "Oak Primary")
    await seed.school("S2", "Ash Academy")
    await seed.school_class("S1-3A", "S1", YEAR, "Year 3 A")
    await seed.school_class("S1-3B", "S1", YEAR, "Year 3 B")
    await seed.school_class("S2-3", "S2", YEAR, "Year 3")
    await seed.school_class("S1-2A", "S1", "2024/25", "Year 2 A", ("Y2",))
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(class_id="S1-3A"), at=3, below=1)
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(class_id="S1-3B"), above=2)
    await seed.counts(YEAR, PERIOD, "reading", "S1", cell(), below=1)  # no class this year
    await seed.counts(YEAR, PERIOD, "reading", "S2", cell(class_id="S2-3"), at=5)


def rows(body: dict) -> list[tuple[str, str, int, int]]:
    return [(r["group"], r["label"], r["n"], r["at_or_above"]) for r in body["rows"]]


async def test_by_class_labels_each_class_by_name_and_the_pupils_without_one_last(gateway: Gateway) -> None:
    await seeded(gateway)

    one_school = (await gateway.get("/v1/reports/attainment", measure="reading", by="class", academic_year=YEAR,
                                    period=PERIOD, school="S1")).json()
    trust = (await gateway.get("/v1/reports/attainment", measure="reading", by="class", academic_year=YEAR,
                               period=PERIOD)).json()

    assert rows(one_school) == [("S1-3A", "Year 3 A", 4, 3), ("S1-3B", "Year 3 B", 2, 2), ("", "No class", 1, 0)]
    assert rows(trust) == [("S2-3", "Ash Academy · Year 3", 5, 5), ("S1-3A", "Oak Primary · Year 3 A", 4, 3),
                           ("S1-3B", "Oak Primary · Year 3 B", 2, 2), ("", "No class", 1, 0)]
    assert trust["all_pupils"]["n"] == 12


async def test_the_class_filter_counts_only_its_pupils_and_reads_only_its_schools(gateway: Gateway) -> None:
    await seeded(gateway)

    body = (await gateway.get("/v1/reports/attainment", measure="reading", by="school", academic_year=YEAR,
                              period=PERIOD, **{"class": ["S1-3B", "S2-3"]})).json()

    assert rows(body) == [("S2", "Ash Academy", 5, 5), ("S1", "Oak Primary", 2, 2)]
    assert body["all_pupils"]["n"] == 7


async def test_a_class_the_caller_may_not_see_is_a_403_and_an_unknown_one_a_422(gateway: Gateway) -> None:
    await seeded(gateway)
    params = {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD}

    hidden = await gateway.get("/v1/reports/attainment", token="s1-viewer", **params, **{"class": "S2-3"})
    unknown_scoped = await gateway.get("/v1/reports/attainment", token="s1-viewer", **params, **{"class": "NOPE"})
    unknown = await gateway.get("/v1/reports/attainment", **params, **{"class": "NOPE"})
    own = await gateway.get("/v1/reports/attainment", token="s1-viewer", **params, **{"class": "S1-3A"})

    assert (hidden.status_code, unknown_scoped.status_code, own.status_code) == (403, 403, 200)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "class"]
    assert own.json()["all_pupils"]["n"] == 4


async def test_the_classes_list_shows_only_the_schools_the_caller_may_see(gateway: Gateway) -> None:
    await seeded(gateway)

    everything = (await gateway.get("/v1/classes")).json()
    scoped = (await gateway.get("/v1/classes", token="s1-viewer", academic_year=YEAR)).json()
    one = (await gateway.get("/v1/classes", school_id="S2")).json()

    assert [c["class_id"] for c in everything] == ["S1-2A", "S1-3A", "S1-3B", "S2-3"]
    assert [c["class_id"] for c in scoped] == ["S1-3A", "S1-3B"]
    assert one == [{"class_id": "S2-3", "name": "Year 3", "school_id": "S2", "academic_year": YEAR,
                    "year_groups": ["Y3"]}]


async def test_exports_by_class_carry_the_same_rows(gateway: Gateway) -> None:
    await seeded(gateway)

    csv = await gateway.get("/v1/reports/attainment", measure="reading", by="class", academic_year=YEAR,
                            period=PERIOD, school="S1", format="csv")

    assert csv.status_code == 200
    assert "Year 3 A" in csv.text and "No class" in csv.text
