"""Opaque secrets and their stored forms: session ids, API keys, CSRF tokens.

Only a SHA-256 of each secret is stored (the secrets are 256-bit random, so a fast hash is enough:
nothing to brute-force), compared by equality of the hash through an index.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "tmk"
"""Every API key starts `tmk_`, so a secret scanner or a person can tell what it is."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_secret: str) -> str:
    """The session's CSRF token: derived from its secret (which the page cannot read, the cookie
    being HttpOnly), so nothing more is stored and it changes with every new session."""
    return hmac.new(session_secret.encode(), b"tidemark-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(session_secret).encode(), presented.encode()
    )


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    """The public part, also the lookup prefix."""
    key: str
    """The whole key, shown once: `tmk_<key_id>_<secret>`."""
    secret_hash: str


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(6)
    secret = new_secret()
    return IssuedKey(key_id, f"{KEY_PREFIX}_{key_id}_{secret}", digest(secret))


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key_id, secret hash) of a presented API key; None when it is not shaped like one."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != 12 or not secret:
        return None
    return key_id, digest(secret)
