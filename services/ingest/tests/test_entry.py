"""What the Entry pages read back (GET /v1/entry/...) on a real PostgreSQL store: a school's sheet of
a year group's results with each value's lock state and what is missing, checked and scoped like a
lock of the same school; the statutory sheet with its components' codes and meanings; and the
information key, from the one code table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from tidemark_ingest.domain.entry import code_tables, year_group_in
from tidemark_ingest.domain.facts import PupilState
from tidemark_ingest.testing import TRUST, Ingest, in_process, ingest_settings
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.calendar import academic_year_of
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import COMPONENTS, Assessment, StatutoryLockScope, StatutoryRecord
from tidemark_schemas.vocabulary import EYFS_GOALS, PRIMARY_SUBJECTS, Band, YearGroup

YEAR = academic_year_of(date.today())
"""The sheets are of this year: a pupil record's year group is this year's."""
TODAY = date(2025, 11, 20)


def pupil(pupil_id: str, year_group: str, left_on: date | None = None) -> PupilRecord:
    return PupilRecord(pupil_id=pupil_id, school_id="S1", year_group=year_group, sex="F", fsm6=False, lac=False,
                       plac=False, sen="N", eal=False, ethnicity="WBRI", left_on=left_on)


def result(pupil_id: str, subject: str, code: str) -> AssessmentRecord:
    return AssessmentRecord(pupil_id=pupil_id, school_id="S1", academic_year=YEAR, period="AUT1", year_group="Y4",
                            subject=subject, code=code)


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    """School S1 on the Sonar model; P1-P3 in Year 4, P9 in Year 6; S2 without a model."""
    async with in_process(ingest_settings(database_url)) as app:
        tracker = app.services.tracker
        await tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak", assessment_model=SONAR_MODEL),
                                           SchoolRecord(school_id="S2", name="Ash")])
        await tracker.post_pupils(TRUST, [pupil("P1", "Y4"), pupil("P2", "Y4"), pupil("P3", "Y4"), pupil("P9", "Y6")])
        yield app


KEY = {"Authorization": "Bearer ingest"}
SHEET = {"school_id": "S1", "academic_year": YEAR, "period": "AUT1", "year_group": "Y4"}


async def test_the_summative_sheet_lists_the_year_groups_pupils_their_values_lock_states_and_what_is_missing(
    ingest: Ingest,
) -> None:
    tracker = ingest.services.tracker
    await tracker.enter_assessments(TRUST, [result("P1", "reading", "SA"), result("P2", "reading", "B")])
    await tracker.lock(TRUST, LockScope(school_id="S1", academic_year=YEAR, period="AUT1", year_group="Y4"))
    await tracker.enter_assessments(TRUST, [result("P2", "reading", "JA"), result("P3", "maths", "A")])

    answer = await ingest.client.get("/v1/entry/summative", params=SHEET, headers=KEY)

    assert answer.status_code == 200
    sheet = answer.json()
    assert sheet["school_name"] == "Oak" and sheet["assessment_model"]["name"] == "sonar"
    assert sheet["subjects"] == list(PRIMARY_SUBJECTS)
    assert [p["pupil_id"] for p in sheet["pupils"]] == ["P1", "P2", "P3"]
    assert [(r["pupil_id"], r["subject"], r["code"], r["band"], r["locked_code"], r["state"]) for r in sheet["results"]] == [
        ("P1", "reading", "SA", "AT", "SA", "locked"),
        ("P2", "reading", "JA", "AT", "B", "changed"),
        ("P3", "maths", "A", "ABOVE", None, "draft"),
    ]
    assert (sheet["missing"], sheet["locked"], sheet["unlocked"]) == (3 * len(PRIMARY_SUBJECTS) - 3, 1, 2)


async def test_the_statutory_sheet_has_the_components_their_codes_and_meanings_and_the_pupils_who_take_them(
    ingest: Ingest,
) -> None:
    await ingest.services.tracker.enter_statutory(TRUST, [StatutoryRecord(
        pupil_id="P9", school_id="S1", academic_year=YEAR, assessment="ks2", component="reading_test", scaled_score=104)])

    answer = await ingest.client.get("/v1/entry/statutory", headers=KEY,
                                     params={"school_id": "S1", "academic_year": YEAR, "assessment": "ks2"})

    sheet = answer.json()
    assert answer.status_code == 200
    assert [p["pupil_id"] for p in sheet["pupils"]] == ["P9"]
    assert [c["component"] for c in sheet["components"]] == list(COMPONENTS[Assessment.KS2])
    reading = sheet["components"][0]
    assert (reading["number"], reading["scaled"], reading["optional"]) == ("scaled_score", [80, 120], False)
    assert {"code": "B", "meaning": "Working below the overall standard of the test, not entered (not met)"} \
        in reading["codes"]
    assert sheet["results"] == [{"pupil_id": "P9", "component": "reading_test", "state": "draft", "locked": None,
                                 "entered": {"mark": None, "scaled_score": 104, "code": None},
                                 "assessed_on": date.today().isoformat(), "version": 1}]
    # reading, maths and GPS tests, writing and science TA; reading and maths TA are for some pupils only
    assert sheet["missing"] == 4


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({**SHEET, "school_id": "NOPE"}, 422, "school_id"),
        ({**SHEET, "period": "AUT"}, 422, "period"),  # a real period, but not of this Trust's calendar
        ({**SHEET, "class_id": "S1-4A"}, 422, "class_id"),  # no such class of the school that year
    ],
)
async def test_a_sheet_of_nothing_the_trust_has_is_a_422_naming_the_parameter(
    ingest: Ingest, params: dict[str, str], status: int, field: str
) -> None:
    answer = await ingest.client.get("/v1/entry/summative", params=params, headers=KEY)

    assert answer.status_code == status
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", field]]


async def test_a_malformed_parameter_is_fastapis_422_naming_it(ingest: Ingest) -> None:
    answer = await ingest.client.get("/v1/entry/summative", params={**SHEET, "year_group": "Y9"}, headers=KEY)

    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", "year_group"]]


async def test_reading_back_needs_the_permission_to_write_the_school(database_url: str) -> None:
    tokens = {"s2-ingest": {"trust_id": TRUST, "role": "ingest", "schools": ["S2"]},
              "viewer": {"trust_id": TRUST, "role": "viewer"}}
    async with in_process(ingest_settings(database_url, tidemark_tokens=tokens)) as app:
        other_school = await app.client.get("/v1/entry/summative", params=SHEET,
                                            headers={"Authorization": "Bearer s2-ingest"})
        reader = await app.client.get("/v1/entry/statutory-codes", headers={"Authorization": "Bearer viewer"})

    assert (other_school.status_code, other_school.json()) == (
        403, {"detail": "this caller may not write school 'S1' (not in its scope)"})
    assert reader.status_code == 403


def test_every_code_of_every_component_has_its_meaning_in_the_information_key() -> None:
    tables = {t.assessment: {c.component: c for c in t.components} for t in code_tables()}

    for assessment, specs in COMPONENTS.items():
        for name, spec in specs.items():
            assert {k.code for k in tables[assessment][name].codes} == spec.codes
            assert all(k.meaning for k in tables[assessment][name].codes)
    assert tables[Assessment.PHONICS]["year2"].year_group is YearGroup.Y2
    assert tables[Assessment.MTC]["score"].number == "mark"
    assert tables[Assessment.KS1]["writing_ta"].number is None


def test_a_pupils_year_group_in_an_earlier_year_is_one_less_per_year_back() -> None:
    now = PupilState(**pupil("P1", "Y4").model_dump(exclude={"class_id"}), version=1)

    assert year_group_in(now, "2025/26", TODAY) is YearGroup.Y4
    assert year_group_in(now, "2023/24", TODAY) is YearGroup.Y2
    assert year_group_in(now, "2020/21", TODAY) is None


async def test_each_entry_operation_states_its_permission_and_its_refusals(ingest: Ingest) -> None:
    operations = {path: item["get"] for path, item in ingest.app.openapi()["paths"].items()
                  if "entry" in item.get("get", {}).get("tags", [])}

    assert sorted(operations) == ["/v1/entry/statutory", "/v1/entry/statutory-codes", "/v1/entry/summative"]
    for path, operation in operations.items():
        assert operation["description"].endswith("**Permission:** `tracker:write`.")
        assert {"401", "403"} <= set(operation["responses"])
        assert ("422" in operation["responses"]) is (path != "/v1/entry/statutory-codes")  # no parameters there


def test_a_phonics_sheet_lists_year_1_and_year_2_and_counts_only_year_1s_check_missing_and_leavers_never() -> None:
    from tidemark_ingest.domain.entry import statutory_sheet
    from tidemark_ingest.domain.facts import SchoolState

    school = SchoolState(school_id="S1", name="Oak", version=1)
    pupils = [PupilState(**pupil(p, year_group, left_on).model_dump(exclude={"class_id"}), version=1) for p, year_group, left_on in
              (("P1", "Y1", None), ("P2", "Y1", None), ("P3", "Y2", None), ("P4", "Y1", date(2025, 10, 1)),
               ("P5", "Y3", None))]

    scope = StatutoryLockScope(school_id="S1", academic_year="2025/26", assessment=Assessment.PHONICS)
    sheet = statutory_sheet(school, pupils, [], scope, Assessment.PHONICS, TODAY)

    assert [(p.pupil_id, p.year_group) for p in sheet.pupils] == [
        ("P1", YearGroup.Y1), ("P2", YearGroup.Y1), ("P3", YearGroup.Y2), ("P4", YearGroup.Y1)]
    assert sheet.missing == 2  # P1 and P2's Year 1 check; the retake is optional, P4 has left


def test_a_summative_sheet_names_the_schools_classes_of_its_year_and_each_pupils_class_that_year() -> None:
    from tidemark_ingest.domain.entry import summative_sheet
    from tidemark_ingest.domain.facts import ClassState, SchoolState

    school = SchoolState(school_id="S1", name="Oak", version=1)
    classes = [ClassState(class_id="S1-4A", school_id="S1", academic_year="2025/26", name="4 Ash",
                          year_groups=[YearGroup.Y4], version=1)]
    in_4a = PupilState(**pupil("P1", "Y4").model_dump(exclude={"class_id"}), version=1,
                       classes={"2025/26": "S1-4A", "2024/25": "S1-3B"})
    without = PupilState(**pupil("P2", "Y4").model_dump(exclude={"class_id"}), version=1)

    scope = LockScope(school_id="S1", academic_year="2025/26", period="AUT1", year_group=YearGroup.Y4)
    sheet = summative_sheet(school, [in_4a, without], [], scope, date(2025, 11, 1), classes)

    assert [(c.class_id, c.name, c.year_groups) for c in sheet.classes] == [("S1-4A", "4 Ash", [YearGroup.Y4])]
    assert [(p.pupil_id, p.class_id) for p in sheet.pupils] == [("P1", "S1-4A"), ("P2", None)]


def test_a_mixed_reception_and_year_1_class_alone_has_the_goals_for_one_and_the_subjects_for_the_other() -> None:
    from tidemark_ingest.domain.entry import summative_sheet
    from tidemark_ingest.domain.facts import ClassState, ResultState, SchoolState

    school = SchoolState(school_id="S1", name="Oak", version=1)
    classes = [ClassState(class_id="S1-RY1", school_id="S1", academic_year="2025/26", name="Acorns",
                          year_groups=[YearGroup.R, YearGroup.Y1], version=1)]
    reception, year_1, elsewhere = (
        PupilState(**pupil(p, y).model_dump(exclude={"class_id"}), version=1, classes={"2025/26": c})
        for p, y, c in (("P1", "R", "S1-RY1"), ("P2", "Y1", "S1-RY1"), ("P3", "Y1", "S1-1B")))
    entered = ResultState(pupil_id="P2", academic_year="2025/26", period="AUT1", school_id="S1", year_group="Y1",
                          subject="reading", entered_band="AT", locked_band=None, assessed_on=date(2025, 10, 20), version=1)
    scope = LockScope(school_id="S1", academic_year="2025/26", period="AUT1", class_id="S1-RY1")

    sheet = summative_sheet(school, [reception, year_1, elsewhere], [entered], scope, TODAY, classes)
    reading = summative_sheet(school, [reception, year_1, elsewhere], [entered],
                              scope.model_copy(update={"subject": "reading"}), TODAY, classes)

    assert [p.pupil_id for p in sheet.pupils] == ["P1", "P2"]
    assert sheet.subjects_by_year_group == {YearGroup.R: list(EYFS_GOALS), YearGroup.Y1: list(PRIMARY_SUBJECTS)}
    assert sheet.subjects == [*EYFS_GOALS, *PRIMARY_SUBJECTS]
    assert [(c.pupil_id, c.subject, c.assessed_on) for c in sheet.results] == [("P2", "reading", date(2025, 10, 20))]
    assert sheet.missing == len(EYFS_GOALS) + len(PRIMARY_SUBJECTS) - 1
    assert (reading.subjects, reading.missing) == (["reading"], 0)  # Reception takes no reading: nothing missing


def test_a_class_sheet_shows_its_pupils_result_under_another_year_group_which_its_lock_would_take() -> None:
    from tidemark_ingest.domain.entry import summative_sheet
    from tidemark_ingest.domain.facts import ClassState, ResultState, SchoolState

    school = SchoolState(school_id="S1", name="Oak", version=1)
    classes = [ClassState(class_id="S1-5A", school_id="S1", academic_year="2025/26", name="5 Ash",
                          year_groups=[YearGroup.Y5], version=1)]
    in_5a = PupilState(**pupil("P1", "Y5").model_dump(exclude={"class_id"}), version=1, classes={"2025/26": "S1-5A"})
    imported = ResultState(pupil_id="P1", academic_year="2025/26", period="AUT1", school_id="S1", year_group="Y4",
                           subject="reading", entered_band="AT", locked_band=None, version=1)
    scope = LockScope(school_id="S1", academic_year="2025/26", period="AUT1", class_id="S1-5A")

    by_class = summative_sheet(school, [in_5a], [imported], scope, TODAY, classes)
    by_year_group = summative_sheet(school, [in_5a], [imported], scope.model_copy(update={"year_group": "Y5"}),
                                    TODAY, classes)

    assert [(c.pupil_id, c.subject, c.band) for c in by_class.results] == [("P1", "reading", Band.AT)]
    assert by_year_group.results == []  # a lock of Year 5 would not take it either
