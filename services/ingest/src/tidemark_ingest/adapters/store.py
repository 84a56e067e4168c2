"""SQL repository of the ingest store: bulk reads and writes with SQLAlchemy Core (fast for big batches).

The states come back from SQL as they went in, validated on their way in: they are rebuilt without
validating them again (`model_construct`), as a dataclass would be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, Table, and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import bindparam

from tidemark_ingest.adapters.orm import AssessmentRow, ClassRow, OutboxRow, PupilRow, SchoolRow, StatutoryRow
from tidemark_ingest.domain.facts import ClassState, PupilState, ResultState, SchoolState, StatutoryState, values_of
from tidemark_ingest.domain.messages import Message
from tidemark_runtime.observability.tracing import current_traceparent
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.records import LockScope
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryValue


def _table(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table


SCHOOL = _table(SchoolRow)
PUPIL = _table(PupilRow)
CLASS = _table(ClassRow)
ASSESSMENT = _table(AssessmentRow)
STATUTORY = _table(StatutoryRow)
OUTBOX = _table(OutboxRow)

_CHUNK = 400  # keys per IN (...) query, well under every driver's bound-parameter limit

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_SCHOOL_FIELDS = tuple(SchoolState.model_fields)
_PUPIL_FIELDS = tuple(PupilState.model_fields)
_RESULT_FIELDS = tuple(ResultState.model_fields)
_CLASS_FIELDS = tuple(ClassState.model_fields)
SCHOOL_COLUMNS = [SCHOOL.c[name] for name in _SCHOOL_FIELDS]
CLASS_COLUMNS = [CLASS.c[name] for name in _CLASS_FIELDS]
PUPIL_COLUMNS = [PUPIL.c[name] for name in _PUPIL_FIELDS]
RESULT_COLUMNS = [ASSESSMENT.c[name] for name in _RESULT_FIELDS]
"""The columns of each state, in its order (each state is read positionally: far faster than by
name for thousands of rows)."""


def school_state(row: Row[Any]) -> SchoolState:
    """A `school` row (selected as SCHOOL_COLUMNS): its model is stored as JSON."""
    columns = dict(zip(_SCHOOL_FIELDS, row))
    model = columns["assessment_model"]
    columns["assessment_model"] = AssessmentModel.model_validate_json(model) if model else None
    return SchoolState.model_construct(**columns)


def pupil_state(row: Row[Any]) -> PupilState:
    """A `pupil` row (selected as PUPIL_COLUMNS)."""
    return PupilState.model_construct(**dict(zip(_PUPIL_FIELDS, row)))


def class_state(row: Row[Any]) -> ClassState:
    """A `school_class` row (selected as CLASS_COLUMNS)."""
    return ClassState.model_construct(**dict(zip(_CLASS_FIELDS, row)))


def result_state(row: Row[Any]) -> ResultState:
    """An `assessment` row (selected as RESULT_COLUMNS)."""
    return ResultState.model_construct(**dict(zip(_RESULT_FIELDS, row)))


def _school_values(state: SchoolState) -> dict[str, Any]:
    """The state as `school` columns (without trust_id)."""
    model = state.assessment_model
    return {**values_of(state), "assessment_model": model.model_dump_json() if model else None}


def _class_values(state: ClassState) -> dict[str, Any]:
    """The state as `school_class` columns (without trust_id): the year groups as a JSON list."""
    return {**values_of(state), "year_groups": [y.value for y in state.year_groups]}


StatutoryKey = tuple[str, str, str, str]
"""(pupil_id, academic_year, assessment, component)."""

_VALUE_PARTS = ("mark", "scaled_score", "code")
_STATUTORY_KEY = ("pupil_id", "academic_year", "assessment", "component")
_STATUTORY_VALUES = tuple(f"{side}_{part}" for side in ("entered", "locked") for part in _VALUE_PARTS)
_STATUTORY_COLUMN_NAMES = (*_STATUTORY_KEY, "school_id", *_STATUTORY_VALUES, "assessed_on", "version")
STATUTORY_COLUMNS = [STATUTORY.c[name] for name in _STATUTORY_COLUMN_NAMES]
"""The columns `statutory_state` reads, in its order."""


def statutory_state(row: Row[Any]) -> StatutoryState:
    """A `statutory_result` row (selected as STATUTORY_COLUMNS) as the domain state: each side's three
    columns become one value, or None when all three are null (a valid value never is)."""
    columns = dict(zip(_STATUTORY_COLUMN_NAMES, row))

    def value(side: str) -> StatutoryValue | None:
        parts = {part: columns[f"{side}_{part}"] for part in _VALUE_PARTS}
        return None if all(v is None for v in parts.values()) else StatutoryValue.model_construct(**parts)

    entered = value("entered")
    if entered is None:
        raise ValueError(f"statutory result without an entered value: {columns}")
    return StatutoryState.model_construct(
        **{name: columns[name] for name in (*_STATUTORY_KEY, "school_id", "assessed_on", "version")},
        entered=entered,
        locked=value("locked"),
    )


def _statutory_values(state: StatutoryState) -> dict[str, Any]:
    """The state as `statutory_result` columns (without trust_id)."""
    values: dict[str, Any] = {name: getattr(state, name)
                              for name in (*_STATUTORY_KEY, "school_id", "assessed_on", "version")}
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
                select(*SCHOOL_COLUMNS).where(
                    SCHOOL.c.trust_id == self.trust_id, SCHOOL.c.school_id.in_(chunk)
                ).with_for_update()
            )
            found.update({r.school_id: school_state(r) for r in rows})
        return found

    async def classes(self, ids: Sequence[str], lock: bool = False) -> dict[str, ClassState]:
        """Classes by id (`lock`: for update, when they are about to change)."""
        found: dict[str, ClassState] = {}
        for chunk in _chunks(list(set(ids))):
            query = select(*CLASS_COLUMNS).where(CLASS.c.trust_id == self.trust_id, CLASS.c.class_id.in_(chunk))
            rows = await self.session.execute(query.with_for_update() if lock else query)
            found.update({r.class_id: class_state(r) for r in rows})
        return found

    async def classes_of(self, school_id: str, academic_year: str) -> list[ClassState]:
        """A school's classes of one academic year, by name."""
        rows = await self.session.execute(
            select(*CLASS_COLUMNS).where(CLASS.c.trust_id == self.trust_id, CLASS.c.school_id == school_id,
                                         CLASS.c.academic_year == academic_year).order_by(CLASS.c.name, CLASS.c.class_id)
        )
        return [class_state(r) for r in rows]

    async def pupils_of(self, school_id: str) -> list[PupilState]:
        """Every pupil whose record names the school (their current school), by id."""
        rows = await self.session.execute(
            select(*PUPIL_COLUMNS).where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.school_id == school_id)
            .order_by(PUPIL.c.pupil_id)
        )
        return [pupil_state(r) for r in rows]

    async def pupils_by_id(self, ids: Sequence[str]) -> dict[str, PupilState]:
        """Pupils by id, without locking them (reads only)."""
        found: dict[str, PupilState] = {}
        for chunk in _chunks(list(set(ids))):
            rows = await self.session.execute(
                select(*PUPIL_COLUMNS).where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(chunk))
            )
            found.update({r.pupil_id: pupil_state(r) for r in rows})
        return found

    async def results_of(self, school_id: str, academic_year: str, period: str) -> list[ResultState]:
        """A school's summative results of one period (reads only), by pupil and subject."""
        rows = await self.session.execute(
            select(*RESULT_COLUMNS).where(
                ASSESSMENT.c.trust_id == self.trust_id, ASSESSMENT.c.school_id == school_id,
                ASSESSMENT.c.academic_year == academic_year, ASSESSMENT.c.period == period,
            ).order_by(ASSESSMENT.c.pupil_id, ASSESSMENT.c.subject)
        )
        return [result_state(r) for r in rows]

    async def statutory_of(
        self, school_id: str, academic_year: str, assessment: str | None = None
    ) -> list[StatutoryState]:
        """A school's statutory results of one academic year (of one assessment, if given; reads only),
        by pupil, assessment and component."""
        query = select(*STATUTORY_COLUMNS).where(
            STATUTORY.c.trust_id == self.trust_id, STATUTORY.c.school_id == school_id,
            STATUTORY.c.academic_year == academic_year,
        )
        if assessment is not None:
            query = query.where(STATUTORY.c.assessment == assessment)
        rows = await self.session.execute(
            query.order_by(STATUTORY.c.pupil_id, STATUTORY.c.assessment, STATUTORY.c.component)
        )
        return [statutory_state(r) for r in rows]

    async def pupil_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(set(ids))):
            rows = await self.session.execute(
                select(PUPIL.c.pupil_id).where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(chunk))
            )
            found.update(r[0] for r in rows)
        return found

    async def pupils(self, ids: Sequence[str]) -> dict[str, PupilState]:
        found: dict[str, PupilState] = {}
        for chunk in _chunks(list(set(ids))):
            rows = await self.session.execute(
                select(*PUPIL_COLUMNS)
                .where(PUPIL.c.trust_id == self.trust_id, PUPIL.c.pupil_id.in_(chunk))
                .with_for_update()
            )
            found.update({r.pupil_id: pupil_state(r) for r in rows})
        return found

    async def results(self, keys: Sequence[tuple[str, str, str, str]]) -> dict[tuple[str, str, str, str], ResultState]:
        """Results by (pupil_id, academic_year, period, subject).

        Queried by pupil, year and period (a batch usually spans few periods), then narrowed here:
        far fewer bound parameters than a row-value IN over every key.
        """
        wanted = set(keys)
        years = sorted({k[1] for k in wanted})
        periods = sorted({k[2] for k in wanted})
        found: dict[tuple[str, str, str, str], ResultState] = {}
        for chunk in _chunks(sorted({k[0] for k in wanted})):
            rows = await self.session.execute(
                select(*RESULT_COLUMNS).where(
                    ASSESSMENT.c.trust_id == self.trust_id,
                    ASSESSMENT.c.pupil_id.in_(chunk),
                    ASSESSMENT.c.academic_year.in_(years),
                    ASSESSMENT.c.period.in_(periods),
                ).with_for_update()
            )
            for r in rows:
                state = result_state(r)
                key = (state.pupil_id, state.academic_year, state.period, state.subject)
                if key in wanted:
                    found[key] = state
        return found

    async def results_in_scope(self, scope: LockScope) -> list[ResultState]:
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
        if scope.class_id is not None:
            conditions.append(ASSESSMENT.c.pupil_id.in_(self._in_class(scope.academic_year, scope.class_id)))
        rows = await self.session.execute(select(*RESULT_COLUMNS).where(and_(*conditions)).with_for_update())
        return [result_state(r) for r in rows]

    def _in_class(self, academic_year: str, class_id: str) -> Select[tuple[str]]:
        """The pupils whose class in `academic_year` is `class_id` (`pupil.classes`: year -> class)."""
        return select(PUPIL.c.pupil_id).where(
            PUPIL.c.trust_id == self.trust_id, PUPIL.c.classes[academic_year].as_string() == class_id)

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
        if scope.class_id is not None:
            conditions.append(STATUTORY.c.pupil_id.in_(self._in_class(scope.academic_year, scope.class_id)))
        rows = await self.session.execute(select(*STATUTORY_COLUMNS).where(and_(*conditions)).with_for_update())
        return [statutory_state(r) for r in rows]

    # -- reads for the entry screens (no row locks: they change nothing) ----------------------

    async def school(self, school_id: str) -> SchoolState | None:
        rows = await self.session.execute(
            select(*SCHOOL_COLUMNS).where(SCHOOL.c.trust_id == self.trust_id, SCHOOL.c.school_id == school_id)
        )
        row = rows.first()
        return school_state(row) if row is not None else None

    # -- writes -----------------------------------------------------------------------------

    async def save_schools(self, new: list[SchoolState], changed: list[SchoolState]) -> None:
        await self._save(SCHOOL, ("school_id",), [_school_values(s) for s in new], [_school_values(s) for s in changed])

    async def save_classes(self, new: list[ClassState], changed: list[ClassState]) -> None:
        await self._save(CLASS, ("class_id",), [_class_values(c) for c in new], [_class_values(c) for c in changed])

    async def save_pupils(self, new: list[PupilState], changed: list[PupilState]) -> None:
        await self._save(PUPIL, ("pupil_id",), [values_of(p) for p in new], [values_of(p) for p in changed])

    async def save_results(self, new: list[ResultState], changed: list[ResultState]) -> None:
        key = ("pupil_id", "academic_year", "period", "subject")
        await self._save(ASSESSMENT, key, [values_of(r) for r in new], [values_of(r) for r in changed])

    async def save_statutory(self, new: list[StatutoryState], changed: list[StatutoryState]) -> None:
        await self._save(STATUTORY, _STATUTORY_KEY, [_statutory_values(r) for r in new],
                         [_statutory_values(r) for r in changed])

    async def _save(
        self, table: Table, key: Sequence[str], new: list[dict[str, Any]], changed: list[dict[str, Any]]
    ) -> None:
        """Insert the new facts and update the changed ones (found by `key` within the Trust), each
        in one statement over the whole batch. The values are a state's columns, without trust_id."""
        if new:
            await self.session.execute(insert(table), [{"trust_id": self.trust_id, **values} for values in new])
        if changed:
            await self.session.execute(
                update(table)
                .where(table.c.trust_id == self.trust_id, *(table.c[name] == bindparam(f"k_{name}") for name in key))
                .values({name: bindparam(name) for name in changed[0] if name not in key}),
                [{**{f"k_{name}": values[name] for name in key},
                  **{name: value for name, value in values.items() if name not in key}} for values in changed],
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
