"""bots: a default metadata filter

Revision ID: 0006_filters
Revises: 0005_sources
Create Date: 2026-12-03 17:50:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_filters'
down_revision = '0005_sources'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bot_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_filter', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bot_profile', schema=None) as batch_op:
        batch_op.drop_column('default_filter')
