"""DATABASE_URL is always PostgreSQL: plain PostgreSQL URLs get the asyncpg driver, others are refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tidemark_ingest.settings import IngestSettings


@pytest.mark.parametrize("given", ["postgresql://me:pw@db:5432/tidemark", "postgres://me:pw@db:5432/tidemark",
                                   "postgresql+asyncpg://me:pw@db:5432/tidemark"])
def test_a_postgresql_url_is_read_through_asyncpg(given):
    assert IngestSettings(database_url=given).database_url == "postgresql+asyncpg://me:pw@db:5432/tidemark"


def test_a_sqlite_url_is_refused_with_the_reason():
    with pytest.raises(ValidationError, match=r"must be a PostgreSQL URL .*not 'sqlite\+aiosqlite'"):
        IngestSettings(database_url="sqlite+aiosqlite:///.tidemark/ingest.db")
