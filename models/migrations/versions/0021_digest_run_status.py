"""digest: one index on (run_id, status) in place of the one on run_id, so the check after
every wave ("is anything of this run still planned or sending?") is an index probe rather
than a walk over all of the run's digests

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 23:00:00

"""

from collections.abc import Sequence

from alembic import op


revision: str = "0021"
down_revision = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_digest_run_id_status", "digest", ["run_id", "status"])
    op.drop_index("ix_digest_run_id", table_name="digest")


def downgrade() -> None:
    op.create_index("ix_digest_run_id", "digest", ["run_id"])
    op.drop_index("ix_digest_run_id_status", table_name="digest")
