"""quotas and sign-up: per-tenant limits (tenant.limits, usage_counter), single-use sign-up
invites, and emails unique per tenant instead of globally (so sign-up cannot reveal a registered one)

Revision ID: 0002_quotas
Revises: 0001
Create Date: 2026-12-03 05:47:47.292930
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_quotas'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signup_invite',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signup_invite')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_signup_invite_code_hash'))
    )
    op.create_table('usage_counter',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('last_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_usage_counter'))
    )
    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_counter_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limits', sa.JSON(), nullable=True))

    # On SQLite this recreates user_account: env.py turns foreign keys off for the migration, or
    # dropping the old table would cascade to api_token.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_email'), type_='unique')
        batch_op.create_index(batch_op.f('ix_user_account_email'), ['email'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_tenant_id_email'), ['tenant_id', 'email'])



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_tenant_id_email'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_user_account_email'))
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_email'), ['email'])

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('limits')

    with op.batch_alter_table('usage_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_counter_expires_at'))

    op.drop_table('usage_counter')
    op.drop_table('signup_invite')
