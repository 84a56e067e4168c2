"""The schema comes from the migrations: an empty database upgrades to head, the models and the
migrations describe the same tables, downgrading and upgrading again works, and ingest refuses a
database that is not at head."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from tidemark_ingest.adapters.database import create_engine
from tidemark_ingest.adapters.store import SCHOOL
from tidemark_ingest.entrypoints.app import create_app
from tidemark_ingest.migrations import (
    FIRST_RELEASE_TABLES,
    SchemaNotAtHead,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.testing import scratch_database


@pytest.fixture
async def empty(postgres_url) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with no tables at all."""
    with scratch_database(postgres_url) as url:
        engine = create_engine(url)
        yield engine
        await engine.dispose()


IDENTITY_TABLES = {"identity_person", "identity_session", "identity_api_key", "identity_throttle", "audit_event"}
"""Revision 0004: people, sessions, API keys, sign-in throttling and the audit trail (tidemark_identity)."""


def differences(connection: Connection) -> list:
    """What autogenerate would write: the models against the database."""
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_an_empty_database_upgrades_to_head_with_every_table(empty):
    assert await current_revision(empty) is None

    before = await upgrade_to_head(empty)

    assert (before, await current_revision(empty)) == (None, head_revision())
    async with empty.connect() as connection:
        assert await connection.run_sync(tables) == (
            FIRST_RELEASE_TABLES | IDENTITY_TABLES
            | {"attendance_mark", "import_job", "trust_calendar", "school_class", "import_mapping", "alembic_version"}
        )


async def test_the_models_and_the_migrations_do_not_drift(empty):
    await upgrade_to_head(empty)
    async with empty.connect() as connection:
        assert await connection.run_sync(differences) == []


async def catalogue(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """The columns and the index definitions of every table, as PostgreSQL describes them."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
                   "FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes "
                   "WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
    }
    async with engine.connect() as connection:
        return {name: sorted(tuple(row) for row in await connection.execute(text(query)))
                for name, query in queries.items()}


async def test_the_migrated_schema_is_the_one_the_models_create_down_to_partial_indexes(empty, postgres_url):
    """What autogenerate cannot see (a partial index's predicate), the catalogues do."""
    await upgrade_to_head(empty)
    with scratch_database(postgres_url) as url:
        from_models = create_engine(url)
        try:
            async with from_models.begin() as connection:
                await connection.run_sync(SQLModel.metadata.create_all)
            assert await catalogue(empty) == await catalogue(from_models)
        finally:
            await from_models.dispose()


async def test_upgrading_again_at_head_changes_nothing(database_url):
    engine = create_engine(database_url)
    try:
        assert await upgrade_to_head(engine) == head_revision()
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_downgrading_to_base_drops_every_table_and_upgrading_again_restores_them(empty):
    await upgrade_to_head(empty)
    async with empty.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
    async with empty.connect() as connection:
        assert await connection.run_sync(tables) == {"alembic_version"}
    assert await current_revision(empty) is None

    await upgrade_to_head(empty)

    assert await current_revision(empty) == head_revision()
    async with empty.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_a_store_made_before_migrations_existed_is_adopted_with_its_rows(empty):
    async with empty.begin() as connection:  # what the first release did at start-up
        first_release = [SQLModel.metadata.tables[name] for name in FIRST_RELEASE_TABLES]
        await connection.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=first_release))
        await connection.execute(text("ALTER TABLE outbox DROP COLUMN traceparent"))  # added by 0003
        for table, column in (("pupil", "classes"), ("assessment", "assessed_on"), ("statutory_result", "assessed_on")):
            await connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))  # added by 0008
        await connection.execute(SCHOOL.insert().values(trust_id="T", school_id="S1", name="Oak", version=1))

    assert await upgrade_to_head(empty) is None

    assert await current_revision(empty) == head_revision()
    async with empty.connect() as connection:
        assert (await connection.execute(select(SCHOOL.c.name))).scalars().all() == ["Oak"]
        assert await connection.run_sync(differences) == []


async def test_ingest_refuses_to_start_on_a_database_not_at_head(empty):
    app = create_app(IngestSettings(database_url=str(empty.url), kafka_create_topics=False))

    with pytest.raises(SchemaNotAtHead, match="never migrated.*run `tidemark-ingest migrate` first"):
        async with app.router.lifespan_context(app):
            pass


async def test_the_audit_trail_refuses_updates_and_deletes(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO audit_event (trust_id, at, actor_id, action, detail) VALUES ('T', now(), 'user:1', 'lock', '{}')"
            ))
        for statement in ("UPDATE audit_event SET action = 'unlock'", "DELETE FROM audit_event"):
            with pytest.raises(Exception, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT action FROM audit_event"))).scalars().all() == ["lock"]
    finally:
        await engine.dispose()
