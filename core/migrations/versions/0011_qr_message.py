"""the message that shows an account's check-in QR, to retire when a new code replaces it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: never a batch rebuild of a table other tables reference.
    op.add_column('channel_accounts', sa.Column('qr_message_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_accounts', schema=None) as batch_op:
        batch_op.drop_column('qr_message_id')
