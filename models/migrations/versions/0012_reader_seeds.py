"""subscriber.quiet_day: on a day with nothing relevant, the trending papers or no email

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-04 18:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quiet_day", sa.String(length=16), nullable=False, server_default="trending")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("quiet_day")
