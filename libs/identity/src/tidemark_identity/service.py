"""The use cases of identity and access: sign-in and sign-out, who a request speaks for, the
administration of people and keys, and the audit trail. Each is the domain's rules over the store.

Errors are exceptions of this module carrying what an HTTP answer needs; another Trust's person or
key is `NotFound`, exactly like one that does not exist.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tidemark_identity.adapters.store import ApiKey, AuditEntry, IdentityStore, Person
from tidemark_identity.domain import passwords, secrets, throttle
from tidemark_identity.domain.audit import Action
from tidemark_identity.domain.roles import (
    KEY_ROLES,
    PERSON_ROLES,
    Role,
    ScopeRejected,
    check_scope,
    principal,
)
from tidemark_identity.domain.sessions import SessionPolicy, is_live, needs_touch
from tidemark_runtime.principal import Principal

KEY_TOUCH_EVERY = timedelta(seconds=60)
"""An API key's last use is written at most this often."""


class IdentityError(Exception):
    status = 400

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Invalid(IdentityError):
    """Input the rules refuse (a 422 naming the field)."""

    status = 422


class NotFound(IdentityError):
    status = 404


class Conflict(IdentityError):
    status = 409


class SignInRefused(IdentityError):
    status = 401


class Throttled(IdentityError):
    status = 429

    def __init__(self, retry_after: timedelta) -> None:
        seconds = max(1, int(retry_after.total_seconds() + 0.999))
        super().__init__(f"too many failed sign-ins: try again in {seconds} s")
        self.retry_after = seconds


@dataclass(frozen=True, slots=True)
class SignedIn:
    person: Person
    session_secret: str
    """The cookie's value; only its hash is stored."""
    csrf_token: str


@dataclass(frozen=True, slots=True)
class NewPerson:
    person_id: str
    temporary_password: str | None


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    key: str


def _now() -> datetime:
    return datetime.now(UTC)


def _role(value: str, allowed: Collection[Role], field: str = "role") -> Role:
    if value not in {role.value for role in allowed}:
        raise Invalid(f"must be one of {', '.join(role.value for role in allowed)}", field)
    return Role(value)


def _scope(role: Role, schools: Collection[str] | None) -> list[str] | None:
    try:
        scoped = check_scope(role, schools)
    except ScopeRejected as error:
        raise Invalid(str(error), "schools") from None
    return sorted(scoped) if scoped is not None else None


def _password(password: str, email: str, field: str = "password") -> str:
    try:
        return passwords.hash_password(passwords.check_password(password, email))
    except passwords.PasswordRejected as error:
        raise Invalid(f"password {error}", field) from None


def person_principal(person: Person, session_id: str | None) -> Principal:
    """A person's principal; one who must change a temporary password holds no permission until then."""
    found = principal(
        person.trust_id, Role(person.role), person.schools, f"user:{person.person_id}", session_id
    )
    return found.model_copy(update={"permissions": frozenset()}) if person.must_change_password else found


@dataclass
class Identity:
    store: IdentityStore
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    now: Callable[[], datetime] = _now

    @classmethod
    def on(cls, engine: AsyncEngine, policy: SessionPolicy | None = None) -> Identity:
        return cls(IdentityStore(engine), policy or SessionPolicy())

    # -- who a request speaks for -----------------------------------------------------------------

    async def session_principal(self, session_secret: str) -> Principal | None:
        id_hash = secrets.digest(session_secret)
        found = await self.store.session(id_hash)
        now = self.now()
        if found is None or found.person.disabled:
            return None
        if not is_live(found.created_at, found.last_seen_at, now, self.policy):
            await self.store.end_session(id_hash)
            return None
        if needs_touch(found.last_seen_at, now, self.policy):
            await self.store.touch_session(id_hash, now)
        return person_principal(found.person, id_hash)

    async def key_principal(self, presented: str) -> Principal | None:
        parsed = secrets.parse_key(presented)
        if parsed is None:
            return None
        key_id, secret_hash = parsed
        key = await self.store.api_key(key_id)
        now = self.now()
        if key is None or key.revoked_at is not None or not secrets_equal(key.secret_hash, secret_hash):
            return None
        if key.expires_on is not None and now.date() >= key.expires_on:
            return None
        if key.last_used_at is None or now - key.last_used_at >= KEY_TOUCH_EVERY:
            await self.store.key_used(key_id, now)
        return principal(key.trust_id, Role(key.role), key.schools, f"key:{key.key_id}")

    # -- signing in and out -----------------------------------------------------------------------

    async def sign_in(
        self, email: str, password: str, address: str | None, replaces: str | None = None
    ) -> SignedIn:
        email = email.strip().lower()
        now = self.now()
        subjects = {"account": f"account:{email}", "address": f"address:{address or '-'}"}
        counts = await self.store.failures(list(subjects.values()))
        waits = [
            throttle.retry_after(counts.get(subjects["account"]), now),
            throttle.retry_after(counts.get(subjects["address"]), now, throttle.ADDRESS_LOCK_AFTER),
        ]
        if any(waits):
            raise Throttled(max(wait for wait in waits if wait))
        person = await self.store.person_by_email(email)
        good = passwords.verify_password(
            person.password_hash if person and person.password_hash else passwords.DUMMY_HASH, password
        )
        if person is None or not good or person.disabled:
            await self.store.record_failures(
                {subject: throttle.after_failure(counts.get(subject), now) for subject in subjects.values()}
            )
            reason = "unknown email" if person is None else "disabled" if good else "wrong password"
            await self.store.audit(
                person.trust_id if person else "",
                now,
                f"user:{person.person_id}" if person else f"email:{email}",
                Action.SIGN_IN_FAILED,
                detail={"email": email, "reason": reason, "address": address},
            )
            raise SignInRefused("wrong email or password")
        await self.store.clear_failures(subjects["account"])
        return await self._start_session(person, now, address, replaces, {"method": "password"})

    async def _start_session(
        self, person: Person, now: datetime, address: str | None, replaces: str | None, detail: dict[str, Any]
    ) -> SignedIn:
        secret = secrets.new_secret()
        await self.store.start_session(
            secrets.digest(secret), person.person_id, now, secrets.digest(replaces) if replaces else None
        )
        await self.store.audit(
            person.trust_id,
            now,
            f"user:{person.person_id}",
            Action.SIGN_IN,
            detail={**detail, "address": address},
        )
        return SignedIn(person, secret, secrets.csrf_token(secret))

    async def sign_in_by_subject(
        self, subject: str, email: str | None, address: str | None, replaces: str | None = None
    ) -> SignedIn:
        """Single sign-on: the person linked to the issuer's subject, else the one whose (verified)
        email the issuer names, then linked. Nobody is created by signing in."""
        person = await self.store.person_by_subject(subject)
        if person is None and email:
            person = await self.store.person_by_email(email.strip().lower())
            if person is not None and not person.disabled:
                # From now on the issuer vouches for this person: a temporary password an administrator
                # handed out stops working (password sign-in resumes after a reset).
                await self.store.link_subject(person.person_id, subject)
                if person.must_change_password:
                    await self.store.change_person(
                        person.person_id, password_hash=None, must_change_password=False
                    )
                person = await self.store.person_by_subject(subject)
        if person is None or person.disabled:
            raise SignInRefused("no Tidemark account for this sign-in: ask your Trust's administrator")
        return await self._start_session(person, self.now(), address, replaces, {"method": "oidc"})

    async def sign_out(self, caller: Principal) -> None:
        if caller.session_id is not None:
            await self.store.end_session(caller.session_id)
            await self.store.audit(caller.trust_id, self.now(), caller.actor_id, Action.SIGN_OUT)

    async def me(self, caller: Principal) -> Person | None:
        if not caller.actor_id.startswith("user:"):
            return None
        return await self.store.person(caller.trust_id, caller.actor_id.removeprefix("user:"))

    async def change_password(self, caller: Principal, current: str, new: str) -> None:
        person = await self.me(caller)
        if person is None:
            raise Invalid("only a signed-in person has a password", "current_password")
        if not person.password_hash or not passwords.verify_password(person.password_hash, current):
            raise Invalid("is not your current password", "current_password")
        if new == current:
            raise Invalid("must differ from the current password", "new_password")
        await self.store.change_person(
            person.person_id,
            password_hash=_password(new, person.email, "new_password"),
            must_change_password=False,
        )
        await self.store.audit(person.trust_id, self.now(), caller.actor_id, Action.PASSWORD_CHANGED)

    # -- people -----------------------------------------------------------------------------------

    async def people(self, caller: Principal) -> list[Person]:
        return await self.store.people(caller.trust_id)

    async def create_person(
        self,
        trust_id: str,
        actor_id: str,
        email: str,
        name: str,
        role: str,
        schools: Collection[str] | None,
        password: str | None = None,
    ) -> NewPerson:
        email = email.strip().lower()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise Invalid("must be an email address", "email")
        if not name.strip():
            raise Invalid("must not be empty", "name")
        chosen = _role(role, PERSON_ROLES)
        scope = _scope(chosen, schools)
        temporary = passwords.temporary_password() if password is None else None
        password_hash = (
            _password(password, email) if password is not None else passwords.hash_password(temporary or "")
        )
        person = Person(
            person_id=uuid.uuid4().hex,
            trust_id=trust_id,
            email=email,
            name=name.strip(),
            role=chosen.value,
            schools=scope,
            password_hash=password_hash,
            must_change_password=temporary is not None,
            disabled=False,
            created_at=self.now(),
        )
        if not await self.store.add_person(person):
            raise Conflict("a person with this email already exists", "email")
        await self.store.audit(
            trust_id,
            self.now(),
            actor_id,
            Action.PERSON_CREATED,
            detail={
                "person_id": person.person_id,
                "email": email,
                "role": chosen.value,
                "schools": scope,
            },
        )
        return NewPerson(person.person_id, temporary)

    async def change_person(
        self,
        caller: Principal,
        person_id: str,
        role: str | None,
        schools: Collection[str] | None,
        schools_given: bool,
        disabled: bool | None,
    ) -> Person:
        person = await self.store.person(caller.trust_id, person_id)
        if person is None:
            raise NotFound("no such person")
        if caller.actor_id == f"user:{person_id}" and (role is not None or disabled):
            raise Conflict(
                "you cannot change your own role or disable yourself", "role" if role else "disabled"
            )
        new_role = _role(role, PERSON_ROLES) if role is not None else Role(person.role)
        if schools_given:
            new_schools = schools
        elif role is not None and new_role != Role(person.role):
            new_schools = None if check_scope_allows_trust(new_role) else person.schools
        else:
            new_schools = person.schools
        scope = _scope(new_role, new_schools)
        changes: dict[str, Any] = {}
        if new_role.value != person.role or scope != person.schools:
            changes |= {"role": new_role.value, "schools": scope}
        if disabled is not None and disabled != person.disabled:
            changes["disabled"] = disabled
        if changes:
            await self.store.change_person(person_id, **changes)
            now = self.now()
            if "role" in changes:
                await self.store.audit(
                    caller.trust_id,
                    now,
                    caller.actor_id,
                    Action.PERSON_CHANGED,
                    detail={
                        "person_id": person_id,
                        "role": new_role.value,
                        "schools": scope,
                    },
                )
            if "disabled" in changes:
                action = Action.PERSON_DISABLED if disabled else Action.PERSON_ENABLED
                await self.store.audit(
                    caller.trust_id, now, caller.actor_id, action, detail={"person_id": person_id}
                )
        changed = await self.store.person(caller.trust_id, person_id)
        assert changed is not None
        return changed

    async def reset_password(self, caller: Principal, person_id: str) -> str:
        """A temporary password, shown once, that must be changed at the next sign-in; every
        session of the person ends."""
        person = await self.store.person(caller.trust_id, person_id)
        if person is None:
            raise NotFound("no such person")
        temporary = passwords.temporary_password()
        await self.store.change_person(
            person_id, password_hash=passwords.hash_password(temporary), must_change_password=True
        )
        await self.store.audit(
            caller.trust_id,
            self.now(),
            caller.actor_id,
            Action.PASSWORD_RESET,
            detail={"person_id": person_id},
        )
        return temporary

    # -- API keys ---------------------------------------------------------------------------------

    async def keys(self, caller: Principal) -> list[ApiKey]:
        return await self.store.api_keys(caller.trust_id)

    async def create_key(
        self,
        trust_id: str,
        actor_id: str,
        name: str,
        role: str,
        schools: Collection[str] | None,
        expires_on: date | None = None,
    ) -> NewKey:
        if not name.strip():
            raise Invalid("must not be empty", "name")
        chosen = _role(role, KEY_ROLES)
        scope = _scope(chosen, schools)
        now = self.now()
        if expires_on is not None and expires_on <= now.date():
            raise Invalid("must be a date after today", "expires_on")
        issued = secrets.issue_key()
        await self.store.add_api_key(
            ApiKey(
                key_id=issued.key_id,
                trust_id=trust_id,
                name=name.strip(),
                role=chosen.value,
                schools=scope,
                secret_hash=issued.secret_hash,
                created_by=actor_id,
                created_at=now,
                expires_on=expires_on,
                last_used_at=None,
                revoked_at=None,
            )
        )
        await self.store.audit(
            trust_id,
            now,
            actor_id,
            Action.KEY_CREATED,
            detail={
                "key_id": issued.key_id,
                "name": name.strip(),
                "role": chosen.value,
                "schools": scope,
            },
        )
        return NewKey(issued.key_id, issued.key)

    async def revoke_key(self, caller: Principal, key_id: str) -> None:
        now = self.now()
        if not await self.store.revoke_key(caller.trust_id, key_id, now):
            raise NotFound("no such key")
        await self.store.audit(
            caller.trust_id, now, caller.actor_id, Action.KEY_REVOKED, detail={"key_id": key_id}
        )

    # -- the audit trail --------------------------------------------------------------------------

    async def record(
        self, caller: Principal, action: Action, school_id: str | None = None, **detail: Any
    ) -> None:
        await self.store.audit(caller.trust_id, self.now(), caller.actor_id, action, school_id, detail)

    async def audit_page(self, caller: Principal, **filters: Any) -> tuple[list[AuditEntry], str | None]:
        return await self.store.audit_page(caller.trust_id, **filters)


def check_scope_allows_trust(role: Role) -> bool:
    try:
        check_scope(role, None)
    except ScopeRejected:
        return False
    return True


def secrets_equal(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored, presented)
