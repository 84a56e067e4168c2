"""The projection engine: applies consumed batches of tracker events to any projection's Redis
state, exactly once in effect.

For each Trust in a batch and each generation of its keys (the live one and any being rebuilt):
1. read, in one round trip, each touched pupil's revision and the parts the batch needs (the
   whole hash when the characteristics or a fanning-out part change, else the characteristics,
   the parts the events are routed to and the parts those read with them);
2. `state.advance` each pupil: events not newer than what is stored are no-ops (redelivery,
   duplicates, reordering), events implausibly far ahead of it are refused (`max_version_jump`:
   forged; decided on the live generation, and kept out of the generations being rebuilt too),
   changed parts are recomputed, "retract the old contributions, add the new" gives the counter
   moves;
3. coalesce the moves into counter increments and change notices, and write them with the changed
   fields and school and class documents in one Lua call that first checks every revision read
   (`writer.py`); if another writer got there first, nothing is written and the batch is
   recomputed from fresh reads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from tidemark_runtime.projections.replay import FactSource
from tidemark_runtime.projections.rules import Projection
from tidemark_runtime.projections.state import CounterKey, Refused, Routed, advance, decode_record, recorded_counters
from tidemark_runtime.projections.writer import ProjectionWrite, ProjectionWriter
from tidemark_runtime.redis import RedisClient
from tidemark_runtime.settings import MAX_VERSION_JUMP
from tidemark_schemas.aggregates import CHARACTERISTICS_FIELD, REVISION_FIELD, SCHOOLS_CHANGED, Keyspace
from tidemark_schemas.events import ClassUpserted, PupilUpserted, SchoolUpserted
from tidemark_schemas.notices import ChangeNotice


@dataclass
class BatchResult:
    events: int = 0
    applied: int = 0
    """Events (and school documents) newer than what was stored."""
    counter_writes: int = 0
    notices: list[ChangeNotice] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    """What the projection publishes because of this batch (`Projection.outputs`)."""
    refused: list[Refused] = field(default_factory=list)
    """Events refused as implausibly far ahead of their fact's stored version (not applied)."""

    def add(self, other: BatchResult) -> None:
        self.applied += other.applied
        self.counter_writes += other.counter_writes
        self.notices += other.notices
        self.outputs += other.outputs
        self.refused += other.refused


@dataclass
class TrustBatch:
    """One Trust's share of a batch, grouped once however many generations it is written to."""

    pupils: dict[str, list[Routed]]
    schools: dict[str, SchoolUpserted]
    """The newest version of each school in the batch (projections that keep schools)."""
    classes: dict[str, ClassUpserted] = field(default_factory=dict)
    """The newest version of each class in the batch (kept with the schools)."""

    @classmethod
    def of(cls, rules: Projection, events: Iterable[Any]) -> TrustBatch:
        pupils: dict[str, list[Routed]] = defaultdict(list)
        schools: dict[str, SchoolUpserted] = {}
        classes: dict[str, ClassUpserted] = {}
        for event in events:
            if isinstance(event, PupilUpserted):
                pupils[event.pupil_id].append((None, event))
            elif isinstance(event, SchoolUpserted):
                newest = schools.get(event.school_id)
                if rules.keeps_schools and (newest is None or newest.version < event.version):
                    schools[event.school_id] = event
            elif isinstance(event, ClassUpserted):
                newest_class = classes.get(event.class_id)
                if rules.keeps_schools and (newest_class is None or newest_class.version < event.version):
                    classes[event.class_id] = event
            elif (routed := rules.route(event)) is not None:
                pupils[routed[0]].append((routed[1], event))
        return cls(dict(pupils), schools, classes)

    @property
    def empty(self) -> bool:
        return not (self.pupils or self.schools or self.classes)

    def without(self, refused: list[Refused]) -> TrustBatch:
        """The batch less the events another generation refused."""
        if not refused:
            return self
        gone = {id(refusal.event) for refusal in refused}
        pupils = {pupil_id: kept for pupil_id, events in self.pupils.items()
                  if (kept := [routed for routed in events if id(routed[1]) not in gone])}
        return TrustBatch(pupils, self.schools, self.classes)


def by_trust(events: Iterable[Any]) -> dict[str, list[Any]]:
    """A consumed batch split by Trust: each Trust's share is written to its own keys."""
    found: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        found[event.trust_id].append(event)
    return found


class ProjectionEngine:
    """Runs one projection's rules against Redis."""

    def __init__(
        self, redis: RedisClient, prefix: str, rules: Projection, max_version_jump: int | None = MAX_VERSION_JUMP
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.rules = rules
        self.max_version_jump = max_version_jump
        """Consumed events further ahead than this of their fact's stored version are refused."""
        self._writer = ProjectionWriter(redis)

    def keyspace(self, trust_id: str) -> Keyspace:
        return self.rules.keyspace(self.prefix, trust_id)

    async def rules_at(self, keys: Keyspace) -> Projection:
        """The rules a batch is computed by in one generation: `rules`, unless the projection's
        rules depend on what the generation holds (the attendance projection's periods are dated by
        the dates its generation was opened with)."""
        return self.rules

    async def open_generation(self, keys: Keyspace) -> None:
        """Write what a generation holds before anything is written to it (a rebuild calls this
        before it opens the generation to writers); nothing, unless a projection says otherwise."""

    def background(self, source: Callable[[], FactSource] | None) -> list[Coroutine[Any, Any, None]]:
        """Work the projection's process runs beside its consumer (`source`: ingest's replay, None
        when it is not configured); none unless a projection says otherwise."""
        return []

    async def apply(self, events: Sequence[Any]) -> BatchResult:
        """Apply consumed events of any Trusts; each Trust's share is written atomically per
        generation. What the live generation refuses (`BatchResult.refused`) no generation gets."""
        total = BatchResult(events=len(events))
        for trust_id, trust_events in by_trust(events).items():
            batch = TrustBatch.of(self.rules, trust_events)
            if not batch.empty:
                total.add(await self._writer.to_every_generation(
                    self.keyspace(trust_id),
                    lambda keys, live: self.apply_to(keys, batch if live is None else batch.without(live.refused)),
                ))
        return total

    async def apply_to(self, keys: Keyspace, batch: TrustBatch, guarded: bool = True) -> BatchResult | None:
        """Apply to one generation; None if it is neither live nor being rebuilt. `guarded`: refuse
        events implausibly far ahead of their fact's stored version (consumed events)."""
        max_jump = self.max_version_jump if guarded else None
        return await self._writer.write_computed(keys, lambda: self._compute(keys, batch, max_jump))

    async def apply_facts(self, keys: Keyspace, events: Sequence[Any]) -> bool:
        """Apply replayed facts to one generation (a rebuild); False if it stopped being built. The
        SQL store's facts are never refused as implausible: they are the truth the rebuild restores."""
        batch = TrustBatch.of(self.rules, events)
        return batch.empty or await self.apply_to(keys, batch, guarded=False) is not None

    async def _compute(
        self, keys: Keyspace, batch: TrustBatch, max_jump: int | None
    ) -> tuple[BatchResult, ProjectionWrite]:
        """The batch's effect on the states as read now: what to report and what to write."""
        rules = await self.rules_at(keys)
        wanted = {pupil_id: self._wanted(rules, events) for pupil_id, events in batch.pupils.items()}
        read = await self._writer.read_pupils(keys, wanted)
        result = BatchResult()
        write = ProjectionWrite()
        moves: dict[tuple[str, str], int] = {}
        for pupil_id, events in batch.pupils.items():
            revision, fields = read[pupil_id]
            step = advance(rules, keys.trust_id, pupil_id, decode_record(rules, fields), events, max_jump)
            result.refused += step.refused
            if step.applied:
                result.applied += step.applied
                result.outputs += step.outputs
                for move, amount in step.moves.items():
                    moves[move] = moves.get(move, 0) + amount
                write.add_state(keys.pupil(pupil_id), revision, step.fields)
        write.counters, result.notices = self._counter_writes(rules, keys, moves)
        result.counter_writes = write.counter_writes
        result.applied += len(batch.schools) + len(batch.classes)
        write.schools = [[s.school_id, s.version, school_document(s)] for s in batch.schools.values()]
        write.classes = [[c.class_id, c.version, class_document(c)] for c in batch.classes.values()]
        write.notices = [list(notice.stream_fields().values()) for notice in result.notices]
        if batch.schools or batch.classes:  # live pages list a school (or class) before any result of it arrives
            changed = set(batch.schools) | {c.school_id for c in batch.classes.values()}
            schools = ChangeNotice(keys.trust_id, "", "", (SCHOOLS_CHANGED,), tuple(sorted(changed)))
            write.notices.append(list(schools.stream_fields().values()))
        return result, write

    @staticmethod
    def _wanted(rules: Projection, events: list[Routed]) -> list[str] | None:
        """The hash fields a pupil's events need: None (all) when they move every part."""
        parts: set[str] = set()
        for part, _event in events:
            if part is None or rules.fans_out(part):
                return None
            parts.add(part)
            parts.update(rules.reads(part))
        return [CHARACTERISTICS_FIELD, *sorted(parts)]

    @staticmethod
    def _counter_writes(
        rules: Projection, keys: Keyspace, moves: dict[tuple[str, str], int]
    ) -> tuple[dict[str, dict[str, int]], list[ChangeNotice]]:
        """The counter increments to write, by hash, and per (academic year, period) which
        measures and schools they touch."""
        by_hash: dict[str, dict[str, int]] = {}
        announced: dict[str, tuple[str, str, str, str] | None] = {}
        """counter hash -> the change it announces (one per hash)"""
        locate = rules.locate
        for (part, item), change in moves.items():
            if not change:
                continue
            key, name, notice = locate(keys, part, item)
            increments = by_hash.get(key)
            if increments is None:
                increments = by_hash[key] = {}
                announced[key] = notice
            increments[name] = increments.get(name, 0) + change
        touched: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        for notice in announced.values():
            if notice is not None:
                year, period, measure, school = notice
                measures, schools = touched[(year, period)]
                measures.add(measure)
                schools.add(school)
        writes = {key: changed for key, increments in by_hash.items()
                  if (changed := {name: change for name, change in increments.items() if change})}
        notices = [
            ChangeNotice(keys.trust_id, year, period, tuple(sorted(measures)), tuple(sorted(schools)))
            for (year, period), (measures, schools) in sorted(touched.items())
        ]
        return writes, notices

    async def expected_counters(self, keys: Keyspace) -> tuple[int, Counter[CounterKey]]:
        """(pupils, the counters their recorded contributions add up to) of one generation:
        reconcile compares these with the counters stored."""
        expected: Counter[CounterKey] = Counter()
        pupils = 0
        pupil_keys = keys.pupil("")
        async for key in self.redis.scan_iter(match=f"{pupil_keys}*", count=1000):
            fields = {_text(name): value for name, value in (await self.redis.hgetall(key)).items()}
            fields.pop(REVISION_FIELD, None)
            pupil_id = _text(key)[len(pupil_keys):]
            expected.update(recorded_counters(self.rules, keys, decode_record(self.rules, fields), pupil_id))
            pupils += 1
        return pupils, expected

    async def trusts(self) -> list[str]:
        """Every Trust with counters of this projection, in any generation."""
        found = set()
        prefix = self.keyspace("").prefix
        for pattern in (f"{prefix}:{{*}}:versions", f"{prefix}.*:{{*}}:versions"):
            async for key in self.redis.scan_iter(match=pattern, count=1000):
                name = _text(key)
                found.add(name[name.index(":{") + 2 : name.rindex("}:versions")])
        return sorted(found)


def school_document(school: SchoolUpserted) -> str:
    """A school as `Keyspace.schools` holds it: name, version and its own assessment model."""
    model = school.assessment_model.model_dump(mode="json") if school.assessment_model else None
    return orjson.dumps({"name": school.name, "version": school.version, "model": model}).decode()


def class_document(class_: ClassUpserted) -> str:
    """A class as `Keyspace.classes` holds it: name, school, academic year, year groups and version."""
    return orjson.dumps({"name": class_.name, "school_id": class_.school_id, "academic_year": class_.academic_year,
                         "year_groups": [y.value for y in class_.year_groups], "version": class_.version}).decode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
