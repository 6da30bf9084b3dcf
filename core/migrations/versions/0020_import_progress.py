"""import progress: a run's state, heartbeat, position in the file and stored problems

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 09:00:00

The web console starts an import in one worker and any other worker shows how far it has got,
so progress lives in the run's row, not in a process: its state, a heartbeat (`updated_at`),
rows and bytes done, problems so far, whether it is a dry run, and once finished its first
problems (line and catalogue message, never a value) for the console to list. Runs recorded
before this revision are finished ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.records.base import UTCDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



def upgrade() -> None:
    for column in (
        sa.Column('quarantined', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('state', sa.Enum('running', 'finished', 'failed', 'interrupted',
                                   name='importstate', native_enum=False, length=32),
                  nullable=False, server_default='finished'),
        sa.Column('dry_run', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('bytes_done', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('bytes_total', sa.BigInteger(), nullable=True),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.Column('problem_count', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('problems', sa.JSON(), nullable=True),
        sa.Column('failure', sa.String(length=100), nullable=True),
    ):
        op.add_column('import_runs', column)


def downgrade() -> None:
    # In place on both databases (SQLite 3.35 and later), as 0016's downgrade.
    for column in ('failure', 'problems', 'problem_count', 'updated_at', 'bytes_total',
                   'bytes_done', 'dry_run', 'state', 'quarantined'):
        op.execute(f"ALTER TABLE import_runs DROP COLUMN {column}")
