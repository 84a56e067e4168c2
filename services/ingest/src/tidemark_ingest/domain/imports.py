"""Bulk import as pure functions: which column of a file feeds which field, and the records each row
of the file makes, validated by the same record models as the API (`tidemark_schemas.records`,
`tidemark_schemas.statutory`: the one source of the names and of the structural rules).

Two shapes of results file are read:
- one row per result: the record's own columns (`subject` and `band` or `code`; `assessment`,
  `component` and `mark`, `scaled_score` or `code`);
- one row per pupil, a column per subject: summative `reading`, `writing`, `E01`... holding a band or
  a code of the school's model; statutory `<assessment>_<component>` (`ks2_reading_test`, `eyfs_E01`,
  `phonics_year1`, `mtc_score`) holding a code or a number (the scaled score of a component that has
  one, else the mark), or `<assessment>_<component>_mark` / `_scaled_score` / `_code` for one value.
A pupils file is one row per pupil (a `class_id` column puts each in a class: see `PupilRecord`); a
classes file one row per class, its `year_groups` cell listing the year groups it teaches (`Y3`,
`Y3 Y4` or `Y3,Y4`). A results file may carry an `assessed_on` column (the assessment date; a row
without one is dated as the API dates it). Headers match a field by name, ignoring case, spaces and
hyphens; a mapping (file header -> field or column name) overrides. Columns matching nothing are
ignored (exports carry names and notes), and said so in the import's `columns`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from tidemark_ingest.domain.validation import REPEATS, FieldError
from tidemark_schemas.records import AssessmentRecord, ClassRecord, PupilRecord
from tidemark_schemas.statutory import COMPONENTS, StatutoryRecord
from tidemark_schemas.vocabulary import EYFS_GOALS, PRIMARY_SUBJECTS, Band

ERRORS_SHOWN = 1000
"""Errors an import's status carries; the errors CSV has them all."""


class ImportKind(StrEnum):
    PUPILS = "pupils"
    CLASSES = "classes"
    SUMMATIVE = "summative"
    STATUTORY = "statutory"


class ImportState(StrEnum):
    VALIDATING = "validating"
    INVALID = "invalid"
    READY = "ready"
    STORING = "storing"
    DONE = "done"
    FAILED = "failed"


ImportRecord = PupilRecord | ClassRecord | AssessmentRecord | StatutoryRecord

RECORD_OF: dict[ImportKind, type[ImportRecord]] = {
    ImportKind.PUPILS: PupilRecord,
    ImportKind.CLASSES: ClassRecord,
    ImportKind.SUMMATIVE: AssessmentRecord,
    ImportKind.STATUTORY: StatutoryRecord,
}

DEFAULTABLE = ("school_id", "academic_year", "period")
"""Fields an upload may give once for a file without those columns."""

STATUTORY_VALUES = ("mark", "scaled_score", "code")


@dataclass(frozen=True, slots=True)
class CellError:
    """One problem of an import: the file's row (1 is the header, so the first data row is 2, as a
    spreadsheet numbers them; null for the file as a whole), its column header, and why."""

    row: Annotated[int | None, Field(description="Row of the file (the header is row 1); null: the whole file")]
    column: Annotated[str, Field(description="The column's header in the file (or the field it lacks)")]
    reason: str
    value: Any = None


class ImportRefused(ValueError):
    """The upload itself is unusable (an unknown mapping target, an unreadable file): a 422."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def column_key(header: str) -> str:
    """How headers are compared: case, surrounding space, inner spaces and hyphens do not matter."""
    return re.sub(r"[\s\-]+", "_", header.strip()).casefold()


def _statutory_columns() -> dict[str, tuple[str, str, str | None]]:
    """Wide statutory columns -> (assessment, component, value or None for "a code or a number")."""
    found: dict[str, tuple[str, str, str | None]] = {}
    for assessment, components in COMPONENTS.items():
        for component in components:
            base = f"{assessment.value}_{component}"
            found[base] = (assessment.value, component, None)
            for value in STATUTORY_VALUES:
                found[f"{base}_{value}"] = (assessment.value, component, value)
    return found


SUBJECT_COLUMNS: tuple[str, ...] = PRIMARY_SUBJECTS + EYFS_GOALS
STATUTORY_COLUMNS = _statutory_columns()


def targets(kind: ImportKind) -> tuple[str, ...]:
    """Every name a column of a `kind` file may be matched or mapped to."""
    fields = tuple(RECORD_OF[kind].model_fields)
    if kind is ImportKind.SUMMATIVE:
        return fields + SUBJECT_COLUMNS
    if kind is ImportKind.STATUTORY:
        return fields + tuple(STATUTORY_COLUMNS)
    return fields


IGNORED = ""
"""A mapping's target for a column to ignore (one whose header would otherwise match a field)."""


@dataclass(frozen=True, slots=True)
class ExpectedField:
    """A field a `kind` file's column may feed, for the mapping step of an upload."""

    name: str
    required: Annotated[bool, Field(description="Every row needs it (a column, or for school_id, academic_year and "
                                                "period a value for the whole file); subject, assessment and "
                                                "component only in a file of one row per result")]
    description: str | None = None


def expected_fields(kind: ImportKind) -> list[ExpectedField]:
    """The record's own fields, from its model (the one source of the names)."""
    model = RECORD_OF[kind]
    return [ExpectedField(name, info.is_required(), info.description) for name, info in model.model_fields.items()]


def wide_columns(kind: ImportKind) -> tuple[str, ...]:
    """The columns of a file of one row per pupil: a subject's (summative) or a component's (statutory)."""
    return targets(kind)[len(RECORD_OF[kind].model_fields):]


def check_mapping(kind: ImportKind, mapping: Mapping[str, str]) -> None:
    """A mapping names only fields or columns a `kind` file has (or "": the column is ignored)."""
    known = {column_key(t): t for t in targets(kind)}
    for header, target in mapping.items():
        if target != IGNORED and column_key(target) not in known:
            raise ImportRefused("mapping", f"{header!r} is mapped to {target!r}, which is not a column of a {kind} "
                                f"file (expected one of {', '.join(targets(kind)[:12])}, ...)")


@dataclass(frozen=True, slots=True)
class Plan:
    """How a file's columns are read: each header's target (None: ignored), and its shape."""

    kind: ImportKind
    headers: tuple[str, ...]
    target_of: tuple[str | None, ...]
    wide: bool
    defaults: Mapping[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, str | None]:
        return dict(zip(self.headers, self.target_of))

    def header_of(self, target: str) -> str:
        """The file's header feeding `target`, or the target's own name when a default fed it."""
        for header, mapped in zip(self.headers, self.target_of):
            if mapped == target:
                return header
        return target


def _matched(
    kind: ImportKind, headers: Sequence[str], mapping: Mapping[str, str]
) -> tuple[list[str | None], dict[str, str], list[CellError]]:
    """Each header's target (a mapping's entry first), the header feeding each target, and the errors
    of matching (a mapped column the file lacks, two columns for one field)."""
    known = {column_key(t): t for t in targets(kind)}
    errors: list[CellError] = []
    for header in mapping:
        if header not in headers:
            errors.append(CellError(None, header, "the mapping names a column the file does not have"))
    target_of: list[str | None] = []
    first: dict[str, str] = {}
    for header in headers:
        target = known.get(column_key(mapping[header])) if header in mapping else known.get(column_key(header))
        if target is not None and target in first:
            errors.append(CellError(None, header, f"matches {target!r}, as column {first[target]!r} does"))
            target = None
        elif target is not None:
            first[target] = header
        target_of.append(target)
    return target_of, first, errors


def matched_columns(kind: ImportKind, headers: Sequence[str], mapping: Mapping[str, str]) -> dict[str, str | None]:
    """Each header and the field it feeds (None: ignored), also for a file that cannot be planned, so
    that a mapping step can show them."""
    return dict(zip(headers, _matched(kind, headers, mapping)[0]))


def plan(
    kind: ImportKind, headers: Sequence[str], mapping: Mapping[str, str], defaults: Mapping[str, str]
) -> Plan | list[CellError]:
    """Match each header to a field or column (a mapping's entry first), and tell the shape; or the
    file-level errors (a missing column, two columns for one field) that make every row invalid."""
    target_of, first, errors = _matched(kind, headers, mapping)
    given = set(first) | {name for name, value in defaults.items() if value}
    fields = RECORD_OF[kind].model_fields
    wide = False
    if kind is ImportKind.SUMMATIVE:
        wide = "subject" not in given
        if wide and not given & set(SUBJECT_COLUMNS):
            errors.append(CellError(None, "subject", "no subject column: a 'subject' column (one row per result) or a "
                                    "column per subject (reading, writing, maths, E01...)"))
        needed = [n for n in fields if fields[n].is_required() and not (wide and n == "subject")]
    elif kind is ImportKind.STATUTORY:
        wide = "component" not in given
        if wide and not given & set(STATUTORY_COLUMNS):
            errors.append(CellError(None, "component", "no result column: 'assessment' and 'component' columns (one "
                                    "row per result) or a column per component (ks2_reading_test, eyfs_E01...)"))
        needed = [n for n in fields if fields[n].is_required() and not (wide and n in ("assessment", "component"))]
    else:
        needed = [n for n in fields if fields[n].is_required()]
    for name in needed:
        if name not in given:
            hint = " (or give it for the whole file)" if name in DEFAULTABLE else ""
            errors.append(CellError(None, name, f"no column for {name!r}: add one, or map a column to it{hint}"))
    if errors:
        return errors
    return Plan(kind, tuple(headers), tuple(target_of), wide, {k: v for k, v in defaults.items() if v})


Sourced = tuple[ImportRecord, int]
"""A record and the file row it came from."""


@dataclass(slots=True)
class Rows:
    """The records of some rows of a file, and the errors of the others."""

    records: list[Sourced] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    valid_rows: int = 0


def read_rows(the_plan: Plan, rows: Iterable[tuple[int, Sequence[str | None]]]) -> Rows:
    """Each (file row number, cells) -> its records, validated by the record model (a cell's text
    read as pydantic reads strings: `true`/`yes`/`1`, `2025-07-18`, `104`), or its errors. A row
    that is wholly blank is skipped."""
    out = Rows()
    model = RECORD_OF[the_plan.kind]
    for number, cells in rows:
        if all(c is None for c in cells):
            continue
        common: dict[str, str] = dict(the_plan.defaults)
        wide_cells: list[tuple[str, str, str]] = []  # (header, target, text)
        for header, target, text in zip(the_plan.headers, the_plan.target_of, cells):
            if target is None or text is None:
                continue
            if target in model.model_fields:
                common[target] = text
            else:  # a subject's or a component's own column
                wide_cells.append((header, target, text))
        made = _records(the_plan, number, common, wide_cells, model)
        if isinstance(made, list):
            out.errors.extend(made)
        else:
            out.valid_rows += 1
            out.records.extend((record, number) for record in made)
    return out


def _records(
    the_plan: Plan, number: int, common: dict[str, str], wide_cells: list[tuple[str, str, str]], model: type[BaseModel]
) -> tuple[ImportRecord, ...] | list[CellError]:
    if not the_plan.wide:
        return _validated(model, common, number, the_plan.header_of)
    values: dict[tuple[str, ...], tuple[dict[str, str], dict[str, str]]] = {}  # key -> (fields, field -> header)
    for header, target, text in wide_cells:
        if the_plan.kind is ImportKind.SUMMATIVE:
            is_band = text.strip().upper() in Band.__members__
            value_field = "band" if is_band else "code"
            values[(target,)] = ({"subject": target, value_field: text.strip().upper() if is_band else text},
                                 {"subject": header, value_field: header})
        else:
            assessment, component, value = STATUTORY_COLUMNS[target]
            fields, headers = values.setdefault((assessment, component), ({"assessment": assessment,
                                                                             "component": component}, {}))
            value_field = value or _statutory_value_field(assessment, component, text)
            fields[value_field] = text
            headers[value_field] = header
            headers.setdefault("component", header)
    if not values:
        return ()  # a pupil with no result in this file: a valid row with nothing to store
    made: list[ImportRecord] = []
    errors: list[CellError] = []
    for fields, headers in values.values():
        result = _validated(model, {**common, **fields}, number, functools.partial(_header_in, headers, the_plan))
        if isinstance(result, list):
            errors.extend(result)
        else:
            made.extend(result)
    return errors or tuple(made)


def _header_in(headers: Mapping[str, str], the_plan: Plan, name: str) -> str:
    """The header of a wide row's field: the subject's or component's own cell, else the common column."""
    return headers.get(name) or the_plan.header_of(name)


def _statutory_value_field(assessment: str, component: str, text: str) -> str:
    """A plain component column holds one of the component's codes (EYFS `2`), or else a number: the
    scaled score where the component has one, otherwise the mark; anything else is read as a code
    (and refused as an unknown one)."""
    spec = next(specs.get(component) for a, specs in COMPONENTS.items() if a.value == assessment)
    if spec is None or text.strip() in spec.codes or not re.fullmatch(r"-?\d+", text.strip()):
        return "code"
    return spec.number_field or "code"


LISTED = ("year_groups",)
"""Fields whose cell lists several values (separated by commas, semicolons or spaces): only in
`ClassRecord`, whose other fields are strings."""


def _validated(
    model: type[BaseModel], data: dict[str, str], number: int, header_of: Callable[[str], str]
) -> tuple[ImportRecord, ...] | list[CellError]:
    """The record `data` makes, or its errors located at the file's row and the header of each field."""
    listed = {name: [part for part in re.split(r"[\s,;]+", text.strip()) if part]
              for name, text in data.items() if name in LISTED}
    try:
        # a listed cell becomes a list of strings, which only Python-mode validation takes (a
        # classes row holds nothing else: strings, as the JSON API would read them)
        record = model.model_validate({**data, **listed}) if listed else model.model_validate_strings(data)
    except ValidationError as invalid:
        errors = []
        for item in invalid.errors():
            name = str(item["loc"][0]) if item["loc"] else "(row)"
            value = item.get("input") if not isinstance(item.get("input"), dict) else None
            errors.append(CellError(number, header_of(name), item["msg"].removeprefix("Value error, "), value))
        return errors
    assert isinstance(record, PupilRecord | ClassRecord | AssessmentRecord | StatutoryRecord)
    return (record,)


def cell_errors(errors: Iterable[FieldError], sources: Sequence[Sourced], the_plan: Plan) -> list[CellError]:
    """The tracker's errors of a list of records (row: its index) as the file's rows and columns."""
    repeats = re.compile(re.escape(REPEATS).replace(re.escape("{row}"), r"(\d+)"))
    found = []
    for error in errors:
        number = sources[error.row][1] if error.row is not None else None
        reason = error.reason
        if (repeated := repeats.fullmatch(reason)) is not None:
            reason = f"repeats row {sources[int(repeated.group(1))][1]} of the file"
        found.append(CellError(number, _header_for(the_plan, sources[error.row][0] if error.row is not None else None,
                                                   error.field), reason, error.value))
    return found


def _header_for(the_plan: Plan, record: ImportRecord | None, name: str) -> str:
    """The header of the cell a record's field came from (a wide file: the subject's own column)."""
    if the_plan.wide and record is not None:
        if isinstance(record, AssessmentRecord) and name in ("subject", "band", "code"):
            return the_plan.header_of(record.subject)
        if isinstance(record, StatutoryRecord) and name in ("component", "assessment", *STATUTORY_VALUES):
            base = f"{record.assessment.value}_{record.component}"
            for candidate in (f"{base}_{name}", base):
                if candidate in the_plan.target_of:
                    return the_plan.header_of(candidate)
    return the_plan.header_of(name)


def sort_errors(errors: list[CellError]) -> list[CellError]:
    return sorted(errors, key=lambda e: (-1 if e.row is None else e.row, e.column))


def scope_errors(sources: Sequence[Sourced], schools: frozenset[str] | None, the_plan: Plan) -> list[CellError]:
    """A key scoped to some schools imports only theirs: every other row is named."""
    if schools is None:
        return []
    return [
        CellError(number, the_plan.header_of("school_id"), "this key may not write this school (not in its scope)",
                  record.school_id)
        for record, number in sources
        if record.school_id not in schools
    ]


def batches(sources: Sequence[Sourced], size: int) -> Iterable[tuple[list[ImportRecord], int]]:
    """Records in batches of at most `size`, never splitting one file row's records; each with the
    number of file rows it completes."""
    batch: list[ImportRecord] = []
    rows = 0
    last: int | None = None
    for index, (record, number) in enumerate(sources):
        if number != last:
            rows += 1
            last = number
        batch.append(record)
        following = sources[index + 1][1] if index + 1 < len(sources) else None
        if len(batch) >= size and following != number:
            yield batch, rows
            batch, rows = [], 0
    if batch:
        yield batch, rows
