"""Sign-in throttling, per account (the email tried) and per address: failures are slowed, then the
account or address is locked for a while. Pure: the caller stores the failure counts.

The limits (also in the README): after `SLOW_AFTER` consecutive failures, each further attempt must
wait 2^(n - SLOW_AFTER) seconds after the last failure (1, 2, 4, ... capped at `MAX_DELAY`); after
`LOCK_AFTER` failures for an account (`ADDRESS_LOCK_AFTER` for an address, which many people may
share in a school) it is locked for `LOCK_FOR` after the last failure. A success clears the
account's count; counts older than `FORGET_AFTER` are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SLOW_AFTER = 3
LOCK_AFTER = 10
ADDRESS_LOCK_AFTER = 50
MAX_DELAY = timedelta(seconds=60)
LOCK_FOR = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Failures:
    count: int
    last_at: datetime


def retry_after(failures: Failures | None, now: datetime, lock_after: int = LOCK_AFTER) -> timedelta | None:
    """How long before another attempt is allowed (None: now)."""
    if failures is None or now - failures.last_at >= FORGET_AFTER or failures.count < SLOW_AFTER:
        return None
    wait = (
        LOCK_FOR
        if failures.count >= lock_after
        else min(timedelta(seconds=2 ** (failures.count - SLOW_AFTER)), MAX_DELAY)
    )
    remaining = failures.last_at + wait - now
    return remaining if remaining > timedelta(0) else None


def after_failure(failures: Failures | None, now: datetime) -> Failures:
    if failures is None or now - failures.last_at >= FORGET_AFTER:
        return Failures(1, now)
    return Failures(failures.count + 1, now)
