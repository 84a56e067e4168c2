"""A pupil as the metrics service sees it, and how an event changes it (pure, version-guarded).

The state keeps every result (draft and locked value) with its version, the pupil's current
characteristics, and exactly which counters the pupil currently adds one to. Applying an event
whose version is not newer than the stored one changes nothing: redelivery, duplicates and
reordering are all no-ops, and the latest snapshot of each fact always wins.

Results and contributions are kept in their stored form (plain strings and lists): decoding and
encoding states is the consumer's hottest loop, so nothing is converted that is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from tidemark_schemas.ethnicity import EthnicGroup, ethnic_group
from tidemark_schemas.events import AssessmentEntered, AssessmentLocked, AssessmentUnlocked, PupilUpserted
from tidemark_schemas.vocabulary import SenProvision, Sex

StoredResult = tuple[str, str, str | None, str | None, int]
"""(school_id, year_group, entered band, locked band, version) of one result."""

Contribution = str
""""academic_year|period|measure|school_id|counter field": the pupil adds one to that counter."""


def result_key(academic_year: str, period: str, subject: str) -> str:
    return f"{academic_year}|{period}|{subject}"


def contribution(academic_year: str, period: str, measure: str, school_id: str, counter_field: str) -> Contribution:
    return f"{academic_year}|{period}|{measure}|{school_id}|{counter_field}"


def parse_contribution(value: Contribution) -> tuple[str, str, str, str, str]:
    year, period, measure, school_id, counter_field = value.split("|", 4)
    return year, period, measure, school_id, counter_field


@dataclass(frozen=True, slots=True)
class Characteristics:
    school_id: str
    year_group: str
    """The pupil's current school and year group (results carry their own)."""
    sex: Sex
    disadvantaged: bool
    sen: SenProvision
    eal: bool
    ethnic_group: EthnicGroup
    lac: bool
    left_on: date | None
    version: int


@dataclass(frozen=True)
class PupilState:
    characteristics: Characteristics | None = None
    results: dict[str, StoredResult] = field(default_factory=dict)
    """By result_key(academic_year, period, subject)."""
    contributions: frozenset[Contribution] = frozenset()


def apply_event(
    state: PupilState, event: PupilUpserted | AssessmentEntered | AssessmentLocked | AssessmentUnlocked
) -> PupilState | None:
    """The state after `event`, or None if the event is stale or repeated (its version is not newer)."""
    if isinstance(event, PupilUpserted):
        if state.characteristics is not None and event.version <= state.characteristics.version:
            return None
        characteristics = Characteristics(
            school_id=event.school_id,
            year_group=event.year_group.value,
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
    key = result_key(event.academic_year, event.period, event.subject)
    current = state.results.get(key)
    if current is not None and event.version <= current[4]:
        return None
    stored: StoredResult = (
        event.school_id,
        event.year_group.value,
        event.entered_band.value if event.entered_band else None,
        event.locked_band.value if event.locked_band else None,
        event.version,
    )
    return replace(state, results={**state.results, key: stored})


# -- the stored form (JSON in Redis) ---------------------------------------------------------


def to_document(state: PupilState) -> dict[str, Any]:
    c = state.characteristics
    return {
        "c": None
        if c is None
        else [c.school_id, c.year_group, c.sex.value, c.disadvantaged, c.sen.value, c.eal, c.ethnic_group.name, c.lac,
              c.left_on.isoformat() if c.left_on else None, c.version],
        "r": state.results,
        "k": sorted(state.contributions),
    }


def from_document(document: dict[str, Any] | None) -> PupilState:
    if not document:
        return PupilState()
    c = document["c"]
    characteristics = (
        None
        if c is None
        else Characteristics(
            c[0], c[1], Sex(c[2]), c[3], SenProvision(c[4]), c[5], EthnicGroup[c[6]], c[7],
            date.fromisoformat(c[8]) if c[8] else None, c[9],
        )
    )
    results = {key: tuple(value) for key, value in document["r"].items()}
    return PupilState(characteristics, results, frozenset(document["k"]))  # type: ignore[arg-type]
