"""Saved column mappings as pure functions: a mapping committed with an import is kept for its school,
kind and file shape, and the next upload of that school without a mapping of its own is read with
it (before matching headers by name).

A file's shape is the set of its headers as they are compared (`column_key`: case, spaces and
hyphens aside): the same export from the same tracker has the same shape, whatever the order of its
columns. A saved mapping fits a file when every header it maps is one of the file's (compared the
same way); of those that fit, one saved for the same shape wins, then the one used last. It is then
applied to the file's own spelling of each header (`for_headers`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tidemark_ingest.domain.imports import ImportKind, column_key


@dataclass(frozen=True, slots=True)
class SavedMapping:
    """A mapping (file header -> field; "" ignores the column) saved for a school, kind and shape."""

    mapping_id: str
    school_id: str
    kind: ImportKind
    shape: str
    headers: tuple[str, ...]
    """The headers of the file it was committed with (what the shape was made from)."""
    mapping: Mapping[str, str]
    updated_at: datetime
    """When an import last committed with it."""


def shape_of(headers: Sequence[str]) -> str:
    """The shape of a file with these headers: order, case, spaces and hyphens aside."""
    keys = sorted({column_key(h) for h in headers if h.strip()})
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()[:16]


def for_headers(mapping: Mapping[str, str], headers: Sequence[str]) -> dict[str, str]:
    """`mapping` keyed by the file's own headers (each matched as headers are compared); a header of
    the mapping the file lacks is left out."""
    by_key = {column_key(header): target for header, target in mapping.items()}
    return {header: by_key[column_key(header)] for header in headers if column_key(header) in by_key}


def school_column(headers: Sequence[str], mapping: Mapping[str, str]) -> int | None:
    """The index of the column that feeds `school_id` when the file is read with `mapping`."""
    for index, header in enumerate(headers):
        target = mapping[header] if header in mapping else header
        if column_key(target) == "school_id":
            return index
    return None


def fits(saved: SavedMapping, headers: Sequence[str]) -> bool:
    """Every header the mapping names is a header of the file (else it would be refused)."""
    present = {column_key(header) for header in headers}
    return all(column_key(header) in present for header in saved.mapping)


def choose(
    candidates: Sequence[SavedMapping],
    kind: ImportKind,
    headers: Sequence[str],
    first_row: Sequence[str | None] | None,
    school_id: str | None,
) -> SavedMapping | None:
    """The saved mapping an upload is read with, if any: one of its kind that fits its headers, saved
    for its school (the upload's `school_id`, or else the school its first data row names when read
    with that mapping); the same shape first, then the latest used."""
    found = []
    for saved in candidates:
        if saved.kind is not kind or not fits(saved, headers):
            continue
        if school_id is None:
            index = school_column(headers, for_headers(saved.mapping, headers))
            if index is None or first_row is None or index >= len(first_row) or first_row[index] != saved.school_id:
                continue
        elif saved.school_id != school_id:
            continue
        found.append(saved)
    shape = shape_of(headers)
    return max(found, key=lambda s: (s.shape == shape, s.updated_at), default=None)


def schools_to_save(default_school: str | None, record_schools: Sequence[str]) -> list[str]:
    """The schools a committed mapping is saved for: the upload's school, or every school its rows name."""
    if default_school:
        return [default_school]
    return sorted(set(record_schools))
