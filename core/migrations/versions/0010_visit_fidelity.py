"""visits as QĐ 130 sends them: every appointment, the admission diagnosis, the treatment
method, note, weight, injury, referral, the card's details; XML3 services

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

_NEW_VISIT_COLUMNS = (
    sa.Column('admission_diagnosis', sa.Text(), nullable=True),
    sa.Column('treatment_method', sa.Text(), nullable=True),
    sa.Column('follow_up_dates', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=True),
    sa.Column('accident_code', sa.String(length=2), nullable=True),
    sa.Column('referred_from', sa.String(length=5), nullable=True),
    sa.Column('referred_to', sa.String(length=5), nullable=True),
    sa.Column('card_number', sa.String(length=15), nullable=True),
    sa.Column('card_five_years_from', sa.Date(), nullable=True),
    sa.Column('card_copay_exempt_from', sa.Date(), nullable=True),
    sa.Column('card_area_code', sa.String(length=2), nullable=True),
)


def upgrade() -> None:
    # Plain ADD COLUMN and DROP COLUMN (SQLite 3.35+): never a batch rebuild of `visits`,
    # which other tables reference.
    for column in _NEW_VISIT_COLUMNS:
        op.add_column('visits', column)
    # The one appointment kept so far becomes the first of the list (ISO dates, `;`).
    date_text = "CAST(follow_up_on AS TEXT)" if op.get_bind().dialect.name != "sqlite" \
        else "follow_up_on"
    op.execute(f"UPDATE visits SET follow_up_dates = {date_text} WHERE follow_up_on IS NOT NULL")
    op.execute("ALTER TABLE visits DROP COLUMN follow_up_on")
    # Until now CHAN_DOAN_VAO stood in for a missing CHAN_DOAN_RV; which one a stored
    # diagnosis is cannot be told, so it stays the diagnosis until the clinic resends.
    op.create_table('visit_services',
    sa.Column('id', _ID, nullable=False),
    sa.Column('visit_id', _ID, nullable=False),
    sa.Column('service_code', sa.String(length=50), nullable=True),
    sa.Column('group_code', sa.String(length=2), nullable=True),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3, asdecimal=False), nullable=True),
    sa.Column('unit', sa.String(length=50), nullable=True),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'],
                            name=op.f('fk_visit_services_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_services'))
    )
    op.create_index(op.f('ix_visit_services_visit_id'), 'visit_services', ['visit_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_visit_services_visit_id'), table_name='visit_services')
    op.drop_table('visit_services')
    op.add_column('visits', sa.Column('follow_up_on', sa.Date(), nullable=True))
    first = "substr(follow_up_dates, 1, 10)"
    cast = f"CAST({first} AS DATE)" if op.get_bind().dialect.name != "sqlite" else first
    op.execute(f"UPDATE visits SET follow_up_on = {cast} WHERE follow_up_dates IS NOT NULL")
    for column in reversed(_NEW_VISIT_COLUMNS):
        op.execute(f"ALTER TABLE visits DROP COLUMN {column.name}")
