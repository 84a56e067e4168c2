"""Schemathesis against the gateway in-process (its lifespan run by schemathesis, so built by
`bootstrap`), on a seeded Trust: no answer is a 5xx, and every answer is one the OpenAPI documents,
with the documented status, content type, headers and body schema; invalid input is refused.

Bounded: a few examples per operation and generation mode. Left out: /v1/live, since an event
stream with nothing to say never ends (its refusals are tested in test_live); and the check that
every schema-valid request succeeds, since some rules are not JSON Schema (a school must be one of
the caller's, an academic year within the window and its two years consecutive: all a 4xx)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tidemark_gateway.entrypoints.app import create_app
from tidemark_gateway.testing import TRUST, Seeder, cell, gateway_settings
from tidemark_runtime.fuzzing import fuzz
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.vocabulary import Sex, YearGroup


async def seed(seed: Seeder) -> None:
    """Two schools sharing a model, one without; results, codes, statutory and progress figures."""
    await seed.school("S1", "Oak Primary", SONAR_MODEL)
    await seed.school("S2", "Ash Academy", SONAR_MODEL)
    await seed.school("S3", "Birch Juniors")
    for year in ("2024/25", "2025/26"):
        for school, at_cell in (("S1", cell()), ("S2", cell(sex=Sex.M)), ("S3", cell(year_group=YearGroup.R))):
            for measure in ("reading", "rwm", "gld", "pupils", "entered.reading"):
                await seed.counts(year, "AUT1", measure, school, at_cell, below=1, at=2, above=1)
            await seed.codes(year, "AUT1", "reading", school, at_cell, B=1, SA=2, SAB=1)
            await seed.statutory(year, "ks2.rwm", school, cell(year_group=YearGroup.Y6), GDS=1, EXS=2, NOT=1)
            await seed.progress(year, "AUT1", school, at_cell, on_track_at=2, not_categorised=1)
            await seed.progress_pupil(year, "AUT1", school, f"P-{school}", "on_track_at", at_cell)
            await seed.roll(school, at_cell, 4)
    await seed.updated("2025-10-20T09:30:00+00:00")


@pytest.fixture


async def seeded(prefix: str, redis: Redis) -> str:
    """The prefix of a seeded Trust."""
    await seed(Seeder(redis, Keyspace(prefix, TRUST)))
    return prefix


def test_no_operation_answers_5xx_or_off_its_schema(redis_url: str, seeded: str, database_url: str) -> None:
    app = create_app(gateway_settings(redis_url, seeded, database_url=database_url))

    operations, failures = fuzz(app, ["viewer", "figures-viewer", "s1-viewer"], exclude_paths=["/v1/live"])

    assert operations == 38  # 17 of figures (with the classes), the board pack and health, 6 of attendance, 15 of accounts (3 of them single sign-on)
    assert failures == [], "\n\n".join(failures)
