"""chat.end_user: the end user the OpenAI-compatible endpoint's `user` names, whose turns continue
one chat per bot (and its lookup index)

Revision ID: 0005_openai
Revises: 0004_roles
Create Date: 2026-12-03 13:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_openai'
down_revision = '0004_roles'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_user', sa.String(length=256), nullable=True))
        batch_op.create_index(batch_op.f('ix_chat_tenant_id_bot_profile_id_end_user_created_at'),
                              ['tenant_id', 'bot_profile_id', 'end_user', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_tenant_id_bot_profile_id_end_user_created_at'))
        batch_op.drop_column('end_user')
