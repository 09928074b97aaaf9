"""sources: batch parents and children, skipped input, document counts, scheduled refresh

Revision ID: 0005_sources
Revises: 0004_wire
Create Date: 2026-12-03 08:50:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_sources'
down_revision = '0004_wire'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('children_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('document_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('skipped', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('refresh_schedule', sa.String(length=16), nullable=False,
                                      server_default='none'))
        batch_op.add_column(sa.Column('last_refreshed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('stale', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('refresh_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('planned_sha256', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key('fk_source_parent', 'source', ['tenant_id', 'parent_id'],
                                    ['tenant_id', 'id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_source_tenant_id_parent_id_created_at'),
                              ['tenant_id', 'parent_id', 'created_at'], unique=False)
    # A ready source's documents, for sources ingested before this revision.
    op.execute("UPDATE source SET document_count = documents_done WHERE status = 'ready'")


def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_tenant_id_parent_id_created_at'))
        batch_op.drop_constraint('fk_source_parent', type_='foreignkey')
        for column in ('planned_sha256', 'refresh_version', 'stale', 'content_sha256', 'last_refreshed_at', 'refresh_schedule', 'skipped',
                       'document_count', 'children_count', 'parent_id'):
            batch_op.drop_column(column)
