"""trusted phones, lockouts, account notices, database marks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:18:57.890066
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _add_reference(table: str, column: str, target: str, fk: str) -> None:
    """A new nullable column with its named foreign key, without rebuilding the table: on
    SQLite a batch rebuild of `citizens` would copy a million rows and drop the table other
    tables reference. SQLite adds both in one ALTER; PostgreSQL adds the constraint after."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER "
                   f"CONSTRAINT {fk} REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.BigInteger(), nullable=True))
        op.create_foreign_key(fk, table, target, [column], ['id'])


def upgrade() -> None:
    op.create_table('database_marks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_database_marks'))
    )
    op.create_table('identity_lockouts',
    sa.Column('id', _ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id_key', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', _ID, nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_identity_lockouts_citizen_id_citizens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_lockouts'))
    )
    op.create_index('ix_identity_lockouts_citizen', 'identity_lockouts', ['citizen_id', 'at'], unique=False)
    op.create_index('ix_identity_lockouts_id_key', 'identity_lockouts', ['id_key', 'at'], unique=False)

    op.add_column('verification_attempts', sa.Column('facility_code', sa.String(length=5), nullable=True))
    op.create_index('ix_verification_attempts_facility', 'verification_attempts', ['facility_code', 'at'],
                    unique=False)

    # citizen_notices is referenced by no other table: a batch rebuild is harmless there.
    with op.batch_alter_table('citizen_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', _ID, nullable=True))
        batch_op.create_foreign_key('fk_citizen_notices_account_id_channel_accounts', 'channel_accounts',
                                    ['account_id'], ['id'], ondelete='CASCADE')
    op.add_column('citizens', sa.Column('clinic_phone', sa.String(length=12), nullable=True))
    _add_reference('citizens', 'clinic_phone_prov', 'provenance', 'fk_citizens_clinic_phone_prov_provenance')

    # A clinic's QĐ 130 file (XML1 DIEN_THOAI) filled some verifying phones: such a number is
    # often a relative's and must never prove identity. It moves, with its provenance, to the
    # clinic contact; an account linked while it verified is unlinked and told why.
    clinic_phones = ("SELECT c.id FROM citizens c JOIN provenance p ON p.id = c.phone_prov "
                     "WHERE p.source = 'clinic_qd130'")
    op.execute(
        "INSERT INTO citizen_notices (citizen_id, account_id, kind, params, created_at) "
        "SELECT a.citizen_id, a.id, 'link_ended_untrusted_phone', '{}', CURRENT_TIMESTAMP "
        f"FROM channel_accounts a WHERE a.citizen_id IN ({clinic_phones})")
    op.execute(
        "UPDATE channel_accounts SET citizen_id = NULL, linked_at = NULL, pin_hash = NULL "
        f"WHERE citizen_id IN ({clinic_phones})")
    op.execute(
        "UPDATE citizens SET clinic_phone = phone, clinic_phone_prov = phone_prov, "
        f"phone = NULL, phone_prov = NULL WHERE id IN ({clinic_phones})")


def downgrade() -> None:
    op.execute("UPDATE citizens SET phone = clinic_phone, phone_prov = clinic_phone_prov "
               "WHERE phone IS NULL AND clinic_phone IS NOT NULL")
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":  # SQLite's rebuilt table drops it with its column
            batch_op.drop_constraint('fk_citizens_clinic_phone_prov_provenance', type_='foreignkey')
        batch_op.drop_column('clinic_phone_prov')
        batch_op.drop_column('clinic_phone')
    with op.batch_alter_table('citizen_notices', schema=None) as batch_op:
        batch_op.drop_constraint('fk_citizen_notices_account_id_channel_accounts', type_='foreignkey')
        batch_op.drop_column('account_id')
    op.drop_index('ix_verification_attempts_facility', table_name='verification_attempts')
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.drop_column('facility_code')
    op.drop_index('ix_identity_lockouts_id_key', table_name='identity_lockouts')
    op.drop_index('ix_identity_lockouts_citizen', table_name='identity_lockouts')
    op.drop_table('identity_lockouts')
    op.drop_table('database_marks')
