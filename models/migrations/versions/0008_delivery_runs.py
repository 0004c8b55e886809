"""delivery: send_run table; digest.run_id, fail_reason, next_attempt_at, queued_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('send_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('running', 'paused', 'cancelled', 'done', name='runstate'), nullable=False),
    sa.Column('pause_reason', sa.String(), nullable=True),
    sa.Column('resume_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transient_streak', sa.Integer(), nullable=False),
    sa.Column('planned', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('send_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_run_state'), ['state'], unique=False)

    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fail_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_digest_run_id'), ['run_id'], unique=False)
        batch_op.create_foreign_key('fk_digest_run_id_send_run', 'send_run', ['run_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('digest', schema=None) as batch_op:
        batch_op.drop_constraint('fk_digest_run_id_send_run', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_digest_run_id'))
        batch_op.drop_column('queued_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('fail_reason')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('send_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_send_run_state'))

    op.drop_table('send_run')
    sa.Enum(name='runstate').drop(op.get_bind(), checkfirst=True)
