"""clicks: a reader opened a paper through a digest's signed title link (a soft like when
human: not a link scanner or prefetcher)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 05:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(), nullable=False),
        sa.Column("human", sa.Boolean(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscriber.id"]),
        sa.ForeignKeyConstraint(["digest_id"], ["digest.id"]),
        sa.ForeignKeyConstraint(["paper_id"], ["paper.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "paper_id"),
    )
    op.create_index(op.f("ix_click_subscriber_id"), "click", ["subscriber_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_click_subscriber_id"), table_name="click")
    op.drop_table("click")
