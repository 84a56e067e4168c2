"""The statutory projection (`tidemark_runtime.projections.rules.Projection`): pure.

A pupil's hash holds the part `st`, every statutory result (its counted value and version) with
the statutory measures it adds to, and per (academic year, period) slot `s:<year>|<period>` the
locked reading, writing and maths bands (the current attainment progress compares with the prior
statutory result) with that period's progress counters. A summative lock reads and writes one
slot (and reads `st` for the prior result); a statutory result moves every period's progress, so
it reads and recomputes them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidemark_runtime.projections.rules import Contributions, Located
from tidemark_schemas.aggregates import (
    SLOT_FIELD_PREFIX,
    Keyspace,
    projection_layout,
    slot_field,
    slot_of,
    split_slot,
    statutory_keyspace,
)
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import (
    AssessmentEntered,
    AssessmentLocked,
    AssessmentUnlocked,
    ProgressCategoryChanged,
    StatutoryEntered,
    StatutoryLocked,
    StatutoryUnlocked,
)
from tidemark_schemas.progress import PriorAttainment
from tidemark_schemas.replay import FactKind
from tidemark_schemas.statutory import Assessment, StatutoryValue
from tidemark_schemas.vocabulary import CORE_SUBJECTS, YearGroup
from tidemark_statutory.domain.contributions import (
    PROGRESS,
    StatutoryKey,
    StoredStatutory,
    SummativeResult,
    category_of,
    locked_values,
    slot_contributions,
    statutory_contributions,
)
from tidemark_statutory.domain.outcomes import prior_attainment

STATUTORY_PART = "st"
StatutoryResults = dict[StatutoryKey, StoredStatutory]
SlotResults = dict[str, SummativeResult]


class StatutoryProjection:
    name = "statutory"
    layout = projection_layout(rules=1)
    facts = frozenset({FactKind.PUPILS, FactKind.RESULTS, FactKind.STATUTORY})
    counter_kinds = ("stat", "progress", "progress-pupils")
    derived_parts: tuple[str, ...] = ()
    keeps_schools = False
    stores_contributions = True

    def keyspace(self, prefix: str, trust_id: str) -> Keyspace:
        return statutory_keyspace(prefix, trust_id)

    def route(self, event: Any) -> tuple[str, str] | None:
        if isinstance(event, StatutoryEntered | StatutoryLocked | StatutoryUnlocked):
            return event.pupil_id, STATUTORY_PART
        if isinstance(event, AssessmentEntered | AssessmentLocked | AssessmentUnlocked) and event.subject in CORE_SUBJECTS:
            return event.pupil_id, slot_field(slot_of(event.academic_year, event.period))
        return None

    def reads(self, part: str) -> tuple[str, ...]:
        return (STATUTORY_PART,)  # a period's progress compares with the prior statutory result

    def fans_out(self, part: str) -> bool:
        return part == STATUTORY_PART  # every period's progress depends on the prior result

    def stored_version(self, part: str, data: Mapping[str, Any], event: Any) -> int | None:
        current = data.get(part) or {}
        if part == STATUTORY_PART:
            stored = current.get((event.academic_year, event.assessment, event.component))
            return None if stored is None else stored[2]
        return None if event.subject not in current else current[event.subject][3]

    def apply(self, part: str, data: Mapping[str, Any], event: Any) -> dict[str, Any] | None:
        current = data.get(part) or {}
        stored = self.stored_version(part, data, event)
        if stored is not None and event.version <= stored:
            return None
        if part == STATUTORY_PART:
            key = (event.academic_year, event.assessment, event.component)
            return {part: {**current, key: (event.school_id, event.locked, event.version)}}
        result: SummativeResult = (
            event.school_id, event.year_group.value, event.locked_band.value if event.locked_band else None,
            event.version,
        )
        return {part: {**current, event.subject: result}}

    def contributions(
        self, pupil_id: str, characteristics: Characteristics | None, data: Mapping[str, Any], parts: Iterable[str]
    ) -> dict[str, Contributions]:
        results: StatutoryResults = data.get(STATUTORY_PART) or {}
        locked = locked_values(results)
        priors: dict[YearGroup, PriorAttainment | None] = {}

        def prior_of(year_group: YearGroup) -> PriorAttainment | None:
            if year_group not in priors:
                priors[year_group] = prior_attainment(locked, year_group)
            return priors[year_group]

        return {
            part: statutory_contributions(characteristics, results, locked) if part == STATUTORY_PART
            else slot_contributions(pupil_id, characteristics, part.removeprefix(SLOT_FIELD_PREFIX),
                                    data.get(part) or {}, prior_of)
            for part in parts
        }

    def encode(self, part: str, data: Any) -> Any:
        if part != STATUTORY_PART:
            return data
        return [
            [year, assessment.value, component, school, value.model_dump() if value else None, version]
            for (year, assessment, component), (school, value, version) in sorted(data.items())
        ]

    def decode(self, part: str, raw: Any) -> Any:
        if part != STATUTORY_PART:
            return {subject: tuple(result) for subject, result in raw.items()}
        return {
            (year, Assessment(assessment), component): (
                school, StatutoryValue.model_validate(value) if value is not None else None, version
            )
            for year, assessment, component, school, value, version in raw
        }

    def locate(self, keys: Keyspace, part: str, item: str) -> Located:
        if part == STATUTORY_PART:
            year, measure, school, field = item.split("|", 3)
            return Located(keys.statutory(year, measure, school), field, (year, "", measure, school))
        year, period = split_slot(part.removeprefix(SLOT_FIELD_PREFIX))
        kind, school, field = item.split("|", 2)
        key = keys.progress if kind == PROGRESS else keys.progress_pupils
        return Located(key(year, period, school), field, (year, period, PROGRESS, school))

    def outputs(
        self, trust_id: str, pupil_id: str, part: str, before: Contributions, after: Contributions
    ) -> list[ProgressCategoryChanged]:
        """A pupil's progress category in a period changed: published on attainment.progress.v1."""
        if part == STATUTORY_PART:
            return []
        old, new = category_of(frozenset(before)), category_of(frozenset(after))
        if old == new:
            return []
        year, period = split_slot(part.removeprefix(SLOT_FIELD_PREFIX))
        return [ProgressCategoryChanged(
            trust_id=trust_id, pupil_id=pupil_id, school_id=(new or old)[0],  # type: ignore[index]  # one is set
            academic_year=year, period=period, previous=old[1] if old else None, current=new[1] if new else None,
        )]


STATUTORY = StatutoryProjection()
