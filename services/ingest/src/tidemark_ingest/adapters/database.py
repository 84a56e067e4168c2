"""Engine and sessions of the SQL store: PostgreSQL through asyncpg, the one code path.

Tables are sqlmodel models; the queries are SQLAlchemy Core (bulk reads and writes), hence
SQLAlchemy's own AsyncSession. The schema is made by the migrations (`tidemark_ingest.migrations`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tidemark_ingest.adapters import orm  # noqa: F401  (registers the tables)


def create_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(database_url, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
