"""families: proxy grants, books teenagers took over, whose book an account has open

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 08:40:00

A guardian's right comes from the register's guardian link already on the child's record; these
tables hold what the register does not: an adult's grants to a proxy (never deleted, withdrawn
with a time), the day a teenager of 16 or more took their own book over, and the dependent's
book an account has open (`channel_accounts.acting_for`; none: its own), and who shows a
check-in code for someone else (`checkin_tokens.presenter_id`, `presented_as`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.records.base import BigIntPK, UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'proxy_grants',
        sa.Column('id', BigIntPK, primary_key=True),
        sa.Column('grantor_id', BigIntPK, sa.ForeignKey('citizens.id', ondelete='CASCADE',
                                                        name='fk_proxy_grants_grantor_id_citizens'),
                  nullable=False),
        sa.Column('proxy_id', BigIntPK, sa.ForeignKey('citizens.id', ondelete='CASCADE',
                                                      name='fk_proxy_grants_proxy_id_citizens'),
                  nullable=False),
        sa.Column('powers', sa.String(40), nullable=False),
        sa.Column('granted_on', sa.Date(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.Column('confirmed_by', sa.String(100), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_proxy_grants'),
    )
    op.create_index('ix_proxy_grants_proxy', 'proxy_grants', ['proxy_id'])
    op.create_index('ix_proxy_grants_grantor', 'proxy_grants', ['grantor_id'])
    op.create_table(
        'book_handovers',
        sa.Column('citizen_id', BigIntPK, sa.ForeignKey('citizens.id', ondelete='CASCADE',
                                                        name='fk_book_handovers_citizen_id_citizens'),
                  nullable=False),
        sa.Column('taken_over_on', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint('citizen_id', name='pk_book_handovers'),
    )
    # Who shows a check-in code for someone else (their guardian or proxy), and as what; the
    # dependent's book an account has open. Plain nullable columns, no foreign key: SQLite adds a
    # foreign key only by rebuilding the table, and dropping the old copy would cascade-delete the
    # rows that point at it (an account's notices). Both are checked when read: a code's presenter
    # is looked up by id, an open book is checked against the rule on every input.
    op.add_column('checkin_tokens', sa.Column('presenter_id', BigIntPK, nullable=True))
    op.add_column('checkin_tokens', sa.Column('presented_as', sa.String(24), nullable=True))
    op.add_column('channel_accounts', sa.Column('acting_for', BigIntPK, nullable=True))



def downgrade() -> None:
    # In place on both databases (SQLite 3.35 and later): no rebuild, so no cascade (see upgrade).
    for table, column in (('channel_accounts', 'acting_for'), ('checkin_tokens', 'presented_as'),
                          ('checkin_tokens', 'presenter_id')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.drop_table('book_handovers')
    op.drop_index('ix_proxy_grants_grantor', table_name='proxy_grants')
    op.drop_index('ix_proxy_grants_proxy', table_name='proxy_grants')
    op.drop_table('proxy_grants')
