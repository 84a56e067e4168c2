"""Test helpers: write the Redis read model exactly as the metrics service does, and call the app
(built by `bootstrap`, as in production) in-process.

Shipped in the package (like `tidemark_runtime.testing`) so other suites can seed the gateway too.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from redis.typing import EncodableT, FieldT

from tidemark_gateway.bootstrap import Services
from tidemark_gateway.entrypoints.answers import KeptAnswers
from tidemark_gateway.settings import GatewaySettings
from tidemark_schemas.aggregates import WRITES_FIELD, Cell, Keyspace, encode_field, model_measure, statutory_keyspace
from tidemark_schemas.assessment_model import AssessmentModel
from tidemark_schemas.ethnicity import EthnicGroup
from tidemark_schemas.vocabulary import Band, SenProvision, Sex, YearGroup

if TYPE_CHECKING:  # test-only dependencies; the service itself does not need httpx
    import httpx
    from fastapi import FastAPI

    from tidemark_runtime.redis import RedisClient

TRUST = "trust-gw"
OTHER_TRUST = "trust-other"
TOKENS: dict[str, dict[str, Any]] = {
    "viewer": {"trust_id": TRUST, "role": "viewer", "schools": None, "see_pupils": True},
    "figures-viewer": {"trust_id": TRUST, "role": "viewer", "schools": None},
    "ingest": {"trust_id": TRUST, "role": "ingest", "schools": None},
    "s1-viewer": {"trust_id": TRUST, "role": "viewer", "schools": ["S1"]},
    "other-viewer": {"trust_id": OTHER_TRUST, "role": "viewer", "schools": None},
}
"""The test suite's tokens: each token's value is its own name."""

GIRL_Y3 = Cell(YearGroup.Y3, Sex.F, False, SenProvision.N, False, EthnicGroup.WHITE, False)


def cell(**changes: Any) -> Cell:
    """A Year 3 girl with no other characteristic, changed as asked."""
    return replace(GIRL_Y3, **changes)


@dataclass
class Seeder:
    """Writes the read model the way the metrics service does: every write of a counter hash also
    bumps its version in the generation's `versions` hash, and the generation's write count there
    (`WRITES_FIELD`), in the same transaction."""

    redis: RedisClient
    keys: Keyspace

    async def _increment(self, keys: Keyspace, key: str, fields: dict[str, int]) -> None:
        """HINCRBY each field (a counter reaching 0 goes) and bump the hash's version, atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, pupils in fields.items():
                pipe.hincrby(key, name, pupils)
            pipe.hincrby(keys.versions, key, 1)
            pipe.hincrby(keys.versions, WRITES_FIELD, 1)
            await pipe.execute()
        await self.whole()

    async def whole(self) -> None:
        """Mark the read model whole, as the projection does once it is (`Keyspace.epoch_key`):
        without it the gateway answers 503. Every write here does it."""
        await self.redis.set(self.keys.epoch_key, "1")

    async def school(self, school_id: str, name: str, model: AssessmentModel | None = None) -> None:
        document = {"name": name, "version": 1, "model": model.model_dump(mode="json") if model else None}
        await self.redis.hset(self.keys.schools, school_id, json.dumps(document))
        await self.whole()

    async def school_class(
        self, class_id: str, school_id: str, academic_year: str, name: str, year_groups: tuple[str, ...] = ("Y3",)
    ) -> None:
        """A class as the projection keeps it (`Keyspace.classes`)."""
        document = {"name": name, "school_id": school_id, "academic_year": academic_year,
                    "year_groups": list(year_groups), "version": 1}
        await self.redis.hset(self.keys.classes, class_id, json.dumps(document))
        await self.whole()

    async def codes(
        self, year: str, period: str, subject: str, school_id: str, at_cell: Cell = GIRL_Y3, **pupils_by_code: int
    ) -> None:
        """Locked results by the code of the school's model (the School view's counters)."""
        key = self.keys.counters(year, period, model_measure(subject), school_id)
        await self._increment(self.keys, key, {encode_field(at_cell, code): pupils for code, pupils in pupils_by_code.items()})

    async def counts(
        self, year: str, period: str, measure: str, school_id: str, at_cell: Cell = GIRL_Y3,
        *, below: int = 0, at: int = 0, above: int = 0,
    ) -> None:
        key = self.keys.counters(year, period, measure, school_id)
        bands = ((Band.BELOW, below), (Band.AT, at), (Band.ABOVE, above))
        await self._increment(self.keys, key, {encode_field(at_cell, band): pupils for band, pupils in bands if pupils})

    @property
    def statutory_keys(self) -> Keyspace:
        return statutory_keyspace(self.keys.prefix, self.keys.trust_id)

    async def statutory(
        self, year: str, measure: str, school_id: str, at_cell: Cell = GIRL_Y3, **pupils_by_label: int
    ) -> None:
        """Pupils per outcome label of a statutory measure (labels with a leading digit: pass `_100=3`)."""
        key = self.statutory_keys.statutory(year, measure, school_id)
        await self._increment(self.statutory_keys, key,
                              {encode_field(at_cell, label.lstrip("_")): pupils for label, pupils in pupils_by_label.items()})

    async def progress(
        self, year: str, period: str, school_id: str, at_cell: Cell = GIRL_Y3, **pupils_by_category: int
    ) -> None:
        key = self.statutory_keys.progress(year, period, school_id)
        await self._increment(self.statutory_keys, key,
                              {encode_field(at_cell, category): pupils for category, pupils in pupils_by_category.items()})

    async def progress_pupil(
        self, year: str, period: str, school_id: str, pupil_id: str, category: str, at_cell: Cell = GIRL_Y3
    ) -> None:
        key = self.statutory_keys.progress_pupils(year, period, school_id)
        await self._increment(self.statutory_keys, key, {f"{pupil_id}|{encode_field(at_cell, category)}": 1})

    async def roll(self, school_id: str, at_cell: Cell = GIRL_Y3, pupils: int = 1) -> None:
        """Pupils currently on roll at a school, in their current cell (band always AT)."""
        await self._increment(self.keys, self.keys.roll(school_id), {encode_field(at_cell, Band.AT): pupils})

    async def updated(self, timestamp: str) -> None:
        await self.redis.set(self.keys.updated_at, timestamp)

    async def notice(self, year: str, period: str, measures: str, schools: str) -> str:
        """XADD a change notice with the fields metrics writes; returns its stream id."""
        fields: dict[FieldT, EncodableT] = {
            "academic_year": year, "period": period, "measures": measures, "schools": schools,
        }
        return str(await self.redis.xadd(self.keys.changes, fields))


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    seed: Seeder
    settings: GatewaySettings

    @property
    def services(self) -> Services:
        """The use cases the app's lifespan built (`bootstrap`), to call without HTTP."""
        built: Services = self.app.state.services
        return built

    async def get(self, path: str, token: str | None = "viewer", **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.get(path, params=params, headers=headers)


@contextlib.asynccontextmanager
async def in_process(
    settings: GatewaySettings, redis: RedisClient, *, whole: bool = True, **client_options: Any
) -> AsyncIterator[Gateway]:
    """The app with its lifespan running (so built by `bootstrap`), called through ASGI, and a
    seeder of the Trust `TRUST` on `redis`."""
    import httpx

    from tidemark_gateway.entrypoints.app import create_app

    app = create_app(settings)
    seeder = Seeder(redis, Keyspace(settings.redis_prefix, TRUST))
    if whole:  # a read model whole, and empty until a test seeds it (False: the projections say so)
        await seeder.whole()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", **client_options) as client:
            yield Gateway(app, client, seeder, settings)


def gateway_settings(redis_url: str, prefix: str, **overrides: Any) -> GatewaySettings:
    """The test suite's settings: its tokens, and a short live heartbeat (0.2 s) unless overridden."""
    return GatewaySettings(
        **{"redis_url": redis_url, "redis_prefix": prefix, "tidemark_tokens": TOKENS, "live_heartbeat_seconds": 0.2,
           **overrides}
    )


def kept_answers(app: Any) -> KeptAnswers:
    """The app's `KeptAnswers` middleware (built once the app has served a request): its `served`
    counts the requests answered without their route."""
    layer = app.middleware_stack
    while not isinstance(layer, KeptAnswers):
        layer = layer.app
    return layer
