"""Regional health centres ("Trung tâm Y tế khu vực") and the wards each serves.

Since 01/07/2025 Hanoi has no districts: its 126 wards and
communes are served by regional health centres, whose areas the city's health department sets.
They come from the department's file (`python -m core import-health-centres FILE.csv`); the seed
writes a made-up set (source DEMO) so a demo has centres too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, ForeignKey, String, delete, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core import validation
from core.db import Database
from core.i18n import N_, Message, now_utc
from core.records.base import Base, UTCDateTime
from core.reference.wards import hanoi_wards
from core.text import clean

DEMO = "demo seed"  # the source of the seed's made-up centres
DEMO_CENTRES = 30


class HealthCentre(Base):
    __tablename__ = "health_centres"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))  # the file it came from, or DEMO
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class HealthCentreWard(Base):
    __tablename__ = "health_centre_wards"

    ward_code: Mapped[str] = mapped_column(String(5), primary_key=True)  # one centre per ward
    centre_code: Mapped[str] = mapped_column(String(16),
                                             ForeignKey("health_centres.code", ondelete="CASCADE"))


_CENTRES = HealthCentre.__table__
_AREAS = HealthCentreWard.__table__


@dataclass(frozen=True)
class Centre:
    code: str
    name: str
    ward_codes: tuple[str, ...]
    demo: bool


@dataclass(frozen=True)
class CentreRow:
    line: int
    code: str
    name: str
    ward_code: str


@dataclass(frozen=True)
class Problem:
    line: int
    message: Message


class CentresRefused(Exception):
    """The file was not loaded: every problem found, by line; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


HEADER = ("centre_code", "centre_name", "ward_code")


def read_rows(text: str) -> tuple[list[CentreRow], list[Problem]]:
    """The file's rows, each ward checked against the 126 current wards: the rows and the problems."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[CentreRow] = []
    problems: list[Problem] = []
    first = True
    for number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        if first and fields and fields[0].strip().lower() == HEADER[0]:
            first = False
            continue
        first = False
        if len(fields) != 3:
            problems.append(Problem(number, Message(N_("A line has three columns: centre code, centre "
                                                      "name, ward code."))))
            continue
        code, name, ward = (clean(f) for f in fields)
        if not code or not name:
            problems.append(Problem(number, Message(N_("The centre code or name is empty."))))
            continue
        try:
            rows.append(CentreRow(number, code, name, validation.ward_code(ward)))
        except validation.InvalidValue as error:
            problems.append(Problem(number, error.message))
    seen: dict[str, CentreRow] = {}
    names: dict[str, str] = {}
    for row in rows:
        if row.ward_code in seen and seen[row.ward_code].code != row.code:
            problems.append(Problem(row.line, Message(
                N_("Ward {ward} is already in centre {centre}: a ward belongs to one centre."),
                {"ward": row.ward_code, "centre": seen[row.ward_code].code})))
        seen.setdefault(row.ward_code, row)
        if names.setdefault(row.code, row.name) != row.name:
            problems.append(Problem(row.line, Message(N_("Centre {centre} has two different names."),
                                                      {"centre": row.code})))
    return rows, sorted(problems, key=lambda p: p.line)


def _replace(connection: Connection, rows: list[CentreRow], source: str) -> None:
    # The file is the whole list: centres and areas are replaced together, in one transaction.
    connection.execute(delete(_AREAS))
    connection.execute(delete(_CENTRES))
    now = now_utc()
    centres = {row.code: row.name for row in rows}
    if centres:
        connection.execute(insert(_CENTRES), [{"code": code, "name": name, "source": source, "loaded_at": now}
                                              for code, name in centres.items()])
        areas = {row.ward_code: row.code for row in rows}
        connection.execute(insert(_AREAS), [{"ward_code": w, "centre_code": c} for w, c in areas.items()])


async def import_centres(db: Database, path: Path) -> tuple[int, int, list[str]]:
    """Loads the department's file in place of the centres there were: (centres, wards, the
    current wards no centre covers). Raises CentresRefused, writing nothing, on any bad line."""
    rows, problems = read_rows(path.read_text(encoding="utf-8"))
    if problems:
        raise CentresRefused(problems)
    await db.write(_replace, rows, path.name)
    covered = {row.ward_code for row in rows}
    return len({row.code for row in rows}), len(covered), [w for w in hanoi_wards() if w not in covered]


def demo_rows() -> list[CentreRow]:
    """A made-up but plausible set: the 126 wards in code order (neighbours mostly share a prefix
    of their code), cut into DEMO_CENTRES areas, each named after its first ward."""
    wards = list(hanoi_wards().values())
    rows = []
    size, extra = divmod(len(wards), DEMO_CENTRES)
    start = 0
    for number in range(1, DEMO_CENTRES + 1):
        end = start + size + (1 if number <= extra else 0)
        area = wards[start:end]
        first = area[0].name
        place = first.split(" ", 1)[-1] if first.startswith(("Phường ", "Xã ")) else first
        name = f"Trung tâm Y tế khu vực {place}"
        rows.extend(CentreRow(0, f"TTYT{number:02d}", name, ward.code) for ward in area)
        start = end
    return rows


def seed_demo_centres(connection: Connection) -> bool:
    """The seed's centres, unless the database already has centres: True when written."""
    if connection.execute(select(_CENTRES.c.code).limit(1)).first() is not None:
        return False
    _replace(connection, demo_rows(), DEMO)
    return True


def _centres(connection: Connection) -> list[Centre]:
    areas: dict[str, list[str]] = {}
    for row in connection.execute(select(_AREAS).order_by(_AREAS.c.ward_code)):
        areas.setdefault(row.centre_code, []).append(row.ward_code)
    return [Centre(row.code, row.name, tuple(areas.get(row.code, ())), row.source == DEMO)
            for row in connection.execute(select(_CENTRES).order_by(_CENTRES.c.code))]


async def centres(db: Database) -> list[Centre]:
    """Every health centre with its wards, by code."""
    return await db.read(_centres)


def _centre_of(connection: Connection, ward_code: str) -> Centre | None:
    code = connection.execute(select(_AREAS.c.centre_code).where(_AREAS.c.ward_code == ward_code)).scalar()
    return next((c for c in _centres(connection) if c.code == code), None) if code else None


async def centre_of(db: Database, ward_code: str) -> Centre | None:
    """The health centre that serves the ward; None when no centre is loaded for it."""
    return await db.read(_centre_of, ward_code)


def centre_by_ward(connection: Connection) -> dict[str, tuple[str, str]]:
    """ward code -> (centre code, centre name), for every ward a centre serves."""
    rows = connection.execute(select(_AREAS.c.ward_code, _CENTRES.c.code, _CENTRES.c.name)
                              .join(_CENTRES, _CENTRES.c.code == _AREAS.c.centre_code))
    return {row.ward_code: (row.code, row.name) for row in rows}
