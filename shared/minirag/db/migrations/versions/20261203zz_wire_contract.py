"""the seed system's wire contract: tenant plan, source description and file size

Source status keeps its stored value `failed`: the API shows it as `error` (see api/schemas/sources.py).

Revision ID: 0004_wire
Revises: 0005_openai
Create Date: 2026-12-03 08:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_wire'
down_revision = '0005_openai'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.String(length=32), server_default='free', nullable=False))

    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('file_size')
        batch_op.drop_column('description')

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('plan')
