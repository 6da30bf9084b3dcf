"""stored gap counts: a ward's worklist reads a page, not the whole ward

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 19:00:00

Each citizen row keeps how many details the completeness rules find missing or invalid
(`gaps`, NULL until counted) and the day that count may change by itself (`gaps_due`, the
18th birthday). The service counts in Python, where the rules live
(core.records.completeness.recount); a trigger here only forgets a count when a field it
depends on is written, whoever writes it, so no writer can leave a wrong count behind.

Existing rows start uncounted: each ward is counted on its first worklist view after this
migration (about a second for a ward of 70,000 residents), or all at once by
`python -m core records recount`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fields the counted completeness rules read (core.records.completeness.RULES with
# counts=True), as of this revision. tests/test_worklist.py fails if a rule reads another.
COUNTED = ("personal_id", "birth_date", "sex", "ethnicity_code", "nationality", "occupation",
           "phone", "ward_code", "street_address", "blood_group", "guardian_id")
_OF = ", ".join(COUNTED)

_INDEXES = (
    ('ix_citizens_worklist', ['ward_code', sa.text('gaps DESC'), 'full_name', 'id'],
     "status = 'active' AND gaps > 0"),
    ('ix_citizens_uncounted', ['ward_code'], "gaps IS NULL"),
    ('ix_citizens_count_due', ['ward_code', 'gaps_due'], "gaps_due IS NOT NULL"),
)

# A statement that sets `gaps` itself (the recount) keeps what it sets.
_POSTGRESQL = [
    """CREATE FUNCTION citizens_forget_gaps() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.gaps IS NOT DISTINCT FROM OLD.gaps THEN
           NEW.gaps := NULL;
         END IF;
         RETURN NEW;
       END $$""",
    f"""CREATE TRIGGER citizens_forget_gaps BEFORE UPDATE OF {_OF} ON citizens
        FOR EACH ROW EXECUTE FUNCTION citizens_forget_gaps()""",
]
# SQLite's BEFORE triggers cannot change NEW: the row is updated again, once.
_SQLITE = [
    f"""CREATE TRIGGER citizens_forget_gaps AFTER UPDATE OF {_OF} ON citizens
        FOR EACH ROW WHEN NEW.gaps IS OLD.gaps AND NEW.gaps IS NOT NULL
        BEGIN UPDATE citizens SET gaps = NULL WHERE id = NEW.id; END""",
]


def upgrade() -> None:
    # New nullable columns only: on SQLite a batch rebuild of `citizens` would copy every row.
    op.add_column('citizens', sa.Column('gaps', sa.SmallInteger(), nullable=True))
    op.add_column('citizens', sa.Column('gaps_due', sa.Date(), nullable=True))
    for name, columns, where in _INDEXES:
        op.create_index(name, 'citizens', columns, unique=False, if_not_exists=True,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS citizens_forget_gaps ON citizens")
        op.execute("DROP FUNCTION IF EXISTS citizens_forget_gaps()")
    else:
        op.execute("DROP TRIGGER IF EXISTS citizens_forget_gaps")
    for name, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name='citizens', if_exists=True)
    with op.batch_alter_table('citizens') as batch_op:
        batch_op.drop_column('gaps_due')
        batch_op.drop_column('gaps')
