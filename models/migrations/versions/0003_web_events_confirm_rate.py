"""web: delivery_event table (provider webhooks), subscriber.confirm_sent_at (confirm rate limit)

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 09:15:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_sent_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('delivery_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.String(), nullable=True),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(), nullable=True),
    sa.Column('ref', sa.String(length=128), nullable=True),
    sa.Column('effect', sa.String(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'event_id')
    )
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_event_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_event_recipient'), ['recipient'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_event_ref'), ['ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_event_ref'))
        batch_op.drop_index(batch_op.f('ix_delivery_event_recipient'))
        batch_op.drop_index(batch_op.f('ix_delivery_event_event_type'))

    op.drop_table('delivery_event')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_column('confirm_sent_at')
