"""Counter hashes as arrays, and the pooled tally over them without a Python loop per field.

A report over a Trust of 100 schools sums some 30,000 counter fields but only a few hundred
distinct cells. So each distinct cell and label gets a number once per process (`CellRegistry`),
a counter hash is kept as three arrays (cell numbers, label numbers, pupils), and a tally
judges each distinct cell once with the one rule (`PupilFilter.admits_cell`, `GROUPINGS`) and
then sums with numpy. The result is exactly `tidemark_schemas.aggregates.tally`'s, which stays
the reference (and the path for plain dictionaries, as tests pass them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from tidemark_schemas.aggregates import (
    GROUPINGS,
    BandCounts,
    Cell,
    Counters,
    LabelTally,
    PupilFilter,
    Tally,
    decode_cell_field,
    tally_labels as reference_tally_labels,
)
from tidemark_schemas.aggregates import tally as reference_tally
from tidemark_schemas.vocabulary import Band, YearGroup

BAND_LABELS: tuple[Band, ...] = (Band.BELOW, Band.AT, Band.ABOVE)
"""The first three label numbers, fixed, so a band tally needs no lookup."""


@dataclass
class CellRegistry:
    """Numbers for the distinct cells and labels of counter fields, shared by every request of a
    process (there are at most a few thousand cells)."""

    cell_ids: dict[str, int] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    cell_prefixes: list[str] = field(default_factory=list)
    """Each cell's part of a counter field (with its trailing `|`)."""
    label_ids: dict[str, int] = field(default_factory=lambda: {band.value: i for i, band in enumerate(BAND_LABELS)})
    labels: list[str] = field(default_factory=lambda: [band.value for band in BAND_LABELS])
    _field_ids: dict[str, tuple[int, int]] = field(default_factory=dict)

    def numbers(self, raw: str) -> tuple[int, int]:
        """(cell number, label number) of a counter field."""
        found = self._field_ids.get(raw)
        if found is None:
            cell_part, label = raw.rsplit("|", 1)
            cell_id = self.cell_ids.get(cell_part)
            if cell_id is None:
                cell_id = self.cell_ids[cell_part] = len(self.cells)
                self.cells.append(decode_cell_field(raw)[0])
                self.cell_prefixes.append(cell_part + "|")
            label_id = self.label_ids.get(label)
            if label_id is None:
                label_id = self.label_ids[label] = len(self.labels)
                self.labels.append(label)
            found = self._field_ids[raw] = (cell_id, label_id)
        return found

    def parse(self, fields: Mapping[str, int]) -> CounterHash:
        numbered = [(*self.numbers(raw), pupils) for raw, pupils in fields.items() if pupils]
        table = np.array(numbered, dtype=np.int64).reshape(-1, 3)
        return CounterHash(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())

    def field(self, cell: int, label: int) -> str:
        return self.cell_prefixes[cell] + self.labels[label]


@dataclass(frozen=True, eq=False)
class CounterHash(Mapping[str, int]):
    """One counter hash as numbered arrays, still readable as a mapping of field -> pupils.

    Only arrays are kept (numpy arrays are invisible to Python's garbage collector): a gateway
    holding tens of thousands of cached hashes as dictionaries paid for them in every full
    collection, tens of milliseconds at a time."""

    cells: np.ndarray
    labels: np.ndarray
    pupils: np.ndarray

    def __getitem__(self, key: str) -> int:
        return dict(self.items())[key]

    def __iter__(self) -> Iterator[str]:
        return (field for field, _pupils in self.items())

    def __len__(self) -> int:
        return len(self.cells)

    # Mapping.items promises an ItemsView; every caller only iterates, and a view would look fields up
    # one by one through __getitem__, so a plain iterator is given instead.
    def items(self) -> Iterator[tuple[str, int]]:  # type: ignore[override]
        return (
            (REGISTRY.field(int(cell), int(label)), int(pupils))
            for cell, label, pupils in zip(self.cells, self.labels, self.pupils, strict=True)
        )


REGISTRY = CellRegistry()


def tally(counters: Counters, by: str | None, pupil_filter: PupilFilter = PupilFilter()) -> Tally:
    """`aggregates.tally`, summed with numpy when the hashes are `CounterHash`es."""
    summed = _label_sums(counters, by, pupil_filter)
    if summed is None:
        return reference_tally(counters, by, pupil_filter)
    pooled, groups = summed
    result = Tally(all_pupils=_band_counts(pooled))
    for group, row in groups.items():
        result.groups[group] = _band_counts(row)
    return result


def tally_labels(counters: Counters, by: str | None, pupil_filter: PupilFilter = PupilFilter()) -> LabelTally:
    """`aggregates.tally_labels`, summed with numpy when the hashes are `CounterHash`es."""
    summed = _label_sums(counters, by, pupil_filter)
    if summed is None:
        return reference_tally_labels(counters, by, pupil_filter)
    pooled, groups = summed
    result = LabelTally()
    result.all_pupils.update(_labelled(pooled))
    for group, row in groups.items():
        result.groups[group].update(_labelled(row))
    return result


def _label_sums(
    counters: Counters, by: str | None, pupil_filter: PupilFilter
) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Pupils per label, pooled and per group; None unless every hash is a `CounterHash`."""
    items = list(counters.items() if isinstance(counters, Mapping) else counters)
    if not all(isinstance(hash_, CounterHash) for _, hash_ in items):
        return None
    items = [(school, hash_) for school, hash_ in items if pupil_filter.schools is None or school in pupil_filter.schools]
    labels = len(REGISTRY.labels)
    if not items:
        return np.zeros(labels, dtype=np.int64), {}
    cells = np.concatenate([hash_.cells for _, hash_ in items])
    label_of = np.concatenate([hash_.labels for _, hash_ in items])
    pupils = np.concatenate([hash_.pupils for _, hash_ in items])
    admitted, cell_group, group_names = _judged(pupil_filter, by)
    keep = admitted[cells]
    pooled = np.bincount(label_of[keep], weights=pupils[keep], minlength=labels).astype(np.int64)
    if by is None:
        return pooled, {}
    if by == "school":  # a school appears once per stored measure of a mixed measure (gld_rwm)
        numbered: dict[str, int] = {}
        school_numbers = [numbered.setdefault(school, len(numbered)) for school, _ in items]
        group_names = list(numbered)
        group_of = np.repeat(np.array(school_numbers, dtype=np.int64), [len(hash_.cells) for _, hash_ in items])
    else:
        group_of = cell_group[cells]
    combined = group_of[keep] * labels + label_of[keep]
    sums = np.bincount(combined, weights=pupils[keep], minlength=len(group_names) * labels).astype(np.int64)
    rows = sums.reshape(len(group_names), labels)
    return pooled, {name: rows[i] for i, name in enumerate(group_names) if rows[i].any()}


def _judged(pupil_filter: PupilFilter, by: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per registered cell: admitted by the filter's characteristics, and its group number (for
    groupings by characteristic), judged with the one rule for each distinct cell. Dashboards
    repeat the same few filters, so the verdicts are kept until new cells are registered."""
    return _judged_cells(replace(pupil_filter, schools=None), by, len(REGISTRY.cells))


@lru_cache(maxsize=256)
def _judged_cells(pupil_filter: PupilFilter, by: str | None, registered: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    cells = REGISTRY.cells[:registered]
    admitted = np.fromiter((pupil_filter.admits_cell(cell) for cell in cells), dtype=bool, count=len(cells))
    if by is None or by == "school":
        return admitted, np.zeros(len(cells), dtype=np.int64), []
    group_of = GROUPINGS[by]
    names: dict[str, int] = {}
    numbers = [names.setdefault(group_of("", cell), len(names)) for cell in cells]
    return admitted, np.array(numbers, dtype=np.int64), list(names)


def pupils_by_year_group(hash_: CounterHash) -> dict[YearGroup, int]:
    """Pupils per year group of one hash, every label summed (`pupils.by_year_group`'s rule: the
    year group of each field's cell)."""
    year_group_of = _cell_year_groups(len(REGISTRY.cells))
    sums = np.bincount(year_group_of[hash_.cells], weights=hash_.pupils, minlength=len(YEAR_GROUPS))
    return {YEAR_GROUPS[i]: int(pupils) for i, pupils in enumerate(sums) if pupils}


YEAR_GROUPS: tuple[YearGroup, ...] = tuple(YearGroup)


@lru_cache(maxsize=4)
def _cell_year_groups(registered: int) -> np.ndarray:
    number = {year_group: i for i, year_group in enumerate(YEAR_GROUPS)}
    return np.fromiter((number[cell.year_group] for cell in REGISTRY.cells[:registered]), dtype=np.int64,
                       count=registered)


def _band_counts(row: np.ndarray) -> BandCounts:
    return BandCounts(int(row[0]), int(row[1]), int(row[2]))


def _labelled(row: np.ndarray) -> dict[str, int]:
    return {REGISTRY.labels[i]: int(n) for i, n in enumerate(row) if n}
