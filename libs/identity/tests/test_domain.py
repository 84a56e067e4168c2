"""The rules of identity, without I/O: roles and scopes, the password policy, secrets, session
expiry and sign-in throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidemark_identity.domain import passwords, secrets, throttle
from tidemark_identity.domain.roles import (
    ROLES,
    Role,
    ScopeRejected,
    check_scope,
    principal,
    roles_table,
    token_principal,
)
from tidemark_identity.domain.sessions import SessionPolicy, is_live
from tidemark_runtime.principal import Permission

T0 = datetime(2026, 11, 28, 9, tzinfo=UTC)
README = Path(__file__).resolve().parents[3] / "README.md"


def test_only_a_trust_admin_manages_people_and_reads_the_audit_trail():
    holders = {p: {role for role, spec in ROLES.items() if p in spec.permissions} for p in Permission}
    assert holders[Permission.MANAGE_PEOPLE] == {Role.TRUST_ADMIN}
    assert holders[Permission.READ_AUDIT] == {Role.TRUST_ADMIN}
    assert holders[Permission.WRITE_TRACKER] == {Role.INGEST, Role.TEACHER}


def test_the_analyst_and_the_reader_key_never_see_pupils():
    assert Permission.READ_PUPILS not in ROLES[Role.ANALYST].permissions
    assert Permission.READ_PUPILS not in ROLES[Role.READER].permissions
    assert {r for r, spec in ROLES.items() if Permission.READ_PUPILS in spec.permissions} == {
        Role.TRUST_ADMIN,
        Role.TRUST_LEADER,
        Role.SCHOOL_LEADER,
        Role.TEACHER,
    }


@pytest.mark.parametrize(
    ("role", "schools", "reason"),
    [
        (Role.TRUST_ADMIN, ["S1"], "schools must be null"),
        (Role.TRUST_LEADER, ["S1"], "schools must be null"),
        (Role.SCHOOL_LEADER, None, "must be given its schools"),
        (Role.ANALYST, [], "at least one school"),
    ],
)
def test_a_role_refuses_a_scope_it_cannot_have(role, schools, reason):
    with pytest.raises(ScopeRejected, match=reason):
        check_scope(role, schools)


def test_a_principal_carries_its_roles_permissions_and_schools():
    leader = principal("T", Role.SCHOOL_LEADER, ["S1"], "user:1")
    assert (leader.permissions, leader.schools, leader.may_see("S1"), leader.may_see("S2")) == (
        frozenset({Permission.READ_FIGURES, Permission.READ_SMALL_GROUPS, Permission.READ_PUPILS}),
        frozenset({"S1"}),
        True,
        False,
    )


def test_a_configured_viewer_token_reads_figures_and_pupils_only_with_see_pupils():
    assert token_principal("T", "viewer", None, False).permissions == {
        Permission.READ_FIGURES,
        Permission.READ_SMALL_GROUPS,
    }
    assert token_principal("T", "viewer", None, True).permissions == {
        Permission.READ_FIGURES,
        Permission.READ_SMALL_GROUPS,
        Permission.READ_PUPILS,
    }
    assert token_principal("T", "ingest", None, False).permissions == {Permission.WRITE_TRACKER}


def test_the_readme_table_of_roles_is_the_one_in_the_code():
    assert roles_table() in README.read_text()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 12"),
        ("password1234", "most common"),
        ("Qwertyuiop123", "most common"),
        ("x" * 257, "at most 256"),
        ("jane.smith-rules-ok", "email"),
    ],
)
def test_the_password_policy_names_why_it_refuses(password, reason):
    with pytest.raises(passwords.PasswordRejected, match=reason):
        passwords.check_password(password, "jane.smith@oak.sch.uk")


def test_a_long_uncommon_password_is_accepted_and_hashed_with_argon2id():
    good = "correct horse battery staple 7"
    stored = passwords.hash_password(passwords.check_password(good, "jane@oak.sch.uk"))
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, good) and not passwords.verify_password(stored, good + "!")
    assert not passwords.verify_password("not a hash", good)


def test_an_api_key_is_stored_as_a_hash_and_found_by_its_prefix():
    issued = secrets.issue_key()
    assert issued.key.startswith(f"tmk_{issued.key_id}_") and issued.secret_hash not in issued.key
    assert secrets.parse_key(issued.key) == (issued.key_id, issued.secret_hash)
    assert secrets.parse_key("tmk_short_x") is None and secrets.parse_key("Bearer xyz") is None


@given(st.text(min_size=1, max_size=64))
def test_a_csrf_token_matches_only_its_own_session(other):
    session = secrets.new_secret()
    assert secrets.csrf_matches(session, secrets.csrf_token(session))
    assert not secrets.csrf_matches(session, None)
    if other != secrets.csrf_token(session):
        assert not secrets.csrf_matches(session, other)


def test_a_session_ends_when_idle_or_when_old():
    policy = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=12))
    assert is_live(T0, T0 + timedelta(minutes=20), T0 + timedelta(minutes=49), policy)
    assert not is_live(T0, T0, T0 + timedelta(minutes=30), policy)
    busy = T0 + timedelta(hours=12) - timedelta(seconds=1)
    assert is_live(T0, busy, busy, policy) and not is_live(T0, busy, T0 + timedelta(hours=12), policy)


def test_failed_sign_ins_are_slowed_then_locked_then_forgotten():
    failures = None
    waits = []
    now = T0
    for _ in range(throttle.LOCK_AFTER):
        failures = throttle.after_failure(failures, now)
        waits.append(throttle.retry_after(failures, now))
    seconds = [w.total_seconds() if w else 0 for w in waits]
    assert seconds[: throttle.SLOW_AFTER - 1] == [0, 0]
    assert seconds[throttle.SLOW_AFTER - 1 : throttle.SLOW_AFTER + 2] == [1, 2, 4]
    assert seconds[-1] == throttle.LOCK_FOR.total_seconds()
    assert throttle.retry_after(failures, now + throttle.LOCK_FOR) is None
    assert throttle.after_failure(failures, now + throttle.FORGET_AFTER).count == 1


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=7200))
def test_the_wait_never_exceeds_the_lock(count, seconds_later):
    wait = throttle.retry_after(throttle.Failures(count, T0), T0 + timedelta(seconds=seconds_later))
    assert wait is None or timedelta(0) < wait <= throttle.LOCK_FOR


def test_only_the_analyst_among_figure_readers_is_refused_small_groups_percentages():
    readers = {r for r, spec in ROLES.items() if Permission.READ_FIGURES in spec.permissions}
    shown = {r for r, spec in ROLES.items() if Permission.READ_SMALL_GROUPS in spec.permissions}
    assert readers - shown == {Role.ANALYST}
