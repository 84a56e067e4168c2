"""The first schema: schools, pupils, summative and statutory results, and the outbox.

Exactly the tables the first release created with `create_all`, so `tidemark-ingest migrate`
adopts a store made by that release as this revision instead of creating its tables again.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school",
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("assessment_model", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trust_id", "school_id"),
    )
    op.create_table(
        "pupil",
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("pupil_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("year_group", sa.String(), nullable=False),
        sa.Column("sex", sa.String(), nullable=False),
        sa.Column("fsm6", sa.Boolean(), nullable=False),
        sa.Column("lac", sa.Boolean(), nullable=False),
        sa.Column("plac", sa.Boolean(), nullable=False),
        sa.Column("sen", sa.String(), nullable=False),
        sa.Column("eal", sa.Boolean(), nullable=False),
        sa.Column("ethnicity", sa.String(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trust_id", "pupil_id"),
    )
    op.create_table(
        "assessment",
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("pupil_id", sa.String(), nullable=False),
        sa.Column("academic_year", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("year_group", sa.String(), nullable=False),
        sa.Column("entered_band", sa.String(), nullable=True),
        sa.Column("locked_band", sa.String(), nullable=True),
        sa.Column("entered_code", sa.String(), nullable=True),
        sa.Column("locked_code", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trust_id", "pupil_id", "academic_year", "period", "subject"),
    )
    op.create_index("ix_assessment_scope", "assessment", ["trust_id", "school_id", "academic_year", "period"])
    op.create_table(
        "statutory_result",
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("pupil_id", sa.String(), nullable=False),
        sa.Column("academic_year", sa.String(), nullable=False),
        sa.Column("assessment", sa.String(), nullable=False),
        sa.Column("component", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("entered_mark", sa.Integer(), nullable=True),
        sa.Column("entered_scaled_score", sa.Integer(), nullable=True),
        sa.Column("entered_code", sa.String(), nullable=True),
        sa.Column("locked_mark", sa.Integer(), nullable=True),
        sa.Column("locked_scaled_score", sa.Integer(), nullable=True),
        sa.Column("locked_code", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trust_id", "pupil_id", "academic_year", "assessment", "component"),
    )
    op.create_index("ix_statutory_result_scope", "statutory_result", ["trust_id", "school_id", "academic_year"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_statutory_result_scope", table_name="statutory_result")
    op.drop_table("statutory_result")
    op.drop_index("ix_assessment_scope", table_name="assessment")
    op.drop_table("assessment")
    op.drop_table("pupil")
    op.drop_table("school")
