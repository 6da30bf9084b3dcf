"""ward figures: health-centre areas, per-ward figures kept current, events counted per day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00

The dashboards and the monthly report must not count a million residents per request: a
refresh (every EHR_FIGURES_MINUTES on one worker, and after imports) stores each ward's
figures (`ward_figures`, `ward_field_figures`) and the month's stocks (`ward_month_stocks`,
whose last write of a month is its month-end figure); activations and check-ins are counted
per ward and day in the transaction that makes them (`ward_tallies`). The regional health
centres that serve the 126 wards since 01/07/2025 (`health_centres`, `health_centre_wards`)
come from the health department's file. New tables only: nothing existing is rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.records.base import UTCDateTime

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIGURES = ('residents', 'complete', 'activated', 'telegram', 'ussd', 'corrections_open',
            'pending_values', 'volunteers_active')
_STOCKS = ('residents', 'complete', 'activated', 'telegram', 'ussd')


def upgrade() -> None:
    op.create_table(
        'ward_tallies',
        sa.Column('ward_code', sa.String(5), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(24), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('ward_code', 'day', 'kind', name='pk_ward_tallies'),
    )
    op.create_index('ix_ward_tallies_day', 'ward_tallies', ['day', 'kind'])
    op.create_table(
        'health_centres',
        sa.Column('code', sa.String(16), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('source', sa.String(200), nullable=False),
        sa.Column('loaded_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code', name='pk_health_centres'),
    )
    op.create_table(
        'health_centre_wards',
        sa.Column('ward_code', sa.String(5), nullable=False),
        sa.Column('centre_code', sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(['centre_code'], ['health_centres.code'], ondelete='CASCADE',
                                name='fk_health_centre_wards_centre_code_health_centres'),
        sa.PrimaryKeyConstraint('ward_code', name='pk_health_centre_wards'),
    )
    op.create_table(
        'ward_figures',
        sa.Column('ward_code', sa.String(5), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _FIGURES),
        sa.Column('as_of', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('ward_code', name='pk_ward_figures'),
    )
    op.create_table(
        'ward_field_figures',
        sa.Column('ward_code', sa.String(5), nullable=False),
        sa.Column('field', sa.String(32), nullable=False),
        sa.Column('expected', sa.Integer(), nullable=False),
        sa.Column('present', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('ward_code', 'field', name='pk_ward_field_figures'),
    )
    op.create_table(
        'ward_month_stocks',
        sa.Column('month', sa.String(7), nullable=False),
        sa.Column('ward_code', sa.String(5), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _STOCKS),
        sa.Column('as_of', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'ward_code', name='pk_ward_month_stocks'),
    )


def downgrade() -> None:
    op.drop_table('ward_month_stocks')
    op.drop_table('ward_field_figures')
    op.drop_table('ward_figures')
    op.drop_table('health_centre_wards')
    op.drop_table('health_centres')
    op.drop_index('ix_ward_tallies_day', table_name='ward_tallies')
    op.drop_table('ward_tallies')
