"""Which schools a request may read.

A school-scoped viewer only ever reads its own schools' counters. "All Pupils" is therefore pooled
over the schools the caller may see (and has asked for), never the whole Trust: together with the
per-school rows, a Trust-wide figure would let a viewer work out the figures of schools they do not
belong to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from tidemark_runtime.settings import Principal


@dataclass(frozen=True, slots=True)
class School:
    school_id: str
    name: str


def visible_schools(principal: Principal, school_names: Mapping[str, str]) -> list[School]:
    """The schools of the Trust the caller may see, sorted by name (then id)."""
    visible = [School(school, name) for school, name in school_names.items() if principal.may_see(school)]
    return sorted(visible, key=lambda school: (school.name.casefold(), school.school_id))


class SchoolNotVisible(Exception):
    """The caller named schools it may not see (HTTP 403)."""

    def __init__(self, schools: list[str]) -> None:
        super().__init__(f"not allowed to see school(s): {', '.join(schools)}")
        self.schools = schools


class UnknownSchool(Exception):
    """The caller named schools its Trust does not have (HTTP 422)."""

    def __init__(self, schools: list[str]) -> None:
        super().__init__(f"unknown school(s): {', '.join(schools)}")
        self.schools = schools


def schools_in_scope(
    principal: Principal, trust_schools: Collection[str], requested: Iterable[str] | None
) -> frozenset[str]:
    """The schools a request covers: the requested ones, or else every school the caller may see.

    Visibility is checked before existence, so a school-scoped caller learns nothing about which
    other schools exist.
    """
    if not requested:
        return frozenset(school for school in trust_schools if principal.may_see(school))
    wanted = frozenset(requested)
    if hidden := sorted(school for school in wanted if not principal.may_see(school)):
        raise SchoolNotVisible(hidden)
    if unknown := sorted(wanted - frozenset(trust_schools)):
        raise UnknownSchool(unknown)
    return wanted
