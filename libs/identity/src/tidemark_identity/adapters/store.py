"""The identity store: every query on the identity tables, each in its own short transaction.

The per-request lookups (`session`, `api_key`) are one indexed read each (by primary key), plus a
write of the last-seen / last-used time at most once a minute.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_identity.adapters.tables import ApiKeyRow, AuditRow, PersonRow, SessionRow, ThrottleRow
from tidemark_identity.domain.throttle import Failures

PERSON = PersonRow.__table__  # type: ignore[attr-defined]
SESSION = SessionRow.__table__  # type: ignore[attr-defined]
API_KEY = ApiKeyRow.__table__  # type: ignore[attr-defined]
THROTTLE = ThrottleRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    trust_id: str
    email: str
    name: str
    role: str
    schools: list[str] | None
    password_hash: str | None
    must_change_password: bool
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    trust_id: str
    name: str
    role: str
    schools: list[str] | None
    secret_hash: str
    created_by: str
    created_at: datetime
    expires_on: date | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionOf:
    """A session with its person."""

    created_at: datetime
    last_seen_at: datetime
    person: Person


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: str
    action: str
    school_id: str | None
    detail: dict[str, Any]


def _person(row: Any) -> Person:
    return Person(**{field: getattr(row, field) for field in Person.__dataclass_fields__})


def _key(row: Any) -> ApiKey:
    return ApiKey(**{field: getattr(row, field) for field in ApiKey.__dataclass_fields__})


class InvalidCursor(ValueError):
    pass


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("a"):
            raise ValueError
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("not a cursor this endpoint returned") from None


class IdentityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- people -----------------------------------------------------------------------------------

    async def person_by_email(self, email: str) -> Person | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(PERSON).where(PERSON.c.email == email))).first()
        return _person(row) if row else None

    async def person(self, trust_id: str, person_id: str) -> Person | None:
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(PERSON).where(PERSON.c.person_id == person_id, PERSON.c.trust_id == trust_id)
                )
            ).first()
        return _person(row) if row else None

    async def person_by_subject(self, subject: str) -> Person | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(PERSON).where(PERSON.c.oidc_subject == subject))).first()
        return _person(row) if row else None

    async def people(self, trust_id: str) -> list[Person]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(PERSON).where(PERSON.c.trust_id == trust_id).order_by(PERSON.c.email)
            )
        return [_person(row) for row in rows]

    async def add_person(self, person: Person) -> bool:
        """False when the email is taken (by anyone, in any Trust)."""
        async with self.engine.begin() as connection:
            taken = (
                await connection.execute(select(PERSON.c.person_id).where(PERSON.c.email == person.email))
            ).first()
            if taken:
                return False
            values = {field: getattr(person, field) for field in Person.__dataclass_fields__}
            await connection.execute(insert(PERSON).values(**values))
        return True

    async def change_person(self, person_id: str, **values: Any) -> None:
        """Change a person; disabling or a new password also ends every session of theirs."""
        async with self.engine.begin() as connection:
            await connection.execute(update(PERSON).where(PERSON.c.person_id == person_id).values(**values))
            if values.get("disabled") or "password_hash" in values:
                await connection.execute(delete(SESSION).where(SESSION.c.person_id == person_id))

    async def link_subject(self, person_id: str, subject: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(PERSON).where(PERSON.c.person_id == person_id).values(oidc_subject=subject)
            )

    # -- sessions ---------------------------------------------------------------------------------

    async def start_session(self, id_hash: str, person_id: str, now: datetime, replaces: str | None) -> None:
        """A new session (rotation: the one it replaces, if any, ends)."""
        async with self.engine.begin() as connection:
            if replaces is not None:
                await connection.execute(delete(SESSION).where(SESSION.c.id_hash == replaces))
            await connection.execute(
                insert(SESSION).values(id_hash=id_hash, person_id=person_id, created_at=now, last_seen_at=now)
            )

    async def session(self, id_hash: str) -> SessionOf | None:
        query = (
            select(SESSION.c.created_at, SESSION.c.last_seen_at, PERSON)
            .join(PERSON, PERSON.c.person_id == SESSION.c.person_id)
            .where(SESSION.c.id_hash == id_hash)
        )
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return SessionOf(row.created_at, row.last_seen_at, _person(row)) if row else None

    async def touch_session(self, id_hash: str, now: datetime) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(SESSION).where(SESSION.c.id_hash == id_hash).values(last_seen_at=now)
            )

    async def end_session(self, id_hash: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(SESSION).where(SESSION.c.id_hash == id_hash))

    # -- API keys ---------------------------------------------------------------------------------

    async def api_key(self, key_id: str) -> ApiKey | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(API_KEY).where(API_KEY.c.key_id == key_id))).first()
        return _key(row) if row else None

    async def api_keys(self, trust_id: str) -> list[ApiKey]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(API_KEY)
                .where(API_KEY.c.trust_id == trust_id)
                .order_by(API_KEY.c.created_at, API_KEY.c.key_id)
            )
        return [_key(row) for row in rows]

    async def add_api_key(self, key: ApiKey) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(API_KEY).values(
                    **{field: getattr(key, field) for field in ApiKey.__dataclass_fields__}
                )
            )

    async def key_used(self, key_id: str, now: datetime) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                update(API_KEY).where(API_KEY.c.key_id == key_id).values(last_used_at=now)
            )

    async def revoke_key(self, trust_id: str, key_id: str, now: datetime) -> bool:
        """False when the Trust has no such key (or it was revoked already)."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(API_KEY)
                .where(
                    API_KEY.c.key_id == key_id, API_KEY.c.trust_id == trust_id, API_KEY.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
        return bool(result.rowcount)

    # -- throttling -------------------------------------------------------------------------------

    async def failures(self, subjects: Sequence[str]) -> dict[str, Failures]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(THROTTLE).where(THROTTLE.c.subject.in_(subjects)))
        return {row.subject: Failures(row.failures, row.last_failure_at) for row in rows}

    async def record_failures(self, counts: dict[str, Failures]) -> None:
        from sqlalchemy.dialects.postgresql import insert as upsert

        async with self.engine.begin() as connection:
            for subject, failures in counts.items():
                statement = upsert(THROTTLE).values(
                    subject=subject, failures=failures.count, last_failure_at=failures.last_at
                )
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["subject"],
                        set_={"failures": failures.count, "last_failure_at": failures.last_at},
                    )
                )

    async def clear_failures(self, subject: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(THROTTLE).where(THROTTLE.c.subject == subject))

    # -- the audit trail --------------------------------------------------------------------------

    async def audit(
        self,
        trust_id: str,
        at: datetime,
        actor_id: str,
        action: str,
        school_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(AUDIT).values(
                    trust_id=trust_id,
                    at=at,
                    actor_id=actor_id,
                    action=action,
                    school_id=school_id,
                    detail=detail or {},
                )
            )

    async def audit_page(
        self,
        trust_id: str,
        *,
        actor: str | None,
        action: str | None,
        school: str | None,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[AuditEntry], str | None]:
        """Newest first; the cursor of the next page, None on the last."""
        query = select(AUDIT).where(AUDIT.c.trust_id == trust_id)
        if actor is not None:
            query = query.where(AUDIT.c.actor_id == actor)
        if action is not None:
            query = query.where(AUDIT.c.action == action)
        if school is not None:
            query = query.where(AUDIT.c.school_id == school)
        if since is not None:
            query = query.where(AUDIT.c.at >= since)
        if until is not None:
            query = query.where(AUDIT.c.at < until)
        if cursor is not None:
            query = query.where(AUDIT.c.id < decode_cursor(cursor))
        async with self.engine.connect() as connection:
            rows = list(await connection.execute(query.order_by(AUDIT.c.id.desc()).limit(limit + 1)))
        entries = [
            AuditEntry(row.id, row.at, row.actor_id, row.action, row.school_id, row.detail)
            for row in rows[:limit]
        ]
        return entries, encode_cursor(entries[-1].id) if len(rows) > limit else None
