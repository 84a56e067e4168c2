"""The Redis aggregates equal a from-scratch recomputation, whatever the delivery order.

Random streams of snapshots (with duplicates, reordering, corrections, unlocks, characteristic
changes, leavers, school moves and class moves in any academic year) go through the real projection engine and a real Redis (one
server, and a Redis Cluster of three masters); the counters must equal the obviously-correct
reference below, computed from the latest facts.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.redis import RedisClient
from tidemark_schemas.aggregates import Cell, Keyspace, encode_field
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.ethnicity import ethnic_group
from tidemark_schemas.events import AssessmentEntered, AssessmentLocked, AssessmentUnlocked, PupilUpserted
from tidemark_schemas.rules import combined_rwm, on_roll_during
from tidemark_schemas.vocabulary import Band

TRUST = "T"
PUPILS = ("P1", "P2")
SCHOOLS = ("S1", "S2")
SLOTS = (("2024/25", "SUM2"), ("2025/26", "AUT2"), ("2025/26", "SPR1"))
SUBJECTS = ("reading", "writing", "maths")


def reference(pupils: dict[str, PupilUpserted], results: dict[tuple, AssessmentLocked | AssessmentUnlocked]) -> Counter:
    """Counters from scratch: each pupil with a record counts once per locked result, per RWM, for
    being present (any locked result), per entered value, and once on the roll if not a leaver."""
    counters: Counter = Counter()
    for pupil in pupils.values():
        if pupil.left_on is None:
            latest_class = pupil.classes[max(pupil.classes)] if pupil.classes else ""
            cell = Cell(pupil.year_group, pupil.sex, pupil.disadvantaged, pupil.sen, pupil.eal,
                        ethnic_group(pupil.ethnicity), pupil.lac, latest_class)
            counters[("-", "-", "roll", pupil.school_id, encode_field(cell, Band.AT))] += 1
    for (pupil_id, year, period), group in itertools.groupby(
        sorted(results.items()), key=lambda item: item[0][:3]
    ):
        pupil = pupils.get(pupil_id)
        if pupil is None or not on_roll_during(pupil.left_on, PeriodRef(year, period)):
            continue
        facts = dict((key[3], event) for key, event in group)
        locked = {subject: event for subject, event in facts.items() if event.locked_band is not None}

        def count(measure: str, anchor, band: Band) -> None:
            cell = Cell(anchor.year_group, pupil.sex, pupil.disadvantaged, pupil.sen, pupil.eal,
                        ethnic_group(pupil.ethnicity), pupil.lac, pupil.classes.get(year, ""))
            counters[(year, period, measure, anchor.school_id, encode_field(cell, band))] += 1

        for subject, event in facts.items():
            if event.entered_band is not None:
                count(f"entered.{subject}", event, event.entered_band)
        for subject, event in locked.items():
            count(subject, event, event.locked_band)
            if event.locked_code is not None:
                count(f"model.{subject}", event, event.locked_code)
        rwm = combined_rwm({s: e.locked_band for s, e in locked.items()})
        if rwm is not None:
            count("rwm", locked["reading"], rwm)
        if locked:
            count("pupils", locked["reading"] if "reading" in locked else locked[min(locked)], Band.AT)
    return counters


async def stored_counters(redis: RedisClient, keys: Keyspace) -> Counter:
    found: Counter = Counter()
    async for key in redis.scan_iter(match=f"{keys.base}:agg:*"):
        year, period, measure, school = key.decode().split(":agg:")[1].split(":")
        for field, value in (await redis.hgetall(key)).items():
            found[(year, period, measure, school, field.decode())] += int(value)
    async for key in redis.scan_iter(match=f"{keys.base}:roll:*"):
        school = key.decode().split(":roll:")[1]
        for field, value in (await redis.hgetall(key)).items():
            found[("-", "-", "roll", school, field.decode())] += int(value)
    return +found


CLASSES = st.fixed_dictionaries({}, optional={"2024/25": st.sampled_from(["C1", "C2"]),
                                               "2025/26": st.sampled_from(["C3", "C4"])})
"""A pupil's class per academic year: none, last year's only, this year's only or both (a move is
a later snapshot with another class)."""
pupil_snapshot = st.builds(
    lambda pupil_id, school, sex, fsm6, sen, eal, ethnicity, left, classes: dict(
        trust_id=TRUST, pupil_id=pupil_id, school_id=school, year_group="Y4", sex=sex, fsm6=fsm6, lac=False,
        plac=False, sen=sen, eal=eal, ethnicity=ethnicity, left_on=left, classes=classes,
    ),
    st.sampled_from(PUPILS), st.sampled_from(SCHOOLS), st.sampled_from(["F", "M"]), st.booleans(),
    st.sampled_from(["N", "K", "E"]), st.booleans(), st.sampled_from(["WBRI", "APKN", "BAFR"]),
    st.sampled_from([None, None, date(2026, 1, 10), date(2025, 10, 1)]), CLASSES,
)
BANDS_OR_NONE = st.sampled_from([None, "BELOW", "AT", "ABOVE"])
result_snapshot = st.builds(
    lambda pupil_id, slot, subject, school, draft, locked, code: dict(
        trust_id=TRUST, pupil_id=pupil_id, academic_year=slot[0], period=slot[1], subject=subject,
        school_id=school, year_group="Y4", entered_band=draft,
        locked_band=locked if draft is not None else None,  # a lock always follows an entry
        entered_code=code if draft is not None else None,
        locked_code=code if draft is not None and locked is not None else None,
    ),
    st.sampled_from(PUPILS), st.sampled_from(SLOTS), st.sampled_from(SUBJECTS), st.sampled_from(SCHOOLS),
    BANDS_OR_NONE, BANDS_OR_NONE, st.sampled_from([None, "JA", "SA"]),
)


def versioned(snapshots: list[dict]) -> list:
    """Give each fact's successive snapshots versions 1, 2, 3, ... as ingest would."""
    versions: Counter = Counter()
    events = []
    for snapshot in snapshots:
        if "sex" in snapshot:
            versions[snapshot["pupil_id"]] += 1
            events.append(PupilUpserted(**snapshot, version=versions[snapshot["pupil_id"]]))
        else:
            fact = (snapshot["pupil_id"], snapshot["academic_year"], snapshot["period"], snapshot["subject"])
            versions[fact] += 1
            kind = (
                AssessmentLocked if snapshot["locked_band"]
                else AssessmentEntered if snapshot["entered_band"] else AssessmentUnlocked
            )
            events.append(kind(**snapshot, version=versions[fact]))
    return events


def latest(events: list) -> tuple[dict, dict]:
    pupils: dict[str, PupilUpserted] = {}
    results: dict[tuple, AssessmentLocked | AssessmentUnlocked] = {}
    for event in events:
        if isinstance(event, PupilUpserted):
            if event.pupil_id not in pupils or pupils[event.pupil_id].version < event.version:
                pupils[event.pupil_id] = event
        else:
            key = (event.pupil_id, event.academic_year, event.period, event.subject)
            if key not in results or results[key].version < event.version:
                results[key] = event
    return pupils, results


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    snapshots=st.lists(st.one_of(pupil_snapshot, result_snapshot), min_size=1, max_size=40),
    data=st.data(),
)
async def test_aggregates_equal_a_recomputation_whatever_the_delivery(redis_client, snapshots, data):
    events = versioned(snapshots)
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
    delivery = data.draw(st.permutations(events + duplicates))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=5)))
    batches = [delivery[a:b] for a, b in itertools.pairwise([0, *cuts, len(delivery)])]

    redis = redis_client
    prefix = f"prop-{uuid.uuid4().hex[:8]}"
    store = ProjectionEngine(redis, prefix, METRICS)
    try:
        for batch in batches:
            await store.apply(batch)
        await store.apply(delivery)  # a whole redelivery changes nothing
        assert await stored_counters(redis, Keyspace(prefix, TRUST)) == +reference(*latest(events))
    finally:
        async for key in redis.scan_iter(match=f"{prefix}:*"):
            await redis.delete(key)


async def test_school_names_keep_the_newest_version(redis_url):
    from tidemark_schemas.events import SchoolUpserted

    redis = Redis.from_url(redis_url, decode_responses=True)
    store = ProjectionEngine(redis, f"schools-{uuid.uuid4().hex[:8]}", METRICS)
    newer = SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak Academy", version=2)
    older = SchoolUpserted(trust_id=TRUST, school_id="S1", name="Oak Primary", version=1)
    await store.apply([newer])
    await store.apply([older])
    keys = Keyspace(store.prefix, TRUST)
    assert json.loads(await redis.hget(keys.schools, "S1")) == {"name": "Oak Academy", "version": 2, "model": None}
    await redis.aclose()


async def test_class_documents_keep_the_newest_version_and_are_announced_with_their_school(redis_url):
    from tidemark_schemas.events import ClassUpserted

    redis = Redis.from_url(redis_url, decode_responses=True)
    store = ProjectionEngine(redis, f"classes-{uuid.uuid4().hex[:8]}", METRICS)
    keys = Keyspace(store.prefix, TRUST)
    newer = ClassUpserted(trust_id=TRUST, class_id="C1", school_id="S1", academic_year="2025/26", name="Oak",
                          year_groups=["Y3", "Y4"], version=2)
    try:
        await store.apply([newer])
        await store.apply([newer.model_copy(update={"name": "Ash", "version": 1})])
        assert json.loads(await redis.hget(keys.classes, "C1")) == {
            "name": "Oak", "school_id": "S1", "academic_year": "2025/26", "year_groups": ["Y3", "Y4"], "version": 2}
        notices = [fields for _id, fields in await redis.xrange(keys.changes)]
        assert notices[0] == {"academic_year": "", "period": "", "measures": "schools", "schools": "S1"}
    finally:
        async for key in redis.scan_iter(match=f"{store.prefix}:*"):
            await redis.delete(key)
        await redis.aclose()


async def test_registered_schools_are_announced_on_the_change_stream_before_any_result(redis_url):
    """Live pages refresh their lists of schools on this notice; no figure moved, so no period."""
    from tidemark_schemas.events import SchoolUpserted

    redis = Redis.from_url(redis_url, decode_responses=True)
    store = ProjectionEngine(redis, f"schools-{uuid.uuid4().hex[:8]}", METRICS)
    keys = Keyspace(store.prefix, TRUST)
    try:
        await store.apply([SchoolUpserted(trust_id=TRUST, school_id=s, name=f"School {s}", version=1) for s in ("S2", "S1")])
        notices = [fields for _id, fields in await redis.xrange(keys.changes)]
        assert notices == [{"academic_year": "", "period": "", "measures": "schools", "schools": "S1,S2"}]
        assert sorted(await redis.hkeys(keys.schools)) == ["S1", "S2"]
    finally:
        async for key in redis.scan_iter(match=f"{store.prefix}:*"):
            await redis.delete(key)
        await redis.aclose()
