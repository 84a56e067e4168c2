"""The identity use cases on a real PostgreSQL (a migrated database of each test's own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tidemark_identity.domain import throttle
from tidemark_identity.domain.sessions import SessionPolicy
from tidemark_identity.service import Conflict, Identity, Invalid, NotFound, SignInRefused, Throttled
from tidemark_runtime.principal import Permission

PASSWORD = "a long enough passphrase 42"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 28, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def identity(database_url: str, clock: Clock) -> AsyncIterator[Identity]:
    engine = create_async_engine(database_url)
    built = Identity.on(engine, SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12)))
    built.now = clock
    yield built
    await engine.dispose()


async def admin_of(identity: Identity, trust: str = "T") -> str:
    await identity.create_person(
        trust, "cli", f"admin@{trust.lower()}.org", "Ada", "trust_admin", None, PASSWORD
    )
    return f"admin@{trust.lower()}.org"


async def test_a_person_signs_in_with_the_right_password_and_the_session_speaks_for_them(identity):
    email = await admin_of(identity)
    signed = await identity.sign_in(email.upper(), PASSWORD, "10.0.0.1")
    caller = await identity.session_principal(signed.session_secret)

    assert caller is not None and (caller.trust_id, caller.role, caller.schools) == ("T", "trust_admin", None)
    assert Permission.MANAGE_PEOPLE in caller.permissions
    with pytest.raises(SignInRefused):
        await identity.sign_in(email, PASSWORD + "x", "10.0.0.1")
    with pytest.raises(SignInRefused):
        await identity.sign_in("nobody@t.org", PASSWORD, "10.0.0.1")


async def test_signing_in_again_rotates_the_session(identity):
    email = await admin_of(identity)
    first = await identity.sign_in(email, PASSWORD, None)
    second = await identity.sign_in(email, PASSWORD, None, replaces=first.session_secret)

    assert await identity.session_principal(first.session_secret) is None
    assert await identity.session_principal(second.session_secret) is not None
    assert first.csrf_token != second.csrf_token


async def test_a_session_expires_when_idle_and_at_its_absolute_limit(identity, clock):
    email = await admin_of(identity)
    idle = await identity.sign_in(email, PASSWORD, None)
    clock.advance(minutes=31)
    assert await identity.session_principal(idle.session_secret) is None

    busy = await identity.sign_in(email, PASSWORD, None)
    signed_in_at = clock.at
    alive = []
    while clock.at - signed_in_at < timedelta(hours=12):
        alive.append(await identity.session_principal(busy.session_secret) is not None)
        clock.advance(minutes=29)
    assert alive == [True] * len(alive) and len(alive) == 25  # used every 29 minutes for 12 hours
    assert await identity.session_principal(busy.session_secret) is None


async def test_repeated_failures_are_throttled_per_account_then_locked(identity, clock):
    email = await admin_of(identity)
    for _ in range(throttle.SLOW_AFTER):
        with pytest.raises(SignInRefused):
            await identity.sign_in(email, "wrong password!!", "10.0.0.2")
    with pytest.raises(Throttled) as slowed:
        await identity.sign_in(email, PASSWORD, "10.0.0.3")  # even the right password, from elsewhere
    assert slowed.value.retry_after == 1

    for _ in range(throttle.LOCK_AFTER - throttle.SLOW_AFTER):
        clock.advance(seconds=61)
        with pytest.raises(SignInRefused):
            await identity.sign_in(email, "wrong password!!", "10.0.0.2")
    clock.advance(minutes=10)
    with pytest.raises(Throttled) as locked:
        await identity.sign_in(email, PASSWORD, "10.0.0.4")
    assert locked.value.retry_after == 5 * 60

    clock.advance(minutes=5)
    assert (await identity.sign_in(email, PASSWORD, "10.0.0.4")).person.email == email


async def test_a_temporary_password_holds_no_permission_until_it_is_changed(identity):
    created = await identity.create_person("T", "user:a", "sam@t.org", "Sam", "school_leader", ["S1"])
    assert created.temporary_password is not None
    signed = await identity.sign_in("sam@t.org", created.temporary_password, None)
    caller = await identity.session_principal(signed.session_secret)
    assert caller is not None and caller.permissions == frozenset()

    with pytest.raises(Invalid, match="password is one of the most common"):
        await identity.change_password(caller, created.temporary_password, "password1234")
    await identity.change_password(caller, created.temporary_password, PASSWORD)

    again = await identity.sign_in("sam@t.org", PASSWORD, None)
    assert (await identity.session_principal(again.session_secret)).permissions == {
        Permission.READ_FIGURES,
        Permission.READ_SMALL_GROUPS,
        Permission.READ_PUPILS,
    }


async def test_disabling_a_person_ends_their_sessions_and_refuses_sign_in(identity):
    email = await admin_of(identity)
    admin = await identity.session_principal((await identity.sign_in(email, PASSWORD, None)).session_secret)
    person = await identity.create_person(
        "T", admin.actor_id, "lee@t.org", "Lee", "trust_leader", None, PASSWORD
    )
    lee = await identity.sign_in("lee@t.org", PASSWORD, None)

    await identity.change_person(admin, person.person_id, None, None, False, True)

    assert await identity.session_principal(lee.session_secret) is None
    with pytest.raises(SignInRefused):
        await identity.sign_in("lee@t.org", PASSWORD, None)
    with pytest.raises(Conflict):
        await identity.change_person(admin, admin.actor_id.removeprefix("user:"), None, None, False, True)


async def test_another_trusts_person_and_key_are_not_found(identity):
    email = await admin_of(identity)
    admin = await identity.session_principal((await identity.sign_in(email, PASSWORD, None)).session_secret)
    other = await identity.create_person("U", "cli", "x@u.org", "X", "analyst", None, PASSWORD)
    key = await identity.create_key("U", "cli", "tracker", "ingest", None)

    with pytest.raises(NotFound):
        await identity.change_person(admin, other.person_id, "trust_leader", None, False, None)
    with pytest.raises(NotFound):
        await identity.revoke_key(admin, key.key_id)
    with pytest.raises(NotFound):
        await identity.reset_password(admin, other.person_id)


async def test_an_api_key_is_shown_once_works_until_revoked_or_expired(identity, clock):
    email = await admin_of(identity)
    admin = await identity.session_principal((await identity.sign_in(email, PASSWORD, None)).session_secret)
    key = await identity.create_key("T", admin.actor_id, "sims", "reader", ["S1"], date(2026, 12, 1))

    reader = await identity.key_principal(key.key)
    assert reader is not None and (reader.schools, reader.permissions) == (
        frozenset({"S1"}),
        {Permission.READ_FIGURES, Permission.READ_SMALL_GROUPS},
    )
    assert await identity.key_principal(key.key[:-1] + ("A" if key.key[-1] != "A" else "B")) is None
    listed = await identity.keys(admin)
    assert [(k.key_id, k.last_used_at) for k in listed] == [(key.key_id, clock.at)]
    assert key.key not in repr(listed)

    clock.advance(days=3)
    assert await identity.key_principal(key.key) is None  # expired on 1 December
    fresh = await identity.create_key("T", admin.actor_id, "sims 2", "reader", None)
    await identity.revoke_key(admin, fresh.key_id)
    assert await identity.key_principal(fresh.key) is None


async def test_the_audit_trail_pages_newest_first_with_filters(identity):
    email = await admin_of(identity)
    admin = await identity.session_principal((await identity.sign_in(email, PASSWORD, None)).session_secret)
    for n in range(5):
        await identity.create_key("T", admin.actor_id, f"key {n}", "reader", None)

    page, cursor = await identity.audit_page(
        admin,
        actor=admin.actor_id,
        action="key_created",
        school=None,
        since=None,
        until=None,
        cursor=None,
        limit=3,
    )
    rest, end = await identity.audit_page(
        admin,
        actor=admin.actor_id,
        action="key_created",
        school=None,
        since=None,
        until=None,
        cursor=cursor,
        limit=3,
    )

    assert [e.detail["name"] for e in page + rest] == [f"key {n}" for n in (4, 3, 2, 1, 0)]
    assert end is None
