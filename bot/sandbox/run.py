"""`make run` without a token: the Bot API emulator, the chat page and the real bot, in one process.

Everything on one port (default 8080): the chat page at `/`, the emulated Bot
API under `/bot<token>/`, the record service's `/healthz` and `/status`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.config import BotSettings
from bot.handlers.application import build_application
from bot.run import start_polling, stop_polling, until_stopped
from bot.sandbox.emulator import BotApiEmulator
from core.db import Database
from core.i18n import N_, Translator, translator
from core.seed.demo import DemoResident, demo_residents
from core.web import create_app

log = logging.getLogger(__name__)
SANDBOX_TOKEN = "100000001:SANDBOX-local-only"
PERSONA_BASE = 700_000_000  # Telegram user ids of the demo personas: this plus the citizen id


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
        "name": resident.full_name,  # Vietnamese order: family name first
        "hint": hint,
    }


def personas_of(db: Database):
    async def personas() -> list[dict[str, Any]]:
        t = translator("vi")
        return [persona(r, t) for r in await db.read(demo_residents)]
    return personas


async def start_sandbox(settings: BotSettings, db: Database, host: str, port: int):
    emulator = BotApiEmulator(SANDBOX_TOKEN, personas=personas_of(db))
    app = create_app(db, status_path="/status")
    emulator.add_routes(app, page=True)
    # No access log: a line per long poll says nothing, and the URLs carry the (local) token.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    local = BotSettings(settings.core, SANDBOX_TOKEN, f"http://{host}:{port}/bot", None, None)
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
    for entry in await personas_of(db)():
        print(f"  • {entry['name']}: {entry['hint']}", flush=True)
    try:
        await until_stopped()
    finally:
        await stop_polling(application)
        await runner.cleanup()
