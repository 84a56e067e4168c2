"""Engine and sessions for SQLite (default, WAL) or PostgreSQL, through one code path.

Tables are sqlmodel models; the queries are SQLAlchemy Core (bulk reads and writes), hence
SQLAlchemy's own AsyncSession.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from tidemark_ingest.adapters import orm  # noqa: F401  (registers the tables)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(database_url: str, writer: bool = True) -> AsyncEngine:
    """SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE so concurrent writers queue, not fail.
    A reader engine (`writer=False`) opens no transaction of its own on SQLite: each query reads
    its own snapshot and never holds the write lock, so a long replay does not stall ingest."""
    if not is_sqlite(database_url):
        return create_async_engine(database_url, pool_pre_ping=True)

    database = make_url(database_url).database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(database_url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    if writer:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def create_schema(engine: AsyncEngine) -> None:
    """Create missing tables (a first release; later schema changes go through migrations)."""
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
