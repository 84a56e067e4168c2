"""A pupil's current characteristics as a consumer keeps them (from the newest `pupil-upserted`),
their stored form, and the counter cell they place a result in.

Group figures use the pupil's current characteristics (domain.md); the year group and school of a
figure come from the result itself, so `cell()` takes the result's year group; the class is the
pupil's class in the figure's academic year (a past year keeps the class the pupil was in then), so
`cell()` takes the academic year too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import orjson

from tidemark_schemas.aggregates import Cell, Slot, encode_cell, split_slot
from tidemark_schemas.calendar import PeriodRef
from tidemark_schemas.ethnicity import EthnicGroup, ethnic_group
from tidemark_schemas.events import PupilUpserted
from tidemark_schemas.rules import on_roll_during
from tidemark_schemas.vocabulary import SenProvision, Sex, YearGroup


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
    classes: tuple[tuple[str, str], ...] = ()
    """(academic year, class id) of each year the pupil had a class, in year order."""

    @classmethod
    def of(cls, event: PupilUpserted) -> Characteristics:
        return cls(
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
            classes=tuple(sorted(event.classes.items())),
        )

    def class_in(self, academic_year: str) -> str:
        """The pupil's class in an academic year ("" when they had none)."""
        for year, class_id in self.classes:
            if year == academic_year:
                return class_id
        return ""

    @property
    def latest_class(self) -> str:
        """The class of the latest academic year the pupil had one in (the current roll's)."""
        return self.classes[-1][1] if self.classes else ""

    def cell(self, year_group: str, academic_year: str) -> str:
        """The cell part of this pupil's counter fields (`aggregates.encode_cell`), in a result's year
        group and with the pupil's class in its academic year."""
        return self.cell_in_class(year_group, self.class_in(academic_year))

    def cell_in_class(self, year_group: str, class_id: str) -> str:
        return encode_cell(
            Cell(YearGroup(year_group), self.sex, self.disadvantaged, self.sen, self.eal, self.ethnic_group, self.lac,
                 class_id)
        )


    def on_roll_in(self, slot: Slot) -> bool:
        """Whether the pupil counts in a period's figures: a leaver still counts in the periods
        that started before they left (`rules.on_roll_during`)."""
        return self.left_on is None or on_roll_during(self.left_on, _period_of(slot))


@lru_cache(maxsize=4096)
def _period_of(slot: Slot) -> PeriodRef:
    return PeriodRef(*split_slot(slot))


def encode_characteristics(c: Characteristics) -> bytes:
    return orjson.dumps(
        [c.school_id, c.year_group, c.sex.value, c.disadvantaged, c.sen.value, c.eal, c.ethnic_group.name, c.lac,
         c.left_on.isoformat() if c.left_on else None, c.version, [list(pair) for pair in c.classes]]
    )


@lru_cache(maxsize=1 << 15)
def decode_characteristics(raw: bytes | str) -> Characteristics:
    """The characteristics a pupil's hash stores (kept: every batch reads a pupil's again)."""
    c = orjson.loads(raw)
    return Characteristics(
        c[0], c[1], Sex(c[2]), c[3], SenProvision(c[4]), c[5], EthnicGroup[c[6]], c[7],
        date.fromisoformat(c[8]) if c[8] else None, c[9],
        tuple((year, class_id) for year, class_id in c[10]) if len(c) > 10 else (),
    )
