"""Append-only tables chained by hashes, so that a changed, inserted or deleted row shows.

Each row stores the hash of the row before it and its own hash over its content
and that link. The head of each chain (the last id and hash) is kept apart, so a
deleted last row shows too. Writers take the head row's lock, so the chain stays
a line under concurrent writers on PostgreSQL; SQLite has one writer at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, Table, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base

GENESIS = "0" * 64


class ChainHead(Base):
    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


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


_HEADS = ChainHead.__table__


def append(connection: Connection, table: Table, content: dict[str, Any]) -> int:
    """Inserts one row at the end of `table`'s chain; returns its id."""
    name = table.name
    head = connection.execute(
        select(_HEADS.c.last_id, _HEADS.c.last_hash).where(_HEADS.c.chain == name).with_for_update()
    ).one_or_none()
    if head is None:
        connection.execute(insert(_HEADS).values(chain=name, last_id=0, last_hash=GENESIS))
        head = connection.execute(select(_HEADS.c.last_id, _HEADS.c.last_hash)
                                  .where(_HEADS.c.chain == name).with_for_update()).one()
    new_id = head.last_id + 1  # ids are the chain's positions: a gap is a deleted row
    digest = row_hash(head.last_hash, {"id": new_id, **content})
    connection.execute(insert(table).values(id=new_id, prev_hash=head.last_hash, hash=digest, **content))
    connection.execute(update(_HEADS).where(_HEADS.c.chain == name)
                       .values(last_id=new_id, last_hash=digest))
    return new_id


@dataclass(frozen=True)
class Break:
    chain: str
    row_id: int
    problem: str  # "changed", "inserted" or "deleted"


def verify(connection: Connection, table: Table, content_columns: tuple[str, ...]) -> Break | None:
    """The first place the chain of `table` does not hold, or None."""
    name = table.name
    previous_hash, expected_id = GENESIS, 1
    columns = [table.c.id, table.c.prev_hash, table.c.hash, *(table.c[c] for c in content_columns)]
    rows: Iterator[Any] = connection.execute(select(*columns).order_by(table.c.id)).yield_per(5000)
    for row in rows:
        if row.id != expected_id:
            if row.id > expected_id:
                return Break(name, expected_id, "deleted")
            return Break(name, row.id, "inserted")
        if row.prev_hash != previous_hash:
            return Break(name, row.id, "inserted")
        content = {"id": row.id, **{c: getattr(row, c) for c in content_columns}}
        if row_hash(previous_hash, content) != row.hash:
            return Break(name, row.id, "changed")
        previous_hash, expected_id = row.hash, expected_id + 1
    head = connection.execute(select(_HEADS.c.last_id, _HEADS.c.last_hash)
                              .where(_HEADS.c.chain == name)).one_or_none()
    last_id = head.last_id if head is not None else 0
    if last_id > expected_id - 1:
        return Break(name, expected_id, "deleted")  # the last rows are gone
    if last_id < expected_id - 1:
        return Break(name, last_id + 1, "inserted")  # rows added behind the chain's back
    if head is not None and head.last_hash != previous_hash:
        return Break(name, last_id, "changed")
    return None
