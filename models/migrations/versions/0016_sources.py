"""sources: a preprint's published journal DOI; the sources a reader chose (empty = the
registry's defaults); a digest's note (why a quiet day's email has no new paper)

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-04 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.add_column(sa.Column("journal_doi", sa.String(), nullable=True))
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sources", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest", schema=None) as batch_op:
        batch_op.drop_column("note")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("sources")
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.drop_column("journal_doi")
