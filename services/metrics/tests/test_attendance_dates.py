"""A Trust that sets its own dates gets figures equal to a from-scratch computation by those dates.

Random register streams are applied with the English default dates; then the Trust sets its own
(an earlier end of AUT1 and a later start of SPR2, so whole weeks change period), the event is
consumed, and the attendance is re-dated from a replay of the stored facts (`AttendanceEngine`).
Every counter of every window must then equal the plain reference computed with the Trust's dates,
and stay so while more marks arrive; the event redelivered changes nothing, and a re-dating that
dies mid-way leaves the live figures as they were and is done whole the next time.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tidemark_metrics.adapters.attendance_engine import AttendanceEngine
from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_metrics.testing import attendance_reference, stored_attendance_counters
from tidemark_runtime.projections.operations import live_keys, reconcile
from tidemark_runtime.redis import RedisClient
from tidemark_schemas.aggregates import attendance_keyspace
from tidemark_schemas.calendar import PeriodCalendar, english_default
from tidemark_schemas.events import AttendanceMarked, PupilUpserted, TrustCalendarSet, stored_dates
from tidemark_schemas.records import CalendarRecord, HalfTermDates, TermDates
from tidemark_schemas.replay import FACT_KINDS, FactKind

TRUST = "T"
YEAR = "2025/26"
PUPILS = ("P1", "P2", "P3")
SCHOOLS = ("S1", "S2")
DEFAULT = english_default(YEAR)
OWN = CalendarRecord.of(DEFAULT).model_copy(update={"half_terms": HalfTermDates(**{
    **dict(CalendarRecord.of(DEFAULT).half_terms),
    "AUT1": TermDates(first_day=date(2025, 9, 3), last_day=date(2025, 10, 17)),  # the default ends on 24 October
    "AUT2": TermDates(first_day=date(2025, 10, 27), last_day=date(2025, 12, 19)),
    "SPR1": TermDates(first_day=date(2026, 1, 5), last_day=date(2026, 2, 20)),  # the default ends on 13 February
    "SPR2": TermDates(first_day=date(2026, 3, 2), last_day=date(2026, 3, 27)),
})})
DATES = (
    date(2025, 10, 15),  # AUT1 in both
    date(2025, 10, 20), date(2025, 10, 24),  # AUT1 by default, AUT2 by the Trust's dates
    date(2025, 11, 3),  # AUT2 in both
    date(2026, 2, 16), date(2026, 2, 19),  # SPR2 by default (its half-term week), SPR1 by the Trust's dates
    date(2026, 3, 10),  # SPR2 in both
)
CODES = ("/", "\\", "L", "I", "M", "G", "O", "X", "-")
RULES = AttendanceProjection(PeriodCalendar())


def calendar_event(version: int = 1, record: CalendarRecord = OWN) -> TrustCalendarSet:
    return TrustCalendarSet(trust_id=TRUST, academic_year=YEAR, version=version, **dict(record))


def pupil(pupil_id: str, sex: str = "F", sen: str = "N") -> dict[str, Any]:
    return dict(trust_id=TRUST, pupil_id=pupil_id, school_id="S1", year_group="Y3", sex=sex, fsm6=False, lac=False,
                plac=False, sen=sen, eal=False, ethnicity="WBRI", left_on=None)


mark_snapshot = st.builds(
    lambda pupil_id, day, session, code, school: dict(
        trust_id=TRUST, pupil_id=pupil_id, date=day, session=session, code=code, school_id=school, year_group="Y3",
    ),
    st.sampled_from(PUPILS), st.sampled_from(DATES), st.sampled_from(["AM", "PM"]), st.sampled_from(CODES),
    st.sampled_from(SCHOOLS),
)


def versioned(snapshots: list[dict]) -> list[AttendanceMarked]:
    versions: Counter = Counter()
    events = []
    for snapshot in snapshots:
        fact = (snapshot["pupil_id"], snapshot["date"], snapshot["session"])
        versions[fact] += 1
        events.append(AttendanceMarked(**snapshot, version=versions[fact]))
    return events


def latest(events: Sequence[AttendanceMarked]) -> dict[tuple, AttendanceMarked]:
    found: dict[tuple, AttendanceMarked] = {}
    for event in events:
        key = (event.pupil_id, event.date, event.session)
        if key not in found or found[key].version < event.version:
            found[key] = event
    return found


class StoredFacts:
    """A replay (`operations.FactSource`) of the facts stored: the Trust's dates first, then the
    pupils and each session's latest mark, in pages; `fail_after` pages, it dies (ingest gone)."""

    def __init__(self, facts: list[Any], page: int = 7, fail_after: int | None = None) -> None:
        self._facts, self._page, self._fail_after = facts, page, fail_after

    async def trust_ids(self) -> list[str]:
        return [TRUST]

    async def facts(self, trust_id: str, kinds: Collection[FactKind] | None = None) -> AsyncIterator[Sequence[Any]]:
        assert kinds is None or {FACT_KINDS[type(fact)] for fact in self._facts} <= set(kinds)  # all it holds
        for number, start in enumerate(range(0, len(self._facts), self._page)):
            if self._fail_after is not None and number >= self._fail_after:
                raise ConnectionError("ingest's replay stopped answering")
            yield self._facts[start:start + self._page]

    async def close(self) -> None:
        pass


async def forget(redis: RedisClient, prefix: str) -> None:
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snapshots=st.lists(mark_snapshot, min_size=1, max_size=40), later=st.lists(mark_snapshot, max_size=10),
       data=st.data())
async def test_figures_after_a_trust_sets_its_dates_equal_a_computation_by_those_dates(
    redis_client, snapshots, later, data
):
    redis = redis_client
    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = AttendanceEngine(redis, prefix, RULES)
    keys = attendance_keyspace(prefix, TRUST)
    pupils = {p: PupilUpserted(**pupil(p, sex=s), version=1) for p, s in zip(PUPILS, "FMF", strict=True)}
    marks = versioned(snapshots + later)
    before, after = marks[:len(snapshots)], marks[len(snapshots):]
    own = PeriodCalendar(dates={YEAR: OWN.year_dates(YEAR)})
    try:
        delivery = data.draw(st.permutations([*pupils.values(), *before]))
        cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=3)))
        for a, b in itertools.pairwise([0, *cuts, len(delivery)]):
            await engine.apply(delivery[a:b])
        assert await stored_attendance_counters(redis, keys) == attendance_reference(PeriodCalendar(), pupils, latest(before))

        await engine.apply([calendar_event()])  # consumed: recorded, the figures not yet re-dated
        assert await engine.needs_redating(TRUST)
        facts = [calendar_event(), *pupils.values(), *latest(before).values()]
        report = await engine.redate(TRUST, lambda: StoredFacts(facts), grace_seconds=0)

        assert report is not None
        live = await live_keys(redis, keys)
        assert live.generation == report.generation
        assert await stored_attendance_counters(redis, live) == attendance_reference(own, pupils, latest(before))
        assert not await engine.needs_redating(TRUST)

        await engine.apply(after)  # marks after the change fall in the Trust's periods
        await engine.apply([calendar_event()])  # redelivered: nothing to do
        assert not await engine.needs_redating(TRUST)
        assert await engine.redate_all(lambda: StoredFacts(facts)) == []
        assert await stored_attendance_counters(redis, live) == attendance_reference(own, pupils, latest(marks))
        assert (await reconcile(engine, live)).consistent
    finally:
        await forget(redis, prefix)


async def test_a_redating_that_dies_mid_way_leaves_the_figures_whole_and_is_done_the_next_time(redis_client):
    redis = redis_client
    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = AttendanceEngine(redis, prefix, RULES)
    keys = attendance_keyspace(prefix, TRUST)
    pupils = {p: PupilUpserted(**pupil(p), version=1) for p in PUPILS}
    marks = [AttendanceMarked(trust_id=TRUST, pupil_id=p, date=day, session=session, code=code, school_id="S1",
                              year_group="Y3", version=1)
             for p, code in zip(PUPILS, ("/", "I", "O"), strict=True) for day in DATES for session in ("AM", "PM")]
    facts = [calendar_event(), *pupils.values(), *marks]
    own = PeriodCalendar(dates={YEAR: OWN.year_dates(YEAR)})
    try:
        await engine.apply([*pupils.values(), *marks, calendar_event()])
        with pytest.raises(ConnectionError):
            await engine.redate(TRUST, lambda: StoredFacts(facts, page=5, fail_after=2), grace_seconds=0)

        assert (await live_keys(redis, keys)).generation == ""
        assert await stored_attendance_counters(redis, keys) == attendance_reference(PeriodCalendar(), pupils, latest(marks))
        assert await redis.smembers(keys.building_key) == set()
        assert await redis.get(keys.redating_key) is None
        assert await engine.needs_redating(TRUST)

        assert len(await engine.redate_all(lambda: StoredFacts(facts, page=5))) == 1
        live = await live_keys(redis, keys)
        assert await stored_attendance_counters(redis, live) == attendance_reference(own, pupils, latest(marks))
        assert attendance_reference(own, pupils, latest(marks)) != attendance_reference(PeriodCalendar(), pupils, latest(marks))
    finally:
        await forget(redis, prefix)


async def test_new_dates_of_a_trust_are_recorded_once_and_an_older_version_never_wins(redis_client):
    redis = redis_client
    prefix = f"att-{uuid.uuid4().hex[:8]}"
    engine = AttendanceEngine(redis, prefix, RULES)
    keys = attendance_keyspace(prefix, TRUST)
    moved = OWN.model_copy(update={"closures": [date(2025, 11, 14)]})
    try:
        await engine.apply([calendar_event(2, moved), calendar_event(1)])
        recorded = stored_dates(await redis.hgetall(keys.calendar_key))
        assert list(recorded) == [YEAR]
        assert (recorded[YEAR].version, recorded[YEAR].closures) == (2, [date(2025, 11, 14)])
        assert await engine.dated_trusts() == [TRUST]
    finally:
        await forget(redis, prefix)
