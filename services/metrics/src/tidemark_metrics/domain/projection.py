"""The metrics aggregates as a projection (`tidemark_runtime.projections.rules.Projection`): pure.

A pupil's hash holds one part per (academic year, period) *slot*, `s:<year>|<period>`: every
summative result of that period (draft and locked value, with its version) and the counters they
add to; and the derived part `roll` (the current roll, from the characteristics alone). A lock
touches one slot of eighteen, so only that slot is read, recomputed and written; a characteristic
change moves every slot and the roll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from tidemark_metrics.domain.contributions import (
    VERSION,
    Contribution,
    StoredResult,
    parse_contribution,
    roll_contributions,
    slot_contributions,
    stored_result,
)
from tidemark_runtime.projections.rules import Contributions, Located
from tidemark_schemas.aggregates import (
    SLOT_FIELD_PREFIX,
    Keyspace,
    projection_layout,
    slot_field,
    slot_of,
    split_slot,
)
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import AssessmentEntered, AssessmentEvent, AssessmentLocked, AssessmentUnlocked
from tidemark_schemas.replay import FactKind

ROLL_PART = "roll"
SlotResults = dict[str, StoredResult]
"""A slot's data: its results by subject."""

class MetricsProjection:
    name = "metrics"
    layout = projection_layout(rules=1)
    facts = frozenset({FactKind.SCHOOLS, FactKind.CLASSES, FactKind.PUPILS, FactKind.RESULTS})
    counter_kinds = ("agg", "roll")
    derived_parts = (ROLL_PART,)
    keeps_schools = True
    stores_contributions = True

    def keyspace(self, prefix: str, trust_id: str) -> Keyspace:
        return Keyspace(prefix, trust_id)

    def route(self, event: Any) -> tuple[str, str] | None:
        if isinstance(event, AssessmentEntered | AssessmentLocked | AssessmentUnlocked):
            return event.pupil_id, slot_field(slot_of(event.academic_year, event.period))
        return None

    def reads(self, part: str) -> tuple[str, ...]:
        return ()

    def fans_out(self, part: str) -> bool:
        return False

    def stored_version(self, part: str, data: Mapping[str, Any], event: AssessmentEvent) -> int | None:
        current = (data.get(part) or {}).get(event.subject)
        return None if current is None else current[VERSION]

    def apply(self, part: str, data: Mapping[str, Any], event: AssessmentEvent) -> dict[str, SlotResults] | None:
        stored = self.stored_version(part, data, event)
        if stored is not None and event.version <= stored:
            return None
        return {part: {**(data.get(part) or {}), event.subject: stored_result(event)}}

    def contributions(
        self, pupil_id: str, characteristics: Characteristics | None, data: Mapping[str, Any], parts: Iterable[str]
    ) -> dict[str, Contributions]:
        return {
            part: roll_contributions(characteristics) if part == ROLL_PART
            else slot_contributions(characteristics, part.removeprefix(SLOT_FIELD_PREFIX), data.get(part) or {})
            for part in parts
        }

    def encode(self, part: str, data: SlotResults) -> Any:
        return data

    def decode(self, part: str, raw: Any) -> SlotResults:
        return {subject: cast(StoredResult, tuple(result)) for subject, result in raw.items()}

    def locate(self, keys: Keyspace, part: str, item: Contribution) -> Located:
        measure, school, field = parse_contribution(item)
        if part == ROLL_PART:
            return Located(keys.roll(school), field)
        year, period = split_slot(part.removeprefix(SLOT_FIELD_PREFIX))
        return Located(keys.counters(year, period, measure, school), field, (year, period, measure, school))

    def outputs(self, trust_id: str, pupil_id: str, part: str, before: Contributions, after: Contributions) -> list[Any]:
        return []


METRICS = MetricsProjection()
