"""Bulk imports: one row per import, its file, state and progress (issue 14).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("import_id", sa.String(), nullable=False),
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("defaults", sa.String(), nullable=False),
        sa.Column("mapping", sa.String(), nullable=False),
        sa.Column("columns", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_valid", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors", sa.String(), nullable=True),
        sa.Column("errors_csv", sa.LargeBinary(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("import_id"),
    )
    op.create_index(op.f("ix_import_job_trust_id"), "import_job", ["trust_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_import_job_trust_id"), table_name="import_job")
    op.drop_table("import_job")
