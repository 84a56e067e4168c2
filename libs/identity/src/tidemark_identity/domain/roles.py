"""The roles and the permissions each holds: the one table (`ROLES`). Routes name permissions
(`tidemark_runtime.auth.require`), never roles; a principal carries its role's permissions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tidemark_runtime.principal import Permission, Principal


class Role(StrEnum):
    TRUST_ADMIN = "trust_admin"
    TRUST_LEADER = "trust_leader"
    SCHOOL_LEADER = "school_leader"
    TEACHER = "teacher"
    ANALYST = "analyst"
    INGEST = "ingest"
    READER = "reader"


class Holder(StrEnum):
    PERSON = "person"
    KEY = "key"


class Scope(StrEnum):
    TRUST = "every school of the Trust"
    SCHOOLS = "one or more schools"
    EITHER = "every school, or some"


@dataclass(frozen=True, slots=True)
class RoleSpec:
    holder: Holder
    scope: Scope
    permissions: frozenset[Permission]
    summary: str


P = Permission
ROLES: Mapping[Role, RoleSpec] = {
    Role.TRUST_ADMIN: RoleSpec(
        Holder.PERSON,
        Scope.TRUST,
        frozenset({P.READ_FIGURES, P.READ_SMALL_GROUPS, P.READ_PUPILS, P.MANAGE_PEOPLE, P.READ_AUDIT}),
        "everything in its Trust: figures, pupil lists, people and keys, the audit trail",
    ),
    Role.TRUST_LEADER: RoleSpec(
        Holder.PERSON,
        Scope.TRUST,
        frozenset({P.READ_FIGURES, P.READ_SMALL_GROUPS, P.READ_PUPILS}),
        "every school's figures and pupil lists",
    ),
    Role.SCHOOL_LEADER: RoleSpec(
        Holder.PERSON,
        Scope.SCHOOLS,
        frozenset({P.READ_FIGURES, P.READ_SMALL_GROUPS, P.READ_PUPILS}),
        "its schools' figures and pupil lists",
    ),
    Role.TEACHER: RoleSpec(
        Holder.PERSON,
        Scope.SCHOOLS,
        frozenset({P.READ_FIGURES, P.READ_SMALL_GROUPS, P.READ_PUPILS, P.WRITE_TRACKER}),
        "enters, locks and unlocks its schools' results (the web UI's Entry pages); their figures and pupil lists",
    ),
    Role.ANALYST: RoleSpec(
        Holder.PERSON,
        Scope.EITHER,
        frozenset({P.READ_FIGURES}),
        "figures only, never a pupil id or list, nor a small group's percentage (anonymised)",
    ),
    Role.INGEST: RoleSpec(
        Holder.KEY,
        Scope.EITHER,
        frozenset({P.WRITE_TRACKER}),
        "a system that writes tracker data for its schools",
    ),
    Role.READER: RoleSpec(
        Holder.KEY,
        Scope.EITHER,
        frozenset({P.READ_FIGURES, P.READ_SMALL_GROUPS}),
        "a system that reads the dashboards and reports API",
    ),
}
"""Every role: who holds it (a person or an API key), its school scope, its permissions."""

PERSON_ROLES = tuple(role for role, spec in ROLES.items() if spec.holder is Holder.PERSON)
KEY_ROLES = tuple(role for role, spec in ROLES.items() if spec.holder is Holder.KEY)


class ScopeRejected(ValueError):
    """A role given a school scope it cannot have."""


def check_scope(role: Role, schools: Collection[str] | None) -> frozenset[str] | None:
    """The schools of a person or key of `role`, as stored (None: every school); refused when the
    role cannot have that scope (a trust-wide role with schools, a school leader without any)."""
    scope = ROLES[role].scope
    if schools is not None and not schools:
        raise ScopeRejected("schools must name at least one school, or be null for every school")
    if scope is Scope.TRUST and schools is not None:
        raise ScopeRejected(f"a {role.value} sees every school of the Trust: schools must be null")
    if scope is Scope.SCHOOLS and schools is None:
        raise ScopeRejected(f"a {role.value} must be given its schools")
    return frozenset(schools) if schools is not None else None


def principal(
    trust_id: str, role: Role, schools: Collection[str] | None, actor_id: str, session_id: str | None = None
) -> Principal:
    """Who a person or key speaks for: its Trust, scope and its role's permissions."""
    return Principal(
        trust_id=trust_id,
        role=role.value,
        schools=frozenset(schools) if schools is not None else None,
        permissions=ROLES[role].permissions,
        actor_id=actor_id,
        session_id=session_id,
    )


def token_principal(trust_id: str, role: str, schools: Collection[str] | None, see_pupils: bool) -> Principal:
    """A `TIDEMARK_TOKENS` token (the development and test fallback): `viewer` holds a reader key's
    permissions, and pupil lists with `see_pupils`; `ingest` an ingest key's."""
    permissions = ROLES[Role.READER if role == "viewer" else Role.INGEST].permissions
    if see_pupils:
        permissions |= {Permission.READ_PUPILS}
    return Principal(
        trust_id=trust_id,
        role=role,
        schools=frozenset(schools) if schools is not None else None,
        permissions=permissions,
        actor_id=f"token:{role}",
    )


def roles_table() -> str:
    """The README's table of roles and permissions, from `ROLES` (a test keeps the README equal)."""
    permissions = list(Permission)
    lines = [
        "| role | held by | schools | " + " | ".join(f"`{p.value}`" for p in permissions) + " |",
        "|---|---|---|" + "---|" * len(permissions),
    ]
    for role, spec in ROLES.items():
        marks = " | ".join("yes" if p in spec.permissions else "" for p in permissions)
        holder = "person" if spec.holder is Holder.PERSON else "API key"
        lines.append(f"| `{role.value}` | {holder} | {spec.scope.value} | {marks} |")
    return "\n".join(lines)
