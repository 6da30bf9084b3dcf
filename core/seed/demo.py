"""Demo residents for the sandbox: real rows of the seeded database a newcomer can try."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from core import families
from core.families.rules import PROXY_POWERS
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
    # "with_visits", "older", "with_gaps", "no_phone"; a household: "parent" (guardian of "child",
    # proxy of "elder", the parent's own elderly parent or parent-in-law)
    kind: str
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
    """Chooses the demo residents once and keeps the choice (the seed, or a sandbox's first start);
    the household's elder names the parent as proxy, as they would at the ward health station."""
    if mark_value(connection, PERSONAS) is None:
        picks = _choose(connection)
        set_mark(connection, PERSONAS, ",".join(f"{p.kind}:{p.citizen_id}" for p in picks))
        by_kind = {p.kind: p.citizen_id for p in picks}
        if "parent" in by_kind and "elder" in by_kind:
            families.grant_proxy(connection, by_kind["elder"], by_kind["parent"], PROXY_POWERS,
                                 today=today_hanoi(), channel="station", tell=False)


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
    picks += _household(connection, today, {p.citizen_id for p in picks})
    return picks


def _household(connection: Connection, today, taken: set[int], *, scan: int = 2000) -> list[DemoResident]:
    """A parent with a phone, the registered guardian of a child of 7 to 13, and an elder of the
    same home (65 or more): the household a newcomer tries families with."""
    c = Citizen.__table__
    parent = c.alias("parent")
    pairs = connection.execute(
        select(c.c.id, c.c.full_name, c.c.personal_id, c.c.birth_date, c.c.phone, c.c.ward_code,
               parent.c.id.label("p_id"), parent.c.full_name.label("p_name"),
               parent.c.personal_id.label("p_pid"), parent.c.birth_date.label("p_birth"),
               parent.c.phone.label("p_phone"), parent.c.street_address.label("p_address"))
        .join(parent, parent.c.id == c.c.guardian_id)
        .where(c.c.status == CitizenStatus.ACTIVE, parent.c.status == CitizenStatus.ACTIVE,
               parent.c.phone.is_not(None))
        .order_by(c.c.id).limit(scan)).all()
    for row in sorted(pairs, key=lambda r: abs(r.birth_date.age_on(today) - 7)):
        if row.id in taken or row.p_id in taken or not row.p_birth.is_full \
                or not 7 <= row.birth_date.age_on(today) < 14 or row.p_birth.age_on(today) > 55:
            continue
        elder = connection.execute(
            select(c.c.id, c.c.full_name, c.c.personal_id, c.c.birth_date, c.c.phone, c.c.ward_code)
            .where(c.c.street_address == row.p_address, c.c.ward_code == row.ward_code,
                   c.c.status == CitizenStatus.ACTIVE, c.c.id.not_in([row.id, row.p_id, *taken]))
            .order_by(c.c.id)).all()
        elder = next((e for e in elder if e.birth_date.age_on(today) >= 65), None)
        if elder is None:
            continue
        return [DemoResident(row.p_id, row.p_name, row.p_pid, row.p_birth, row.p_phone, "parent",
                             row.ward_code),
                DemoResident(row.id, row.full_name, row.personal_id, row.birth_date, None, "child",
                             row.ward_code),
                DemoResident(elder.id, elder.full_name, elder.personal_id, elder.birth_date, elder.phone,
                             "elder", elder.ward_code)]
    return []


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
