"""Schemathesis against ingest in-process (its lifespan run by schemathesis, so built by `bootstrap`
on a real PostgreSQL store and the real broker), on a Trust with schools, pupils and results: no
answer is a 5xx, and every answer is one the OpenAPI documents, with the documented status, content
type, headers and body schema; invalid input is refused.

Bounded: a few examples per operation and generation mode, with an ingest, a viewer or the replay
token. Left out, as for the gateway: the check that every schema-valid request succeeds, since some
rules are not JSON Schema (a pupil or school must be the caller's Trust's, an academic year within
the window, a code one of its component's: all a 422 naming the field)."""

from __future__ import annotations

import pytest

from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.testing import TRUST, ingest_settings, running
from tidemark_runtime.fuzzing import fuzz
from tidemark_schemas.assessment_model import SONAR_MODEL
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryRecord


async def seed(database_url: str) -> None:
    """Two schools (one with its own model), three pupils, locked results and a statutory result."""
    async with running(ingest_settings(database_url)) as ingest:
        tracker = ingest.tracker
        await tracker.post_schools(TRUST, [SchoolRecord(school_id="S1", name="Oak Primary"),
                                           SchoolRecord(school_id="S2", name="Ash Academy", assessment_model=SONAR_MODEL)])
        await tracker.post_pupils(TRUST, [
            PupilRecord(pupil_id=f"P{n}", school_id=school, year_group="Y6", sex="F", fsm6=n == 1, lac=False,
                        plac=False, sen="N", eal=False, ethnicity="WBRI")
            for n, school in ((1, "S1"), (2, "S1"), (3, "S2"))
        ])
        await tracker.enter_assessments(TRUST, [
            AssessmentRecord(pupil_id=pupil, school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y6",
                             subject="reading", band="AT") for pupil in ("P1", "P2")
        ])
        await tracker.lock(TRUST, LockScope(school_id="S1", academic_year="2025/26", period="AUT1"))
        await tracker.enter_statutory(TRUST, [StatutoryRecord(pupil_id="P1", school_id="S1", academic_year="2024/25",
                                                              assessment="mtc", component="score", mark=24)])


@pytest.fixture


async def seeded(database_url: str) -> str:
    """The URL of a store with a seeded Trust."""
    await seed(database_url)
    return database_url


def test_no_operation_answers_5xx_or_off_its_schema(seeded: str, kafka_bootstrap: str) -> None:
    app = create_app(ingest_settings(seeded, kafka_bootstrap_servers=kafka_bootstrap, replay_token="replay"))

    operations, failures = fuzz(app, ["ingest", "viewer", "replay"])

    # health (3), the tracker (9), the entry sheets (3), POST /v1/attendance, the calendar (2), the imports (4)
    # and their fields and saved mappings (3), the replay (2)
    assert operations == 27
    assert failures == [], "\n\n".join(failures)
