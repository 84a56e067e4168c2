"""The identity tables (sqlmodel). They live in the one PostgreSQL; ingest's migrations create them
(`tidemark_ingest/migrations`, whose env.py includes this metadata).

Secrets are never stored: a session is its id's SHA-256, an API key its secret's; a password its
argon2id hash. The audit trail is append-only (a trigger refuses UPDATE and DELETE).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _at(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class PersonRow(SQLModel, table=True):
    __tablename__ = "identity_person"

    person_id: str = Field(primary_key=True)
    trust_id: str = Field(index=True)
    email: str = Field(unique=True, description="Lower case")
    name: str
    role: str
    schools: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    password_hash: str | None = Field(default=None, description="argon2id; None: single sign-on only")
    must_change_password: bool = False
    disabled: bool = False
    oidc_subject: str | None = Field(
        default=None, unique=True, description="issuer + subject of single sign-on"
    )
    created_at: datetime = Field(sa_column=_at())


class SessionRow(SQLModel, table=True):
    __tablename__ = "identity_session"

    id_hash: str = Field(primary_key=True)
    person_id: str = Field(foreign_key="identity_person.person_id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_column=_at())
    last_seen_at: datetime = Field(sa_column=_at())


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "identity_api_key"

    key_id: str = Field(primary_key=True, description="The key's public part, its lookup prefix")
    trust_id: str = Field(index=True)
    name: str
    role: str
    schools: list[str] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    secret_hash: str
    created_by: str
    created_at: datetime = Field(sa_column=_at())
    expires_on: date | None = None
    last_used_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_at(nullable=True))


class ThrottleRow(SQLModel, table=True):
    __tablename__ = "identity_throttle"

    subject: str = Field(primary_key=True, description="`account:<email>` or `address:<ip>`")
    failures: int
    last_failure_at: datetime = Field(sa_column=_at())


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_trust_id_id", "trust_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    trust_id: str
    at: datetime = Field(sa_column=_at())
    actor_id: str
    action: str
    school_id: str | None = None
    detail: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
