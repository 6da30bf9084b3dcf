"""Demo residents for the sandbox: real rows of the seeded database a newcomer can try."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from core.i18n import today_hanoi
from core.marks import mark_value, set_mark
from core.records.citizen import Citizen
from core.records.insurance import InsuranceCard
from core.records.visit import Visit
from core.values import CitizenStatus, PartialDate


@dataclass(frozen=True)
class DemoResident:
    citizen_id: int
    full_name: str
    personal_id: str
    birth_date: PartialDate
    phone: str | None
    kind: str  # "with_visits", "older", "with_gaps", "no_phone"
    ward_code: str | None = None


# The residents chosen once, kept in the database: filling a demo resident's gaps, or verifying
# one, must not swap the personas (and the volunteer's ward) under a newcomer's feet.
PERSONAS = "demo_personas"


def demo_residents(connection: Connection) -> list[DemoResident]:
    """The demo residents: those remembered for this database, else chosen now."""
    stored = mark_value(connection, PERSONAS)
    if not stored:
        return _choose(connection)
    chosen = [(kind, int(citizen_id)) for kind, citizen_id in
              (item.split(":") for item in stored.split(","))]
    c = Citizen.__table__
    rows = {r.id: r for r in connection.execute(
        select(c.c.id, c.c.full_name, c.c.personal_id, c.c.birth_date, c.c.phone, c.c.ward_code)
        .where(c.c.id.in_([citizen_id for _, citizen_id in chosen])))}
    return [DemoResident(row.id, row.full_name, row.personal_id, row.birth_date, row.phone, kind,
                         row.ward_code) for kind, citizen_id in chosen if (row := rows.get(citizen_id))]


def remember_demo_residents(connection: Connection) -> None:
    """Chooses the demo residents once and keeps the choice (the seed, or a sandbox's first start)."""
    if mark_value(connection, PERSONAS) is None:
        picks = _choose(connection)
        set_mark(connection, PERSONAS, ",".join(f"{p.kind}:{p.citizen_id}" for p in picks))


def _choose(connection: Connection, *, scan: int = 400) -> list[DemoResident]:
    """An adult with visits and a card, an older resident, one with details missing, one with no phone.

    Looks at the first `scan` residents only: enough in a seeded city, cheap in a large one.
    """
    c = Citizen.__table__
    has_visits = exists().where(Visit.__table__.c.citizen_id == c.c.id)
    has_card = exists().where(InsuranceCard.__table__.c.citizen_id == c.c.id)
    rows = connection.execute(
        select(c.c.id, c.c.full_name, c.c.personal_id, c.c.birth_date, c.c.phone, c.c.ward_code,
               c.c.ethnicity_code, c.c.blood_group, c.c.occupation,
               has_visits.label("has_visits"), has_card.label("has_card"))
        .where(c.c.status == CitizenStatus.ACTIVE).order_by(c.c.id).limit(scan)).all()
    today = today_hanoi()
    picks: list[DemoResident] = []

    def pick(kind: str, rule) -> None:
        taken = {p.citizen_id for p in picks}
        row = next((r for r in rows if r.id not in taken and r.birth_date.is_full and rule(r)), None)
        if row is not None:
            picks.append(DemoResident(row.id, row.full_name, row.personal_id, row.birth_date,
                                      row.phone, kind, row.ward_code))

    pick("with_visits", lambda r: r.phone and r.has_visits and r.has_card
         and 30 <= r.birth_date.age_on(today) < 60)
    pick("older", lambda r: r.phone and r.has_visits and r.birth_date.age_on(today) >= 60)
    pick("with_visits", lambda r: r.phone and r.has_visits)
    # Someone a ward volunteer (or the person, with /update) can complete.
    pick("with_gaps", lambda r: r.phone and r.ward_code and r.birth_date.age_on(today) >= 18
         and (r.ethnicity_code is None or r.blood_group is None or r.occupation is None))
    pick("no_phone", lambda r: not r.phone and r.birth_date.age_on(today) >= 18)
    return picks


@dataclass(frozen=True)
class DemoFacility:
    code: str
    name: str


def demo_facilities(connection: Connection, limit: int = 3) -> list[DemoFacility]:
    """Facilities whose reception a newcomer can play: a hospital, a polyclinic, a health station."""
    from core.records.facility import Facility, FacilityKind

    f = Facility.__table__
    picks: list[DemoFacility] = []
    for kind in (FacilityKind.HOSPITAL, FacilityKind.POLYCLINIC, FacilityKind.HEALTH_STATION):
        row = connection.execute(select(f.c.code, f.c.name).where(f.c.kind == kind)
                                 .order_by(f.c.code).limit(1)).first()
        if row is not None:
            picks.append(DemoFacility(row.code, row.name))
    return picks[:limit]
