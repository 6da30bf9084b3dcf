"""Marks a database carries about itself: which kind of deployment made it.

`core seed` marks the database it creates as the demo (`demo_seed`): the sandbox
runs only on such a database, so a demo can never be pointed at real people's data.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, String, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Database
from core.i18n import now_utc
from core.records.base import Base, UTCDateTime

DEMO_SEED = "demo_seed"
# Where the sandbox last served this demo database (its console's sign-in links point there).
SANDBOX_URL = "sandbox_url"


class DatabaseMark(Base):
    __tablename__ = "database_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


_MARKS = DatabaseMark.__table__


def has_mark(connection: Connection, name: str) -> bool:
    return connection.execute(select(_MARKS.c.name).where(_MARKS.c.name == name)).first() is not None


def mark_value(connection: Connection, name: str) -> str | None:
    return connection.execute(select(_MARKS.c.value).where(_MARKS.c.name == name)).scalar_one_or_none()


def set_mark(connection: Connection, name: str, value: str | None = None) -> None:
    """Marks the database (once: a mark already there keeps its first value and date)."""
    if not has_mark(connection, name):
        connection.execute(insert(_MARKS).values(name=name, value=value, created_at=now_utc()))


def put_mark(connection: Connection, name: str, value: str) -> None:
    """Sets a mark's value, replacing the one before (a mark that says where, not what)."""
    connection.execute(delete(_MARKS).where(_MARKS.c.name == name))
    connection.execute(insert(_MARKS).values(name=name, value=value, created_at=now_utc()))


async def is_demo(db: Database) -> bool:
    """True only for a database `core seed` filled from empty: every resident in it is synthetic."""
    return await db.read(has_mark, DEMO_SEED)
