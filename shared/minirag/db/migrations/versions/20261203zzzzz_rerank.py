"""reranking: a bot's rerank_model and rerank_top_n; usage events of kind 'rerank'

Revision ID: 0006_rerank
Revises: 0006_filters
Create Date: 2026-12-03 17:40:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_rerank'
down_revision = '0006_filters'
branch_labels = None
depends_on = None

OLD_KINDS = ('chat', 'rewrite', 'embedding')
NEW_KINDS = (*OLD_KINDS, 'rerank')


def _kind_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table('bot_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rerank_model', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('rerank_top_n', sa.Integer(), nullable=True))
    # The usage kind is a CHECK (portable enum): replaced with one that also accepts 'rerank'
    # (on SQLite, batch mode recreates the table with the new constraint).
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_usage_event_usage_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_usage_event_usage_kind'), _kind_check(NEW_KINDS))


def downgrade() -> None:
    op.execute("DELETE FROM usage_event WHERE kind = 'rerank'")
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_usage_event_usage_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_usage_event_usage_kind'), _kind_check(OLD_KINDS))
    with op.batch_alter_table('bot_profile', schema=None) as batch_op:
        batch_op.drop_column('rerank_top_n')
        batch_op.drop_column('rerank_model')
