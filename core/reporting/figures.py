"""Per-ward figures, stored and refreshed, so that no page counts a million residents.

`refresh` counts everything once, in one transaction per refresh, into small tables:
`ward_figures` (one row per ward: the stocks and what waits now), `ward_field_figures` (per
ward and detail: how many are asked it and how many have it) and `ward_month_stocks` (the
month's stocks, overwritten by every refresh of that month, so the last one of a month is its
month-end figure and a month past never changes). Events (activations, check-ins) are counted as
they happen, in core.tallies. Every worker's outbox loop asks `refresh_if_due` every few
seconds; a claim in `database_marks` lets one worker refresh each EHR_FIGURES_MINUTES (5).
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.corrections.model import CorrectionRequest, RequestStatus
from core.db import Database, insert_if_absent
from core.i18n import TIMEZONE, now_utc
from core.identity.accounts import ChannelAccount
from core.marks import DatabaseMark
from core.records.base import Base, UTCDateTime
from core.records.citizen import Citizen, active_only
from core.records.completeness import RULES, expected_clause, present_clause, recount_city
from core.tallies import NO_WARD
from core.volunteering.model import PendingStatus, PendingValue

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "ussd")  # the channels a resident activates an account on
FIELDS = tuple(rule.field for rule in RULES if rule.counts)  # the details completeness counts
ACTIVE_DAYS = 30  # a volunteer is active with an entry in the last 30 days
CLAIM = "figures_refresh"  # the mark whose value is the time of the last refresh claimed


def every() -> dt.timedelta:
    return dt.timedelta(minutes=float(os.environ.get("EHR_FIGURES_MINUTES") or 5))


class WardFigures(Base):
    __tablename__ = "ward_figures"

    ward_code: Mapped[str] = mapped_column(String(5), primary_key=True)  # NO_WARD: without a ward
    residents: Mapped[int] = mapped_column(Integer)  # active
    complete: Mapped[int] = mapped_column(Integer)  # no counted detail missing or invalid
    activated: Mapped[int] = mapped_column(Integer)  # with a linked account on any channel
    telegram: Mapped[int] = mapped_column(Integer)
    ussd: Mapped[int] = mapped_column(Integer)
    corrections_open: Mapped[int] = mapped_column(Integer)
    pending_values: Mapped[int] = mapped_column(Integer)
    volunteers_active: Mapped[int] = mapped_column(Integer)  # in the last ACTIVE_DAYS
    as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WardFieldFigures(Base):
    __tablename__ = "ward_field_figures"

    ward_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    expected: Mapped[int] = mapped_column(Integer)  # residents the detail is asked of
    present: Mapped[int] = mapped_column(Integer)  # of them, with a value


class WardMonthStocks(Base):
    __tablename__ = "ward_month_stocks"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-11, Hanoi's calendar
    ward_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)
    complete: Mapped[int] = mapped_column(Integer)
    activated: Mapped[int] = mapped_column(Integer)
    telegram: Mapped[int] = mapped_column(Integer)
    ussd: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime)


STOCKS = ("residents", "complete", "activated", *CHANNELS)
_FIGURES = WardFigures.__table__
_FIELDS = WardFieldFigures.__table__
_MONTHS = WardMonthStocks.__table__
_CITIZENS = Citizen.__table__
_ACCOUNTS = ChannelAccount.__table__
_CORRECTIONS = CorrectionRequest.__table__
_PENDING = PendingValue.__table__
_MARKS = DatabaseMark.__table__


def _ward(column):  # NULL ward -> NO_WARD (a key column); as SQL text, so GROUP BY matches SELECT
    return func.coalesce(column, literal_column(f"'{NO_WARD}'"))


def _blank() -> dict[str, int]:
    return {**dict.fromkeys(("residents", "complete", "activated", *CHANNELS, "corrections_open",
                             "pending_values", "volunteers_active"), 0),
            **{f"{p}_{f}": 0 for f in FIELDS for p in "ep"}}


def count_wards(connection: Connection, now: dt.datetime,
                only: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Every figure of every ward (or of the wards `only`), counted now from the rows: what
    refresh stores, and what the benchmark's baseline computes per request."""
    today = now.astimezone(TIMEZONE).date()
    ward = _ward(_CITIZENS.c.ward_code)
    columns = [ward.label("ward"), func.count().label("residents"),
               func.sum(case((_CITIZENS.c.gaps == 0, 1), else_=0)).label("complete")]
    for rule in RULES:
        if not rule.counts:
            continue
        expected = expected_clause(rule, today)
        present = present_clause(rule)
        columns.append(func.sum(case((expected, 1), else_=0)).label(f"e_{rule.field}") if expected is not None
                       else func.count().label(f"e_{rule.field}"))
        has = present if expected is None else and_(expected, present)
        columns.append(func.sum(case((has, 1), else_=0)).label(f"p_{rule.field}"))
    wards: dict[str, dict[str, int]] = {}
    residents = select(*columns).where(active_only()).group_by(ward)
    if only is not None:
        residents = residents.where(_CITIZENS.c.ward_code.in_(only))
    for row in connection.execute(residents):
        wards[row.ward] = {**_blank(), **{key: int(value or 0) for key, value in row._mapping.items()
                                          if key != "ward"}}
    linked = (select(ward.label("ward"), _ACCOUNTS.c.channel, func.count().label("n"))
              .select_from(_ACCOUNTS.join(_CITIZENS, _CITIZENS.c.id == _ACCOUNTS.c.citizen_id))
              .where(active_only()).group_by(ward, _ACCOUNTS.c.channel))
    anyone = (select(ward.label("ward"), func.count(distinct(_ACCOUNTS.c.citizen_id)).label("n"))
              .select_from(_ACCOUNTS.join(_CITIZENS, _CITIZENS.c.id == _ACCOUNTS.c.citizen_id))
              .where(active_only()).group_by(ward))
    if only is not None:
        linked = linked.where(_CITIZENS.c.ward_code.in_(only))
        anyone = anyone.where(_CITIZENS.c.ward_code.in_(only))
    for row in connection.execute(linked):
        if row.channel in CHANNELS:
            wards[row.ward][row.channel] = row.n
    for row in connection.execute(anyone):
        wards[row.ward]["activated"] = row.n
    since = now - dt.timedelta(days=ACTIVE_DAYS)
    for key, statement in (
        ("corrections_open", select(_ward(_CORRECTIONS.c.ward_code).label("ward"), func.count().label("n"))
         .where(_CORRECTIONS.c.status == RequestStatus.PENDING).group_by(_ward(_CORRECTIONS.c.ward_code))),
        ("pending_values", select(_ward(_PENDING.c.ward_code).label("ward"), func.count().label("n"))
         .where(_PENDING.c.status == PendingStatus.PENDING).group_by(_ward(_PENDING.c.ward_code))),
        ("volunteers_active", select(_ward(_PENDING.c.ward_code).label("ward"),
                                     func.count(distinct(_PENDING.c.staff_id)).label("n"))
         .where(_PENDING.c.created_at >= since).group_by(_ward(_PENDING.c.ward_code))),
    ):
        for row in connection.execute(statement):
            if only is None or row.ward in only:
                wards.setdefault(row.ward, _blank())[key] = row.n
    return wards


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _store(connection: Connection, now: dt.datetime) -> int:
    wards = count_wards(connection, now)
    connection.execute(delete(_FIGURES))
    connection.execute(delete(_FIELDS))
    month = month_key(now.astimezone(TIMEZONE).date())
    connection.execute(delete(_MONTHS).where(_MONTHS.c.month == month))
    if wards:
        connection.execute(insert(_FIGURES), [
            {"ward_code": ward, "as_of": now, **{c.name: f[c.name] for c in _FIGURES.c
                                                 if c.name not in ("ward_code", "as_of")}}
            for ward, f in wards.items()])
        connection.execute(insert(_FIELDS), [
            {"ward_code": ward, "field": name, "expected": f[f"e_{name}"], "present": f[f"p_{name}"]}
            for ward, f in wards.items() for name in FIELDS])
        connection.execute(insert(_MONTHS), [
            {"month": month, "ward_code": ward, "as_of": now, **{k: f[k] for k in STOCKS}}
            for ward, f in wards.items()])
    return len(wards)


async def refresh(db: Database, now: dt.datetime | None = None) -> int:
    """Makes the stored figures current: the residents' gap counts that are missing or due
    first (core.records.completeness), then every ward's figures in one transaction, stamped
    `now`. The number of wards stored."""
    now = now or now_utc()
    await recount_city(db, now.astimezone(TIMEZONE).date())
    return await db.write(_store, now)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")  # sorts as text


def claim(connection: Connection, now: dt.datetime, interval: dt.timedelta) -> bool:
    """Whether this worker refreshes now: the mark's time is moved to `now` only if the last
    claim is older than `interval`, in one conditional UPDATE, so of two workers at once one
    finds the condition already false (PostgreSQL re-reads the row after the other's commit;
    SQLite writes one at a time)."""
    insert_if_absent(connection, _MARKS, {"name": CLAIM, "value": "", "created_at": now}, ("name",))
    moved = connection.execute(update(_MARKS).where(
        _MARKS.c.name == CLAIM, _MARKS.c.value < _stamp(now - interval)).values(value=_stamp(now)))
    return moved.rowcount == 1


ASK_EVERY = dt.timedelta(minutes=1)


class RefreshSchedule:
    """A worker's side of the claim: asks the database at most once a minute, so a loop that
    turns every few seconds costs no write each turn."""

    def __init__(self) -> None:
        self._asked: dt.datetime | None = None

    async def tick(self, db: Database) -> bool:
        now = now_utc()
        if self._asked is not None and now - self._asked < min(ASK_EVERY, every()):
            return False
        self._asked = now
        return await refresh_if_due(db, now)


async def refresh_if_due(db: Database, now: dt.datetime | None = None) -> bool:
    """Refreshes if no worker did in the last EHR_FIGURES_MINUTES: True when this one did."""
    now = now or now_utc()
    if not await db.write(claim, now, every()):
        return False
    started = now_utc()
    wards = await refresh(db, now)
    log.info("ward figures refreshed: %s wards in %.1f s", wards, (now_utc() - started).total_seconds())
    return True
