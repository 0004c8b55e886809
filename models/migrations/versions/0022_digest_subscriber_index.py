"""digest: no index on subscriber_id alone; the unique (subscriber_id, edition) index leads
with it and serves every lookup by reader, and every digest written (one a reader planned)
and every status change (claim, send: not HOT, status is indexed) updated both

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 18:30:00

"""

from collections.abc import Sequence

from alembic import op


revision: str = "0022"
down_revision = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_digest_subscriber_id", table_name="digest")


def downgrade() -> None:
    op.create_index("ix_digest_subscriber_id", "digest", ["subscriber_id"])
