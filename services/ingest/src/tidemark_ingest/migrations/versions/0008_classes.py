"""Classes (a school's classes per academic year), each pupil's class per academic year, and the
assessment date of every summative and statutory result (issue 14, point 1).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school_class",
        sa.Column("trust_id", sa.String(), nullable=False),
        sa.Column("class_id", sa.String(), nullable=False),
        sa.Column("school_id", sa.String(), nullable=False),
        sa.Column("academic_year", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("year_groups", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trust_id", "class_id"),
    )
    op.create_index("ix_school_class_school", "school_class", ["trust_id", "school_id", "academic_year"])
    op.add_column("pupil", sa.Column("classes", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("assessment", sa.Column("assessed_on", sa.Date(), nullable=True))
    op.add_column("statutory_result", sa.Column("assessed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("statutory_result", "assessed_on")
    op.drop_column("assessment", "assessed_on")
    op.drop_column("pupil", "classes")
    op.drop_index("ix_school_class_school", table_name="school_class")
    op.drop_table("school_class")
