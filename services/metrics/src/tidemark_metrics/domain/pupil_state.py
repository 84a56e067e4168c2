"""A pupil as the metrics service sees it, and how an event changes it (pure, version-guarded).

The state keeps every locked and draft result with its version, the pupil's current
characteristics, and exactly which counters the pupil currently adds one to. Applying an event
whose version is not newer than the stored one changes nothing: redelivery, duplicates and
reordering are all no-ops, and the latest snapshot of each fact always wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from tidemark_schemas.events import AssessmentEntered, AssessmentLocked, AssessmentUnlocked, PupilUpserted
from tidemark_schemas.ethnicity import EthnicGroup, ethnic_group
from tidemark_schemas.vocabulary import Band, SenProvision, Sex, YearGroup

ResultKey = tuple[str, str, str]
"""(academic_year, period, subject)"""


@dataclass(frozen=True, slots=True)
class Characteristics:
    sex: Sex
    disadvantaged: bool
    sen: SenProvision
    eal: bool
    ethnic_group: EthnicGroup
    lac: bool
    left_on: date | None
    version: int


@dataclass(frozen=True, slots=True)
class Result:
    school_id: str
    year_group: YearGroup
    entered: Band | None
    locked: Band | None
    version: int


Contribution = tuple[str, str, str, str, str]
"""(academic_year, period, measure, school_id, counter field): the pupil adds one to that counter."""


@dataclass(frozen=True)
class PupilState:
    characteristics: Characteristics | None = None
    results: dict[ResultKey, Result] = field(default_factory=dict)
    contributions: frozenset[Contribution] = frozenset()


def apply_event(
    state: PupilState, event: PupilUpserted | AssessmentEntered | AssessmentLocked | AssessmentUnlocked
) -> PupilState | None:
    """The state after `event`, or None if the event is stale or repeated (its version is not newer)."""
    if isinstance(event, PupilUpserted):
        if state.characteristics is not None and event.version <= state.characteristics.version:
            return None
        characteristics = Characteristics(
            sex=event.sex,
            disadvantaged=event.disadvantaged,
            sen=event.sen,
            eal=event.eal,
            ethnic_group=ethnic_group(event.ethnicity),
            lac=event.lac,
            left_on=event.left_on,
            version=event.version,
        )
        return replace(state, characteristics=characteristics)
    key = (event.academic_year, event.period, event.subject)
    current = state.results.get(key)
    if current is not None and event.version <= current.version:
        return None
    result = Result(event.school_id, event.year_group, event.entered_band, event.locked_band, event.version)
    return replace(state, results={**state.results, key: result})


# -- serialisation (compact JSON-able structures, stored in Redis) ----------------------------


def to_document(state: PupilState) -> dict[str, Any]:
    c = state.characteristics
    return {
        "c": None
        if c is None
        else [c.sex.value, c.disadvantaged, c.sen.value, c.eal, c.ethnic_group.name, c.lac,
              c.left_on.isoformat() if c.left_on else None, c.version],
        "r": {
            "|".join(k): [r.school_id, r.year_group.value, r.entered.value if r.entered else None,
                          r.locked.value if r.locked else None, r.version]
            for k, r in state.results.items()
        },
        "k": sorted("|".join(c) for c in state.contributions),
    }


def from_document(document: dict[str, Any] | None) -> PupilState:
    if not document:
        return PupilState()
    c = document["c"]
    characteristics = (
        None
        if c is None
        else Characteristics(
            Sex(c[0]), c[1], SenProvision(c[2]), c[3], EthnicGroup[c[4]], c[5],
            date.fromisoformat(c[6]) if c[6] else None, c[7],
        )
    )
    results = {}
    for raw_key, (school_id, year_group, entered, locked, version) in document["r"].items():
        year, period, subject = raw_key.split("|")
        results[(year, period, subject)] = Result(
            school_id, YearGroup(year_group), Band(entered) if entered else None, Band(locked) if locked else None, version
        )
    contributions = frozenset(tuple(raw.split("|", 4)) for raw in document["k"])
    return PupilState(characteristics, results, contributions)  # type: ignore[arg-type]
