"""Saved column mappings of bulk imports, per school, kind and file shape (issue 14); and which
mapping an import was read with.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_mapping",
        sa.Column("mapping_id", sa.String(), nullable=False),
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("shape", sa.String(), nullable=False),
        sa.Column("headers", sa.String(), nullable=False),
        sa.Column("mapping", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mapping_id"),
        sa.UniqueConstraint("trust_id", "school_id", "kind", "shape", name="uq_import_mapping_shape"),
    )
    op.add_column("import_job", sa.Column("mapping_from", sa.String(), nullable=True))
    op.add_column("import_job", sa.Column("saved_mapping_id", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("import_job", "saved_mapping_id")
    op.drop_column("import_job", "mapping_from")
    op.drop_table("import_mapping")
