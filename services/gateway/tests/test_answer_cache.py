"""Rendered answers kept per view (`service_layer/answers.py`, `adapters/answer_cache.py`): one
computation for concurrent readers of a view, never served to another scope, never after a write
moved anything it read. Counters are written by the projections' own atomic write
(`ProjectionWriter`), which bumps each hash's version as production does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tidemark_gateway.adapters.answer_cache import AnswerCache, CachedAnswer, ReadLog
from tidemark_gateway.domain.reports import AttainmentReport
from tidemark_gateway.entrypoints.answers import shape
from tidemark_gateway.service_layer.answers import view_key
from tidemark_gateway.testing import TRUST, Gateway, cell, kept_answers
from tidemark_runtime.projections.writer import ProjectionWrite, ProjectionWriter
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import WRITES_FIELD, PupilFilter, encode_field
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.vocabulary import Band, Sex

YEAR, PERIOD = "2025/26", "AUT1"
REF = PeriodRef(YEAR, PERIOD)
READING = {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD}
GIRL, BOY = cell(), cell(sex=Sex.M)


async def lock(gateway: Gateway, measure: str, school: str, **pupils_by_band: int) -> None:
    """What a lock does to the counters: one atomic projection write (the hash's version moves,
    "last updated" too)."""
    keys = gateway.seed.keys
    fields = {encode_field(GIRL, Band[band.upper()]): pupils for band, pupils in pupils_by_band.items()}
    assert await ProjectionWriter(gateway.seed.redis).write(
        keys, ProjectionWrite(counters={keys.counters(YEAR, PERIOD, measure, school): fields})) == 1


async def two_schools(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.school("S2", "Ash Academy")
    await lock(gateway, "reading", "S1", at=3)
    await lock(gateway, "reading", "S2", below=2)


def computed(gateway: Gateway) -> int:
    return gateway.services.answers.computed


async def test_concurrent_readers_of_one_view_cost_one_computation_and_later_ones_none(gateway: Gateway) -> None:
    await two_schools(gateway)
    before = computed(gateway)

    together = await asyncio.gather(*(gateway.get("/v1/reports/attainment", **READING) for _ in range(20)))
    later = await gateway.get("/v1/reports/attainment", **READING)

    assert computed(gateway) == before + 1
    assert {answer.status_code for answer in together} == {200}
    assert {answer.content for answer in together} == {later.content}
    assert later.json()["all_pupils"]["n"] == 5


async def test_a_lock_that_moves_a_counter_an_answer_read_is_visible_on_the_very_next_request(gateway: Gateway) -> None:
    await two_schools(gateway)
    first = (await gateway.get("/v1/reports/attainment", **READING)).json()

    await lock(gateway, "reading", "S1", above=4)
    second = (await gateway.get("/v1/reports/attainment", **READING)).json()

    assert [first["all_pupils"]["n"], second["all_pupils"]["n"]] == [5, 9]
    assert second["rows"][1] == {
        "group": "S1", "label": "Oak Primary", "n": 7, "at_or_above": 7, "pct": 100.0, "small_group": False
    }


async def test_a_lock_elsewhere_in_the_trust_keeps_the_answer_but_moves_its_last_updated(gateway: Gateway) -> None:
    await two_schools(gateway)
    first = await gateway.get("/v1/reports/attainment", **READING)
    before = computed(gateway)

    await lock(gateway, "maths", "S1", at=1)  # a hash the reading report does not read
    second = await gateway.get("/v1/reports/attainment", **READING)
    updated_at = await gateway.seed.redis.get(gateway.seed.keys.updated_at)

    assert computed(gateway) == before  # served as kept...
    assert second.json() == {**first.json(), "last_updated": updated_at}  # ...with "last updated" as it is now
    assert first.json()["last_updated"] < updated_at


async def test_an_answer_is_never_served_to_a_caller_whose_school_scope_differs(gateway: Gateway) -> None:
    await two_schools(gateway)

    trust_wide = (await gateway.get("/v1/reports/attainment", **READING)).json()
    oak_only = (await gateway.get("/v1/reports/attainment", "s1-viewer", **READING)).json()
    trust_wide_again = (await gateway.get("/v1/reports/attainment", **READING)).json()

    assert [row["group"] for row in trust_wide["rows"]] == ["S2", "S1"]
    assert [row["group"] for row in oak_only["rows"]] == ["S1"]
    assert oak_only["all_pupils"]["n"] == 3  # pooled over its school only
    assert trust_wide_again == trust_wide


async def test_a_pupil_list_kept_for_a_caller_who_may_see_pupils_is_refused_to_one_who_may_not(
    gateway: Gateway,
) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.progress(YEAR, PERIOD, "S1", on_track_at=1)
    await gateway.seed.progress_pupil(YEAR, PERIOD, "S1", "P1", "on_track_at")
    params = {"academic_year": YEAR, "period": PERIOD, "category": "on_track_at", "pupils": "true"}

    allowed = await gateway.get("/v1/reports/progress-from-statutory", **params)
    refused = await gateway.get("/v1/reports/progress-from-statutory", "figures-viewer", **params)

    assert allowed.status_code == 200 and [p["pupil_id"] for p in allowed.json()["pupils"]] == ["P1"]
    assert refused.status_code == 403


async def test_the_same_view_asked_differently_is_one_answer_and_another_filter_is_another(gateway: Gateway) -> None:
    await two_schools(gateway)
    await lock(gateway, "reading", "S2", at=1)
    before = computed(gateway)

    reordered = await gateway.client.get(
        "/v1/reports/attainment?period=AUT1&academic_year=2025/26&by=school&measure=reading&school=S2&school=S1",
        headers={"Authorization": "Bearer viewer"})
    listed = await gateway.get("/v1/reports/attainment", **READING, school=["S1", "S2"])
    girls = await gateway.get("/v1/reports/attainment", **READING, school=["S1", "S2"], sex="M")

    assert reordered.content == listed.content
    assert computed(gateway) == before + 2  # the two orders are one view; boys only is another
    assert girls.json()["all_pupils"]["n"] == 0


async def test_a_renamed_school_and_a_switched_generation_are_seen_at_once(gateway: Gateway) -> None:
    await two_schools(gateway)
    await gateway.get("/v1/reports/attainment", **READING)

    await gateway.seed.school("S1", "Oak Primary Academy")
    renamed = (await gateway.get("/v1/reports/attainment", **READING)).json()
    rebuilt = gateway.seed.keys.at("g2")  # what a rebuild writes, then switches readers to
    await gateway.seed.redis.hset(rebuilt.schools, mapping={
        "S1": '{"name": "Oak", "version": 1, "model": null}', "S2": '{"name": "Ash", "version": 1, "model": null}'})
    await ProjectionWriter(gateway.seed.redis).write(rebuilt, ProjectionWrite())  # refused: g2 is not live...
    await gateway.seed.redis.set(gateway.seed.keys.generation_key, "g2")  # ...until the switch
    await ProjectionWriter(gateway.seed.redis).write(rebuilt, ProjectionWrite(counters={
        rebuilt.counters(YEAR, PERIOD, "reading", "S1"): {encode_field(BOY, Band.AT): 8}}))
    switched = (await gateway.get("/v1/reports/attainment", **READING)).json()

    assert renamed["rows"][1]["label"] == "Oak Primary Academy"
    assert [(row["label"], row["n"]) for row in switched["rows"]] == [("Ash", 0), ("Oak", 8)]


async def test_an_answer_that_read_a_hash_written_without_a_version_is_not_kept(gateway: Gateway) -> None:
    await two_schools(gateway)
    by_hand = gateway.seed.keys.counters(YEAR, PERIOD, "reading", "S3")
    await gateway.seed.school("S3", "Elm School")
    await gateway.seed.redis.hincrby(by_hand, encode_field(GIRL, Band.AT), 1)  # no version: not a projection's
    before = computed(gateway)

    first = (await gateway.get("/v1/reports/attainment", **READING)).json()
    await gateway.seed.redis.hincrby(by_hand, encode_field(GIRL, Band.AT), 1)
    second = (await gateway.get("/v1/reports/attainment", **READING)).json()

    assert computed(gateway) == before + 2
    assert [first["all_pupils"]["n"], second["all_pupils"]["n"]] == [6, 7]


async def test_a_request_that_joins_a_computation_under_way_gets_no_answer_older_than_itself(gateway: Gateway) -> None:
    """A computation that read its counters before a lock cannot answer a request that came after
    the lock: that request checks the answer, finds it moved, and computes again."""
    await two_schools(gateway)
    caller = Principal(trust_id=TRUST, role="viewer")
    answers, reports = gateway.services.answers, gateway.services.reports
    read, release = asyncio.Event(), asyncio.Event()

    async def slow() -> AttainmentReport:
        answer = await reports.attainment(caller, REF, "reading", "school", PupilFilter())
        read.set()
        await release.wait()
        return answer

    async def direct() -> AttainmentReport:
        return await reports.attainment(caller, REF, "reading", "school", PupilFilter())

    view = ("attainment", REF, "reading", "school", PupilFilter())
    early = asyncio.create_task(answers.render(caller, view, shape(AttainmentReport), slow))
    await read.wait()  # the computation has read n = 5
    await lock(gateway, "reading", "S1", at=2)  # then a lock lands
    late = asyncio.create_task(answers.render(caller, view, shape(AttainmentReport), direct))  # finds it under way
    await asyncio.sleep(0)
    release.set()

    early_answer, late_answer = await early, await late

    assert shape(AttainmentReport).validate_json(early_answer).all_pupils.n == 5  # it came before the lock
    assert shape(AttainmentReport).validate_json(late_answer).all_pupils.n == 7  # it came after


async def test_a_trust_being_restored_gets_503_even_for_a_kept_answer(gateway: Gateway) -> None:
    await two_schools(gateway)
    assert (await gateway.get("/v1/reports/attainment", **READING)).status_code == 200

    await gateway.seed.redis.set(gateway.seed.keys.restoring_key, "lost")

    assert (await gateway.get("/v1/reports/attainment", **READING)).status_code == 503


async def test_concurrent_readers_of_a_kept_answer_share_its_check_and_none_computes(gateway: Gateway) -> None:
    """Twenty readers arrive together: the first checks the kept answer; the nineteen who arrived
    while that check was under way share the next one (a check that started before a request
    arrived cannot answer it)."""
    await two_schools(gateway)
    caller = Principal(trust_id=TRUST, role="viewer")
    answers, reports = gateway.services.answers, gateway.services.reports
    view = ("attainment", REF, "reading", "school", PupilFilter())

    def read() -> Any:
        return answers.render(caller, view, shape(AttainmentReport),
                              lambda: reports.attainment(caller, REF, "reading", "school", PupilFilter()))

    first = await read()
    computed_before, checked_before = answers.computed, answers.checked
    together = await asyncio.gather(*(read() for _ in range(20)))

    assert (answers.computed, answers.checked) == (computed_before, checked_before + 2)
    assert set(together) == {first}


async def test_a_kept_statutory_answer_gets_503_while_the_statutory_projection_is_restored(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.statutory(YEAR, "ks2.rwm", "S1", EXS=2, NOT=1)
    await lock(gateway, "reading", "S1", at=3)
    ks2 = {"academic_year": YEAR, "measure": "ks2.rwm"}
    statutory = await gateway.get("/v1/reports/statutory", **ks2)
    summative = await gateway.get("/v1/reports/attainment", **READING)
    before = computed(gateway)
    assert (await gateway.get("/v1/reports/statutory", **ks2)).content == statutory.content
    assert computed(gateway) == before  # both are kept

    await gateway.seed.redis.set(gateway.seed.statutory_keys.restoring_key, "lost")
    statutory_again = await gateway.get("/v1/reports/statutory", **ks2)
    summative_again = await gateway.get("/v1/reports/attainment", **READING)

    assert (statutory.status_code, statutory_again.status_code) == (200, 503)
    assert statutory.json()["all_pupils"]["figures"]["eligible"] == 3
    assert summative_again.content == summative.content  # it read nothing statutory: still served as kept
    assert computed(gateway) == before


def same_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """Its headers but the request id, which every request gets anew."""
    return [(name, value) for name, value in response.headers.items() if name != "x-request-id"]


async def test_a_request_answered_before_is_answered_again_without_the_route_exactly_as_the_route_did(
    gateway: Gateway,
) -> None:
    await two_schools(gateway)
    first = await gateway.get("/v1/reports/attainment", **READING)  # through the route: remembered
    served = kept_answers(gateway.app).served

    again = await gateway.get("/v1/reports/attainment", **READING)
    await lock(gateway, "reading", "S1", above=4)
    after_lock = await gateway.get("/v1/reports/attainment", **READING)  # moved: through the route again

    assert kept_answers(gateway.app).served == served + 1
    assert (again.status_code, again.content, same_headers(again)) == (200, first.content, same_headers(first))
    assert [first.json()["all_pupils"]["n"], after_lock.json()["all_pupils"]["n"]] == [5, 9]


async def test_refusals_are_never_remembered_and_another_token_goes_through_the_route(gateway: Gateway) -> None:
    await two_schools(gateway)
    ash = {**READING, "school": "S2"}
    assert (await gateway.get("/v1/reports/attainment", **ash)).status_code == 200  # a Trust-wide viewer
    served = kept_answers(gateway.app).served

    refused = [await gateway.get("/v1/reports/attainment", "s1-viewer", **ash) for _ in range(2)]
    unknown = [await gateway.get("/v1/reports/attainment", "no-such-token", **ash) for _ in range(2)]
    ingest = [await gateway.get("/v1/reports/attainment", "ingest", **ash) for _ in range(2)]

    assert [answer.status_code for answer in refused + unknown + ingest] == [403, 403, 401, 401, 403, 403]
    assert kept_answers(gateway.app).served == served  # each went the whole way, every time


def answer(size: int) -> CachedAnswer:
    return CachedAnswer((b"x" * size,), ReadLog(generations=("", "")))


def test_the_cache_is_bounded_in_bytes_and_evicts_the_least_recently_served_first() -> None:
    cache = AnswerCache(max_bytes=3000)
    kept: dict[str, Any] = {name: answer(1000) for name in ("a", "b", "c", "d")}
    for name in ("a", "b", "c"):
        cache.put(name, kept[name])
    assert cache.get("a") is kept["a"]  # served: now the most recent

    cache.put("d", kept["d"])

    assert [name for name in "abcd" if cache.get(name) is not None] == ["a", "c", "d"]  # b went
    assert cache.bytes == 3000
    cache.put("huge", answer(5000))  # larger than the whole cache: not kept, nothing evicted for it
    assert cache.get("huge") is None and len(cache) == 3


async def test_after_a_lock_elsewhere_one_look_at_the_versions_then_the_write_count_alone_keeps_the_answer(
    gateway: Gateway,
) -> None:
    """A kept answer records its generation's write count (`WRITES_FIELD`): while that has not
    moved, nothing it read has. A lock elsewhere moves it: the next check reads the versions of the
    hashes the answer read, finds them unmoved, and records the new count for the checks after."""
    await two_schools(gateway)
    caller = Principal(trust_id=TRUST, role="viewer")
    answers, reports = gateway.services.answers, gateway.services.reports
    view = ("attainment", REF, "reading", "school", PupilFilter())
    versions = gateway.seed.keys.versions

    def read() -> Any:
        return answers.render(caller, view, shape(AttainmentReport),
                              lambda: reports.attainment(caller, REF, "reading", "school", PupilFilter()))

    def writes() -> Any:
        return gateway.seed.redis.hget(versions, WRITES_FIELD)

    await read()
    kept = answers.cache.get(view_key(caller, view))
    assert kept is not None
    assert kept.reads.writes == {versions: int(await writes())} == {versions: 2}  # the two schools' locks

    await lock(gateway, "maths", "S1", at=1)
    computed_before = answers.computed
    await read()

    assert answers.computed == computed_before
    assert answers.cache.get(view_key(caller, view)) is kept
    assert kept.reads.writes == {versions: 3}


async def test_the_calendar_is_kept_until_a_later_period_gets_its_first_figures(gateway: Gateway) -> None:
    """Where pages open (the latest period with data) depends on which counter hashes exist: any
    write of the generation may change that, so the kept calendar goes with the next write."""
    await two_schools(gateway)
    first = (await gateway.get("/v1/calendar")).json()
    before = computed(gateway)
    again = (await gateway.get("/v1/calendar")).json()
    assert computed(gateway) == before

    keys = gateway.seed.keys
    assert await ProjectionWriter(gateway.seed.redis).write(keys, ProjectionWrite(counters={
        keys.counters(YEAR, "AUT2", "reading", "S1"): {encode_field(GIRL, Band.AT): 1}})) == 1
    later = (await gateway.get("/v1/calendar")).json()

    assert first == again
    assert first["latest_with_data"] == {"academic_year": YEAR, "period": "AUT1"}
    assert later["latest_with_data"] == {"academic_year": YEAR, "period": "AUT2"}
    assert computed(gateway) == before + 1


async def test_kept_answers_of_different_views_checked_together_share_one_read_of_the_trust(gateway: Gateway) -> None:
    """Readers of five different views arrive together: each view's kept answer is checked, and the
    five checks read the Trust's state in one round trip (each asked before that read started)."""
    await two_schools(gateway)
    caller = Principal(trust_id=TRUST, role="viewer")
    answers, reports, read_model = gateway.services.answers, gateway.services.reports, gateway.services.read_model
    views = [("reading", "school"), ("reading", "sex"), ("reading", "year_group"), ("maths", "school"),
             ("writing", "school")]

    def read(measure: str, by: str) -> Any:
        return answers.render(caller, ("attainment", REF, measure, by, PupilFilter()), shape(AttainmentReport),
                              lambda: reports.attainment(caller, REF, measure, by, PupilFilter()))

    first = [await read(*view) for view in views]
    computed_before, checked_before, state_reads_before = answers.computed, answers.checked, read_model.reads["state"]
    together = await asyncio.gather(*(read(*view) for view in views))

    assert (answers.computed, answers.checked) == (computed_before, checked_before + 5)
    assert read_model.reads["state"] == state_reads_before + 1
    assert together == first


async def test_a_check_asking_after_a_lock_sees_it_while_another_views_check_is_reading_the_trust(gateway: Gateway) -> None:
    """A lock lands while one view's check is reading the Trust: a check of another view asking
    after that read started reads again, and sees the lock."""
    await two_schools(gateway)
    caller = Principal(trust_id=TRUST, role="viewer")
    answers, reports = gateway.services.answers, gateway.services.reports

    def read(by: str) -> Any:
        return answers.render(caller, ("attainment", REF, "reading", by, PupilFilter()), shape(AttainmentReport),
                              lambda: reports.attainment(caller, REF, "reading", by, PupilFilter()))

    await read("school"), await read("sex")
    early = asyncio.create_task(read("school"))
    await asyncio.sleep(0)  # its check has asked for the Trust's state...
    await asyncio.sleep(0)  # ...and that read has started
    await lock(gateway, "reading", "S1", above=4)
    later = json.loads(await read("sex"))
    await early

    assert later["all_pupils"]["n"] == 9
