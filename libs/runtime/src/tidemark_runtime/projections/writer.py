"""How a service writes a per-pupil projection to Redis: one atomic, version-guarded write per
consumed batch, to every generation of a Trust's keys that is live or being rebuilt.

A projection keeps, per pupil, a hash with a revision (`rev`), the pupil's state fields and the
counters the pupil adds to. A batch is computed from the states read, then written by one Lua
script (`projection_write.lua`) that first checks the generation is still written to and every
revision is still what was read; otherwise nothing is written and the caller recomputes. The
engine (`engine.py`) writes every projection this way (`tidemark_schemas.aggregates.Keyspace`
explains generations).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import TypeVar

import orjson
from opentelemetry.trace import SpanKind

from tidemark_runtime.observability import tracing
from tidemark_runtime.redis import RedisClient
from tidemark_schemas.aggregates import REVISION_FIELD, WRITES_FIELD, Keyspace, PupilHashFields

PROJECTION_WRITE_LUA = files("tidemark_runtime.projections").joinpath("projection_write.lua").read_text()
PROJECTION_READ_LUA = files("tidemark_runtime.projections").joinpath("projection_read.lua").read_text()
MAX_ATTEMPTS = 20

WRITTEN, STALE_STATE, STALE_GENERATION = 1, 0, -1

T = TypeVar("T")


class ConcurrentWriteError(RuntimeError):
    """Another writer kept changing the same pupils or generations; the consumer retries the batch."""


@dataclass
class ProjectionWrite:
    """Everything one batch writes to one generation."""

    state_keys: list[str] = field(default_factory=list)
    """The pupil hash of each state written, in order."""
    state_pieces: list[bytes] = field(default_factory=list)
    """Per pupil state: revision read, new revision, number of fields, then each field and its raw
    value (JSON values travel unescaped), as the write script reads them."""
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    """Counter hash -> field -> increment; a counter that reaches 0 is deleted."""
    schools: list[list[str | int]] = field(default_factory=list)
    """[school id, version, JSON document] kept when newer than the stored one."""
    classes: list[list[str | int]] = field(default_factory=list)
    """[class id, version, JSON document] kept when newer than the stored one."""
    notices: list[list[str]] = field(default_factory=list)
    """[academic year, period, measures, schools] announced on the change stream (live generation only)."""

    def add_state(self, key: str, revision: str, fields: dict[str, bytes]) -> None:
        self.state_keys.append(key)
        self.state_pieces += (revision.encode(), str(int(revision) + 1).encode(), str(len(fields)).encode())
        for name, value in fields.items():
            self.state_pieces += (name.encode(), value)

    def arguments(self) -> list[bytes]:
        """The states and the counters (in the order of their keys) as the write script reads them:
        two NUL-separated strings (fields, part names and JSON values never hold a NUL)."""
        counters: list[bytes] = []
        for increments in self.counters.values():
            counters.append(str(len(increments)).encode())
            for name, increment in increments.items():
                counters += (name.encode(), str(increment).encode())
        return [_joined(self.state_pieces), _joined(counters)]

    @property
    def counter_writes(self) -> int:
        return sum(map(len, self.counters.values()))

    @property
    def empty(self) -> bool:
        return not (self.state_keys or self.counters or self.schools or self.classes)


class ProjectionWriter:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._script = redis.register_script(PROJECTION_WRITE_LUA)
        self._read = redis.register_script(PROJECTION_READ_LUA)

    async def read_pupils(
        self, keys: Keyspace, wanted: dict[str, list[str] | None]
    ) -> dict[str, tuple[str, PupilHashFields]]:
        """Each pupil's revision ("0" when new) and the fields asked for (None: the whole hash), in
        one call (one command, not one per pupil: a batch may touch a thousand pupils)."""
        if not wanted:
            return {}
        request: list[bytes] = []
        for names in wanted.values():
            request += (b"0",) if names is None else (str(len(names)).encode(), *(name.encode() for name in names))
        replies = await self._read(keys=[keys.pupil(pupil_id) for pupil_id in wanted], args=[_joined(request)])
        found: dict[str, tuple[str, PupilHashFields]] = {}
        for (pupil_id, names), reply in zip(wanted.items(), replies, strict=True):
            fields: PupilHashFields = (
                {_text(reply[i]): reply[i + 1] for i in range(0, len(reply), 2)}  # type: ignore[misc]  # a field name is never None
                if names is None
                else dict(zip([REVISION_FIELD, *names], reply, strict=True))
            )
            found[pupil_id] = (_text(fields.pop(REVISION_FIELD, None)) or "0", fields)
        return found

    async def generations(self, keys: Keyspace) -> tuple[str, list[str]]:
        """(the generation readers use, the generations being rebuilt) of one Trust."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.generation_key)
            pipe.smembers(keys.building_key)
            active, building = await pipe.execute()
        active = _text(active) or ""
        return active, sorted(g for g in map(_text, building) if g and g != active)

    async def write(self, keys: Keyspace, batch: ProjectionWrite) -> int:
        """WRITTEN, STALE_STATE (a revision moved: recompute) or STALE_GENERATION (look again).

        Every key the script touches goes in KEYS (`projection_write.lua` names their order), so a
        cluster client routes the call to the Trust's slot and Redis can check them."""
        fixed = [keys.generation_key, keys.building_key, keys.schools, keys.changes, keys.updated_at, keys.versions,
                 keys.classes]
        header = {
            "generation": keys.generation,
            "states": len(batch.state_keys),
            "counters": len(batch.counters),
            "schools": batch.schools,
            "classes": batch.classes,
            "notices": batch.notices,
            "updated_at": datetime.now(UTC).isoformat(),
            "writes_field": WRITES_FIELD,
        }
        with tracing.span("redis write", SpanKind.CLIENT, attributes={
            "db.system": "redis", "tidemark.trust_id": keys.trust_id, "tidemark.generation": keys.generation,
            "tidemark.pupil_states": len(batch.state_keys), "tidemark.counter_writes": batch.counter_writes,
        }) as span:
            outcome = int(await self._script(keys=[*fixed, *batch.state_keys, *batch.counters],
                                             args=[orjson.dumps(header), *batch.arguments()]))
            if span is not None:
                span.set_attribute("tidemark.outcome", {WRITTEN: "written", STALE_STATE: "stale state"}.get(
                    outcome, "stale generation"))
        return outcome

    async def write_computed(self, keys: Keyspace, compute: Callable[[], Awaitable[tuple[T, ProjectionWrite]]]) -> T | None:
        """Compute a batch from fresh reads and write it; recompute while a revision moved under
        it. None if the generation is neither live nor being rebuilt."""
        for _attempt in range(MAX_ATTEMPTS):
            result, batch = await compute()
            if batch.empty:
                return result
            outcome = await self.write(keys, batch)
            if outcome == WRITTEN:
                return result
            if outcome == STALE_GENERATION:
                return None
        raise ConcurrentWriteError(f"pupil states kept changing under {MAX_ATTEMPTS} attempts")

    async def to_every_generation(
        self, keys: Keyspace, apply_to: Callable[[Keyspace, T | None], Awaitable[T | None]]
    ) -> T:
        """Run `apply_to` on the live generation (given None; its result is returned) and on every
        generation being rebuilt (given the live one's result); when the generations change
        meanwhile (`apply_to` answers None), look them up again and repeat (a repeat is a no-op
        wherever the batch was already written)."""
        for _attempt in range(MAX_ATTEMPTS):
            active, building = await self.generations(keys)
            reported = await apply_to(keys.at(active), None)
            if reported is None:
                continue
            if all([await apply_to(keys.at(generation), reported) is not None for generation in building]):
                return reported
        raise ConcurrentWriteError(f"the generations of {keys.trust_id} kept changing under {MAX_ATTEMPTS} attempts")


def _joined(pieces: list[bytes]) -> bytes:
    """NUL-separated, each piece followed by its NUL (as the scripts read them)."""
    return b"\0".join([*pieces, b""]) if pieces else b""  # the empty tail gives the last piece its NUL


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
