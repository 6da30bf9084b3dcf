"""one hash chain per citizen for the access log and the consent history

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00

Until now each table was one chain whose ids were its positions, and every access event locked
the one head row: every read of every book in the city waited in one line. From here each
citizen's rows form a chain of their own (`core.consent.chain`): a row links to the id and hash
of the row before it in that chain, and the head is kept per citizen.

Re-chaining existing rows is sound because it happens only after the old chains verify: the
migration runs under the operator's control (`python -m core migrate`, after `audit verify`),
checks both old chains itself first and refuses to touch them if either is broken, so every row
it re-chains is one the old log vouched for. It then re-chains each citizen's rows in id order
(the order they were written) and logs, per table, how many rows and chains it re-chained and
the old chain's last hash, the value the old log ended on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# The hashes themselves: the old chains were written with `row_hash`, the new ones are checked
# with `link_hash`; the migration must compute exactly what the code verifies.
from core.consent.chain import GENESIS, link_hash, row_hash
from core.records.base import UTCDateTime

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger('alembic.runtime.migration')

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# The content each row's hash covers, with the types the hash was computed over (frozen here).
_CONTENT: dict[str, tuple[sa.ColumnClause[Any], ...]] = {
    'access_events': (
        sa.column('citizen_id', _ID), sa.column('at', UTCDateTime()),
        sa.column('reader_account_id', _ID), sa.column('reader_role', sa.String()),
        sa.column('reader_name', sa.String()), sa.column('facility_code', sa.String()),
        sa.column('ward_code', sa.String()), sa.column('groups', sa.String()),
        sa.column('via', sa.String()), sa.column('token_id', _ID)),
    'consent_changes': (
        sa.column('citizen_id', _ID), sa.column('at', UTCDateTime()),
        sa.column('facility_code', sa.String()), sa.column('groups', sa.String()),
        sa.column('valid_until', sa.Date()), sa.column('channel', sa.String()),
        sa.column('actor', sa.String())),
}
_PAGE = 5000


def _table(name: str, *extra: str) -> sa.TableClause:
    columns = [sa.column('id', _ID), sa.column('prev_hash', sa.String()),
               sa.column('hash', sa.String()), *(sa.column(c, _ID) for c in extra)]
    return sa.table(name, *columns, *(sa.column(c.name, c.type) for c in _CONTENT[name]))


def _content(table: sa.TableClause, row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in _CONTENT[table.name]}


def _pages(connection: sa.Connection, table: sa.TableClause,
           order: Sequence[sa.ColumnClause[Any]]) -> Iterator[Any]:
    """The table's rows in `order` (ending with the unique id), read a page at a time: the rows
    are rewritten while they are read."""
    after: tuple[Any, ...] | None = None
    columns = [table.c.id, table.c.prev_hash, table.c.hash, *_content_columns(table)]
    while True:
        query = sa.select(*columns).order_by(*order).limit(_PAGE)
        if after is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
        page = connection.execute(query).all()
        yield from page
        if len(page) < _PAGE:
            return
        after = tuple(getattr(page[-1], c.name) for c in order)


def _content_columns(table: sa.TableClause) -> list[sa.ColumnClause[Any]]:
    return [table.c[c.name] for c in _CONTENT[table.name]]


def _old_break(connection: sa.Connection, name: str) -> str | None:
    """Where the old single chain of `name` breaks (the old `audit verify`), or None."""
    table, heads = _table(name), sa.table('audit_chain_heads', sa.column('chain'),
                                          sa.column('last_id'), sa.column('last_hash'))
    previous, expected = GENESIS, 1
    for row in _pages(connection, table, [table.c.id]):
        if row.id != expected or row.prev_hash != previous:
            return f'row {min(row.id, expected)} inserted or deleted'
        if row_hash(previous, {'id': row.id, **_content(table, row)}) != row.hash:
            return f'row {row.id} changed'
        previous, expected = row.hash, expected + 1
    head = connection.execute(sa.select(heads.c.last_id, heads.c.last_hash)
                              .where(heads.c.chain == name)).one_or_none()
    last_id, last_hash = (head.last_id, head.last_hash) if head is not None else (0, GENESIS)
    if (last_id, last_hash) != (expected - 1, previous):
        return f'the end of the chain (row {last_id}) does not match its rows'
    log.info('%s: the old chain verifies, %d rows, last hash %s', name, expected - 1, previous)
    return None


def _rechain_per_citizen(connection: sa.Connection, name: str) -> None:
    table = _table(name, 'prev_id')
    heads = sa.table('audit_chain_heads', sa.column('chain'), sa.column('citizen_id'),
                     sa.column('last_id'), sa.column('last_hash'))
    link = (sa.update(table).where(table.c.id == sa.bindparam('row_id'))
            .values(prev_id=sa.bindparam('link_id'), prev_hash=sa.bindparam('link_hash'),
                    hash=sa.bindparam('own_hash')))
    citizen, previous_id, previous_hash, links, ends, rows, chains = None, 0, GENESIS, [], [], 0, 0
    for row in _pages(connection, table, [table.c.citizen_id, table.c.id]):
        if row.citizen_id != citizen:
            if citizen is not None:
                ends.append({'chain': name, 'citizen_id': citizen, 'last_id': previous_id,
                             'last_hash': previous_hash})
            citizen, previous_id, previous_hash, chains = row.citizen_id, 0, GENESIS, chains + 1
        digest = link_hash(previous_id, previous_hash, _content(table, row))
        links.append({'row_id': row.id, 'link_id': previous_id, 'link_hash': previous_hash,
                      'own_hash': digest})
        previous_id, previous_hash, rows = row.id, digest, rows + 1
        if len(links) >= _PAGE:
            connection.execute(link, links)
            links = []
        if len(ends) >= _PAGE:
            connection.execute(sa.insert(heads), ends)
            ends = []
    if citizen is not None:
        ends.append({'chain': name, 'citizen_id': citizen, 'last_id': previous_id,
                     'last_hash': previous_hash})
    if links:
        connection.execute(link, links)
    if ends:
        connection.execute(sa.insert(heads), ends)
    log.info('%s: re-chained %d rows into %d chains, one per citizen', name, rows, chains)


def _heads_table(per_citizen: bool) -> None:
    columns = [sa.Column('chain', sa.String(length=64), nullable=False)]
    if per_citizen:
        columns.append(sa.Column('citizen_id', _ID, autoincrement=False, nullable=False))
    columns += [sa.Column('last_id', _ID if per_citizen else sa.Integer(), nullable=False),
                sa.Column('last_hash', sa.String(length=64), nullable=False)]
    key = ['chain', 'citizen_id'] if per_citizen else ['chain']
    op.create_table('audit_chain_heads', *columns,
                    sa.PrimaryKeyConstraint(*key, name=op.f('pk_audit_chain_heads')))


def upgrade() -> None:
    connection = op.get_bind()
    for name in _CONTENT:
        problem = _old_break(connection, name)
        if problem is not None:
            raise RuntimeError(
                f'{name}: the hash chain does not verify ({problem}); it is not re-chained. '
                'Find out what happened to the log (python -m core audit verify) before migrating.')
    op.drop_table('audit_chain_heads')
    _heads_table(per_citizen=True)
    for name in _CONTENT:
        op.add_column(name, sa.Column('prev_id', _ID, nullable=True))
        _rechain_per_citizen(connection, name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('prev_id', existing_type=_ID, nullable=False)
        if connection.dialect.name == 'postgresql':
            # Ids now come from the database (a sequence, as a BIGSERIAL column has); on SQLite
            # the INTEGER PRIMARY KEY hands them out already.
            op.execute(f'CREATE SEQUENCE {name}_id_seq OWNED BY {name}.id')
            op.execute(f"SELECT setval('{name}_id_seq', COALESCE(MAX(id), 0) + 1, false) FROM {name}")
            op.execute(f"ALTER TABLE {name} ALTER COLUMN id SET DEFAULT nextval('{name}_id_seq')")


def _rechain_one_line(connection: sa.Connection, name: str) -> None:
    """Back to one chain per table whose ids are positions: rows renumbered 1..n in id order
    (ascending, so a new id is never one still in use), then chained as the old code did."""
    table = _table(name)
    position, previous = 0, GENESIS
    renumber = (sa.update(table).where(table.c.id == sa.bindparam('row_id'))
                .values(id=sa.bindparam('position'), prev_hash=sa.bindparam('link_hash'),
                        hash=sa.bindparam('own_hash')))
    for row in _pages(connection, table, [table.c.id]):  # pages keyed on ids not yet renumbered
        position += 1
        digest = row_hash(previous, {'id': position, **_content(table, row)})
        connection.execute(renumber, {'row_id': row.id, 'position': position,
                                      'link_hash': previous, 'own_hash': digest})
        previous = digest
    connection.execute(sa.insert(sa.table('audit_chain_heads', sa.column('chain'), sa.column(
        'last_id'), sa.column('last_hash'))).values(chain=name, last_id=position, last_hash=previous))


def downgrade() -> None:
    connection = op.get_bind()
    op.drop_table('audit_chain_heads')
    _heads_table(per_citizen=False)
    for name in _CONTENT:
        if connection.dialect.name == 'postgresql':
            op.execute(f'ALTER TABLE {name} ALTER COLUMN id DROP DEFAULT')
            op.execute(f'DROP SEQUENCE {name}_id_seq')
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column('prev_id')
        _rechain_one_line(connection, name)
