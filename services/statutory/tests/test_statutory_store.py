"""The statutory projection in Redis equals a from-scratch recomputation, whatever the delivery.

Random streams of snapshots (pupils with characteristic changes and leavers, KS1 teacher
assessments that set the prior attainment, KS2 tests, and reading / writing / maths locks in two
periods) with duplicates, reordering and redelivery go through the real projection engine and Redis
(one server, and a Redis Cluster of three masters); the counters must equal the plain reference
below, computed from the latest facts.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tidemark_schemas.aggregates import statutory_keyspace
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import AssessmentLocked, AssessmentUnlocked, PupilUpserted, StatutoryLocked
from tidemark_schemas.progress import progress_category
from tidemark_schemas.rules import combined_rwm, on_roll_during
from tidemark_schemas.statutory import COMPONENTS, Assessment, StatutoryValue
from tidemark_schemas.vocabulary import YearGroup
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.redis import RedisClient
from tidemark_statutory.domain.projection import STATUTORY
from tidemark_statutory.domain.contributions import measure_year_group
from tidemark_statutory.domain.outcomes import outcomes, prior_attainment, statutory_leaver

TRUST = "T"
PUPILS = ("P1", "P2")
SCHOOLS = ("S1", "S2")
SLOTS = (("2025/26", "AUT2"), ("2025/26", "SPR1"))
KS1_YEAR, KS2_YEAR = "2022/23", "2025/26"


def reference(pupils: dict, statutory: dict, summative: dict) -> Counter:
    """Counters from scratch: per pupil with a record, one per statutory measure they are eligible
    for (not as a leaver), under the school of their first result of that assessment and year; and
    per period with all of reading, writing and maths locked, one per progress category and one in
    the list of pupils, under the reading result's school and year group."""
    counters: Counter = Counter()
    for pupil_id, pupil in pupils.items():
        c = Characteristics.of(pupil)
        mine = {key[1:]: event for key, event in statutory.items() if key[0] == pupil_id}
        locked = {key: event.locked for key, event in mine.items() if event.locked is not None}
        for (year, measure), label in outcomes(locked).items():
            if statutory_leaver(pupil.left_on, year):
                continue
            assessment = next(a for a in Assessment if measure.startswith(a.value + "."))
            order = list(COMPONENTS[assessment])
            firsts = sorted((order.index(k[2]), e.school_id) for k, e in mine.items() if k[0] == year and k[1] == assessment)
            school = firsts[0][1] if firsts else max((k[0], e.school_id) for k, e in mine.items() if k[1] == assessment)[1]
            counters[("stat", year, measure, school, c.cell(measure_year_group(measure).value, year) + label)] += 1
        for year, period in SLOTS:
            results = {key[3]: event for key, event in summative.items() if key[:3] == (pupil_id, year, period)}
            bands = {s: e.locked_band for s, e in results.items() if e.locked_band is not None}
            band = combined_rwm(bands)
            if band is None or not on_roll_during(pupil.left_on, PeriodRef(year, period)):
                continue
            reading = results["reading"]
            category = progress_category(prior_attainment(locked, YearGroup(reading.year_group)), band)
            field = c.cell(reading.year_group.value, year) + category.value
            counters[("progress", year, period, reading.school_id, field)] += 1
            counters[("pupils", year, period, reading.school_id, f"{pupil_id}|{field}")] += 1
    return counters


async def stored(redis: RedisClient, prefix: str) -> Counter:
    keys = statutory_keyspace(prefix, TRUST)
    found: Counter = Counter()
    for kind in ("stat", "progress", "progress-pupils"):
        async for key in redis.scan_iter(match=f"{keys.base}:{kind}:*"):
            year, second, school = key.decode().split(f":{kind}:")[1].split(":")
            name = "pupils" if kind == "progress-pupils" else kind
            for field, value in (await redis.hgetall(key)).items():
                found[(name, year, second, school, field.decode())] += int(value)
    return +found


pupil_snapshot = st.builds(
    lambda pupil_id, school, sex, fsm6, sen, left, classes: dict(
        kind="pupil", trust_id=TRUST, pupil_id=pupil_id, school_id=school, year_group="Y4", sex=sex, fsm6=fsm6,
        lac=False, plac=False, sen=sen, eal=False, ethnicity="WBRI", left_on=left, classes=classes,
    ),
    st.sampled_from(PUPILS), st.sampled_from(SCHOOLS), st.sampled_from(["F", "M"]), st.booleans(),
    st.sampled_from(["N", "K"]), st.sampled_from([None, None, date(2026, 1, 10), date(2023, 3, 1)]),
    st.fixed_dictionaries({}, optional={KS1_YEAR: st.sampled_from(["C1", "C2"]),
                                        KS2_YEAR: st.sampled_from(["C3", "C4"])}),
)
"""A pupil (and their class in the KS1 and this year, or not: a move is a later snapshot)."""
KS1_CODES = st.sampled_from([None, "GDS", "EXS", "WTS", "PK3", "L"])
statutory_snapshot = st.one_of(
    st.builds(
        lambda pupil_id, component, school, code: dict(
            kind="statutory", trust_id=TRUST, pupil_id=pupil_id, school_id=school, academic_year=KS1_YEAR,
            assessment="ks1", component=component, code=code),
        st.sampled_from(PUPILS), st.sampled_from(["reading_ta", "writing_ta", "maths_ta"]),
        st.sampled_from(SCHOOLS), KS1_CODES,
    ),
    st.builds(
        lambda pupil_id, component, school, scaled: dict(
            kind="statutory", trust_id=TRUST, pupil_id=pupil_id, school_id=school, academic_year=KS2_YEAR,
            assessment="ks2", component=component, scaled=scaled),
        st.sampled_from(PUPILS), st.sampled_from(["reading_test", "maths_test"]), st.sampled_from(SCHOOLS),
        st.sampled_from([None, 99, 100, 110]),
    ),
)
BAND_OR_NONE = st.sampled_from([None, "BELOW", "AT", "AT", "ABOVE"])
period_lock = st.builds(
    lambda pupil_id, slot, school, bands: [
        dict(kind="result", trust_id=TRUST, pupil_id=pupil_id, academic_year=slot[0], period=slot[1],
             subject=subject, school_id=school, year_group="Y4", entered_band=band or "AT", locked_band=band)
        for subject, band in bands.items()
    ],
    st.sampled_from(PUPILS), st.sampled_from(SLOTS), st.sampled_from(SCHOOLS),
    st.fixed_dictionaries({"reading": BAND_OR_NONE, "writing": BAND_OR_NONE, "maths": BAND_OR_NONE,
                           "science": BAND_OR_NONE}),
)
"""A teacher locks one pupil's period: reading, writing, maths (and science, which is ignored here)."""


def versioned(snapshots: list[dict | list[dict]]) -> list:
    versions: Counter = Counter()
    events = []
    flat = [item for snapshot in snapshots for item in (snapshot if isinstance(snapshot, list) else [snapshot])]
    for snapshot in flat:
        kind = snapshot.pop("kind")
        if kind == "pupil":
            fact = ("pupil", snapshot["pupil_id"])
            versions[fact] += 1
            events.append(PupilUpserted(**snapshot, version=versions[fact]))
        elif kind == "statutory":
            code, scaled = snapshot.pop("code", None), snapshot.pop("scaled", None)
            value = StatutoryValue(code=code, scaled_score=scaled) if code or scaled else None
            fact = ("st", snapshot["pupil_id"], snapshot["assessment"], snapshot["component"])
            versions[fact] += 1
            events.append(StatutoryLocked(**snapshot, entered=value, locked=value, version=versions[fact]))
        else:
            fact = ("r", snapshot["pupil_id"], snapshot["academic_year"], snapshot["period"], snapshot["subject"])
            versions[fact] += 1
            cls = AssessmentLocked if snapshot["locked_band"] else AssessmentUnlocked
            events.append(cls(**snapshot, version=versions[fact]))
    return events


def latest(events: list) -> tuple[dict, dict, dict]:
    pupils, statutory, summative = {}, {}, {}
    for event in events:
        if isinstance(event, PupilUpserted):
            table, key = pupils, event.pupil_id
        elif isinstance(event, StatutoryLocked):
            table, key = statutory, (event.pupil_id, event.academic_year, event.assessment, event.component)
        else:
            table, key = summative, (event.pupil_id, event.academic_year, event.period, event.subject)
        if key not in table or table[key].version < event.version:
            table[key] = event
    return pupils, statutory, summative


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    snapshots=st.lists(st.one_of(pupil_snapshot, statutory_snapshot, period_lock), min_size=1, max_size=25),
    data=st.data(),
)
async def test_the_statutory_projection_equals_a_recomputation_whatever_the_delivery(redis_client, snapshots, data):
    events = versioned([[dict(i) for i in s] if isinstance(s, list) else dict(s) for s in snapshots])
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
    delivery = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=5)))
    batches = [delivery[a:b] for a, b in itertools.pairwise([0, *cuts, len(delivery)])]

    redis = redis_client
    prefix = f"stprop{uuid.uuid4().hex[:8]}"
    store = ProjectionEngine(redis, prefix, STATUTORY)
    try:
        for batch in batches:
            await store.apply(batch)
        await store.apply(delivery)  # a whole redelivery changes nothing
        assert await stored(redis, prefix) == +reference(*latest(events))
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)


async def test_a_category_change_is_reported_once_with_before_and_after(redis_url):
    redis = Redis.from_url(redis_url)
    prefix = f"stcat{uuid.uuid4().hex[:8]}"
    store = ProjectionEngine(redis, prefix, STATUTORY)
    pupil = PupilUpserted(trust_id=TRUST, pupil_id="P1", school_id="S1", year_group="Y4", sex="F", fsm6=False,
                          lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1)
    ks1 = [StatutoryLocked(trust_id=TRUST, pupil_id="P1", school_id="S1", academic_year=KS1_YEAR, assessment="ks1",
                           component=c, entered=StatutoryValue(code="EXS"), locked=StatutoryValue(code="EXS"), version=1)
           for c in ("reading_ta", "writing_ta", "maths_ta")]

    def lock(subject: str, band: str, version: int) -> AssessmentLocked:
        return AssessmentLocked(trust_id=TRUST, pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT2",
                                year_group="Y4", subject=subject, entered_band=band, locked_band=band, version=version)

    try:
        first = await store.apply([pupil, *ks1, lock("reading", "AT", 1), lock("writing", "AT", 1), lock("maths", "AT", 1)])
        again = await store.apply([lock("maths", "AT", 1)])
        corrected = await store.apply([lock("maths", "BELOW", 2)])
        assert [(c.previous, c.current) for c in first.outputs] == [(None, "on_track_at")]
        assert again.outputs == []
        assert [(c.pupil_id, c.period, c.previous, c.current) for c in corrected.outputs] == [
            ("P1", "AUT2", "on_track_at", "not_on_track_below")]
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*"):
            await redis.delete(key)
        await redis.aclose()
