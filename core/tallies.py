"""Counts of events per ward and day, kept in the transaction of the event itself.

The dashboards' series (activations and check-ins per week) and the monthly report's flows read
these few rows, never the accounts or the access log: a ward's count is one row a day, made +1
where the event is written (core.identity.accounts.link_citizen, core.consent.access). The ward
is the resident's ward when the event happened, so a month already past reads the same later,
whoever moved since.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Date, Index, Integer, String, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import TIMEZONE, now_utc
from core.records.base import Base
from core.records.citizen import Citizen

ACTIVATION = "activation"  # a resident's first linked account on a channel: activation_<channel>
CHECKIN = "checkin"  # a check-in code opened at a clinic's desk (by QR link or spoken code)
NO_WARD = ""  # the key of residents without a ward (a key column cannot be NULL)


def activation(channel: str) -> str:
    return f"{ACTIVATION}_{channel}"


class WardTally(Base):
    __tablename__ = "ward_tallies"
    __table_args__ = (Index("ix_ward_tallies_day", "day", "kind"),)

    ward_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # Hanoi's date of the event
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


_TALLIES = WardTally.__table__
_CITIZENS = Citizen.__table__


def count_event(connection: Connection, kind: str, citizen_id: int, at: dt.datetime | None = None) -> None:
    """+1 for the resident's ward on the event's day, in the caller's transaction. Two events of
    one ward at once wait for each other on that one row, for the rest of the shorter one."""
    ward = connection.execute(select(_CITIZENS.c.ward_code).where(_CITIZENS.c.id == citizen_id)).scalar()
    day = (at or now_utc()).astimezone(TIMEZONE).date()
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(_TALLIES).values(ward_code=ward or NO_WARD, day=day, kind=kind, count=1)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["ward_code", "day", "kind"], set_={"count": _TALLIES.c.count + 1}))
