"""papers: paper.id is its source's key (an arXiv id or a DOI), up to 128 characters; a paper
stored without a link gets the one its arXiv key always implied (links now come from ingest)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.alter_column(
            "id", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )
    # Every key stored before this revision is an arXiv id (or a sample's, which has a link).
    op.execute(
        "UPDATE paper SET abs_url = 'https://arxiv.org/abs/' || id "
        "WHERE abs_url IS NULL AND id NOT LIKE 'sample-%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("paper", schema=None) as batch_op:
        batch_op.alter_column(
            "id", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )
