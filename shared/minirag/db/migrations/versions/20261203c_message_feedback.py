"""message feedback (a rating and comment on assistant answers) and the chat list's bot index

Revision ID: 0003_feedback
Revises: 0002_queue
Create Date: 2026-12-03 07:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_feedback'
down_revision = '0002_queue'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback', sa.Enum('positive', 'negative', name='message_feedback', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('feedback_comment', sa.Text(), nullable=True))

    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_tenant_id_bot_profile_id_created_at_id'), ['tenant_id', 'bot_profile_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_tenant_id_bot_profile_id_created_at_id'))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_message_message_feedback'), type_='check')
        batch_op.drop_column('feedback_comment')
        batch_op.drop_column('feedback')
