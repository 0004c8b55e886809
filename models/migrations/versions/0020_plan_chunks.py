"""plan_chunk: an edition planned in slices of readers, one task each; a run is done only
when every chunk of it is

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-05 05:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0020"
down_revision = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_chunk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_ids", sa.JSON(), nullable=False),
        sa.Column("planned_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ignore_send_hour", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["send_run.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_chunk_run_id", "plan_chunk", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_chunk_run_id", table_name="plan_chunk")
    op.drop_table("plan_chunk")
