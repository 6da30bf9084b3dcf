"""delivery state: the outbox's tries and claims, the webhook's durable inbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_PENDING = sa.text("sent_at IS NULL AND dead_at IS NULL")
_UNDONE = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_table('channel_updates',
    sa.Column('id', _ID, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=False),
    sa.Column('lane', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tries', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_updates')),
    sa.UniqueConstraint('channel', 'update_id', name=op.f('uq_channel_updates_channel_update_id'))
    )
    op.create_index('ix_channel_updates_undone', 'channel_updates', ['channel', 'id'], unique=False,
                    sqlite_where=_UNDONE, postgresql_where=_UNDONE)
    op.create_index('ix_channel_updates_lane', 'channel_updates', ['channel', 'lane', 'update_id'],
                    unique=False, sqlite_where=_UNDONE, postgresql_where=_UNDONE)
    op.create_index('ix_channel_updates_done', 'channel_updates', ['done_at'], unique=False)

    # citizen_notices is referenced by no other table: a batch rebuild is harmless there.
    op.add_column('citizen_notices', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE citizen_notices SET next_attempt_at = created_at")
    with op.batch_alter_table('citizen_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tries', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=64), nullable=True))
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index('ix_citizen_notices_due')
    op.create_index('ix_citizen_notices_pending', 'citizen_notices', ['next_attempt_at', 'id'], unique=False,
                    sqlite_where=_PENDING, postgresql_where=_PENDING)


def downgrade() -> None:
    op.drop_index('ix_citizen_notices_pending', table_name='citizen_notices')
    with op.batch_alter_table('citizen_notices', schema=None) as batch_op:
        batch_op.create_index('ix_citizen_notices_due', ['sent_at', 'id'], unique=False)
        batch_op.drop_column('last_error')
        batch_op.drop_column('dead_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('tries')
        batch_op.drop_column('next_attempt_at')
    op.drop_index('ix_channel_updates_done', table_name='channel_updates')
    op.drop_index('ix_channel_updates_lane', table_name='channel_updates')
    op.drop_index('ix_channel_updates_undone', table_name='channel_updates')
    op.drop_table('channel_updates')
