"""ward change reports: a volunteer reports that a resident moved away or died

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 09:00:00

The city plan's phase 3 has ward teams keep the list of residents current. A volunteer's word is
not the record's: the report waits in its own table until the ward health station confirms it
(then the record's status changes with the station's provenance) or rejects it with a reason the
volunteer reads. A partial unique index keeps one open report per resident, whichever worker
files it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.records.base import BigIntPK, UTCDateTime

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "status = 'open'"


def upgrade() -> None:
    op.create_table(
        'ward_change_reports',
        sa.Column('id', BigIntPK, primary_key=True),
        sa.Column('citizen_id', BigIntPK, sa.ForeignKey('citizens.id', ondelete='CASCADE',
                                                        name='fk_ward_change_reports_citizen_id_citizens'),
                  nullable=False),
        sa.Column('ward_code', sa.String(5), nullable=False),
        sa.Column('kind', sa.Enum('moved_away', 'deceased', name='changekind', native_enum=False,
                                  length=32), nullable=False),
        sa.Column('happened_on', sa.String(10), nullable=True),
        sa.Column('destination', sa.String(200), nullable=True),
        sa.Column('note', sa.String(500), nullable=False),
        sa.Column('staff_id', BigIntPK, sa.ForeignKey('staff_members.id',
                                                      name='fk_ward_change_reports_staff_id_staff_members'),
                  nullable=False),
        sa.Column('status', sa.Enum('open', 'confirmed', 'rejected', name='reportstatus', native_enum=False,
                                    length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(100), nullable=True),
        sa.Column('decision_reason', sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_ward_change_reports'),
    )
    op.create_index('ix_ward_change_reports_ward', 'ward_change_reports', ['status', 'ward_code'])
    op.create_index('uq_ward_change_reports_open', 'ward_change_reports', ['citizen_id'], unique=True,
                    sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))


def downgrade() -> None:
    op.drop_index('uq_ward_change_reports_open', table_name='ward_change_reports')
    op.drop_index('ix_ward_change_reports_ward', table_name='ward_change_reports')
    op.drop_table('ward_change_reports')
