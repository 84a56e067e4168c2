"""SQL repository of the ingest store: bulk reads and writes with SQLAlchemy Core (fast for big batches)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, insert, select, update
from sqlalchemy.sql.expression import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from tidemark_ingest.adapters.orm import AssessmentRow, OutboxRow, PupilRow, SchoolRow, StatutoryRow
from tidemark_ingest.domain.facts import PupilState, ResultState, SchoolState, StatutoryState
from tidemark_ingest.domain.messages import Message
from tidemark_runtime.observability.tracing import current_traceparent
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.records import LockScope
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryValue

SCHOOL = SchoolRow.__table__  # type: ignore[attr-defined]
PUPIL = PupilRow.__table__  # type: ignore[attr-defined]
ASSESSMENT = AssessmentRow.__table__  # type: ignore[attr-defined]
STATUTORY = StatutoryRow.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]

_CHUNK = 400  # keys per IN (...) query, well under every driver's bound-parameter limit


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield items[start : start + size]


StatutoryKey = tuple[str, str, str, str]
"""(pupil_id, academic_year, assessment, component)."""

_VALUE_PARTS = ("mark", "scaled_score", "code")
_STATUTORY_KEY = ("pupil_id", "academic_year", "assessment", "component")
_STATUTORY_VALUES = tuple(f"{side}_{part}" for side in ("entered", "locked") for part in _VALUE_PARTS)
STATUTORY_COLUMNS = [STATUTORY.c[name] for name in (*_STATUTORY_KEY, "school_id", *_STATUTORY_VALUES, "version")]
"""The columns `statutory_state` reads, in its order."""


def statutory_state(row: Row[Any]) -> StatutoryState:
    """A `statutory_result` row (selected as STATUTORY_COLUMNS) as the domain state: each side's three
    columns become one value, or None when all three are null (a valid value never is)."""
    columns = row._mapping

    def value(side: str) -> StatutoryValue | None:
        parts = {part: columns[f"{side}_{part}"] for part in _VALUE_PARTS}
        return None if all(v is None for v in parts.values()) else StatutoryValue(**parts)

    entered = value("entered")
    if entered is None:
        raise ValueError(f"statutory result without an entered value: {dict(columns)}")
    return StatutoryState(
        **{name: columns[name] for name in (*_STATUTORY_KEY, "school_id")},
        entered=entered,
        locked=value("locked"),
        version=columns["version"],
    )


def _statutory_values(state: StatutoryState) -> dict[str, Any]:
    """The state as `statutory_result` columns (without trust_id)."""
    values: dict[str, Any] = {name: getattr(state, name) for name in (*_STATUTORY_KEY, "school_id", "version")}
    for side, value in (("entered", state.entered), ("locked", state.locked)):
        values.update({f"{side}_{part}": getattr(value, part) if value else None for part in _VALUE_PARTS})
    return values


class IngestStore:
    """The facts of one Trust within one transaction. Reads of facts about to change lock their rows
    (`FOR UPDATE`), so concurrent batches touching the same facts queue instead of losing a version."""

    def __init__(self, session: AsyncSession, trust_id: str) -> None:
        self.session = session
        self.trust_id = trust_id

    # -- reads ------------------------------------------------------------------------------

    async def school_models(self) -> dict[str, AssessmentModel | None]:
        """Every school of the Trust with its own assessment model (None: bands only)."""
        rows = await self.session.execute(
            select(SCHOOL.c.school_id, SCHOOL.c.assessment_model).where(SCHOOL.c.trust_id == self.trust_id)
        )
        return {r[0]: AssessmentModel.model_validate_json(r[1]) if r[1] else None for r in rows}

    async def schools(self, ids: Sequence[str]) -> dict[str, SchoolState]:
        found: dict[str, SchoolState] = {}
        for chunk in _chunks(list(ids)):
            rows = await self.session.execute(
                select(SCHOOL.c.school_id, SCHOOL.c.name, SCHOOL.c.assessment_model, SCHOOL.c.version).where(
                    SCHOOL.c.trust_id == self.trust_id, SCHOOL.c.school_id.in_(chunk)
                ).with_for_update()
            )
            found.update({r.school_id: SchoolState(*r) for r in rows})
        return found

    async def pupil_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(set(ids))):
            rows = await self.session.execute(
                select(PUPIL.c.pupil_id).where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(chunk))
            )
            found.update(r[0] for r in rows)
        return found

    async def pupils(self, ids: Sequence[str]) -> dict[str, PupilState]:
        columns = [PUPIL.c[name] for name in PupilState.__dataclass_fields__]
        found: dict[str, PupilState] = {}
        for chunk in _chunks(list(set(ids))):
            rows = await self.session.execute(
                select(*columns)
                .where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(chunk))
                .with_for_update()
            )
            found.update({r.pupil_id: PupilState(*r) for r in rows})
        return found

    async def results(self, keys: Sequence[tuple[str, str, str, str]]) -> dict[tuple[str, str, str, str], ResultState]:
        """Results by (pupil_id, academic_year, period, subject).

        Queried by pupil, year and period (a batch usually spans few periods), then narrowed here:
        far fewer bound parameters than a row-value IN over every key.
        """
        wanted = set(keys)
        columns = [ASSESSMENT.c[name] for name in ResultState.__dataclass_fields__]
        years = sorted({k[1] for k in wanted})
        periods = sorted({k[2] for k in wanted})
        found: dict[tuple[str, str, str, str], ResultState] = {}
        for chunk in _chunks(sorted({k[0] for k in wanted})):
            rows = await self.session.execute(
                select(*columns).where(
                    ASSESSMENT.c.trust_id == self.trust_id,
                    ASSESSMENT.c.pupil_id.in_(chunk),
                    ASSESSMENT.c.academic_year.in_(years),
                    ASSESSMENT.c.period.in_(periods),
                ).with_for_update()
            )
            for r in rows:
                state = ResultState(*r)
                key = (state.pupil_id, state.academic_year, state.period, state.subject)
                if key in wanted:
                    found[key] = state
        return found

    async def results_in_scope(self, scope: LockScope) -> list[ResultState]:
        columns = [ASSESSMENT.c[name] for name in ResultState.__dataclass_fields__]
        conditions = [
            ASSESSMENT.c.trust_id == self.trust_id,
            ASSESSMENT.c.school_id == scope.school_id,
            ASSESSMENT.c.academic_year == scope.academic_year,
            ASSESSMENT.c.period == scope.period,
        ]
        if scope.year_group is not None:
            conditions.append(ASSESSMENT.c.year_group == scope.year_group.value)
        if scope.subject is not None:
            conditions.append(ASSESSMENT.c.subject == scope.subject)
        rows = await self.session.execute(select(*columns).where(and_(*conditions)).with_for_update())
        return [ResultState(*r) for r in rows]

    async def statutory_results(self, keys: Sequence[StatutoryKey]) -> dict[StatutoryKey, StatutoryState]:
        """Statutory results by key; queried by pupil and year, then narrowed here (as `results`)."""
        wanted = set(keys)
        years = sorted({k[1] for k in wanted})
        found: dict[StatutoryKey, StatutoryState] = {}
        for chunk in _chunks(sorted({k[0] for k in wanted})):
            rows = await self.session.execute(
                select(*STATUTORY_COLUMNS).where(
                    STATUTORY.c.trust_id == self.trust_id,
                    STATUTORY.c.pupil_id.in_(chunk),
                    STATUTORY.c.academic_year.in_(years),
                ).with_for_update()
            )
            for r in rows:
                state = statutory_state(r)
                key = (state.pupil_id, state.academic_year, state.assessment, state.component)
                if key in wanted:
                    found[key] = state
        return found

    async def statutory_in_scope(self, scope: StatutoryLockScope) -> list[StatutoryState]:
        conditions = [
            STATUTORY.c.trust_id == self.trust_id,
            STATUTORY.c.school_id == scope.school_id,
            STATUTORY.c.academic_year == scope.academic_year,
        ]
        if scope.assessment is not None:
            conditions.append(STATUTORY.c.assessment == scope.assessment.value)
        rows = await self.session.execute(select(*STATUTORY_COLUMNS).where(and_(*conditions)).with_for_update())
        return [statutory_state(r) for r in rows]

    # -- writes -----------------------------------------------------------------------------

    async def save_schools(self, new: list[SchoolState], changed: list[SchoolState]) -> None:
        if new:
            await self.session.execute(insert(SCHOOL), [{"trust_id": self.trust_id, **vars(s)} for s in new])
        if changed:
            await self.session.execute(
                update(SCHOOL)
                .where(SCHOOL.c.trust_id == self.trust_id, SCHOOL.c.school_id == bindparam("k_school_id"))
                .values(name=bindparam("name"), assessment_model=bindparam("assessment_model"),
                        version=bindparam("version")),
                [
                    {"k_school_id": s.school_id, "name": s.name, "assessment_model": s.assessment_model,
                     "version": s.version}
                    for s in changed
                ],
            )

    async def save_pupils(self, new: list[PupilState], changed: list[PupilState]) -> None:
        if new:
            await self.session.execute(insert(PUPIL), [{"trust_id": self.trust_id, **vars(p)} for p in new])
        if changed:
            values = {name: bindparam(name) for name in PupilState.__dataclass_fields__ if name != "pupil_id"}
            await self.session.execute(
                update(PUPIL)
                .where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id == bindparam("k_pupil_id"))
                .values(**values),
                [{"k_pupil_id": p.pupil_id, **{k: v for k, v in vars(p).items() if k != "pupil_id"}} for p in changed],
            )

    async def save_results(self, new: list[ResultState], changed: list[ResultState]) -> None:
        if new:
            await self.session.execute(insert(ASSESSMENT), [{"trust_id": self.trust_id, **vars(r)} for r in new])
        if changed:
            await self.session.execute(
                update(ASSESSMENT)
                .where(
                    ASSESSMENT.c.trust_id == self.trust_id,
                    ASSESSMENT.c.pupil_id == bindparam("k_pupil_id"),
                    ASSESSMENT.c.academic_year == bindparam("k_academic_year"),
                    ASSESSMENT.c.period == bindparam("k_period"),
                    ASSESSMENT.c.subject == bindparam("k_subject"),
                )
                .values(
                    school_id=bindparam("school_id"),
                    year_group=bindparam("year_group"),
                    entered_band=bindparam("entered_band"),
                    locked_band=bindparam("locked_band"),
                    entered_code=bindparam("entered_code"),
                    locked_code=bindparam("locked_code"),
                    version=bindparam("version"),
                ),
                [
                    {
                        "k_pupil_id": r.pupil_id,
                        "k_academic_year": r.academic_year,
                        "k_period": r.period,
                        "k_subject": r.subject,
                        "school_id": r.school_id,
                        "year_group": r.year_group,
                        "entered_band": r.entered_band,
                        "locked_band": r.locked_band,
                        "entered_code": r.entered_code,
                        "locked_code": r.locked_code,
                        "version": r.version,
                    }
                    for r in changed
                ],
            )

    async def save_statutory(self, new: list[StatutoryState], changed: list[StatutoryState]) -> None:
        if new:
            await self.session.execute(
                insert(STATUTORY), [{"trust_id": self.trust_id, **_statutory_values(r)} for r in new]
            )
        if changed:
            values = [_statutory_values(r) for r in changed]
            await self.session.execute(
                update(STATUTORY)
                .where(
                    STATUTORY.c.trust_id == self.trust_id,
                    *(STATUTORY.c[name] == bindparam(f"k_{name}") for name in _STATUTORY_KEY),
                )
                .values({name: bindparam(name) for name in values[0] if name not in _STATUTORY_KEY}),
                [
                    {**{f"k_{name}": v[name] for name in _STATUTORY_KEY},
                     **{name: value for name, value in v.items() if name not in _STATUTORY_KEY}}
                    for v in values
                ],
            )

    async def append_outbox(self, messages: list[Message]) -> None:
        if not messages:
            return
        now = datetime.now(UTC)
        traceparent = current_traceparent()  # the relay's records continue this request's trace
        await self.session.execute(
            insert(OUTBOX),
            [
                {"topic": topic, "key": key, "payload": event.model_dump_json(), "created_at": now,
                 "traceparent": traceparent}
                for topic, key, event in messages
            ],
        )
