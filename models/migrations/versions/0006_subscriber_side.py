"""subscriber side: weekly weekday, pause until a date, change of email awaiting confirmation

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-29 22:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('send_weekday', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('paused_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_column('pending_email')
        batch_op.drop_column('paused_until')
        batch_op.drop_column('send_weekday')
