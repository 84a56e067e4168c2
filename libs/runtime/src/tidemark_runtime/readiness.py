"""Readiness (`/readyz`) in one shape for every service: named checks, each `{"ok": ..., what was
found}`, and the service is ready when every check is ok. Ready: 200; not: 503 with the same body,
so whoever probes it reads what is wrong (`{"ready": false, "checks": {"topics": {"ok": false,
"missing": [...]}}}`).

The projections' processes (`projections.service.Readiness`) and ingest build theirs from these.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tidemark_runtime.kafka import KafkaTarget, missing_topics

Check = dict[str, Any]
"""One check: `{"ok": bool, ...}` with what it found (a count, an age, the missing topics, the error)."""


class CheckModel(BaseModel):
    """One check, as the OpenAPI documents it: `ok` and what it found."""

    model_config = ConfigDict(extra="allow")

    ok: bool


class ReadinessReport(BaseModel):
    """The body of `/readyz`, ready (200) or not (503)."""

    ready: bool = Field(description="Every check is ok")
    checks: dict[str, CheckModel] = Field(description="Each check by name: `ok` and what it found")


def verdict(checks: Mapping[str, Check]) -> tuple[int, dict[str, Any]]:
    """The status and the body of `/readyz` for these checks."""
    ready = all(check["ok"] for check in checks.values())
    return (200 if ready else 503), {"ready": ready, "checks": dict(checks)}


def failed(error: BaseException) -> Check:
    """A check that could not be made: not ok, naming the error."""
    return {"ok": False, "error": f"{type(error).__name__}: {error}" if str(error) else type(error).__name__}


async def topics_present(kafka: KafkaTarget, topics: Iterable[str]) -> Check:
    """Whether the broker has every one of `topics` (raises when the broker does not answer)."""
    missing = await missing_topics(kafka, topics)
    return {"ok": not missing, "missing": sorted(missing)}


async def broker_and_topics(kafka: KafkaTarget, topics: Iterable[str], timeout: float = 5.0) -> dict[str, Check]:
    """`broker`: it answers; `topics`: it has every one of `topics` (a broker that came back
    without them is reachable and not ready)."""
    try:
        async with asyncio.timeout(timeout):
            present = await topics_present(kafka, topics)
    except Exception as error:  # noqa: BLE001  (any failure means: not reachable)
        return {"broker": failed(error), "topics": {"ok": False, "error": "the broker does not answer"}}
    return {"broker": {"ok": True}, "topics": present}


@dataclass
class Throttled:
    """Checks that cost a round of requests (a broker's admin client), asked again at most every
    `seconds` while they pass; a failing one is asked again at the next call."""

    checks: Callable[[], Awaitable[dict[str, Check]]]
    seconds: float = 5.0
    _found: dict[str, Check] = field(default_factory=dict)
    _at: float = 0.0

    async def __call__(self) -> dict[str, Check]:
        if self._found and time.monotonic() - self._at < self.seconds:
            return self._found
        found = await self.checks()
        ok = all(check["ok"] for check in found.values())
        self._found, self._at = (found, time.monotonic()) if ok else ({}, 0.0)
        return found
