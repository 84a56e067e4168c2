"""Alembic's environment for the ingest store (PostgreSQL through asyncpg).

Programmatic use (`tidemark_ingest.migrations`) hands over a connection in its transaction; the
`alembic` command line gets none, so this opens one from DATABASE_URL (IngestSettings).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from tidemark_identity.adapters import tables as identity_tables  # noqa: F401  (people, sessions, keys, audit)
from tidemark_ingest.adapters import orm  # noqa: F401  (registers the tables on SQLModel.metadata)
from tidemark_ingest.settings import IngestSettings

target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_on_a_new_connection() -> None:
    engine = create_async_engine(IngestSettings().database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=IngestSettings().database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := context.config.attributes.get("connection")) is not None:
    run_migrations(given)
else:
    asyncio.run(run_on_a_new_connection())
