"""The schema of the SQL store as Alembic migrations (`versions/`), and the three things done with
them: bring a database to head (`tidemark-ingest migrate`, the prestart step of every deployment;
it adopts a store made before migrations existed), tell which revision a database is at, and
refuse to serve one that is not at head.

Configured in code, so it works from an installed package; `services/ingest/alembic.ini` points the
`alembic` command line at the same scripts for writing new revisions.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = "tidemark_ingest:migrations"
FIRST_RELEASE_TABLES = frozenset({"school", "pupil", "assessment", "statutory_result", "outbox"})
"""What the release before migrations created with `create_all`: revision 0001 exactly."""
_MIGRATION_LOCK = 0x7469_6465  # pg_advisory_xact_lock key: concurrent prestarts migrate one at a time


class SchemaNotAtHead(RuntimeError):
    """The database's schema is not the one this code was written for."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The migrations' configuration; with `connection`, env.py migrates on it (in its transaction)."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations have no head revision"
    return head


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revision)


def _upgrade(connection: Connection) -> str | None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    before = _revision(connection)
    config = alembic_config(connection)
    if before is None and FIRST_RELEASE_TABLES <= set(inspect(connection).get_table_names()):
        command.stamp(config, "0001")  # a store the release before migrations made: adopt it as is
    command.upgrade(config, "head")
    return before


async def upgrade_to_head(engine: AsyncEngine) -> str | None:
    """Apply every migration the database lacks, in one transaction (PostgreSQL's DDL is
    transactional: a failed migration leaves the database as it was). Nothing to do at head.
    Returns the revision the database was at before."""
    async with engine.begin() as connection:
        return await connection.run_sync(_upgrade)


async def require_head(engine: AsyncEngine) -> None:
    """Refuse to serve a database whose schema is not at this code's head revision."""
    current, head = await current_revision(engine), head_revision()
    if current != head:
        raise SchemaNotAtHead(
            f"the SQL store is at schema revision {current or 'none (never migrated)'}, this ingest needs {head}: "
            "run `tidemark-ingest migrate` first (the prestart step; see deploy/README.md)"
        )
