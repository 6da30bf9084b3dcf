"""desk console: staff roles for stations and viewers, sign-in links and sessions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 13:00:00

The web console (desk/) signs staff in with a one-time link (`desk_signins`, a keyed hash only)
and keeps a short session (`desk_sessions`, a keyed hash of the cookie's key and the session's
CSRF token), checked against the member on every request. A health centre viewer's invite and
membership name the centre (`centre_code`); a member's last activity is kept for the team page.
New roles need no change: roles are plain strings.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.records.base import BigIntPK, UTCDateTime

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain nullable columns, added in place (no SQLite rebuild, see 0016).
    op.add_column('staff_invites', sa.Column('centre_code', sa.String(16), nullable=True))
    op.add_column('staff_members', sa.Column('centre_code', sa.String(16), nullable=True))
    op.add_column('staff_members', sa.Column('last_active_at', UTCDateTime(), nullable=True))
    op.create_table(
        'desk_signins',
        sa.Column('id', BigIntPK, primary_key=True),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('staff_id', BigIntPK, sa.ForeignKey('staff_members.id', ondelete='CASCADE',
                                                      name='fk_desk_signins_staff_id_staff_members'),
                  nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_desk_signins'),
        sa.UniqueConstraint('token_hash', name='uq_desk_signins_token_hash'),
    )
    op.create_table(
        'desk_sessions',
        sa.Column('id', BigIntPK, primary_key=True),
        sa.Column('key_hash', sa.String(64), nullable=False),
        sa.Column('staff_id', BigIntPK, sa.ForeignKey('staff_members.id', ondelete='CASCADE',
                                                      name='fk_desk_sessions_staff_id_staff_members'),
                  nullable=False),
        sa.Column('csrf', sa.String(64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('seen_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_desk_sessions'),
        sa.UniqueConstraint('key_hash', name='uq_desk_sessions_key_hash'),
    )
    op.create_index('ix_desk_sessions_staff_id', 'desk_sessions', ['staff_id'])


def downgrade() -> None:
    op.drop_index('ix_desk_sessions_staff_id', table_name='desk_sessions')
    op.drop_table('desk_sessions')
    op.drop_table('desk_signins')
    for table, column in (('staff_members', 'last_active_at'), ('staff_members', 'centre_code'),
                          ('staff_invites', 'centre_code')):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
