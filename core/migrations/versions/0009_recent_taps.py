"""recent taps: the buttons an account lately pressed, for double taps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: never a batch rebuild of a table other tables reference.
    op.add_column('channel_accounts', sa.Column('recent_taps', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_accounts', schema=None) as batch_op:
        batch_op.drop_column('recent_taps')
