"""The people a newcomer can play on the chat page: demo residents, feature phones, desks, volunteers.

Only on a database the demo seed made: a resident's persona carries their ID,
birth date and phone for the page to show and share, which is fine for
synthetic people and never for real ones.
"""

from __future__ import annotations

from typing import Any

from core.db import Database
from core.i18n import N_, Translator, translator
from core.identity import accounts
from core.privacy import mask_personal_id, mask_phone
from core.reference.wards import ward_by_code
from core.seed.demo import DemoFacility, DemoResident, demo_facilities, demo_residents
from core.staff import service as staff
from core.staff.model import StaffRole
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
# IMPOSSIBLE_USER_IDS + 4 * 2**48 and up: the page's "new person" (chat.js, GUEST_BASE).


def persona(resident: DemoResident, t: Translator) -> dict[str, Any]:
    family, _, given = resident.full_name.rpartition(" ")
    if resident.phone:
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
        "name": resident.full_name,
        "hint": t.text(N_("Feature phone {phone}: dial {code}, then ID {personal_id} and birth date "
                          "{birth_date}"), phone=phone_national(resident.phone), code=SERVICE_CODE,
                       personal_id=resident.personal_id, birth_date=born),
    }


def on_feature_phone(resident: DemoResident) -> bool:
    """Older residents, and those with details to fill in, also on a keypad phone (USSD)."""
    return bool(resident.phone) and resident.kind in ("older", "with_gaps")


def masked_resident(resident: DemoResident, t: Translator) -> str:
    """A resident as the console shows them: masked as in the logs; the page shows the rest."""
    if resident.phone:
        return t.text(N_("personal ID {personal_id}"), personal_id=mask_personal_id(resident.personal_id))
    return t.text(N_("personal ID {personal_id}; no phone on record"),
                  personal_id=mask_personal_id(resident.personal_id))


def masked_feature_phone(resident: DemoResident, t: Translator) -> str:
    return t.text(N_("phone {phone}, dial {code}"), phone=mask_phone(phone_national(resident.phone)),
                  code=SERVICE_CODE)


def reception_persona(facility: DemoFacility, t: Translator) -> dict[str, Any]:
    return {
        "user_id": RECEPTION_BASE + int(facility.code),
        # Shown family name first, as Vietnamese names are: "Tiếp đón Bệnh viện …".
        "first_name": facility.name,
        "last_name": t.gettext(N_("Reception")),
        "language_code": "vi",
        "phone_number": None,
        "role": "receptionist",
        "name": facility.name,
        "hint": t.text(N_("Reception of {facility}: type /checkin and the 8 digits a citizen's /qr shows"),
                       facility=facility.name),
    }


async def enrol_reception(db: Database) -> list[DemoFacility]:
    """Reception staff for the demo facilities, bound as an operator's invite would bind them."""
    facilities = await db.read(demo_facilities)
    for facility in facilities:
        external_id = str(RECEPTION_BASE + int(facility.code))
        account = await db.write(accounts.open_account, "telegram", external_id)
        if await staff.active_staff(db, account.id) is None:
            invite = await staff.invite(db, StaffRole.RECEPTIONIST, facility_code=facility.code,
                                        name=f"Reception {facility.code}")
            await staff.accept(db, invite.code, account.id)
    return facilities


def volunteer_persona(ward_code: str, t: Translator) -> dict[str, Any]:
    ward = ward_by_code(ward_code)
    name = ward.name if ward else ward_code
    return {
        "user_id": VOLUNTEER_BASE + int(ward_code),
        "first_name": name,
        "last_name": t.gettext(N_("Volunteer")),
        "language_code": "vi",
        "phone_number": None,
        "role": "volunteer",
        "name": name,
        "hint": t.text(N_("Volunteer of {ward}: /worklist, then /assist with a resident's ID and birth date"),
                       ward=name),
    }


async def volunteer_wards(db: Database) -> list[str]:
    """The wards of the demo residents with missing details: a volunteer there can help them."""
    residents = await db.read(demo_residents)
    return sorted({r.ward_code for r in residents if r.kind == "with_gaps" and r.ward_code})


async def enrol_volunteers(db: Database) -> None:
    for ward in await volunteer_wards(db):
        account = await db.write(accounts.open_account, "telegram", str(VOLUNTEER_BASE + int(ward)))
        if await staff.active_staff(db, account.id) is None:
            invite = await staff.invite(db, StaffRole.VOLUNTEER, ward_code=ward, name="Đoàn viên")
            await staff.accept(db, invite.code, account.id)


def personas_of(db: Database):
    async def personas() -> list[dict[str, Any]]:
        t = translator("vi")
        residents = await db.read(demo_residents)
        citizens = [persona(r, t) for r in residents]
        desks = [reception_persona(f, t) for f in await db.read(demo_facilities)]
        phones = [feature_phone_persona(r, t) for r in residents if on_feature_phone(r)]
        return citizens + phones + desks + [volunteer_persona(w, t) for w in await volunteer_wards(db)]
    return personas


def no_personas():
    """On a database the demo seed did not make: nobody's details on the page, only a new person."""
    async def personas() -> list[dict[str, Any]]:
        return []
    return personas
