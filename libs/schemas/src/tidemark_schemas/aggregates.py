"""The maintained read model in Redis: key names, counter cells, and the pure tally over them.

Metrics writes counters; the gateway reads them. A counter counts pupils of one school with one
combination of characteristics (a *cell*) holding one band in one measure and period:

    {prefix}:{trust}:agg:{academic_year}:{period}:{measure}:{school_id}   (a hash)
        field "{year_group}|{sex}|{disadvantaged}|{sen}|{eal}|{ethnic_group}|{lac}|{class_id}|{band}" -> pupils

(`class_id`: the pupil's class in the figure's academic year, empty when they had none.)

Besides one measure per subject and combined measure, `pupils` counts pupils with a locked result
in any subject (band always AT), `entered.<subject>` counts entered values, locked or not (for
data completion), and `model.<subject>` counts locked results by the code of the school's own
assessment model (the field ends in the code instead of the band: the School view);
`Keyspace.roll` holds the current roll per school.

Generations: a rebuild writes a Trust's aggregates afresh under a new *generation* of the prefix
(`{prefix}.{generation}:...`) and then switches `{prefix}:{trust}:generation` to it. Writers also
write every generation listed in `{prefix}:{trust}:building`, so nothing applied during a rebuild
is missed. The change stream lives outside the generations, so live readers never notice a switch.

Because every cell carries all characteristics, any filter combined with any grouping is a sum
over cells: no request ever scans pupils or the SQL store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.rules import percentage
from tidemark_schemas.vocabulary import Band, SenProvision, Sex, YearGroup


@dataclass(frozen=True, slots=True)
class Cell:
    """The characteristics a pupil's contribution is counted under (school is in the key)."""

    year_group: YearGroup
    sex: Sex
    disadvantaged: bool
    sen: SenProvision
    eal: bool
    ethnic_group: EthnicGroup
    lac: bool
    class_id: str = ""
    """The pupil's class in the academic year counted ("" for none)."""


CELL_LAYOUT = 2
"""The shape of the counter cells `encode_cell` writes, numbered: bumped whenever it changes (2: the
pupil's class, issue 14). Part of every projection's `layout`, so a read model counted in older cells
is rebuilt at start (`projections.recovery`), with no manual step."""


def projection_layout(rules: int) -> str:
    """A projection's layout (`Projection.layout`): the cells' shape and its own rules' version."""
    return f"cells {CELL_LAYOUT}, rules {rules}"


def encode_cell(cell: Cell) -> str:
    """The part of a counter field that names the cell; the field is this followed by its label."""
    return "|".join(
        (
            cell.year_group.value,
            cell.sex.value,
            "1" if cell.disadvantaged else "0",
            cell.sen.value,
            "1" if cell.eal else "0",
            cell.ethnic_group.name,
            "1" if cell.lac else "0",
            cell.class_id,
            "",
        )
    )


def encode_field(cell: Cell, label: str) -> str:
    """The counter field of a cell and a band (or, in `model.<subject>` counters, a model code)."""
    return encode_cell(cell) + label


_FIELDS_BEFORE_CLASSES = 8


def decode_cell_field(raw: str) -> tuple[Cell, str]:
    """A counter field's cell and its label (a band, or a model code)."""
    parts = raw.split("|")
    if len(parts) == _FIELDS_BEFORE_CLASSES:  # written before classes: no class
        parts.insert(-1, "")
    yg, sex, dis, sen, eal, eth, lac, class_id, label = parts
    cell = Cell(YearGroup(yg), Sex(sex), dis == "1", SenProvision(sen), eal == "1", EthnicGroup[eth], lac == "1",
                class_id)
    return cell, label


def decode_field(raw: str) -> tuple[Cell, Band]:
    cell, label = decode_cell_field(raw)
    return cell, Band(label)


WRITES_FIELD = "#writes"
"""The field of a generation's versions hash counting its writes (`Keyspace.versions`); no counter
hash key starts with "#", so it is never a key's version."""


@dataclass(frozen=True)
class Keyspace:
    """Names of every Redis key of one Trust under one prefix and generation ("" is the first)."""

    prefix: str
    trust_id: str
    generation: str = ""
    changes_prefix: str | None = None
    """Whose change stream notices go to (None: this prefix's own); the statutory projection
    announces on the summative one, so live pages follow a single stream."""

    def at(self, generation: str) -> Keyspace:
        """The same Trust's keys in another generation."""
        return Keyspace(self.prefix, self.trust_id, generation, self.changes_prefix)

    @property
    def _tag(self) -> str:
        # The hash tag keeps one Trust's keys (every generation) in one slot, should Redis Cluster be used.
        return f"{{{self.trust_id}}}"

    @property
    def base(self) -> str:
        data_prefix = f"{self.prefix}.{self.generation}" if self.generation else self.prefix
        return f"{data_prefix}:{self._tag}"

    @property
    def epoch_key(self) -> str:
        """String: written by the projection once its read model (every Trust under this prefix) is
        whole (`projections.recovery`); absent, the read model was lost (a flushed or new Redis)
        and figures read now would be wrong: the gateway answers 503 until it is back. Not the
        Trust's slot: one key per projection."""
        return f"{self.prefix}:epoch"

    @property
    def layout_key(self) -> str:
        """String: the layout (`Projection.layout`) the read model under this prefix was counted in,
        written with the epoch; another layout than the running code's (or none beside an epoch:
        counted before layouts were recorded) is rebuilt (`projections.recovery`). One per projection."""
        return f"{self.prefix}:layout"

    @property
    def generation_key(self) -> str:
        """String: the generation readers use (absent: the first, "")."""
        return f"{self.prefix}:{self._tag}:generation"

    @property
    def restoring_key(self) -> str:
        """String, present while the Trust's read model is being restored after it was lost (Redis
        lost its data, or the broker its events): readers answer 503 instead of wrong figures.
        Removed by the rebuild's switch."""
        return f"{self.prefix}:{self._tag}:restoring"

    @property
    def building_key(self) -> str:
        """Set: generations being rebuilt, which writers keep up to date as well."""
        return f"{self.prefix}:{self._tag}:building"

    @property
    def calendar_key(self) -> str:
        """Hash academic year -> the Trust's own dates (`events.CalendarSnapshot` JSON) as last set,
        outside every generation: what the attendance projection re-dates its generations to."""
        return f"{self.prefix}:{self._tag}:calendar"

    @property
    def dated_trusts_key(self) -> str:
        """Set of the Trusts that set their own dates (with a `calendar_key`), which the attendance
        projection's follower looks at. Not the Trust's slot: one key per projection."""
        return f"{self.prefix}:dated-trusts"

    @property
    def redating_key(self) -> str:
        """String, present while one process re-dates the Trust's attendance (its lock)."""
        return f"{self.prefix}:{self._tag}:redating"

    @property
    def dates(self) -> str:
        """Hash academic year -> the Trust's own dates (`events.CalendarSnapshot` JSON) this
        generation's periods were counted by; written before the generation is, never after
        (absent year: the English default). Readers date their windows by it."""
        return f"{self.base}:dates"

    def counters(self, academic_year: str, period: str, measure: str, school_id: str) -> str:
        return f"{self.base}:agg:{academic_year}:{period}:{measure}:{school_id}"

    def roll(self, school_id: str) -> str:
        """Hash of the pupils currently on roll at a school (no leaving date), by current cell."""
        return f"{self.base}:roll:{school_id}"

    def pupil(self, pupil_id: str) -> str:
        return f"{self.base}:pupil:{pupil_id}"

    @property
    def schools(self) -> str:
        """Hash school_id -> JSON {"name", "version", "model"} (model: the school's assessment model or null)."""
        return f"{self.base}:schools"

    @property
    def classes(self) -> str:
        """Hash class_id -> JSON {"name", "school_id", "academic_year", "year_groups", "version"}."""
        return f"{self.base}:classes"

    @property
    def changes(self) -> str:
        """Stream of change notices for live updates (gateway SSE); one for every generation."""
        return f"{self.changes_prefix or self.prefix}:{self._tag}:changes"

    def statutory(self, academic_year: str, measure: str, school_id: str) -> str:
        """Statutory projection: pupils per outcome label of one measure (fields: cell|label)."""
        return f"{self.base}:stat:{academic_year}:{measure}:{school_id}"

    def progress(self, academic_year: str, period: str, school_id: str) -> str:
        """Statutory projection: pupils per progress category in a period (fields: cell|category)."""
        return f"{self.base}:progress:{academic_year}:{period}:{school_id}"

    def progress_pupils(self, academic_year: str, period: str, school_id: str) -> str:
        """Statutory projection: which pupil is in which category (fields: pupil_id|cell|category)."""
        return f"{self.base}:progress-pupils:{academic_year}:{period}:{school_id}"

    def attendance_sessions(self, academic_year: str, window: str, school_id: str) -> str:
        """Attendance projection: one window's sessions by register code (fields: cell|code; every
        category follows from the codes, `tidemark_schemas.attendance.sessions_of`). The window is
        `YTD`, a period (`AUT1`) or a week (its Monday, `2025-09-01`)."""
        return f"{self.base}:att-sessions:{academic_year}:{window}:{school_id}"

    def attendance_pupils(self, academic_year: str, window: str, school_id: str) -> str:
        """Attendance projection: one window's enrolments with a possible session, persistent and
        severe absentees (fields: cell|label, `tidemark_schemas.attendance.ENROLMENT_LABELS`)."""
        return f"{self.base}:att-pupils:{academic_year}:{window}:{school_id}"

    def attendance_absentees(self, academic_year: str, window: str, school_id: str) -> str:
        """Attendance projection: which enrolment is a persistent absentee in one window, for the
        pupil lists (fields: pupil_id|cell|absent:possible, the enrolment's own sessions)."""
        return f"{self.base}:att-absentees:{academic_year}:{window}:{school_id}"

    def attendance_attainment(self, academic_year: str, period: str, measure: str, school_id: str) -> str:
        """Attendance projection: pupils per attendance band and attainment band of one measure in
        one period (fields: cell|attendance_band.band, `tidemark_schemas.attendance.attendance_band`)."""
        return f"{self.base}:att-attainment:{academic_year}:{period}:{measure}:{school_id}"

    @property
    def versions(self) -> str:
        """Hash counter key -> a number that grows with every write of that counter hash (readers
        cache hashes and re-read only those whose number moved); and under `WRITES_FIELD`, a number
        that grows with every write of any counter hash of the generation (a reader that finds it
        unmoved knows that no counter hash moved, and that none appeared or went)."""
        return f"{self.base}:versions"

    @property
    def data_patterns(self) -> tuple[str, ...]:
        """Key patterns that match every key of this generation and nothing else (the first
        generation shares its base with the Trust's generation keys and change stream)."""
        return tuple(
            f"{self.base}:{kind}:*"
            for kind in ("agg", "roll", "pupil", "stat", "progress", "progress-pupils", "att-sessions", "att-pupils",
                         "att-absentees", "att-attainment")
        ) + (self.schools, self.classes, self.updated_at, self.versions, self.dates)

    @property
    def updated_at(self) -> str:
        """ISO timestamp of the last applied change ("Last updated" on every report)."""
        return f"{self.base}:updated_at"


# -- a pupil's hash in a projection: a revision (the write guard), the characteristics, and one
# field per (academic year, period) slot, so that a lock reads and writes one slot of eighteen.

Slot = str
""""academic_year|period": the unit a pupil's hash is read and written in (a lock touches one)."""

REVISION_FIELD = "rev"
CHARACTERISTICS_FIELD = "c"
SLOT_FIELD_PREFIX = "s:"

PupilHashFields = dict[str, bytes | str | None]
"""The fields read of one pupil's hash (without the revision)."""


def slot_of(academic_year: str, period: str) -> Slot:
    return f"{academic_year}|{period}"


def split_slot(slot: Slot) -> tuple[str, str]:
    academic_year, period = slot.split("|")
    return academic_year, period


def slot_field(slot: Slot) -> str:
    """The pupil hash field holding one slot."""
    return SLOT_FIELD_PREFIX + slot


def slots_in(fields: PupilHashFields) -> dict[Slot, bytes | str]:
    """The slot fields present among the fields read, by slot."""
    return {
        name[len(SLOT_FIELD_PREFIX):]: raw for name, raw in fields.items() if raw and name.startswith(SLOT_FIELD_PREFIX)
    }


@dataclass(slots=True)
class BandCounts:
    below: int = 0
    at: int = 0
    above: int = 0

    def add(self, band: Band, pupils: int) -> None:
        if band is Band.BELOW:
            self.below += pupils
        elif band is Band.AT:
            self.at += pupils
        else:
            self.above += pupils

    @property
    def n(self) -> int:
        return self.below + self.at + self.above

    @property
    def at_or_above(self) -> int:
        return self.at + self.above

    @property
    def pct(self) -> float | None:
        return percentage(self.at_or_above, self.n)


@dataclass(frozen=True)
class PupilFilter:
    """Restrict a view to schools and/or characteristics; None means "any"."""

    schools: frozenset[str] | None = None
    year_groups: frozenset[YearGroup] | None = None
    sex: Sex | None = None
    disadvantaged: bool | None = None
    sen: frozenset[SenProvision] | None = None
    eal: bool | None = None
    ethnic_groups: frozenset[EthnicGroup] | None = None
    lac: bool | None = None
    classes: frozenset[str] | None = None

    def admits(self, school_id: str, cell: Cell) -> bool:
        return (self.schools is None or school_id in self.schools) and self.admits_cell(cell)

    def admits_cell(self, cell: Cell) -> bool:
        """The characteristics part of the filter (everything but the schools)."""
        return (
            (self.year_groups is None or cell.year_group in self.year_groups)
            and (self.sex is None or cell.sex is self.sex)
            and (self.disadvantaged is None or cell.disadvantaged is self.disadvantaged)
            and (self.sen is None or cell.sen in self.sen)
            and (self.eal is None or cell.eal is self.eal)
            and (self.ethnic_groups is None or cell.ethnic_group in self.ethnic_groups)
            and (self.lac is None or cell.lac is self.lac)
            and (self.classes is None or cell.class_id in self.classes)
        )


STATUTORY_PREFIX_SUFFIX = "-statutory"


def statutory_keyspace(prefix: str, trust_id: str) -> Keyspace:
    """The statutory service's keys: a projection of its own (own generations, rebuilt on its
    own), announcing changes on the summative change stream."""
    return Keyspace(prefix + STATUTORY_PREFIX_SUFFIX, trust_id, changes_prefix=prefix)


ATTENDANCE_PREFIX_SUFFIX = "-attendance"


def attendance_keyspace(prefix: str, trust_id: str) -> Keyspace:
    """The attendance projection's keys: its own generations (rebuilt on its own), announcing
    changes on the summative change stream like the statutory projection."""
    return Keyspace(prefix + ATTENDANCE_PREFIX_SUFFIX, trust_id, changes_prefix=prefix)


PUPILS_MEASURE = "pupils"
ENTERED_PREFIX = "entered."
MODEL_PREFIX = "model."
ROLL_MEASURE = "roll"
SCHOOLS_CHANGED = "schools"
"""The `measures` of a change notice (empty year and period) saying these schools were registered
or changed: no figure moved, but every list of schools (filters, By School rows) did."""


def entered_measure(subject: str) -> str:
    return ENTERED_PREFIX + subject


def model_measure(subject: str) -> str:
    """Locked results of `subject` counted by the code of the school's own model (School view)."""
    return MODEL_PREFIX + subject


GroupKey = Callable[[str, Cell], str]

GROUPINGS: dict[str, GroupKey] = {
    "school": lambda school_id, cell: school_id,
    "year_group": lambda school_id, cell: cell.year_group.value,
    "sex": lambda school_id, cell: cell.sex.value,
    "disadvantaged": lambda school_id, cell: "disadvantaged" if cell.disadvantaged else "not_disadvantaged",
    "sen": lambda school_id, cell: cell.sen.value,
    "eal": lambda school_id, cell: "eal" if cell.eal else "not_eal",
    "ethnicity": lambda school_id, cell: cell.ethnic_group.name,
    "lac": lambda school_id, cell: "lac" if cell.lac else "not_lac",
    "class": lambda school_id, cell: cell.class_id,
}
"""Every grouping a view may use: a function from (school, cell) to the group's id."""


@dataclass
class Tally:
    all_pupils: BandCounts = field(default_factory=BandCounts)
    groups: dict[str, BandCounts] = field(default_factory=lambda: defaultdict(BandCounts))


@dataclass
class LabelTally:
    """Pupils per label (e.g. the codes of a school's model), pooled and per group."""

    all_pupils: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


Counters = Mapping[str, Mapping[str, int]] | Iterable[tuple[str, Mapping[str, int]]]
"""Counter hashes by school: school_id -> {field: pupils}, or (school_id, {field: pupils}) pairs."""


def admitted_fields(
    counters: Counters, by: str | None, pupil_filter: PupilFilter
) -> Iterator[tuple[str | None, str, int]]:
    """(group, label, pupils) of every counter field the filter admits; group None without `by`.

    A report sums tens of thousands of fields, but few distinct ones: each distinct field is
    decoded and judged once per call, then every school's copy is a dictionary lookup.
    """
    group_of = GROUPINGS[by] if by is not None else None
    by_school = by == "school"
    judged: dict[str, tuple[str | None, str] | None] = {}
    items = counters.items() if isinstance(counters, Mapping) else counters
    for school_id, fields in items:
        if pupil_filter.schools is not None and school_id not in pupil_filter.schools:
            continue
        for raw, pupils in fields.items():
            verdict = judged.get(raw, _UNJUDGED)
            if verdict is _UNJUDGED:
                cell, label = decode_cell_field(raw)
                if pupil_filter.admits(school_id, cell):
                    group = None if group_of is None or by_school else group_of(school_id, cell)
                    verdict = (group, label)
                else:
                    verdict = None
                judged[raw] = verdict
            if verdict is None or not pupils:
                continue
            yield (school_id if by_school else verdict[0]), verdict[1], int(pupils)


_UNJUDGED: tuple[str | None, str] = ("", "")


def tally(counters: Counters, by: str | None, pupil_filter: PupilFilter = PupilFilter()) -> Tally:
    """Sum counter hashes into All Pupils (pooled) and per-group counts per band."""
    result = Tally()
    bands = {band.value: band for band in Band}
    for group, label, pupils in admitted_fields(counters, by, pupil_filter):
        band = bands[label]
        result.all_pupils.add(band, pupils)
        if group is not None:
            result.groups[group].add(band, pupils)
    return result


def tally_labels(counters: Counters, by: str | None, pupil_filter: PupilFilter = PupilFilter()) -> LabelTally:
    """Sum counter hashes whose fields end in any label (model codes) into pooled and per-group counts."""
    result = LabelTally()
    for group, label, pupils in admitted_fields(counters, by, pupil_filter):
        result.all_pupils[label] += pupils
        if group is not None:
            result.groups[group][label] += pupils
    return result
