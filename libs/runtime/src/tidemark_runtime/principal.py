"""Who a request speaks for, and what it may do: plain data, shared by every service's domain.

`Permission` names what an endpoint lets its caller do; the roles that hold each permission are one
table in `tidemark_identity.domain.roles`, and whoever identifies a caller (the principal lookup)
builds its `Principal` with the permissions of its role. The check itself is `tidemark_runtime.auth`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Permission(StrEnum):
    """What an endpoint lets its caller do, always within the caller's Trust and schools."""

    READ_FIGURES = "figures:read"
    """Dashboards, reports, reference lists and live updates: counts and percentages only."""
    READ_SMALL_GROUPS = "figures:small-groups"
    """The percentages of a group smaller than SMALL_GROUP_THRESHOLD (without it: the count only)."""
    READ_PUPILS = "pupils:read"
    """Pupil-level lists (the pupils behind a drill-down)."""
    WRITE_TRACKER = "tracker:write"
    """Send schools, pupils and results, and lock or unlock them, for the caller's schools (ingest keys;
    teachers, through the web UI's Entry pages)."""
    MANAGE_PEOPLE = "people:manage"
    """Create, change, disable people and reset their passwords; create, list and revoke API keys."""
    READ_AUDIT = "audit:read"
    """Read the Trust's audit trail."""


class Principal(BaseModel):
    """Who a request speaks for: one Trust, a role, optionally a subset of its schools, and the
    permissions its role holds."""

    model_config = ConfigDict(frozen=True)

    trust_id: str
    role: str
    schools: frozenset[str] | None = Field(default=None, description="None means every school of the Trust")
    permissions: frozenset[Permission] = frozenset()
    actor_id: str = Field(default="", description="Who acts, for the audit trail: `user:<id>`, `key:<id>` or `token:<role>`")
    session_id: str | None = Field(default=None, description="The hash of the session a person signed in with, if any")

    def may_see(self, school_id: str) -> bool:
        return self.schools is None or school_id in self.schools
