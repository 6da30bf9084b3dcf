"""send pace: each worker's turn to send, shared (Telegram's limits for the whole bot)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: a turn to send is worth nothing after a crash, and each send
    # updates a row, so it skips the write-ahead log (an empty table after a crash is right).
    op.create_table(
        'send_pace',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('due', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_send_pace')),
        prefixes=['UNLOGGED'] if op.get_bind().dialect.name == 'postgresql' else [],
    )


def downgrade() -> None:
    op.drop_table('send_pace')
