"""The password policy and the hashing: argon2id (`argon2-cffi`, its RFC 9106 low-memory profile),
a minimum length, and no password from the common-password list that `zxcvbn` ships (the 30,000
most frequent passwords of public breaches), nor one made of the person's own email.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 256
"""Longer passwords are refused: hashing an unbounded input is a cheap denial of service."""

_hasher = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile: t=3, m=64 MiB, p=4)."""


class PasswordRejected(ValueError):
    """A password the policy refuses; the message says why."""


@cache
def common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, email: str = "") -> str:
    """`password` if the policy admits it; else PasswordRejected naming the reason."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"must be at most {MAX_LENGTH} characters long")
    folded = password.casefold()
    if folded in common_passwords() or folded.strip("0123456789!?.") in common_passwords():
        raise PasswordRejected("is one of the most common passwords")
    local = email.split("@", 1)[0].casefold()
    if local and len(local) >= 4 and local in folded:
        raise PasswordRejected("must not contain the email address")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
"""Verified against when the email is unknown, so that an unknown email costs as long as a wrong
password (no timing oracle for which emails have accounts)."""


def temporary_password() -> str:
    """A one-time password for a new person or a reset: 20 random URL-safe characters."""
    return secrets.token_urlsafe(15)
