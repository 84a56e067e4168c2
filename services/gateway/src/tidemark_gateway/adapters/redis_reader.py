"""Everything the gateway reads from Redis, for one Trust.

A reader is built per request from the caller's Trust (`ReadModel.reader(principal.trust_id)`), so
no query can name another Trust's keys. Counters are only ever read for the schools in scope (see
`resolve_filter`): a school-scoped viewer never reads another school's hashes, and "All Pupils" is
pooled over the schools that caller may see, not the whole Trust.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from cachetools import LRUCache

from tidemark_gateway.adapters.answer_cache import LAST_UPDATED_MARK, RECORDING, ReadLog, versions_fields, write_count
from tidemark_gateway.adapters.counter_cache import CounterCache
from tidemark_gateway.domain.counter_arrays import CounterHash
from tidemark_gateway.domain.measures import stored_measures
from tidemark_gateway.domain.scope import SchoolClass, SchoolNames, schools_in_scope, schools_of_classes
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import WRITES_FIELD, Keyspace, PupilFilter, entered_measure, statutory_keyspace
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.notices import ChangeNotice
from tidemark_schemas.vocabulary import YearGroup

StreamEntry = tuple[str, ChangeNotice]
"""A change notice with its stream id (the SSE event id, and where a stream resumes)."""

CountersByView = dict[tuple[PeriodRef, str], list[tuple[str, CounterHash]]]
"""(period, measure as asked) -> [(school_id, {field: pupils})], one entry per school and stored measure."""


@dataclass(frozen=True, slots=True)
class Completion:
    roll: dict[str, Mapping[str, int]]
    """school_id -> roll hash (pupils on roll today, by current cell)."""
    entered: dict[tuple[str, str], Mapping[str, int]]
    """(school_id, subject) -> `entered.<subject>` counters."""
    locked: dict[tuple[str, str], Mapping[str, int]]
    """(school_id, subject) -> the subject's (locked) counters."""


@dataclass(frozen=True, slots=True)
class TrustDirectory:
    school_names: dict[str, str]
    """Every school of the Trust known to the read model, id -> name (a `SchoolNames`, with the class
    names beside)."""
    school_models: dict[str, AssessmentModel | None]
    """Each school's own assessment model (None: bands only)."""
    last_updated: str | None
    """ISO timestamp of the last change applied to the Trust's figures."""
    classes: dict[str, SchoolClass] = field(default_factory=dict)
    """Every class of the Trust known to the read model, by id."""


@dataclass(frozen=True, slots=True)
class Scope:
    pupil_filter: PupilFilter
    """The caller's filter with `schools` set to exactly the schools to read."""
    directory: TrustDirectory

    @property
    def schools(self) -> frozenset[str]:
        """Exactly the schools to read."""
        return self.pupil_filter.schools or frozenset()


READ_MODEL_MISSING = "its read model is missing from Redis (flushed or new) and is being rebuilt"
"""Why a Trust is refused while the summative projection's epoch key is absent."""


class ReadModelRestoring(Exception):
    """The Trust's read model (or the part a request reads) is being rebuilt after it was lost: its
    figures would be wrong until then (HTTP 503)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AggregateReader:
    """Reads one Trust's summative read model (`keys`) and statutory projection (`statutory_keys`).

    Built by `ReadModel.reader` with the Trust's directory already read, and with the `ReadLog` of
    the answer being computed, if any (`answer_cache.recording`): every read then records the
    versions of the hashes it read."""

    def __init__(
        self, redis: RedisClient, keys: Keyspace, cache: CounterCache | None = None, statutory_keys: Keyspace | None = None,
        statutory_restoring: str | None = None, directory: TrustDirectory | None = None, log: ReadLog | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._statutory = statutory_keys or statutory_keyspace(keys.prefix, keys.trust_id)
        self._cache = cache or CounterCache(max_hashes=0)
        self._statutory_restoring = statutory_restoring
        self._directory = directory
        self._log = log

    @property
    def trust_id(self) -> str:
        return self._keys.trust_id

    def _statutory_whole(self) -> Keyspace:
        """The statutory projection's keys, unless it is being restored."""
        if self._statutory_restoring is not None:
            raise ReadModelRestoring(self._statutory_restoring)
        if self._log is not None:
            self._log.statutory = True
        return self._statutory

    async def directory(self) -> TrustDirectory:
        """School names, models and "last updated" (either projection's latest)."""
        if self._directory is None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(self._keys.schools)
                pipe.get(self._keys.updated_at)
                pipe.get(self._statutory.updated_at)
                pipe.hgetall(self._keys.classes)
                schools, updated_at, statutory_updated_at, classes = await pipe.execute()
            self._directory = replace(parse_directory(schools, classes),
                                      last_updated=latest(updated_at, statutory_updated_at))
        return self._directory

    async def counters(
        self, refs: Iterable[PeriodRef], measures: Iterable[str], schools: Collection[str]
    ) -> CountersByView:
        """Every counter hash for these periods, measures and schools in ONE pipelined round trip.
        A mixed measure (gld_rwm) reads each of its stored measures under the mixed name."""
        measures = tuple(measures)
        return await self.counters_for([(ref, measure) for ref in refs for measure in measures], schools)

    async def counters_for(
        self, views: Iterable[tuple[PeriodRef, str]], schools: Collection[str]
    ) -> CountersByView:
        """Like `counters`, for any (period, measure) pairs (e.g. every period of one measure and
        this period of others): the hashes' versions in one round trip, then only the hashes the
        cache does not hold at that version in one more."""
        wanted = [
            (ref, measure, stored, school)
            for ref, measure in dict.fromkeys(views)
            for stored in stored_measures(measure)
            for school in sorted(schools)
        ]
        keys = [self._keys.counters(ref.academic_year, ref.period, stored, school) for ref, _m, stored, school in wanted]
        replies = await self._cache.fetch(self._redis, self._keys.versions, keys, self._log)
        found: CountersByView = defaultdict(list)
        for (ref, measure, _stored, school), fields in zip(wanted, replies, strict=True):
            if fields:
                found[(ref, measure)].append((school, fields))
        return found

    async def statutory_counters(
        self, academic_years: Iterable[str], measures: Iterable[str], schools: Collection[str]
    ) -> dict[tuple[str, str], list[tuple[str, CounterHash]]]:
        """Outcome counters of statutory measures: (academic year, measure) -> [(school, hash)]."""
        wanted = [(year, measure, school) for year in academic_years for measure in measures for school in sorted(schools)]
        statutory = self._statutory_whole()
        keys = [statutory.statutory(year, measure, school) for year, measure, school in wanted]
        replies = await self._cache.fetch(self._redis, statutory.versions, keys, self._log)
        found: dict[tuple[str, str], list[tuple[str, CounterHash]]] = defaultdict(list)
        for (year, measure, school), fields in zip(wanted, replies, strict=True):
            if fields:
                found[(year, measure)].append((school, fields))
        return found

    async def progress_counters(
        self, refs: Iterable[PeriodRef], schools: Collection[str]
    ) -> dict[PeriodRef, list[tuple[str, CounterHash]]]:
        """Pupils per progress category: period -> [(school, hash)]."""
        wanted = [(ref, school) for ref in refs for school in sorted(schools)]
        statutory = self._statutory_whole()
        keys = [statutory.progress(ref.academic_year, ref.period, school) for ref, school in wanted]
        replies = await self._cache.fetch(self._redis, statutory.versions, keys, self._log)
        found: dict[PeriodRef, list[tuple[str, CounterHash]]] = defaultdict(list)
        for (ref, school), fields in zip(wanted, replies, strict=True):
            if fields:
                found[ref].append((school, fields))
        return found

    async def progress_pupils(self, ref: PeriodRef, schools: Collection[str]) -> list[tuple[str, str]]:
        """(school, "pupil_id|cell|category") of every pupil with a category in the period."""
        ordered = sorted(schools)
        statutory = self._statutory_whole()
        keys = [statutory.progress_pupils(ref.academic_year, ref.period, school) for school in ordered]
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(statutory.versions, versions_fields(keys))
            for key in keys:
                pipe.hkeys(key)
            versions, *replies = await pipe.execute()
        if self._log is not None:
            self._log.read(statutory.versions, keys, versions)
            if any(version is None and entries for version, entries in zip(versions[1:], replies, strict=True)):
                self._log.cacheable = False
        return [(school, entry) for school, entries in zip(ordered, replies, strict=True) for entry in entries]

    async def completion(
        self, ref: PeriodRef, subjects: Iterable[str], schools: Collection[str]
    ) -> Completion:
        """The roll of each school and, per school and subject, its `entered.<subject>` and locked
        counters for one period, through the counter cache (two round trips at most)."""
        subjects = tuple(dict.fromkeys(subjects))
        ordered = sorted(schools)
        wanted = [(school, subject) for school in ordered for subject in subjects]
        keys = [self._keys.roll(school) for school in ordered]
        keys += [self._keys.counters(ref.academic_year, ref.period, entered_measure(subject), school)
                 for school, subject in wanted]
        keys += [self._keys.counters(ref.academic_year, ref.period, subject, school) for school, subject in wanted]
        replies = await self._cache.fetch(self._redis, self._keys.versions, keys, self._log)
        rolls, rest = replies[: len(ordered)], replies[len(ordered):]
        entered, locked = rest[: len(wanted)], rest[len(wanted):]
        return Completion(
            roll={school: fields for school, fields in zip(ordered, rolls, strict=True) if fields},
            entered={key: fields for key, fields in zip(wanted, entered, strict=True) if fields},
            locked={key: fields for key, fields in zip(wanted, locked, strict=True) if fields},
        )

    async def latest_with_data(
        self, refs: Sequence[PeriodRef], measures: Iterable[str], schools: Collection[str]
    ) -> PeriodRef | None:
        """The latest of `refs` (oldest first) with a counter for any of `measures` in any school."""
        if not schools:
            return None
        measures = tuple(measures)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.versions, WRITES_FIELD)  # first: a write after it makes the answer older, never newer
            for ref in refs:
                pipe.exists(
                    *(
                        self._keys.counters(ref.academic_year, ref.period, measure, school)
                        for measure in measures
                        for school in sorted(schools)
                    )
                )
            writes, *found = await pipe.execute()
        if self._log is not None:
            self._log.read_whole(self._keys.versions, writes)
        return next((ref for ref, count in zip(reversed(refs), reversed(found)) if count), None)

    async def latest_statutory_year(
        self, academic_years: Sequence[str], measures: Iterable[str], schools: Collection[str]
    ) -> str | None:
        """The latest of `academic_years` (oldest first) with an outcome counter of any of `measures`
        in any school."""
        if not schools:
            return None
        measures = tuple(measures)
        statutory = self._statutory_whole()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(statutory.versions, WRITES_FIELD)  # first: a write after it makes the answer older, never newer
            for year in academic_years:
                pipe.exists(*(statutory.statutory(year, measure, school) for measure in measures for school in sorted(schools)))
            writes, *found = await pipe.execute()
        if self._log is not None:
            self._log.read_whole(statutory.versions, writes)
        return next((year for year, count in zip(reversed(academic_years), reversed(found)) if count), None)


    async def last_notice_id(self) -> str:
        """Id of the newest change notice ("0-0" when there is none): where a fresh live feed starts."""
        newest = await self._redis.xrevrange(self._keys.changes, count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def notices_after(self, after: str, block_ms: int | None, count: int) -> list[StreamEntry]:
        """Up to `count` notices after id `after`, waiting up to `block_ms` for one to arrive (empty
        on timeout; None: no wait)."""
        reply: Any = await self._redis.xread({self._keys.changes: after}, count=count, block=block_ms)
        if not reply:
            return []
        [(_key, entries)] = reply  # RESP2 shape: [[stream, [(id, fields), ...]]]
        return [(stream_id, ChangeNotice.from_stream(self._keys.trust_id, fields)) for stream_id, fields in entries]


MAX_KNOWN_DIRECTORIES = 1024
"""Parsed Trust directories kept (one per Trust and generation read lately)."""


@dataclass(frozen=True, slots=True)
class KnownDirectory:
    """A Trust directory as last read: its raw schools and classes hashes, parsed once, and a serial
    number that changes whenever their content does (answers record the serial they were computed with)."""

    raw: tuple[dict[str, str], dict[str, str]]
    parsed: TrustDirectory
    serial: int


@dataclass(frozen=True, slots=True)
class TrustState:
    """What one round trip tells of a Trust: its generations, whether it is being restored, its
    directory, "last updated", and the versions asked for."""

    generations: tuple[str, str]
    restoring: str | None
    statutory_restoring: str | None
    schools: dict[str, str]
    classes: dict[str, str]
    last_updated: str | None
    writes: list[int]
    """The write counts of the versions hashes asked for, in order."""


@dataclass(frozen=True, slots=True)
class Current:
    """A kept answer is current: nothing it read has moved."""

    last_updated: str | None
    """"Last updated" as it is now, for the answer."""


@dataclass(frozen=True, slots=True)
class ReadModel:
    """The gateway's connections to the read model. Every request reads one Trust through it."""

    redis: RedisClient
    """Report reads. They keep redis-py's socket timeout (5 s): a read that long means Redis is in trouble."""
    live_redis: RedisClient
    """Live streams: a blocking XREAD waits up to the heartbeat by design, so these connections have a
    socket timeout longer than that."""
    prefix: str
    counters: CounterCache
    """Counter hashes kept parsed between requests (never stale: see `counter_cache`)."""
    _generations: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The generations each Trust was last read in: read again with the directory in one round trip."""
    _directories: LRUCache[str, KnownDirectory] = field(default_factory=lambda: LRUCache(MAX_KNOWN_DIRECTORIES))
    _serials: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _checks_waiting: dict[tuple[str, tuple[str, str], tuple[str, ...]], asyncio.Future[TrustState]] = field(
        default_factory=dict)
    """The Trust state read each kind of check is waiting on, until that read starts."""
    _state_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    reads: Counter[str] = field(default_factory=Counter)
    """Round trips by kind ("state": a Trust's state, `_state`; what sharing them between checks saves)."""

    async def reader(self, trust_id: str) -> AggregateReader:
        """The Trust's keys only, in the generation its readers use now (a rebuild switches it),
        with its directory: one round trip (two after a rebuild switched generations). Refuses
        (`ReadModelRestoring`) while the summative read model is being restored; statutory reads
        refuse while the statutory one is. Records what it read when an answer is being recorded."""
        keys = Keyspace(self.prefix, trust_id)
        state = await self._state(trust_id, self._generations.get(trust_id, ("", "")))
        if state.restoring is not None:
            raise ReadModelRestoring(state.restoring)
        summative, statutory = state.generations
        directory = self._directory(keys.at(summative).schools, state.schools, state.classes)
        log = RECORDING.get()
        if log is not None:
            if log.generations not in (None, state.generations):
                log.cacheable = False  # one answer read from two generations (a rebuild switched between reads)
            log.generations, log.directory, log.last_updated = state.generations, directory.serial, state.last_updated
        shown = replace(directory.parsed, last_updated=LAST_UPDATED_MARK if log is not None else state.last_updated)
        return AggregateReader(self.redis, keys.at(summative), self.counters,
                               statutory_keyspace(self.prefix, trust_id).at(statutory), state.statutory_restoring,
                               shown, log)

    async def still_current(self, trust_id: str, reads: ReadLog) -> Current | None:
        """Whether nothing an answer read (`reads`) has moved since (None: something did): one round
        trip while the generations' write counts have not moved, one more for the versions of the
        hashes it read where they have. Refuses like `reader`."""
        assert reads.generations is not None, "an answer records its generations"
        state = await self._shared_state(trust_id, reads.generations, tuple(reads.writes))
        if state.restoring is not None:
            raise ReadModelRestoring(state.restoring)
        if reads.statutory and state.statutory_restoring is not None:
            raise ReadModelRestoring(state.statutory_restoring)
        if state.generations != reads.generations:
            return None
        directory = self._directory(Keyspace(self.prefix, trust_id).at(state.generations[0]).schools, state.schools,
                                    state.classes)
        if directory.serial != reads.directory:
            return None
        moved = [key for key, now in zip(reads.writes, state.writes, strict=True) if now != reads.writes[key]]
        if not moved:
            return Current(state.last_updated)
        if reads.whole.intersection(moved):
            return None
        async with self.redis.pipeline(transaction=False) as pipe:  # the Trust's slot
            for versions_key in moved:
                pipe.hmget(versions_key, versions_fields(list(reads.versions[versions_key])))
            replies = await pipe.execute()
        for versions_key, (_writes, *versions) in zip(moved, replies, strict=True):
            if list(reads.versions[versions_key].values()) != versions:
                return None
        for versions_key, (writes, *_versions) in zip(moved, replies, strict=True):
            reads.writes[versions_key] = write_count(writes)  # none of its hashes moved: the next check is one round trip again
        return Current(state.last_updated)

    async def _shared_state(
        self, trust_id: str, generations: tuple[str, str], writes: tuple[str, ...]
    ) -> TrustState:
        """`_state`, read once for every check of the Trust that asks for it before that read starts
        (the checks of different views arriving together): a check never takes a read that started
        before it asked, so it still sees every write made before its request arrived."""
        key = (trust_id, generations, writes)
        waiting = self._checks_waiting.get(key)
        if waiting is None:
            waiting = self._checks_waiting[key] = asyncio.get_running_loop().create_future()
            waiting.add_done_callback(_retrieved)
            read = asyncio.create_task(self._read_shared_state(key, waiting))
            self._state_tasks.add(read)  # held until done (the loop keeps only a weak reference)
            read.add_done_callback(self._state_tasks.discard)
        return await asyncio.shield(waiting)

    async def _read_shared_state(
        self, key: tuple[str, tuple[str, str], tuple[str, ...]], waiting: asyncio.Future[TrustState]
    ) -> None:
        await asyncio.sleep(0)  # the checks asking in this turn of the event loop join
        del self._checks_waiting[key]  # from here on, a check asking starts another read
        try:
            waiting.set_result(await self._state(*key))
        except Exception as error:  # every check waiting gets it (and raises it, as its own read would)
            waiting.set_exception(error)

    async def _state(
        self, trust_id: str, generations: tuple[str, str], writes: Sequence[str] = (),
    ) -> TrustState:
        """One pipeline: the generation and restoring keys, and the directory, "last updated" and the
        write counts of the `writes` versions hashes as of `generations` (which the Trust was last
        read in). Without `writes`, read again in the generations found if they moved (a rebuild
        switched them); with them (checking a kept answer), the caller compares the generations."""
        keys, statutory = Keyspace(self.prefix, trust_id), statutory_keyspace(self.prefix, trust_id)
        for _attempt in range(3):
            self.reads["state"] += 1
            summative, statutory_generation = generations
            strings = (keys.generation_key, statutory.generation_key, keys.restoring_key, statutory.restoring_key,
                       keys.at(summative).updated_at, statutory.at(statutory_generation).updated_at)
            async with self.redis.pipeline(transaction=False) as pipe:  # the Trust's slot, and the epoch
                for key in strings:  # GETs, not one MGET: a cluster client refuses MGET in a pipeline
                    pipe.get(key)
                pipe.hgetall(keys.at(summative).schools)
                pipe.hgetall(keys.at(summative).classes)
                for versions_key in writes:
                    pipe.hget(versions_key, WRITES_FIELD)
                pipe.exists(keys.epoch_key)
                replies = await pipe.execute()
            *replies, epoch = replies
            found, (schools, classes, *counts) = replies[: len(strings)], replies[len(strings):]
            current, current_statutory, restoring, statutory_restoring, updated_at, statutory_updated_at = cast(
                list[str | None], found)
            if not epoch and restoring is None:
                # Redis lost the read model (flushed, or new): until the projection has noticed and
                # set the restoring markers, what is there is empty or partial, never the figures.
                restoring = READ_MODEL_MISSING
            read_in = (current or "", current_statutory or "")
            if read_in != generations:
                self._generations[trust_id] = read_in
            if read_in == generations or writes:
                return TrustState(read_in, restoring, statutory_restoring, schools, classes,
                                  latest(updated_at, statutory_updated_at), [write_count(c) for c in counts])
            generations = read_in
        raise ReadModelRestoring("its generations kept switching while it was read")

    def _directory(self, schools_key: str, schools: dict[str, str], classes: dict[str, str]) -> KnownDirectory:
        """The directory of these raw schools and classes hashes, parsed only when their content changed."""
        known = self._directories.get(schools_key)
        if known is None or known.raw != (schools, classes):
            known = self._directories[schools_key] = KnownDirectory(
                (schools, classes), parse_directory(schools, classes), next(self._serials))
        return known

    def change_stream(self, trust_id: str) -> AggregateReader:
        """The Trust's change stream, on the live connections (it lives outside the generations)."""
        return AggregateReader(self.live_redis, Keyspace(self.prefix, trust_id))

    async def ping(self) -> None:
        await self.redis.ping()

    async def aclose(self) -> None:
        await self.live_redis.aclose()
        await self.redis.aclose()


def parse_directory(schools: Mapping[str, str], classes: Mapping[str, str] | None = None) -> TrustDirectory:
    """The schools hash (school id -> JSON {"name", "version", "model"}) as names and models, and
    the classes hash (class id -> JSON {"name", "school_id", "academic_year", "year_groups", ...})."""
    documents = {school_id: json.loads(raw) for school_id, raw in schools.items()}
    names = {school_id: document["name"] for school_id, document in documents.items()}
    models = {
        school_id: AssessmentModel.model_validate(document["model"]) if document.get("model") else None
        for school_id, document in documents.items()
    }
    found = {}
    for class_id, raw in (classes or {}).items():
        document = json.loads(raw)
        found[class_id] = SchoolClass(class_id, document["name"], document["school_id"], document["academic_year"],
                                      [YearGroup(y) for y in document["year_groups"]])
    labels = {class_id: (c.name, c.school_id) for class_id, c in found.items()}
    return TrustDirectory(SchoolNames(names, labels), models, None, found)


def latest(*timestamps: str | None) -> str | None:
    """The latest of ISO timestamps (None: none)."""
    return max(filter(None, timestamps), default=None)


async def resolve_filter(reader: AggregateReader, principal: Principal, requested: PupilFilter) -> Scope:
    """Narrow a request's filter to the schools it may read.

    `requested.schools` is what the caller asked for (None: everything it may see). Asking for a
    school the caller may not see raises `SchoolNotVisible` (403); for one its Trust does not have,
    `UnknownSchool` (422); a class likewise (`ClassNotVisible`, `UnknownClass`), and a class filter
    narrows the schools to the classes' own. The result's `schools` is never None, so no read ever covers a school
    outside the caller's scope, and All Pupils is pooled over the visible schools only.
    """
    directory = await reader.directory()
    schools = schools_in_scope(principal, directory.school_names, requested.schools)
    if requested.classes is not None:  # only the classes' schools hold their pupils' counters
        schools &= schools_of_classes(principal, directory.classes, requested.classes)
    return Scope(replace(requested, schools=schools), directory)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """A shared read's error is retrieved here too (every check waiting on it raises it itself)."""
    if not future.cancelled():
        future.exception()
