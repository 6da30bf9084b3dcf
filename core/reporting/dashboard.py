"""What the dashboards show, for a ward, a health centre's area or the city: figures only.

Every read takes the stored figures (core.reporting.figures) and the day counts of events
(core.tallies): a few hundred small rows, never the residents. Nothing here names a person:
the dataclasses hold counts, codes and the names of wards and centres.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from core.db import Database
from core.i18n import TIMEZONE, now_utc
from core.records.completeness import RULES_BY_FIELD
from core.reference.wards import hanoi_wards, ward_by_code
from core.reporting.centres import Centre, _centres, centre_by_ward
from core.reporting.figures import CHANNELS, FIELDS, WardFieldFigures, WardFigures
from core.tallies import ACTIVATION, CHECKIN, WardTally, activation

WEEKS = 12  # the series' length: the current week and the 11 before it
RECENT_DAYS = 30  # "in the last 30 days" figures beside the stocks

_FIGURES = WardFigures.__table__
_FIELDS = WardFieldFigures.__table__
_TALLIES = WardTally.__table__


class UnknownArea(LookupError):
    """No such ward among the 126, or no such health centre."""


@dataclass(frozen=True)
class Totals:
    residents: int = 0
    complete: int = 0  # records with complete administrative details
    activated: int = 0  # residents with a linked account (any channel)
    telegram: int = 0  # linked Telegram accounts
    ussd: int = 0  # linked USSD accounts
    corrections_open: int = 0
    pending_values: int = 0  # volunteer entries waiting for a yes
    volunteers_active: int = 0  # with an entry in the last 30 days
    checkins_recent: int = 0  # check-ins in the last RECENT_DAYS days
    activations_recent: int = 0  # new activations in the last RECENT_DAYS days

    @property
    def complete_share(self) -> float:
        return self.complete / self.residents if self.residents else 0.0

    @property
    def activated_share(self) -> float:
        return self.activated / self.residents if self.residents else 0.0

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(getattr(self, f) + getattr(other, f) for f in _TOTALS))


_TOTALS = tuple(Totals.__dataclass_fields__)
_STORED = ("residents", "complete", "activated", *CHANNELS, "corrections_open", "pending_values",
           "volunteers_active")


@dataclass(frozen=True)
class WardRow:
    ward_code: str
    ward_name: str
    centre_code: str | None
    centre_name: str | None
    totals: Totals


@dataclass(frozen=True)
class Week:
    start: dt.date  # the Monday, Hanoi's calendar
    count: int
    telegram: int = 0  # for activations: the count by channel
    ussd: int = 0


@dataclass(frozen=True)
class FieldShare:
    field: str
    label: str  # a catalogue msgid: the page translates it
    expected: int  # residents the detail is asked of
    present: int

    @property
    def share(self) -> float:
        return self.present / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class Dashboard:
    scope: str  # "ward", "centre" or "city"
    code: str | None  # the ward's or centre's code; None for the city
    name: str  # the ward's or centre's name; "Hà Nội" for the city
    as_of: dt.datetime | None  # when the stored figures were counted (None: never yet)
    totals: Totals
    rows: tuple[WardRow, ...]  # per ward (a ward's own dashboard: its one row)
    activations: tuple[Week, ...]  # WEEKS weeks, oldest first
    checkins: tuple[Week, ...]
    completeness: tuple[FieldShare, ...]
    residents_without_ward: int = 0  # city only: active residents with no current ward


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _series(connection: Connection, wards: list[str] | None, today: dt.date
            ) -> tuple[tuple[Week, ...], tuple[Week, ...], int, int]:
    """The weekly activations and check-ins, and the last RECENT_DAYS' counts of each."""
    first = _monday(today) - dt.timedelta(weeks=WEEKS - 1)
    since = min(first, today - dt.timedelta(days=RECENT_DAYS - 1))
    statement = (select(_TALLIES.c.day, _TALLIES.c.kind, func.sum(_TALLIES.c.count).label("n"))
                 .where(_TALLIES.c.day >= since).group_by(_TALLIES.c.day, _TALLIES.c.kind))
    if wards is not None:
        statement = statement.where(_TALLIES.c.ward_code.in_(wards))
    weeks = [first + dt.timedelta(weeks=i) for i in range(WEEKS)]
    counts = {(week, kind): 0 for week in weeks for kind in (CHECKIN, *map(activation, CHANNELS))}
    recent_checkins = recent_activations = 0
    recent = today - dt.timedelta(days=RECENT_DAYS - 1)
    for row in connection.execute(statement):
        n = int(row.n)
        if row.day >= recent:
            if row.kind == CHECKIN:
                recent_checkins += n
            elif row.kind.startswith(ACTIVATION):
                recent_activations += n
        key = (_monday(row.day), row.kind)
        if key in counts:
            counts[key] += n
    activations = tuple(Week(week, sum(counts[(week, activation(c))] for c in CHANNELS),
                             counts[(week, activation("telegram"))], counts[(week, activation("ussd"))])
                        for week in weeks)
    checkins = tuple(Week(week, counts[(week, CHECKIN)]) for week in weeks)
    return activations, checkins, recent_checkins, recent_activations


def _shares(connection: Connection, wards: list[str] | None) -> tuple[FieldShare, ...]:
    statement = (select(_FIELDS.c.field, func.sum(_FIELDS.c.expected).label("e"),
                        func.sum(_FIELDS.c.present).label("p")).group_by(_FIELDS.c.field))
    if wards is not None:
        statement = statement.where(_FIELDS.c.ward_code.in_(wards))
    found = {row.field: (int(row.e or 0), int(row.p or 0)) for row in connection.execute(statement)}
    return tuple(FieldShare(name, RULES_BY_FIELD[name].label, *found.get(name, (0, 0))) for name in FIELDS)


def _rows(connection: Connection, wards: Iterable[str]) -> tuple[list[WardRow], dt.datetime | None]:
    wanted = list(wards)
    stored = {row.ward_code: row for row in connection.execute(
        select(_FIGURES).where(_FIGURES.c.ward_code.in_(wanted)))}
    centres = centre_by_ward(connection)
    rows, as_of = [], None
    for code in wanted:
        row = stored.get(code)
        totals = Totals(**{name: getattr(row, name) for name in _STORED}) if row else Totals()
        if row is not None:
            as_of = row.as_of if as_of is None else min(as_of, row.as_of)
        centre = centres.get(code)
        rows.append(WardRow(code, hanoi_wards()[code].name, centre[0] if centre else None,
                            centre[1] if centre else None, totals))
    return rows, as_of


def _dashboard(connection: Connection, scope: str, code: str | None, name: str, wards: list[str] | None,
               today: dt.date) -> Dashboard:
    listed = list(hanoi_wards()) if wards is None else wards
    rows, as_of = _rows(connection, listed)
    activations, checkins, recent_checkins, recent_activations = _series(connection, wards, today)
    totals = sum((row.totals for row in rows), Totals())
    totals = Totals(**{**{f: getattr(totals, f) for f in _TOTALS}, "checkins_recent": recent_checkins,
                       "activations_recent": recent_activations})
    without = 0
    if wards is None:  # residents of no current ward: counted for the city, in no ward's row
        without = int(connection.execute(select(func.coalesce(func.sum(_FIGURES.c.residents), 0))
                                         .where(_FIGURES.c.ward_code.not_in(listed))).scalar() or 0)
    return Dashboard(scope, code, name, as_of, totals, tuple(rows), activations, checkins,
                     _shares(connection, wards), without)


def _today() -> dt.date:
    return now_utc().astimezone(TIMEZONE).date()


async def ward_dashboard(db: Database, ward_code: str) -> Dashboard:
    ward = ward_by_code(ward_code)
    if ward is None:
        raise UnknownArea(ward_code)
    return await db.read(_dashboard, "ward", ward.code, ward.name, [ward.code], _today())


def _centre(connection: Connection, centre_code: str, today: dt.date) -> Dashboard:
    centre: Centre | None = next((c for c in _centres(connection) if c.code == centre_code), None)
    if centre is None:
        raise UnknownArea(centre_code)
    return _dashboard(connection, "centre", centre.code, centre.name, list(centre.ward_codes), today)


async def centre_dashboard(db: Database, centre_code: str) -> Dashboard:
    return await db.read(_centre, centre_code, _today())


async def city_dashboard(db: Database) -> Dashboard:
    return await db.read(_dashboard, "city", None, "Hà Nội", None, _today())


__all__ = ["Dashboard", "FieldShare", "Totals", "UnknownArea", "WardRow", "Week", "centre_dashboard",
           "city_dashboard", "ward_dashboard"]
