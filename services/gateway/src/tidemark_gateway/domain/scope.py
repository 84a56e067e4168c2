"""Which schools a request may read.

A school-scoped viewer only ever reads its own schools' counters. "All Pupils" is therefore pooled
over the schools the caller may see (and has asked for), never the whole Trust: together with the
per-school rows, a Trust-wide figure would let a viewer work out the figures of schools they do not
belong to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from tidemark_runtime.settings import Principal
from tidemark_schemas.vocabulary import YearGroup


@dataclass(frozen=True, slots=True)
class School:
    school_id: str
    name: str


def visible_schools(principal: Principal, school_names: Mapping[str, str]) -> list[School]:
    """The schools of the Trust the caller may see, sorted by name (then id)."""
    visible = [School(school, name) for school, name in school_names.items() if principal.may_see(school)]
    return sorted(visible, key=lambda school: (school.name.casefold(), school.school_id))


class SchoolNames(dict[str, str]):
    """School id -> name, with the Trust's classes beside them (`classes`, id -> (name, school id)):
    every report takes the names for its rows, and by=class labels its rows with the class names."""

    def __init__(self, schools: Mapping[str, str], classes: Mapping[str, tuple[str, str]] | None = None) -> None:
        super().__init__(schools)
        self.classes: Mapping[str, tuple[str, str]] = dict(classes or {})


def class_labels(names: Mapping[str, str], class_ids: Collection[str]) -> dict[str, str]:
    """Each class's row label: its name, or "School · Class" when the classes are of several
    schools (class names such as "Year 3" repeat from school to school)."""
    classes = names.classes if isinstance(names, SchoolNames) else {}
    schools = {classes[c][1] for c in class_ids if c in classes}
    if len(schools) <= 1:
        return {c: classes[c][0] if c in classes else c for c in class_ids}
    return {c: f"{names.get(classes[c][1], classes[c][1])} · {classes[c][0]}" if c in classes else c
            for c in class_ids}


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """A class of one school in one academic year (`GET /v1/classes`; the by=class rows' labels)."""

    class_id: str
    name: str
    school_id: str
    academic_year: str
    year_groups: Annotated[list[YearGroup], Field(description="The year group(s) it teaches")]


def visible_classes(
    principal: Principal, classes: Mapping[str, SchoolClass], school_id: str | None, academic_year: str | None
) -> list[SchoolClass]:
    """The classes of the schools the caller may see (of one school and/or year when asked), by
    school, year and name."""
    found = [c for c in classes.values() if principal.may_see(c.school_id)
             and (school_id is None or c.school_id == school_id)
             and (academic_year is None or c.academic_year == academic_year)]
    return sorted(found, key=lambda c: (c.school_id, c.academic_year, c.name.casefold(), c.class_id))


class ClassNotVisible(Exception):
    """The caller named classes of schools it may not see (HTTP 403)."""

    def __init__(self, classes: list[str]) -> None:
        super().__init__(f"not allowed to see class(es): {', '.join(classes)}")
        self.classes = classes


class UnknownClass(Exception):
    """The caller named classes its Trust does not have (HTTP 422 on `class`)."""

    def __init__(self, classes: list[str]) -> None:
        super().__init__(f"unknown class(es): {', '.join(classes)}")
        self.classes = classes


def schools_of_classes(
    principal: Principal, classes: Mapping[str, SchoolClass], requested: Iterable[str]
) -> frozenset[str]:
    """The schools of the classes a request names: a class of a school the caller may not see is a
    403 (whether or not it exists), checked first; one the Trust does not have a 422."""
    wanted = sorted(set(requested))
    if hidden := [c for c in wanted if c in classes and not principal.may_see(classes[c].school_id)]:
        raise ClassNotVisible(hidden)
    if unknown := [c for c in wanted if c not in classes]:
        if principal.schools is not None:
            raise ClassNotVisible(unknown)  # a school-scoped caller learns nothing of other schools' classes
        raise UnknownClass(unknown)
    return frozenset(classes[c].school_id for c in wanted)


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
