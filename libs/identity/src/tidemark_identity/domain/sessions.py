"""When a session is still good: idle and absolute expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    """A session unused this long is over."""
    absolute: timedelta = timedelta(hours=12)
    """A session is over this long after sign-in, however busy."""
    touch_every: timedelta = timedelta(seconds=60)
    """The last-seen time is written at most this often (not on every request)."""


def is_live(created_at: datetime, last_seen_at: datetime, now: datetime, policy: SessionPolicy) -> bool:
    return now - last_seen_at < policy.idle and now - created_at < policy.absolute


def needs_touch(last_seen_at: datetime, now: datetime, policy: SessionPolicy) -> bool:
    return now - last_seen_at >= policy.touch_every
