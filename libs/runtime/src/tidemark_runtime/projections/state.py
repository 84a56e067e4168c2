"""A pupil's record in any projection and how a batch of events moves it: pure, no I/O.

A pupil's hash: `rev` (the write guard), `c` (current characteristics: every projection groups
by them, so the engine owns them) and one field per part: `{"r": <the rule's data>, "k": <its
contributions>}`, or the rule's data alone for a projection that recomputes contributions
instead of storing them (`Projection.stores_contributions`). `advance` applies a pupil's events (version-guarded), recomputes what changed
and says how every counter moves; the engine (`engine.py`) only reads and writes around it, and
the projections' unit tests call it directly (`fold`).

Forged versions: ingest bumps a fact's version by one per change, so an event far ahead of the
version stored for its fact (more than `max_jump`) is not a change anyone made. Applied, it would
change a figure and make every later genuine correction look stale; `advance` refuses it instead
(`Step.refused`), and the consumer dead-letters and reports it. A fact not stored yet has nothing
to compare with (a new fact, or a generation being rebuilt from the SQL store).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from tidemark_runtime.projections.rules import NO_CONTRIBUTIONS, Contributions, Projection, delta, weights
from tidemark_schemas.aggregates import CHARACTERISTICS_FIELD, Keyspace
from tidemark_schemas.characteristics import Characteristics, decode_characteristics, encode_characteristics

CounterKey = tuple[str, str]
"""(Redis key, field)"""

Routed = tuple[str | None, Any]
"""An event with the part of the pupil's hash it changes (None: the characteristics)."""


class Refused(NamedTuple):
    """An event refused as implausibly far ahead of its fact's stored version (possibly forged)."""

    event: Any
    stored_version: int
    max_jump: int

    @property
    def reason(self) -> str:
        ahead = self.event.version - self.stored_version
        return (f"version {self.event.version} is {ahead} ahead of the stored version {self.stored_version} of this "
                f"fact (at most {self.max_jump}: MAX_VERSION_JUMP): not a change made one at a time; possibly forged")


class Part(NamedTuple):
    """One part of a pupil's hash as read or computed (a tuple: several per pupil and batch)."""

    data: Any
    contributions: Contributions | None = NO_CONTRIBUTIONS
    """None when the projection does not store them (`Projection.stores_contributions`) and they
    were not recomputed since the part was read."""


@dataclass(frozen=True)
class PupilRecord:
    """A pupil's hash as read (only the parts loaded)."""

    characteristics: Characteristics | None = None
    parts: dict[str, Part] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """What one pupil's events did."""

    after: PupilRecord
    applied: int
    """Events newer than what was stored."""
    moves: dict[tuple[str, str], int]
    """(part, contribution) -> how much its counter moves."""
    fields: dict[str, bytes]
    """The hash fields to write: the characteristics if they changed, and every part whose data
    or contributions changed."""
    outputs: list[Any]
    refused: list[Refused] = field(default_factory=list)
    """Events refused as implausibly far ahead of their fact's stored version (not applied)."""


def advance(
    rules: Projection, trust_id: str, pupil_id: str, before: PupilRecord, events: Iterable[Routed],
    max_jump: int | None = None,
) -> Step:
    """Apply a pupil's events to the parts loaded, recompute the contributions of the changed
    parts (every part after a change of the characteristics or of a part that fans out), and say
    how each counter moves. With `max_jump`, an event more than that many versions ahead of its
    fact's stored version is refused (see the module's docstring)."""
    characteristics = before.characteristics
    before_data = {name: part.data for name, part in before.parts.items()}
    data = dict(before_data)
    applied, everything, touched = 0, False, set[str]()
    refused: list[Refused] = []
    for part, event in events:
        if max_jump is not None:
            stored = _stored_version(rules, characteristics, data, part, event)
            if stored is not None and event.version - stored > max_jump:
                refused.append(Refused(event, stored, max_jump))
                continue
        if part is None:
            if characteristics is not None and event.version <= characteristics.version:
                continue
            characteristics, everything = Characteristics.of(event), True
        else:
            changes = rules.apply(part, data, event)
            if changes is None:
                continue
            data.update(changes)
            touched.update(changes)
            everything = everything or any(map(rules.fans_out, changes))
        applied += 1
    if not applied:
        return Step(before, 0, {}, {}, [], refused)
    recomputed = (data.keys() | set(rules.derived_parts)) if everything else touched
    computed = rules.contributions(pupil_id, characteristics, data, recomputed)
    previous = contributions_of(rules, pupil_id, before, recomputed, before_data)
    moves: dict[tuple[str, str], int] = {}
    fields: dict[str, bytes] = {}
    outputs: list[Any] = []
    parts = dict(before.parts)
    if characteristics is not before.characteristics and characteristics is not None:
        fields[CHARACTERISTICS_FIELD] = encode_characteristics(characteristics)
    for part in recomputed:
        old = previous.get(part, NO_CONTRIBUTIONS)
        new = computed[part]
        if old != new:
            for item, amount in delta(old, new).items():
                moves[(part, item)] = amount
            outputs += rules.outputs(trust_id, pupil_id, part, old, new)
        elif part not in touched:
            continue
        parts[part] = Part(data.get(part), new)
        fields[part] = encode_part(rules, part, data.get(part), new)
    return Step(PupilRecord(characteristics, parts), applied, moves, fields, outputs, refused)


def _stored_version(
    rules: Projection, characteristics: Characteristics | None, data: Mapping[str, Any], part: str | None, event: Any
) -> int | None:
    if part is None:  # a pupil-upserted: the characteristics' version
        return None if characteristics is None else characteristics.version
    return rules.stored_version(part, data, event)


def fold(rules: Projection, events: Iterable[Any], record: PupilRecord | None = None) -> PupilRecord:
    """One pupil's record after `events`, one at a time, in memory (for the projections' tests)."""
    record = record or PupilRecord()
    for event in events:
        routed: Routed | None = (None, event) if event.event_type == "pupil-upserted" else (
            None if (found := rules.route(event)) is None else (found[1], event)
        )
        if routed is not None:
            record = advance(rules, event.trust_id, getattr(event, "pupil_id", ""), record, [routed]).after
    return record


def contributions_of(
    rules: Projection, pupil_id: str, record: PupilRecord, names: Iterable[str],
    data: Mapping[str, Any] | None = None,
) -> dict[str, Contributions]:
    """The contributions of the named parts a record holds: as stored, or recomputed from the
    stored data (`data`: the record's, when the caller has it at hand) and characteristics when the
    projection does not store them."""
    found: dict[str, Contributions] = {}
    unknown: list[str] = []
    for name in names:
        part = record.parts.get(name)
        if part is None:
            continue
        if part.contributions is None:
            unknown.append(name)
        else:
            found[name] = part.contributions
    if unknown:
        if data is None:
            data = {name: part.data for name, part in record.parts.items()}
        found.update(rules.contributions(pupil_id, record.characteristics, data, unknown))
    return found


def recorded_counters(rules: Projection, keys: Keyspace, record: PupilRecord, pupil_id: str = "") -> Counter[CounterKey]:
    """The counters one pupil's recorded contributions add to."""
    counted: Counter[CounterKey] = Counter()
    for name, contributions in contributions_of(rules, pupil_id, record, list(record.parts)).items():
        for item, weight in weights(contributions):
            located = rules.locate(keys, name, item)
            counted[(located.key, located.field)] += weight
    return counted


# -- the stored form --------------------------------------------------------------------------


def decode_record(rules: Projection, fields: Mapping[str, bytes | str | None]) -> PupilRecord:
    """A pupil's record from the hash fields read (the revision excluded; missing fields are
    empty parts)."""
    characteristics = None
    parts: dict[str, Part] = {}
    for name, raw in fields.items():
        if not raw:
            continue
        if name == CHARACTERISTICS_FIELD:
            characteristics = decode_characteristics(raw)
            continue
        document = orjson.loads(raw)
        if not rules.stores_contributions:  # the part's data alone; contributions are recomputed
            parts[name] = Part(rules.decode(name, document), None)
            continue
        if isinstance(document, list):  # contributions only (a derived part, as first stored)
            parts[name] = Part(None, frozenset(document))
            continue
        k = document.get("k", ())
        contributions: Contributions = frozenset(k) if isinstance(k, list) else k
        parts[name] = Part(rules.decode(name, document["r"]) if "r" in document else None, contributions)
    return PupilRecord(characteristics, parts)


def encode_part(rules: Projection, name: str, data: Any, contributions: Contributions | None) -> bytes:
    if not rules.stores_contributions:
        return orjson.dumps(rules.encode(name, data))
    assert contributions is not None, "a stored part's contributions are always known"
    k = sorted(contributions) if isinstance(contributions, frozenset | set) else dict(contributions)
    if data is None:
        return orjson.dumps({"k": k})
    return orjson.dumps({"r": rules.encode(name, data), "k": k})


def encode_record(rules: Projection, record: PupilRecord) -> dict[str, bytes]:
    """Every field of a record (a whole hash, as a test writes it)."""
    fields = {name: encode_part(rules, name, part.data, part.contributions) for name, part in record.parts.items()}
    if record.characteristics is not None:
        fields[CHARACTERISTICS_FIELD] = encode_characteristics(record.characteristics)
    return fields
