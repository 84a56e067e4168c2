"""The attendance projection's rules: which parts a mark changes, what each window counts, and a
hand-computed example of the figures for a week, a period and the year to date, read back from the
counters in Redis as a report would."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

import pytest

from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.projections.state import advance, decode_record, encode_record, fold, recorded_counters
from tidemark_schemas.aggregates import attendance_keyspace, decode_cell_field
from tidemark_schemas.attendance import AttendanceFigures, cohort_year_groups
from tidemark_schemas.calendar import PeriodCalendar, TermTime, YearDates, english_default
from tidemark_schemas.vocabulary import Band
from tidemark_schemas.events import AssessmentEntered, AssessmentLocked, AssessmentUnlocked, AttendanceMarked, PupilUpserted

RULES = AttendanceProjection(PeriodCalendar())
PUPIL = dict(trust_id="T", pupil_id="A", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False,
             sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1)


def pupil(pupil_id: str, **changes) -> PupilUpserted:
    return PupilUpserted(**{**PUPIL, "pupil_id": pupil_id, **changes})


def mark(pupil_id: str, day: date, session: str, code: str, version: int = 1, school_id: str = "S1",
         year_group: str = "Y3") -> AttendanceMarked:
    return AttendanceMarked(trust_id="T", pupil_id=pupil_id, school_id=school_id, date=day, session=session,
                            code=code, year_group=year_group, version=version)


def week(pupil_id: str, monday: date, codes: str, **kwargs) -> list[AttendanceMarked]:
    """Ten sessions, Monday AM to Friday PM, one character of `codes` each ('p' for present)."""
    marks = []
    for n, code in enumerate(codes):
        day, session = monday + timedelta(days=n // 2), ("AM", "PM")[n % 2]
        marks.append(mark(pupil_id, day, session, ("/" if session == "AM" else "\\") if code == "p" else code, **kwargs))
    return marks


def counted(record, trust: str = "T") -> Counter:
    """(kind, window, school, label) -> total, from a pupil's recorded contributions."""
    found: Counter = Counter()
    for (key, field), value in recorded_counters(RULES, attendance_keyspace("tm", trust), record, "A").items():
        kind, _year, window, school = key.split(":", 2)[2].split(":")
        found[(kind, window, school, field.rsplit("|", 1)[1])] += value
    return found


SEP8, SEP15, NOV3 = date(2025, 9, 8), date(2025, 9, 15), date(2025, 11, 3)


def test_a_mark_changes_its_week_and_moves_a_session_in_its_period_and_year():
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "pppppppppp")])
    step = advance(RULES, "T", "A", state, [(RULES.route(m)[1], m) for m in [mark("A", SEP8, "AM", "I", version=2)]])
    assert set(step.fields) == {"w:2025/26|2025-09-08", "p:2025/26|AUT1", "y:2025/26"}
    assert {item: amount for (part, item), amount in step.moves.items() if part == "p:2025/26|AUT1"} == {
        "S1|Y3|F|0|N|0|WHITE|0||/\\": -1, "S1|Y3|F|0|N|0|WHITE|0||I": 1, "S1|Y3|F|0|N|0|WHITE|0||persistent": 1,
        "!S1|A|Y3|F|0|N|0|WHITE|0||1:10": 1,  # now a persistent absentee: listed by pupil, 1 of 10 sessions missed
    }


def test_a_correction_replaces_the_session_and_an_older_or_repeated_mark_changes_nothing():
    first, correction = mark("A", SEP8, "AM", "N"), mark("A", SEP8, "AM", "I", version=2)
    state = fold(RULES, [pupil("A"), first, correction, first, correction])
    assert counted(state)[("att-sessions", "AUT1", "S1", "I")] == 1
    assert counted(state)[("att-sessions", "AUT1", "S1", "N")] == 0
    assert counted(fold(RULES, [pupil("A"), correction, first])) == counted(state)


def test_a_week_that_straddles_two_periods_reads_both():
    # 2023/24: AUT2 ends on Wednesday 20 December, SPR1 begins the day after
    assert RULES.reads("w:2023/24|2023-12-18") == ("p:2023/24|AUT2", "p:2023/24|SPR1", "y:2023/24")
    state = fold(RULES, [pupil("A"), mark("A", date(2023, 12, 20), "AM", "/"), mark("A", date(2023, 12, 21), "AM", "I")])
    windows = {(window, label): n for (kind, window, _s, label), n in counted(state).items() if kind == "att-sessions"}
    assert windows == {("2023-12-18", "/\\"): 1, ("2023-12-18", "I"): 1, ("AUT2", "/\\"): 1, ("SPR1", "I"): 1,
                       ("YTD", "/\\"): 1, ("YTD", "I"): 1}


def test_a_pupil_at_two_schools_in_a_window_is_two_enrolments_each_on_its_own_sessions():
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "pppppppppp"), *week("A", SEP15, "ppppIIIIII", school_id="S2")])
    figures = counted(state)
    assert (figures[("att-pupils", "AUT1", "S1", "pupils")], figures[("att-pupils", "AUT1", "S2", "pupils")]) == (1, 1)
    assert figures[("att-pupils", "AUT1", "S2", "severe")] == 1  # 6 of its own 10 sessions
    assert figures[("att-pupils", "YTD", "S1", "persistent")] == 0


def test_an_enrolment_without_a_possible_session_counts_its_codes_but_no_pupil():
    state = fold(RULES, [pupil("C", year_group="R"), *week("C", SEP8, "XXXXXXXXXX", year_group="R")])
    assert {key: n for key, n in counted(state).items() if key[1] == "AUT1"} == {("att-sessions", "AUT1", "S1", "X"): 10}


def test_the_counter_cell_has_the_marks_year_group_and_the_current_characteristics():
    marks = week("A", SEP8, "pppppppppp", year_group="Y2")
    before = fold(RULES, [pupil("A"), *marks])
    after = fold(RULES, [pupil("A"), *marks, pupil("A", fsm6=True, version=2)])
    [(key, field)] = [k for k in recorded_counters(RULES, attendance_keyspace("tm", "T"), before, "A") if ":YTD:" in k[0]
                      and k[1].endswith("pupils")]
    assert field == "Y2|F|0|N|0|WHITE|0||pupils"  # the year group on the marks, not the current Y3
    assert {f.split("|")[2] for _k, f in recorded_counters(RULES, attendance_keyspace("tm", "T"), after, "A")} == {"1"}


def test_the_counter_cell_has_the_pupils_class_of_the_marks_academic_year_and_follows_a_move():
    marks = week("A", SEP8, "pppppppppp")
    year = "2025/26"
    placed = fold(RULES, [pupil("A", classes={"2024/25": "2B", year: "3A"}), *marks])
    moved = fold(RULES, [pupil("A", classes={"2024/25": "2B", year: "3A"}), *marks,
                         pupil("A", classes={"2024/25": "2B", year: "3B"}, version=2)])
    keys = attendance_keyspace("tm", "T")

    assert {f.split("|")[7] for _k, f in recorded_counters(RULES, keys, placed, "A")} == {"3A"}
    assert {f.split("|")[7] for _k, f in recorded_counters(RULES, keys, moved, "A")} == {"3B"}


def test_marks_before_the_pupil_record_count_once_it_arrives():
    marks = week("A", SEP8, "pppppppppp")
    assert counted(fold(RULES, marks)) == Counter()
    assert counted(fold(RULES, [*marks, pupil("A")])) == counted(fold(RULES, [pupil("A"), *marks]))


def test_the_stored_parts_hold_the_marks_and_totals_only():
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "ppIppppppG"), mark("A", SEP15 + timedelta(days=4), "PM", "B", school_id="S2")])
    stored = encode_record(RULES, state)
    assert stored["p:2025/26|AUT1"] == b'{"S1|Y3":{"/\\\\":8,"I":1,"G":1},"S2|Y3":{"B":1}}'
    assert stored["w:2025/26|2025-09-15"] == b'{"S2|Y3":[9,"B",1]}'
    again = decode_record(RULES, stored)
    assert {name: part.data for name, part in again.parts.items()} == {name: part.data for name, part in state.parts.items()}
    assert counted(again) == counted(state)


def test_a_trusts_own_dates_decide_its_periods():
    default = english_default("2025/26")
    own = YearDates("2025/26", (TermTime(date(2025, 9, 3), date(2025, 10, 17)), *default.half_terms[1:]))
    rules = AttendanceProjection(PeriodCalendar(), {"T2": PeriodCalendar(dates={"2025/26": own})})
    monday = date(2025, 10, 20)
    assert rules.route(mark("A", monday, "AM", "/"))[1] == "w:2025/26|2025-10-20"
    assert rules.where("T", monday, "AM").period == "p:2025/26|AUT1"
    assert rules.where("T2", monday, "AM").period == "p:2025/26|AUT2"
    assert rules.reads("w:2025/26|2025-10-20") == ("p:2025/26|AUT1", "p:2025/26|AUT2", "y:2025/26")


# -- the hand-computed example, through the engine and Redis ----------------------------------------

EXAMPLE = [
    pupil("A"), pupil("B", sex="M"), pupil("C", year_group="R"),
    # A: one illness in the first week (first recorded as N, then corrected), a week of holiday half taken in AUT2
    *week("A", SEP8, "pppppNpppp"), mark("A", date(2025, 9, 10), "PM", "I", version=2),
    *week("A", SEP15, "pppppppppp"), *week("A", NOV3, "GGGGGppppp"),
    # B: present (once late) the first week, two sessions unexplained the second
    *week("B", SEP8, "ppLppppppp"), *week("B", SEP15, "OppOpppppp"),
    # C, Reception: not required to attend the first week
    *week("C", SEP8, "XXXXXXXXXX", year_group="R"),
]


async def window_figures(redis: RedisClient, keys, window: str, include_reception: bool = False) -> AttendanceFigures:
    """What a report computes: the counters of one window summed over the cohort's cells."""
    cohort = cohort_year_groups(include_reception)
    sums: dict[str, Counter] = {"sessions": Counter(), "pupils": Counter()}
    for kind, key in (("sessions", keys.attendance_sessions("2025/26", window, "S1")),
                      ("pupils", keys.attendance_pupils("2025/26", window, "S1"))):
        for raw, value in (await redis.hgetall(key)).items():
            cell, label = decode_cell_field(raw.decode())
            if cell.year_group in cohort:
                sums[kind][label] += int(value)
    return AttendanceFigures.of(sums["sessions"], sums["pupils"])


@pytest.fixture
async def example(redis_client):
    redis = redis_client
    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = ProjectionEngine(redis, prefix, RULES)
    for start in range(0, len(EXAMPLE), 7):  # in batches, then the first marks again (redelivered)
        await engine.apply(EXAMPLE[start:start + 7])
    await engine.apply(EXAMPLE[:20])
    yield redis, engine, attendance_keyspace(prefix, "T")
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)


def rounded(figures: AttendanceFigures) -> tuple:
    return (figures.pupils, figures.possible_sessions, round(figures.attendance_pct, 6), round(figures.absence_pct, 6),
            round(figures.authorised_absence_pct, 6), round(figures.unauthorised_absence_pct, 6),
            figures.persistent_absentees, figures.severe_absentees)


async def test_week_period_and_year_to_date_figures_equal_the_hand_computed_example(example):
    redis, _engine, keys = example
    # (pupils, possible, attendance %, absence %, authorised %, unauthorised %, persistent, severe)
    # Week of 8 September: A 1 absent of 10 (10%: persistent), B none; C has no possible session.
    assert rounded(await window_figures(redis, keys, "2025-09-08")) == (2, 20, 95.0, 5.0, 5.0, 0.0, 1, 0)
    assert rounded(await window_figures(redis, keys, "2025-09-08", include_reception=True)) == (
        2, 20, 95.0, 5.0, 5.0, 0.0, 1, 0)
    # AUT1: A 1 of 20 (5%), B 2 of 20 (10%: persistent): 3 of 40.
    assert rounded(await window_figures(redis, keys, "AUT1")) == (2, 40, 92.5, 7.5, 2.5, 5.0, 1, 0)
    # AUT2: A alone, 5 of 10 (50%: persistent and severe).
    assert rounded(await window_figures(redis, keys, "AUT2")) == (1, 10, 50.0, 50.0, 0.0, 50.0, 1, 1)
    # Year to date: A 6 of 30 (20%), B 2 of 20 (10%): 8 of 50, both persistent, neither severe.
    ytd = await window_figures(redis, keys, "YTD")
    assert rounded(ytd) == (2, 50, 84.0, 16.0, 2.0, 14.0, 2, 0)
    assert (ytd.persistent_absence_pct, ytd.severe_absence_pct) == (100.0, 0.0)


async def test_reconcile_names_a_tampered_attendance_counter(example):
    redis, engine, keys = example
    report = await reconcile(engine, keys)
    assert (report.pupils, report.consistent) == (3, True)
    counter = keys.attendance_sessions("2025/26", "AUT1", "S1")
    field = next(f for f in await redis.hkeys(counter) if f.endswith(b"|I")).decode()
    await redis.hincrby(counter, field, 2)
    [mismatch] = (await reconcile(engine, keys)).mismatches
    assert (mismatch.key, mismatch.field, mismatch.stored, mismatch.expected) == (counter, field, 3, 1)
    assert await engine.trusts() == ["T"]


# -- attainment by attendance band, and the persistent absentees by pupil ---------------------------


def result(pupil_id: str, subject: str, band: str | None, version: int = 1, period: str = "AUT1",
           school_id: str = "S1", kind=AssessmentLocked):
    return kind(trust_id="T", pupil_id=pupil_id, school_id=school_id, academic_year="2025/26", period=period,
                year_group="Y3", subject=subject, entered_band=band, locked_band=band, version=version)


def beside_attainment(record) -> dict[tuple[str, str, str], int]:
    """(period, measure, "attendance band.band") -> pupils, from a pupil's recorded contributions."""
    found: Counter = Counter()
    for (key, field), value in recorded_counters(RULES, attendance_keyspace("tm", "T"), record, "A").items():
        if ":att-attainment:" in key:
            _year, period, measure, _school = key.split(":att-attainment:")[1].split(":")
            found[(period, measure, field.rsplit("|", 1)[1])] += value
    return dict(+found)


def test_a_result_is_counted_under_the_pupils_attendance_band_in_its_own_period():
    # AUT1: 2 of 10 sessions missed (20%: persistent, not severe); AUT2: no marks
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "ppIpppppGp"), result("A", "reading", "AT"),
                         result("A", "maths", "BELOW"), result("A", "reading", "ABOVE", period="AUT2")])
    assert beside_attainment(state) == {
        ("AUT1", "reading", "persistent.AT"): 1, ("AUT1", "maths", "persistent.BELOW"): 1,
        ("AUT2", "reading", "unrecorded.ABOVE"): 1,
    }


def test_a_mark_moves_the_results_of_its_period_between_attendance_bands():
    before = fold(RULES, [pupil("A"), *week("A", SEP8, "pppppppppp"), result("A", "reading", "AT")])
    assert beside_attainment(before) == {("AUT1", "reading", "regular.AT"): 1}
    marks = [mark("A", SEP8 + timedelta(days=n // 2), ("AM", "PM")[n % 2], "I", version=2) for n in range(5)]
    after = fold(RULES, marks, before)  # 5 of 10 missed: severe (50% exactly)
    assert beside_attainment(after) == {("AUT1", "reading", "severe.AT"): 1}


def test_an_unlocked_or_draft_result_counts_nowhere_and_an_older_one_changes_nothing():
    locked, unlocked = result("A", "reading", "AT"), result("A", "reading", None, version=2, kind=AssessmentUnlocked)
    assert beside_attainment(fold(RULES, [pupil("A"), locked, unlocked])) == {}
    assert beside_attainment(fold(RULES, [pupil("A"), unlocked, locked])) == {}
    draft = result("A", "reading", None, kind=AssessmentEntered).model_copy(update={"entered_band": Band.AT})
    assert beside_attainment(fold(RULES, [pupil("A"), draft])) == {}


def test_the_combined_measure_is_counted_beside_its_subjects():
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "pppppppppp"),
                         *(result("A", subject, "AT") for subject in ("reading", "writing", "maths"))])
    assert beside_attainment(state)[("AUT1", "rwm", "regular.AT")] == 1
    assert ("AUT1", "pupils", "regular.AT") not in beside_attainment(state)  # presence is not a measure


def test_the_sessions_of_every_enrolment_in_the_period_decide_the_band():
    # 1 of 10 missed at S1 and 1 of 10 at S2: 2 of 20, each enrolment persistent, the pupil persistent
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "Ippppppppp"), *week("A", SEP15, "Ippppppppp", school_id="S2"),
                         result("A", "reading", "AT", school_id="S2")])
    assert beside_attainment(state) == {("AUT1", "reading", "persistent.AT"): 1}


def absentees(record) -> set[str]:
    """"window absent:possible" of every pupil-list entry of a pupil's recorded contributions."""
    return {key.split(":att-absentees:")[1].split(":")[1] + " " + field.rsplit("|", 1)[1]
            for (key, field), n in recorded_counters(RULES, attendance_keyspace("tm", "T"), record, "A").items()
            if ":att-absentees:" in key and n}


def test_a_persistent_absentee_enrolment_is_listed_by_pupil_with_its_own_sessions():
    state = fold(RULES, [pupil("A"), *week("A", SEP8, "pppppppppp"), *week("A", SEP15, "Ippppppppp")])
    assert absentees(state) == {"2025-09-15 1:10"}  # 1 of 10 that week is 10%; 1 of 20 in AUT1 is 5%, not listed
    [(key, field)] = [k for k in recorded_counters(RULES, attendance_keyspace("tm", "T"), state, "A") if ":att-absentees:" in k[0]]
    assert (key, field) == ("tm-attendance:{T}:att-absentees:2025/26:2025-09-15:S1",
                            "A|Y3|F|0|N|0|WHITE|0||1:10")
    state = fold(RULES, [mark("A", SEP15 + timedelta(days=4), "PM", "O", version=2)], state)
    assert absentees(state) == {"2025-09-15 2:10", "AUT1 2:20", "YTD 2:20"}  # 2 of 20 is exactly 10%: listed
