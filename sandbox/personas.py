"""The people a newcomer can play on the chat page: demo residents, feature phones, desks, volunteers.

Only on a database the demo seed made: a resident's persona carries their ID,
birth date and phone for the page to show and share, which is fine for
synthetic people and never for real ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

import bot.flows.journeys  # noqa: F401  (the registry the hints name commands from)
from bot.flows.registry import typed
from core.db import Database
from core.i18n import N_, Translator, translator
from core.identity import accounts
from core.identity.accounts import ChannelAccount
from core.privacy import mask_personal_id, mask_phone
from core.reference.wards import ward_by_code
from core.seed.demo import DemoResident, demo_facilities, demo_residents
from core.staff import service as staff
from core.staff.model import StaffRole
from core.staff.service import Staff
from core.validation import phone_national
from sandbox.ussd_operator import SERVICE_CODE

# The Bot API documents user ids as having at most 52 significant bits: from 2**52 up no
# real Telegram account can have the id, and below 2**53 the page's JavaScript numbers
# still hold it exactly. Each kind of persona has its own 2**48 block of that range.
IMPOSSIBLE_USER_IDS = 2**52
CITIZEN_BASE = IMPOSSIBLE_USER_IDS  # + the citizen id
FEATURE_PHONE_BASE = IMPOSSIBLE_USER_IDS + 1 * 2**48  # + the citizen id (USSD)
RECEPTION_BASE = IMPOSSIBLE_USER_IDS + 2 * 2**48  # + the facility code
VOLUNTEER_BASE = IMPOSSIBLE_USER_IDS + 3 * 2**48  # + the ward code
STATION_BASE = IMPOSSIBLE_USER_IDS + 3 * 2**48 + 2**40  # + the ward code (health station staff)
GUEST_BASE = IMPOSSIBLE_USER_IDS + 4 * 2**48  # and up: the page's "new person" (chat.js)


def persona(resident: DemoResident, t: Translator,
            household: list[DemoResident] | None = None) -> dict[str, Any]:
    family, _, given = resident.full_name.rpartition(" ")
    kin = {r.kind: r for r in household or ()}
    if resident.kind == "parent" and "child" in kin and "elder" in kin:
        # The household persona: the menu lists the child's and the elder's books as well.
        hint = t.text(N_("Personal ID {personal_id}, born {birth_date}. Guardian of {child} and named "
                         "by {elder} to help: their books are in the menu"),
                      personal_id=resident.personal_id, birth_date=resident.birth_date.display(),
                      child=kin["child"].full_name, elder=kin["elder"].full_name)
    elif resident.phone:
        hint = t.text(N_("Personal ID {personal_id}, born {birth_date}"),
                      personal_id=resident.personal_id, birth_date=resident.birth_date.display())
    else:
        hint = t.text(N_("Personal ID {personal_id}, born {birth_date}; no phone on record"),
                      personal_id=resident.personal_id, birth_date=resident.birth_date.display())
    return {
        "user_id": CITIZEN_BASE + resident.citizen_id,
        "first_name": given or resident.full_name,
        "last_name": family,
        "language_code": "vi",
        # As Telegram shares it: digits with the country code, no plus sign.
        "phone_number": resident.phone.lstrip("+") if resident.phone else None,
        "role": "citizen",
        "kind": resident.kind,
        # What the tester types to verify, shown beside the chat (synthetic people only).
        "personal_id": resident.personal_id,
        "birth_date": resident.birth_date.display(),
        "name": resident.full_name,  # Vietnamese order: family name first
        "hint": hint,
    }


def feature_phone_persona(resident: DemoResident, t: Translator) -> dict[str, Any]:
    """A resident on a keypad phone: dials the USSD code from the number on their record."""
    assert resident.phone is not None
    born = resident.birth_date.display().replace("/", "")
    return {
        "user_id": FEATURE_PHONE_BASE + resident.citizen_id,
        "first_name": resident.full_name,
        "last_name": "",
        "language_code": "vi",
        "phone_number": phone_national(resident.phone),
        "role": "feature_phone",
        "personal_id": resident.personal_id,
        "birth_date": resident.birth_date.display(),  # typed without the slashes on a keypad
        "name": resident.full_name,
        "hint": t.text(N_("Feature phone {phone}: dial {code}, then ID {personal_id} and birth date "
                          "{birth_date}"), phone=phone_national(resident.phone), code=SERVICE_CODE,
                       personal_id=resident.personal_id, birth_date=born),
    }


def playable(residents: list[DemoResident]) -> list[DemoResident]:
    """The demo residents a newcomer plays: not the household's child, who holds no phone of their
    own (the parent opens the child's book)."""
    return [r for r in residents if r.kind != "child"]


def on_feature_phone(resident: DemoResident) -> bool:
    """Older residents, and those with details to fill in, also on a keypad phone (USSD)."""
    return bool(resident.phone) and resident.kind in ("older", "with_gaps", "elder")


def masked_resident(resident: DemoResident, t: Translator) -> str:
    """A resident as the console shows them: masked as in the logs; the page shows the rest."""
    if resident.phone:
        return t.text(N_("personal ID {personal_id}"), personal_id=mask_personal_id(resident.personal_id))
    return t.text(N_("personal ID {personal_id}; no phone on record"),
                  personal_id=mask_personal_id(resident.personal_id))


def masked_feature_phone(resident: DemoResident, t: Translator) -> str:
    return t.text(N_("phone {phone}, dial {code}"), phone=mask_phone(phone_national(resident.phone)),
                  code=SERVICE_CODE)


def reception_persona(member: Staff, user_id: int, t: Translator) -> dict[str, Any]:
    facility = member.facility_name or member.facility_code or ""
    return {
        "user_id": user_id,
        # Shown family name first, as Vietnamese names are: "Tiếp đón Bệnh viện …".
        "first_name": facility,
        "last_name": t.gettext(N_("Reception")),
        "language_code": "vi",
        "phone_number": None,
        "role": "receptionist",
        "name": facility,
        "hint": t.text(N_("Reception of {facility}: type {checkin} and the 8 digits a citizen's {qr} "
                          "shows"), facility=facility, checkin=typed("checkin", t.locale),
                       qr=typed("qr", t.locale)),
        "desk_url": desk_door(member),
    }


def desk_door(member: Staff) -> str:
    """The sandbox's own way into the web console as this member (sandbox/run.py)."""
    return f"/sandbox/desk/{member.id}"


def _ward_persona(member: Staff, user_id: int, t: Translator, title: str) -> dict[str, Any]:
    """A member of a ward's team, named after the ward ("Phường Ba Đình Tình nguyện viên")."""
    ward = ward_by_code(member.ward_code or "")
    name = ward.name if ward else member.ward_code or ""
    return {"user_id": user_id, "first_name": name, "last_name": t.gettext(title), "language_code": "vi",
            "phone_number": None, "role": member.role.value, "name": name}


def station_persona(member: Staff, user_id: int, t: Translator) -> dict[str, Any]:
    persona = _ward_persona(member, user_id, t, N_("Health station"))
    return {**persona, "desk_url": desk_door(member),
            "hint": t.text(N_("Health station of {ward}: confirm volunteers' entries and residents' "
                              "corrections in the web console"), ward=persona["name"])}


def volunteer_persona(member: Staff, user_id: int, t: Translator) -> dict[str, Any]:
    persona = _ward_persona(member, user_id, t, N_("Volunteer"))
    return {**persona,
            "hint": t.text(N_("Volunteer of {ward}: {worklist}, then {assist} with a resident's ID and "
                              "birth date"), ward=persona["name"], worklist=typed("worklist", t.locale),
                           assist=typed("assist", t.locale))}


async def _enrol(db: Database, user_id: int, role: StaffRole, **place: str) -> None:
    """Binds the persona's account as an operator's invite would, unless it is staff already."""
    account = await db.write(accounts.open_account, "telegram", str(user_id))
    if await staff.active_staff(db, account.id) is None:
        name = {StaffRole.VOLUNTEER: "Đoàn viên", StaffRole.STATION: "Trạm y tế"}.get(
            role, f"Tiếp đón {place.get('facility_code')}")
        invite = await staff.invite(db, role, name=name, **place)
        await staff.accept(db, invite.code, account.id)


async def enrol_reception(db: Database) -> None:
    """Reception staff for the demo facilities: a hospital, a polyclinic, a health station."""
    for facility in await db.read(demo_facilities):
        await _enrol(db, RECEPTION_BASE + int(facility.code), StaffRole.RECEPTIONIST,
                     facility_code=facility.code)


async def enrol_volunteers(db: Database) -> None:
    """A volunteer in the ward of each demo resident with missing details: one they can help."""
    residents = await db.read(demo_residents)
    for ward in sorted({r.ward_code for r in residents if r.kind == "with_gaps" and r.ward_code}):
        await _enrol(db, VOLUNTEER_BASE + int(ward), StaffRole.VOLUNTEER, ward_code=ward)


async def enrol_station(db: Database) -> None:
    """Health station staff for each ward the volunteers serve: they confirm what volunteers enter."""
    residents = await db.read(demo_residents)
    for ward in sorted({r.ward_code for r in residents if r.kind == "with_gaps" and r.ward_code}):
        await _enrol(db, STATION_BASE + int(ward), StaffRole.STATION, ward_code=ward)


def _telegram_ids(connection: Connection, account_ids: list[int]) -> dict[int, str]:
    a = ChannelAccount.__table__
    rows = connection.execute(select(a.c.id, a.c.external_id).where(
        a.c.channel == "telegram", a.c.id.in_(account_ids)))
    return {row.id: row.external_id for row in rows}


async def enrolled_staff(db: Database) -> list[tuple[int, Staff]]:
    """The sandbox's desks and volunteers as the staff register holds them, in the order bound.

    The page lists these and only these, so every desk and volunteer on it acts as staff.
    """
    members = await staff.list_staff(db)
    ids = await db.read(_telegram_ids, [m.account_id for m in members])
    return [(int(ids[m.account_id]), m) for m in members if ids.get(m.account_id, "").isdigit()
            and RECEPTION_BASE <= int(ids[m.account_id]) < GUEST_BASE]


def personas_of(db: Database):
    async def personas() -> list[dict[str, Any]]:
        t = translator("vi")
        residents = await db.read(demo_residents)
        citizens = [persona(r, t, residents) for r in playable(residents)]
        phones = [feature_phone_persona(r, t) for r in residents if on_feature_phone(r)]
        enrolled = await enrolled_staff(db)
        desks = [reception_persona(m, uid, t) for uid, m in enrolled
                 if m.role is StaffRole.RECEPTIONIST]
        helpers = [volunteer_persona(m, uid, t) for uid, m in enrolled
                   if m.role is StaffRole.VOLUNTEER]
        stations = [station_persona(m, uid, t) for uid, m in enrolled if m.role is StaffRole.STATION]
        return citizens + phones + desks + helpers + stations
    return personas


def no_personas():
    """On a database the demo seed did not make: nobody's details on the page, only a new person."""
    async def personas() -> list[dict[str, Any]]:
        return []
    return personas
