"""stats: a covering index of usage events for the /v1/stats aggregates (it replaces the
(tenant_id, created_at) index, its prefix), and messages by time, role and feedback (feedback stats
and the chat export)

Revision ID: 0004_stats
Revises: 0004_webhooks
Create Date: 2026-12-03 09:00:00.000000
"""
from __future__ import annotations

from alembic import op

revision = '0004_stats'
down_revision = '0004_webhooks'
branch_labels = None
depends_on = None

USAGE_STATS = ['tenant_id', 'created_at', 'model', 'bot_profile_id', 'prompt_tokens', 'completion_tokens',
               'total_tokens']


def upgrade() -> None:
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_event_stats'), USAGE_STATS, unique=False)
        batch_op.drop_index(batch_op.f('ix_usage_event_tenant_id_created_at'))

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_tenant_id_created_at_role_feedback'),
                              ['tenant_id', 'created_at', 'role', 'feedback'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_tenant_id_created_at_role_feedback'))

    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_event_tenant_id_created_at'), ['tenant_id', 'created_at'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_usage_event_stats'))
