"""`make run` without a token: the Bot API emulator, the chat page and the real bot, in one process.

Everything on one port (default 8080): the chat page at `/`, the emulated Bot
API under `/bot<token>/`, the record service's `/healthz` and `/status`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Any

from aiohttp import ClientSession, web

from bot.config import BotSettings, UssdSettings
from bot.handlers.application import build_application
from bot.run import start_polling, stop_polling, until_stopped
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.ussd_operator import SERVICE_CODE, UssdOperator, add_sandbox_gateway
from bot.ussd.gateway import USSD_PATH, add_ussd_route
from core.db import Database
from core.i18n import N_, Translator, translator
from core.identity import accounts
from core.reference.wards import ward_by_code
from core.seed.demo import DemoFacility, DemoResident, demo_facilities, demo_residents
from core.staff import service as staff
from core.staff.model import StaffRole
from core.validation import phone_national
from core.web import create_app

log = logging.getLogger(__name__)
SANDBOX_TOKEN = "100000001:SANDBOX-local-only"
PERSONA_BASE = 700_000_000  # Telegram user ids of the demo personas: this plus the citizen id
RECEPTION_BASE = 710_000_000  # reception personas: this plus the facility code
VOLUNTEER_BASE = 720_000_000  # volunteer personas: this plus the ward code
FEATURE_PHONE_BASE = 730_000_000  # feature-phone personas (USSD): this plus the citizen id


def persona(resident: DemoResident, t: Translator) -> dict[str, Any]:
    family, _, given = resident.full_name.rpartition(" ")
    if resident.phone:
        hint = t.text(N_("Personal ID {personal_id}, born {birth_date}"),
                      personal_id=resident.personal_id, birth_date=resident.birth_date.display())
    else:
        hint = t.text(N_("Personal ID {personal_id}, born {birth_date}; no phone on record"),
                      personal_id=resident.personal_id, birth_date=resident.birth_date.display())
    return {
        "user_id": PERSONA_BASE + resident.citizen_id,
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
        # Older residents, and those with details to fill in, also on a keypad phone (USSD).
        phones = [feature_phone_persona(r, t) for r in residents
                  if r.phone and r.kind in ("older", "with_gaps")]
        return citizens + phones + desks + [volunteer_persona(w, t) for w in await volunteer_wards(db)]
    return personas


def add_feature_phones(app: web.Application, db: Database, configured: UssdSettings, url: str) -> None:
    """`/ussd` with an emulated operator's gateway in front of it, for the page's feature phone."""
    secret = configured.secret or secrets.token_urlsafe(24)  # local only: the emulator's own
    add_ussd_route(app, db, replace(configured, secret=secret, networks=()))
    holder: dict[str, UssdOperator] = {}

    async def open_operator(app: web.Application) -> None:
        holder["operator"] = UssdOperator(url, secret, ClientSession())

    async def close_operator(app: web.Application) -> None:
        await holder["operator"].http.close()

    app.on_startup.append(open_operator)
    app.on_cleanup.append(close_operator)
    add_sandbox_gateway(app, lambda: holder["operator"])


async def start_sandbox(settings: BotSettings, db: Database, host: str, port: int):
    await enrol_reception(db)
    await enrol_volunteers(db)
    emulator = BotApiEmulator(SANDBOX_TOKEN, personas=personas_of(db))
    app = create_app(db, status_path="/status")
    emulator.add_routes(app, page=True)
    add_feature_phones(app, db, settings.ussd, f"http://{host}:{port}{USSD_PATH}")
    # No access log: a line per long poll says nothing, and the URLs carry the (local) token.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    local = replace(settings, token=SANDBOX_TOKEN, api_base_url=f"http://{host}:{port}/bot",
                    webhook_url=None, webhook_secret=None)
    application = build_application(local, db)
    await start_polling(application)
    return runner, application


async def run_sandbox(settings: BotSettings, db: Database, host: str, port: int) -> None:
    runner, application = await start_sandbox(settings, db, host, port)
    t = translator(settings.core.locale)
    print(t.text(N_("Sandbox ready: open http://{host}:{port}/ in a browser (Ctrl+C stops)."),
                 host=host, port=port), flush=True)
    print(t.text(N_("Demo residents to try (type the ID, then the birth date, then share the contact):")),
          flush=True)
    personas = await personas_of(db)()
    for entry in (p for p in personas if p["role"] == "citizen"):
        print(f"  • {entry['name']}: {entry['hint']}", flush=True)
    keypads = t.text(N_("Feature phones (USSD), on the same page:"))
    print(keypads, flush=True)
    for entry in (p for p in personas if p["role"] == "feature_phone"):
        print(f"  • {entry['name']}: {entry['hint']}", flush=True)
    print(t.text(N_("Reception desks (open a citizen's check-in code there):")), flush=True)
    for entry in (p for p in personas if p["role"] == "receptionist"):
        print(f"  • {entry['hint']}", flush=True)
    print(t.text(N_("Ward volunteers:")), flush=True)
    for entry in (p for p in personas if p["role"] == "volunteer"):
        print(f"  • {entry['hint']}", flush=True)
    try:
        await until_stopped()
    finally:
        await stop_polling(application)
        await runner.cleanup()
