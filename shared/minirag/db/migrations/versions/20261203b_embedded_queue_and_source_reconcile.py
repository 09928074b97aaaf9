"""embedded queue (durable local ingest messages) and the reconciler's source columns

Revision ID: 0002_queue
Revises: 0002_quotas
Create Date: 2026-12-03 05:47:54.962980
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_queue'
down_revision = '0002_quotas'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.String(length=128), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('receive_count', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=36), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('visible_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_message'))
    )
    with op.batch_alter_table('queue_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_message_queue_group_id_sent_at'), ['queue', 'group_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_message_queue_visible_at'), ['queue', 'visible_at'], unique=False)

    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requeued_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('requeued_version')

    with op.batch_alter_table('queue_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_message_queue_visible_at'))
        batch_op.drop_index(batch_op.f('ix_queue_message_queue_group_id_sent_at'))

    op.drop_table('queue_message')
