"""team members and scoped keys: a user's display name; a token's scopes, bot binding and origins

Revision ID: 0004_roles
Revises: 0004_stats
Create Date: 2026-12-03 08:45:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_roles'
down_revision = '0004_stats'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=200), nullable=True))

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('bot_profile_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('allowed_origins', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_token_tenant_id_bot_profile_id_bot_profile'), 'bot_profile',
                                    ['tenant_id', 'bot_profile_id'], ['tenant_id', 'id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_token_tenant_id_bot_profile_id_bot_profile'), type_='foreignkey')
        batch_op.drop_column('allowed_origins')
        batch_op.drop_column('bot_profile_id')
        batch_op.drop_column('scopes')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('display_name')
