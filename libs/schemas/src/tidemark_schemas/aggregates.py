"""The maintained read model in Redis: key names, counter cells, and the pure tally over them.

Metrics writes counters; the gateway reads them. A counter counts pupils of one school with one
combination of characteristics (a *cell*) holding one band in one measure and period:

    {prefix}:{trust}:agg:{academic_year}:{period}:{measure}:{school_id}   (a hash)
        field "{year_group}|{sex}|{disadvantaged}|{sen}|{eal}|{ethnic_group}|{lac}|{band}" -> pupils

Besides one measure per subject and combined measure, `pupils` counts pupils with a locked result
in any subject (band always AT) and `entered.<subject>` counts entered values, locked or not (for
data completion); `Keyspace.roll` holds the current roll per school.

Because every cell carries all characteristics, any filter combined with any grouping is a sum
over cells: no request ever scans pupils or the SQL store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
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


def encode_field(cell: Cell, band: Band) -> str:
    return "|".join(
        (
            cell.year_group.value,
            cell.sex.value,
            "1" if cell.disadvantaged else "0",
            cell.sen.value,
            "1" if cell.eal else "0",
            cell.ethnic_group.name,
            "1" if cell.lac else "0",
            band.value,
        )
    )


def decode_field(raw: str) -> tuple[Cell, Band]:
    yg, sex, dis, sen, eal, eth, lac, band = raw.split("|")
    cell = Cell(YearGroup(yg), Sex(sex), dis == "1", SenProvision(sen), eal == "1", EthnicGroup[eth], lac == "1")
    return cell, Band(band)


@dataclass(frozen=True)
class Keyspace:
    """Names of every Redis key of one Trust under one prefix (a rebuild writes a fresh prefix)."""

    prefix: str
    trust_id: str

    @property
    def base(self) -> str:
        # The hash tag keeps one Trust's keys in one slot, should Redis Cluster ever be used.
        return f"{self.prefix}:{{{self.trust_id}}}"

    def counters(self, academic_year: str, period: str, measure: str, school_id: str) -> str:
        return f"{self.base}:agg:{academic_year}:{period}:{measure}:{school_id}"

    def roll(self, school_id: str) -> str:
        """Hash of the pupils currently on roll at a school (no leaving date), by current cell."""
        return f"{self.base}:roll:{school_id}"

    def pupil(self, pupil_id: str) -> str:
        return f"{self.base}:pupil:{pupil_id}"

    @property
    def schools(self) -> str:
        """Hash school_id -> JSON {"name", "version"}."""
        return f"{self.base}:schools"

    @property
    def changes(self) -> str:
        """Stream of change notices for live updates (gateway SSE)."""
        return f"{self.base}:changes"

    @property
    def updated_at(self) -> str:
        """ISO timestamp of the last applied change ("Last updated" on every report)."""
        return f"{self.base}:updated_at"


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

    def admits(self, school_id: str, cell: Cell) -> bool:
        return (
            (self.schools is None or school_id in self.schools)
            and (self.year_groups is None or cell.year_group in self.year_groups)
            and (self.sex is None or cell.sex is self.sex)
            and (self.disadvantaged is None or cell.disadvantaged is self.disadvantaged)
            and (self.sen is None or cell.sen in self.sen)
            and (self.eal is None or cell.eal is self.eal)
            and (self.ethnic_groups is None or cell.ethnic_group in self.ethnic_groups)
            and (self.lac is None or cell.lac is self.lac)
        )


PUPILS_MEASURE = "pupils"
ENTERED_PREFIX = "entered."
ROLL_MEASURE = "roll"


def entered_measure(subject: str) -> str:
    return ENTERED_PREFIX + subject


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
}
"""Every grouping a view may use: a function from (school, cell) to the group's id."""


@dataclass
class Tally:
    all_pupils: BandCounts = field(default_factory=BandCounts)
    groups: dict[str, BandCounts] = field(default_factory=lambda: defaultdict(BandCounts))


def tally(
    counters: Mapping[str, Mapping[str, int]] | Iterable[tuple[str, Mapping[str, int]]],
    by: str | None,
    pupil_filter: PupilFilter = PupilFilter(),
) -> Tally:
    """Sum counter hashes (school_id -> {field: pupils}) into All Pupils (pooled) and per-group counts."""
    group_of = GROUPINGS[by] if by is not None else None
    result = Tally()
    items = counters.items() if isinstance(counters, Mapping) else counters
    for school_id, fields in items:
        for raw, pupils in fields.items():
            pupils = int(pupils)
            if pupils == 0:
                continue
            cell, band = decode_field(raw)
            if not pupil_filter.admits(school_id, cell):
                continue
            result.all_pupils.add(band, pupils)
            if group_of is not None:
                result.groups[group_of(school_id, cell)].add(band, pupils)
    return result
