"""The attendance counters equal a from-scratch recomputation, whatever the delivery.

Random streams of register marks (corrections of the same session, duplicates, reordering,
redelivery, a week that straddles two periods, two academic years, school moves and year groups
carried on the marks) and pupil snapshots (characteristic changes) go through the real engine and a
real Redis (a single server and a cluster); every counter of every window (week, period, year to date) must equal the plain
reference (`tidemark_metrics.testing`), computed from the latest mark of each session and the latest pupil record.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_metrics.testing import (
    AUTHORISED,
    POSSIBLE,
    UNAUTHORISED,
    attendance_reference,
    stored_attendance_counters,
)
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.redis import RedisClient
from tidemark_schemas.aggregates import Cell, Keyspace, attendance_keyspace, encode_cell
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.ethnicity import ethnic_group
from tidemark_schemas.events import AssessmentEvent, AssessmentLocked, AssessmentUnlocked, AttendanceMarked, PupilUpserted
from tidemark_schemas.vocabulary import YearGroup

TRUST = "T"
PUPILS = ("P1", "P2")
SCHOOLS = ("S1", "S2")
DATES = (
    date(2023, 12, 20),  # Wednesday, the last day of AUT2 2023/24 ...
    date(2023, 12, 21),  # ... and Thursday of the same week, in SPR1: the week straddles two periods
    date(2025, 9, 8), date(2025, 9, 9),  # AUT1 2025/26, one week
    date(2025, 9, 15),  # the next week
    date(2025, 11, 3),  # AUT2
)
CODES = ("/", "\\", "L", "B", "I", "M", "H", "G", "O", "X", "D", "Y1", "#", "-")

CALENDAR = PeriodCalendar()
RULES = AttendanceProjection(CALENDAR)


pupil_snapshot = st.builds(
    lambda pupil_id, school, sex, fsm6, sen, eal, ethnicity: dict(
        trust_id=TRUST, pupil_id=pupil_id, school_id=school, year_group="Y3", sex=sex, fsm6=fsm6, lac=False,
        plac=False, sen=sen, eal=eal, ethnicity=ethnicity, left_on=None,
    ),
    st.sampled_from(PUPILS), st.sampled_from(SCHOOLS), st.sampled_from(["F", "M"]), st.booleans(),
    st.sampled_from(["N", "K", "E"]), st.booleans(), st.sampled_from(["WBRI", "APKN"]),
)
mark_snapshot = st.builds(
    lambda pupil_id, day, session, code, school, year_group: dict(
        trust_id=TRUST, pupil_id=pupil_id, date=day, session=session, code=code, school_id=school,
        year_group=year_group,
    ),
    st.sampled_from(PUPILS), st.sampled_from(DATES), st.sampled_from(["AM", "PM"]), st.sampled_from(CODES),
    st.sampled_from(SCHOOLS), st.sampled_from(["Y3", "Y3", "R"]),
)


def versioned(snapshots: list[dict]) -> list:
    """Give each fact's successive snapshots versions 1, 2, 3, ... as ingest would."""
    versions: Counter = Counter()
    events = []
    for snapshot in snapshots:
        fact = (snapshot["pupil_id"],) if "sex" in snapshot else (snapshot["pupil_id"], snapshot["date"], snapshot["session"])
        versions[fact] += 1
        kind = PupilUpserted if "sex" in snapshot else AttendanceMarked
        events.append(kind(**snapshot, version=versions[fact]))
    return events


def latest(events: list) -> tuple[dict, dict]:
    pupils: dict[str, PupilUpserted] = {}
    marks: dict[tuple, AttendanceMarked] = {}
    for event in events:
        key = event.pupil_id if isinstance(event, PupilUpserted) else (event.pupil_id, event.date, event.session)
        found = pupils if isinstance(event, PupilUpserted) else marks
        if key not in found or found[key].version < event.version:
            found[key] = event
    return pupils, marks


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    snapshots=st.lists(st.one_of(pupil_snapshot, mark_snapshot, mark_snapshot, mark_snapshot), min_size=1, max_size=50),
    data=st.data(),
)
async def test_attendance_counters_equal_a_recomputation_whatever_the_delivery(redis_client, snapshots, data):
    events = versioned(snapshots)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
    delivery = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=5)))
    batches = [delivery[a:b] for a, b in itertools.pairwise([0, *cuts, len(delivery)])]

    redis = redis_client
    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = ProjectionEngine(redis, prefix, RULES)
    keys = attendance_keyspace(prefix, TRUST)
    try:
        for batch in batches:
            await engine.apply(batch)
        await engine.apply(delivery)  # a whole redelivery changes nothing
        assert await stored_attendance_counters(redis, keys) == attendance_reference(CALENDAR, *latest(events))
        assert (await reconcile(engine, keys)).consistent
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)


# -- attainment by attendance band, and the persistent absentees by pupil ---------------------------

RESULT_PERIODS = (("2023/24", "AUT2"), ("2023/24", "SPR1"), ("2025/26", "AUT1"), ("2025/26", "AUT2"))
"""The periods of `DATES`, so results meet marks (and a period with a result and no mark)."""
SUBJECTS = ("reading", "science")
"""Two subjects that make no combined measure, so the reference needs no combination rule."""


def attendance_band_of(absent: int, possible: int) -> str:
    """The reference's own reading of the bands: none possible, under 10%, 10% to under 50%, 50% or more."""
    if not possible:
        return "unrecorded"
    return "severe" if absent / possible >= 0.5 else "persistent" if absent / possible >= 0.1 else "regular"


def cell_of(pupil: PupilUpserted, year_group: str) -> str:
    return encode_cell(Cell(YearGroup(year_group), pupil.sex, pupil.disadvantaged, pupil.sen, pupil.eal,
                            ethnic_group(pupil.ethnicity), pupil.lac))


def joined_reference(pupils: dict[str, PupilUpserted], marks: dict[tuple, AttendanceMarked],
                     results: dict[tuple, AssessmentEvent]) -> Counter:
    """From scratch: each locked result under its school, cell and the pupil's attendance band in
    its period (sessions of every enrolment pooled); each persistent absentee enrolment per window
    by pupil with its own absent and possible sessions."""
    sessions: dict[tuple, Counter] = defaultdict(Counter)  # (pupil, year, window, school, year group) -> codes
    for (pupil_id, day, _session), mark in marks.items():
        year, period = CALENDAR.period_of(day).academic_year, CALENDAR.period_of(day).period
        for window in ("YTD", period, (day - date.resolution * day.weekday()).isoformat()):
            sessions[(pupil_id, year, window, mark.school_id, mark.year_group.value)][mark.code] += 1
    counters: Counter = Counter()

    def absent_possible(codes: Counter) -> tuple[int, int]:
        possible = sum(n for code, n in codes.items() if code in POSSIBLE | {"/", "\\"})
        return sum(n for code, n in codes.items() if code in AUTHORISED | UNAUTHORISED), possible

    for (pupil_id, year, window, school, year_group), codes in sessions.items():
        absent, possible = absent_possible(codes)
        if pupil_id in pupils and possible and absent / possible >= 0.1:
            counters[("att-absentees", f"{year}:{window}:{school}",
                      f"{pupil_id}|{cell_of(pupils[pupil_id], year_group)}{absent}:{possible}")] += 1
    for (pupil_id, year, period, subject), result in results.items():
        if pupil_id not in pupils or result.locked_band is None:
            continue
        pooled: Counter = sum((codes for (p, y, w, _s, _g), codes in sessions.items()
                               if (p, y, w) == (pupil_id, year, period)), Counter())
        band = attendance_band_of(*absent_possible(pooled))
        counters[("att-attainment", f"{year}:{period}:{subject}:{result.school_id}",
                  f"{cell_of(pupils[pupil_id], result.year_group.value)}{band}.{result.locked_band.value}")] += 1
    return counters


async def joined_counters(redis: RedisClient, keys: Keyspace) -> Counter:
    found: Counter = Counter()
    for kind in ("att-absentees", "att-attainment"):
        async for key in redis.scan_iter(match=f"{keys.base}:{kind}:*"):
            for field, value in (await redis.hgetall(key)).items():
                found[(kind, key.decode()[len(f"{keys.base}:{kind}:"):], field.decode())] += int(value)
    return +found


result_snapshot = st.builds(
    lambda pupil_id, year_period, subject, school, band, kind: dict(
        kind=kind, trust_id=TRUST, pupil_id=pupil_id, school_id=school, academic_year=year_period[0],
        period=year_period[1], year_group="Y3", subject=subject, entered_band=band,
        locked_band=band if kind is AssessmentLocked else None,
    ),
    st.sampled_from(PUPILS), st.sampled_from(RESULT_PERIODS), st.sampled_from(SUBJECTS), st.sampled_from(SCHOOLS),
    st.sampled_from(["BELOW", "AT", "ABOVE"]), st.sampled_from([AssessmentLocked, AssessmentLocked, AssessmentUnlocked]),
)


def with_versions(snapshots: list[dict]) -> list:
    versions: Counter = Counter()
    events = []
    for snapshot in snapshots:
        if "kind" in snapshot:
            kind, fields = snapshot["kind"], {k: v for k, v in snapshot.items() if k != "kind"}
            fact: tuple = (fields["pupil_id"], fields["academic_year"], fields["period"], fields["subject"])
        else:
            kind = PupilUpserted if "sex" in snapshot else AttendanceMarked
            fields = snapshot
            fact = (snapshot["pupil_id"],) if "sex" in snapshot else (snapshot["pupil_id"], snapshot["date"], snapshot["session"])
        versions[fact] += 1
        events.append(kind(**fields, version=versions[fact]))
    return events


def latest_all(events: list) -> tuple[dict, dict, dict]:
    pupils, marks = latest([e for e in events if isinstance(e, PupilUpserted | AttendanceMarked)])
    results: dict[tuple, AssessmentEvent] = {}
    for event in events:
        if isinstance(event, AssessmentLocked | AssessmentUnlocked):
            key = (event.pupil_id, event.academic_year, event.period, event.subject)
            if key not in results or results[key].version < event.version:
                results[key] = event
    return pupils, marks, results


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    snapshots=st.lists(st.one_of(pupil_snapshot, mark_snapshot, mark_snapshot, mark_snapshot, result_snapshot),
                       min_size=1, max_size=50),
    data=st.data(),
)
async def test_attainment_by_attendance_band_and_the_absentees_equal_a_recomputation(redis_client, snapshots, data):
    events = with_versions(snapshots)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
    delivery = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=5)))
    batches = [delivery[a:b] for a, b in itertools.pairwise([0, *cuts, len(delivery)])]

    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = ProjectionEngine(redis_client, prefix, RULES)
    keys = attendance_keyspace(prefix, TRUST)
    try:
        for batch in batches:
            await engine.apply(batch)
        await engine.apply(delivery)
        pupils, marks, results = latest_all(events)
        assert await joined_counters(redis_client, keys) == +joined_reference(pupils, marks, results)
        assert await stored_attendance_counters(redis_client, keys) == attendance_reference(CALENDAR, pupils, marks)  # the results move none of these
        assert (await reconcile(engine, keys)).consistent
    finally:
        async for key in redis_client.scan_iter(match=f"{prefix}*"):
            await redis_client.delete(key)
