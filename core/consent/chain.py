"""Append-only tables chained by hashes, one chain per citizen, so a changed, inserted or deleted
row shows.

Every read of a book and every consent change is about one citizen, so each citizen's rows form
a chain of their own: a row stores the id and the hash of the row before it in that chain (0
and the genesis hash for the first) and its own hash over its content and that link. Ids stay
unique across the table (the database hands them out) but are no longer positions: the link is
the stored previous id. The head of each chain (its last id and hash) is kept apart, so a deleted
last row shows too. A writer locks only its citizen's head row: reads of different citizens'
books never wait on one another, and one citizen's chain stays a line under concurrent writers on
PostgreSQL (SQLite has one writer at a time). A citizen's history can be checked on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, Table, and_, exists, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.db import lock_or_insert
from core.records.base import Base, BigIntPK

GENESIS = "0" * 64


class ChainHead(Base):
    """The end of one citizen's chain in one table."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)  # the table's name
    citizen_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigIntPK, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class Chained:
    """The columns every chained row has besides its content."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    prev_id: Mapped[int] = mapped_column(BigIntPK)  # the row before in the citizen's chain, or 0
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_hash(previous: str, content: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and the row's content in a fixed, typed form."""
    body = json.dumps({k: _canonical(v) for k, v in sorted(content.items())},
                      ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{body}".encode()).hexdigest()


def link_hash(prev_id: int, prev_hash: str, content: Mapping[str, Any]) -> str:
    """A chained row's hash: its content and the link to the row before it (id and hash). The
    row's own id is not known before the insert; the next row's link (or the head) holds it."""
    return row_hash(prev_hash, {"prev_id": prev_id, **content})


_HEADS = ChainHead.__table__


def append(connection: Connection, table: Table, content: dict[str, Any]) -> int:
    """Inserts one row at the end of its citizen's chain in `table`; returns its id."""
    key = and_(_HEADS.c.chain == table.name, _HEADS.c.citizen_id == content["citizen_id"])
    # The head, locked till commit; made for the citizen's first row (two first rows at once
    # make one head, the second waits for the first).
    head = lock_or_insert(connection, _HEADS, {"chain": table.name, "citizen_id": content["citizen_id"],
                                               "last_id": 0, "last_hash": GENESIS},
                          ("chain", "citizen_id"), ("last_id", "last_hash"))
    digest = link_hash(head.last_id, head.last_hash, content)
    new_id = connection.execute(
        insert(table).values(prev_id=head.last_id, prev_hash=head.last_hash, hash=digest, **content)
        .returning(table.c.id)).scalar_one()
    connection.execute(update(_HEADS).where(key).values(last_id=new_id, last_hash=digest))
    return new_id


@dataclass(frozen=True)
class Break:
    chain: str
    row_id: int
    problem: str  # "changed", "inserted" or "deleted"


def _walk(name: str, rows: Iterable[Any], content_columns: tuple[str, ...]) -> Break | None:
    """The first place one citizen's chain (its rows in id order, each with the head) breaks."""
    previous_id, previous_hash, first, last = 0, GENESIS, None, None
    for row in rows:
        first, last = first or row, row
        if row.prev_id != previous_id:
            if row.prev_id > previous_id:  # the row it links to is gone
                return Break(name, row.prev_id, "deleted")
            return Break(name, row.id, "inserted")
        if row.prev_hash != previous_hash:
            return Break(name, row.id, "inserted")
        content = {c: getattr(row, c) for c in content_columns}
        if link_hash(row.prev_id, row.prev_hash, content) != row.hash:
            return Break(name, row.id, "changed")
        previous_id, previous_hash = row.id, row.hash
    assert first is not None and last is not None
    if last.head_id is None:
        return Break(name, first.id, "inserted")  # a whole chain added behind the log's back
    if last.head_id > previous_id:
        return Break(name, last.head_id, "deleted")  # the last rows are gone
    if last.head_id < previous_id:
        return Break(name, previous_id, "inserted")
    if last.head_hash != previous_hash:
        return Break(name, previous_id, "changed")
    return None


def verify(connection: Connection, table: Table, content_columns: tuple[str, ...],
           citizen_id: int | None = None) -> Break | None:
    """The first place a chain of `table` does not hold (only `citizen_id`'s when given), or None."""
    name = table.name
    joined = and_(_HEADS.c.chain == name, _HEADS.c.citizen_id == table.c.citizen_id)
    query = (select(table.c.id, table.c.prev_id, table.c.prev_hash, table.c.hash,
                    *(table.c[c] for c in content_columns),
                    _HEADS.c.last_id.label("head_id"), _HEADS.c.last_hash.label("head_hash"))
             .outerjoin(_HEADS, joined).order_by(table.c.citizen_id, table.c.id))
    orphans = (select(_HEADS.c.last_id).where(_HEADS.c.chain == name, _HEADS.c.last_id != 0,
                                              ~exists().where(table.c.citizen_id == _HEADS.c.citizen_id))
               .order_by(_HEADS.c.citizen_id).limit(1))
    if citizen_id is not None:
        query = query.where(table.c.citizen_id == citizen_id)
        orphans = orphans.where(_HEADS.c.citizen_id == citizen_id)
    rows = connection.execute(query).yield_per(5000)
    for _citizen, chain in itertools.groupby(rows, key=lambda row: row.citizen_id):
        problem = _walk(name, chain, content_columns)
        if problem is not None:
            rows.close()
            return problem
    emptied = connection.execute(orphans).scalar()  # a chain whose rows are all gone
    return Break(name, emptied, "deleted") if emptied is not None else None
