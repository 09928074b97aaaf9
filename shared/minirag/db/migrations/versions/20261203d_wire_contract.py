"""the seed system's wire contract: tenant plan, user display name, source description and file size

Source status keeps its stored value `failed`: the API shows it as `error` (see api/schemas/sources.py).

Revision ID: 0004_wire
Revises: 0003_feedback
Create Date: 2026-12-03 08:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_wire'
down_revision = '0003_feedback'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.String(length=32), server_default='free', nullable=False))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=200), nullable=True))

    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('file_size')
        batch_op.drop_column('description')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('display_name')

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('plan')
