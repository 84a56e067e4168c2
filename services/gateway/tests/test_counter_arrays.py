"""The numpy tally gives exactly the reference tally, and the counter cache is never stale."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tidemark_gateway.adapters.counter_cache import CounterCache
from tidemark_gateway.domain.counter_arrays import REGISTRY, tally, tally_labels
from tidemark_schemas.aggregates import GROUPINGS, Cell, PupilFilter, encode_field
from tidemark_schemas.aggregates import tally as reference_tally
from tidemark_schemas.aggregates import tally_labels as reference_tally_labels
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.vocabulary import Band, SenProvision, Sex, YearGroup

cells = st.builds(
    Cell, st.sampled_from(list(YearGroup)), st.sampled_from(list(Sex)), st.booleans(),
    st.sampled_from(list(SenProvision)), st.booleans(), st.sampled_from(list(EthnicGroup)), st.booleans(),
)
hashes = st.dictionaries(
    st.tuples(cells, st.sampled_from(list(Band))).map(lambda pair: encode_field(*pair)), st.integers(0, 9), max_size=25
)
filters = st.builds(
    PupilFilter,
    schools=st.none() | st.frozensets(st.sampled_from(["S1", "S2", "S3"]), min_size=1),
    year_groups=st.none() | st.frozensets(st.sampled_from(list(YearGroup)), min_size=1),
    sex=st.none() | st.sampled_from(list(Sex)),
    disadvantaged=st.none() | st.booleans(),
    sen=st.none() | st.frozensets(st.sampled_from(list(SenProvision)), min_size=1),
    eal=st.none() | st.booleans(),
    ethnic_groups=st.none() | st.frozensets(st.sampled_from(list(EthnicGroup)), min_size=1),
    lac=st.none() | st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    schools=st.lists(st.tuples(st.sampled_from(["S1", "S2", "S3"]), hashes), max_size=4),
    by=st.sampled_from([None, *GROUPINGS]),
    pupil_filter=filters,
)
def test_the_numpy_tally_equals_the_reference_for_any_grouping_and_filter(schools, by, pupil_filter):
    parsed = [(school, REGISTRY.parse(fields)) for school, fields in schools]
    expected = reference_tally(schools, by, pupil_filter)
    found = tally(parsed, by, pupil_filter)
    assert found.all_pupils == expected.all_pupils
    assert dict(found.groups) == {group: counts for group, counts in expected.groups.items() if counts.n}


def test_codes_are_tallied_like_the_reference():
    girl = Cell(YearGroup.Y3, Sex.F, False, SenProvision.N, False, EthnicGroup.WHITE, False)
    boy = Cell(YearGroup.Y3, Sex.M, True, SenProvision.K, False, EthnicGroup.ASIAN, False)
    fields = {encode_field(girl, "JA"): 2, encode_field(boy, "SA"): 1, encode_field(boy, "JA"): 4}
    parsed = [("S1", REGISTRY.parse(fields))]
    assert tally_labels(parsed, "sex") == reference_tally_labels([("S1", fields)], "sex")
    assert tally_labels(parsed, "sex").groups["M"] == {"SA": 1, "JA": 4}


async def test_a_cached_hash_is_read_again_only_when_its_version_moves(redis_url):
    redis = Redis.from_url(redis_url, decode_responses=True)
    key, versions = f"cc{uuid.uuid4().hex[:8]}:agg", f"cc{uuid.uuid4().hex[:8]}:versions"
    field = encode_field(Cell(YearGroup.Y1, Sex.F, False, SenProvision.N, False, EthnicGroup.WHITE, False), "AT")
    cache = CounterCache()
    try:
        await redis.hset(key, field, 3)
        await redis.hset(versions, key, 1)
        first = await cache.fetch(redis, versions, [key])
        await redis.hset(key, field, 5)  # a write that did not move the version is not seen...
        assert (await cache.fetch(redis, versions, [key]))[0] is first[0]
        await redis.hincrby(versions, key, 1)  # ...a projection write always moves it
        assert (await cache.fetch(redis, versions, [key]))[0][field] == 5
        await redis.delete(versions)  # no version (not written by a projection): never cached
        await redis.hset(key, field, 7)
        assert (await cache.fetch(redis, versions, [key]))[0][field] == 7
    finally:
        await redis.delete(key, versions)
        await redis.aclose()


async def test_a_cache_of_size_zero_reads_every_time(redis_url):
    redis = Redis.from_url(redis_url, decode_responses=True)
    key, versions = f"cz{uuid.uuid4().hex[:8]}:agg", f"cz{uuid.uuid4().hex[:8]}:versions"
    field = encode_field(Cell(YearGroup.Y2, Sex.M, False, SenProvision.N, False, EthnicGroup.WHITE, False), "AT")
    try:
        await redis.hset(key, field, 2)
        await redis.hset(versions, key, 1)
        cache = CounterCache(max_hashes=0)
        assert (await cache.fetch(redis, versions, [key]))[0][field] == 2
        await redis.hset(key, field, 4)
        assert (await cache.fetch(redis, versions, [key]))[0][field] == 4
    finally:
        await redis.delete(key, versions)
        await redis.aclose()
