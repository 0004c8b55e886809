"""digests: subscriber.trending_count, digest_item.section ("Trending today" after the picks)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 22:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trending_count", sa.Integer(), nullable=False, server_default="3")
        )
    with op.batch_alter_table("digest_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "section", sa.String(length=16), nullable=False, server_default="picks"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("digest_item", schema=None) as batch_op:
        batch_op.drop_column("section")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("trending_count")
