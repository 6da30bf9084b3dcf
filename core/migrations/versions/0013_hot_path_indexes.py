"""indexes for the hot paths: a ward's active residents, the guardian link, a citizen's notices

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:00:00

tests/test_hot_paths.py shows each one is needed (EXPLAIN at 100,000 residents) and
docs/OPERATING.md ("Scaling") says which path each serves.

At city scale (8.5 million residents) a plain CREATE INDEX blocks writes to `citizens` for
the minutes it takes. An operator creates the indexes first, outside any transaction, with
writes going on:

    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_citizens_ward_active
        ON citizens (ward_code, id) WHERE status = 'active';
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_citizens_guardian
        ON citizens (guardian_id) WHERE guardian_id IS NOT NULL;
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_citizen_notices_citizen
        ON citizen_notices (citizen_id);

(an interrupted CONCURRENTLY build leaves an INVALID index: DROP INDEX CONCURRENTLY it and
run it again), then runs `python -m core migrate`: on PostgreSQL this migration creates each
index only if it is not there yet, so it finds them made and only records the revision. The
migration itself runs inside the migration's transaction (`core.migrate` runs every revision
in one), where CONCURRENTLY is not allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status = 'active'"
_HAS_GUARDIAN = "guardian_id IS NOT NULL"

# (name, table, columns, partial-index condition)
_INDEXES = (
    ('ix_citizens_ward_active', 'citizens', ['ward_code', 'id'], _ACTIVE),
    ('ix_citizens_guardian', 'citizens', ['guardian_id'], _HAS_GUARDIAN),
    ('ix_citizen_notices_citizen', 'citizen_notices', ['citizen_id'], None),
)


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        condition = sa.text(where) if where else None
        op.create_index(name, table, columns, unique=False, if_not_exists=True,
                        postgresql_where=condition, sqlite_where=condition)


def downgrade() -> None:
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)
