"""Each outbox row keeps the trace context of the request that wrote it.

The relay publishes rows in another task, often after the request has answered: the W3C
`traceparent` stored with the row is what it writes into the Kafka record's headers, so the
projections continue the request's trace (`tidemark_runtime.observability.tracing`). Null when
tracing is off. A nullable column without a default: adding it rewrites nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("traceparent", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "traceparent")
