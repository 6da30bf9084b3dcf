"""`python -m sandbox` (`make run`): the Bot API emulator, the chat page and the real bot, in one process.

Everything on one port (default 8080) of a loopback address: the chat page at
`/`, the emulated Bot API under `/bot<token>/`, the record service's `/healthz`
and `/status`. It runs only on a database the demo seed made (`core seed` on an
empty database marks it), unless `--allow-any-database` says otherwise.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import socket
import sys
from dataclasses import replace

from aiohttp import ClientSession, web

from bot.config import BotSettings, UssdSettings
from bot.handlers.application import build_application
from bot.run import start_polling, stop_polling, until_stopped
from bot.ussd.gateway import USSD_PATH, add_ussd_route
from core.config import ConfigurationError
from core.db import Database
from core.i18n import N_, Translator, translator
from core.identity.keys import allow_local_key, current_keys
from core.marks import SANDBOX_URL, is_demo, put_mark
from core.seed.demo import demo_residents, remember_demo_residents
from core.staff import desk as desk_signin
from core.staff import service as staff_service
from core.web import create_app
from desk.app import add_desk
from desk.config import DeskSettings
from sandbox.emulator import BotApiEmulator
from sandbox.guard import own_origin_only, url_host
from sandbox.personas import (
    enrol_reception,
    enrol_station,
    enrol_volunteers,
    masked_feature_phone,
    masked_resident,
    no_personas,
    on_feature_phone,
    personas_of,
    playable,
)
from sandbox.ussd_operator import UssdOperator, add_sandbox_gateway

log = logging.getLogger(__name__)
SANDBOX_BOT_ID = 100000001


def sandbox_token() -> str:
    """A new token each run: a web page elsewhere cannot guess the emulated Bot API's URLs."""
    return f"{SANDBOX_BOT_ID}:SANDBOX-{secrets.token_urlsafe(24)}"


async def admit_database(db: Database, allow_any_database: bool) -> bool:
    """True for the demo seed's database; another is refused unless the operator insists."""
    if await is_demo(db):
        allow_local_key()  # synthetic people only: the checkout's own key will do
        return True
    if not allow_any_database:
        raise ConfigurationError(N_(
            "The sandbox runs only on a database the demo seed made (python -m core seed on an empty "
            "database), and this one may hold real people. Start from a fresh one (make clean, then "
            "make run), or add --allow-any-database if you know what it holds."))
    current_keys()  # a database of its own keeps its own key: EHR_SECRET_KEY, as in production
    return False


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


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, taken before anything is written: a port another program holds is
    one line for the operator, and nobody is served until the sandbox is ready."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno != errno.EADDRINUSE:
            raise
        raise ConfigurationError(N_(
            "Port {port} on {host} is already in use, perhaps by another sandbox. Stop that "
            "program, or choose another port: make run PORT=8090 (python -m sandbox --port 8090)."),
            port=port, host=url_host(host)) from None
    return sock


async def listen(app: web.Application, sock: socket.socket) -> web.AppRunner:
    """Serves `app` on the socket `bind` took."""
    # No access log: a line per long poll says nothing, and the URLs carry the (local) token.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


def add_desk_door(app: web.Application, db: Database) -> None:
    """`/sandbox/desk/<staff id>`: the page's link into the web console as a demo desk or station,
    through the same one-time sign-in a link from the bot gives (this computer only: guard.py)."""
    async def door(request: web.Request) -> web.StreamResponse:
        member_id = request.match_info["member"]
        member = await staff_service.member(db, int(member_id)) if member_id.isdigit() else None
        token = await desk_signin.issue_signin(db, member.id) if member is not None else None
        if token is None:
            raise web.HTTPNotFound()
        return web.Response(status=303, headers={"Location": f"/desk/signin/{token}"})

    app.router.add_get("/sandbox/desk/{member}", door)


async def start_sandbox(settings: BotSettings, db: Database, host: str, port: int, *, demo: bool = True):
    """Listening on `host:port` (a loopback address: `guard.loopback_host`), the bot polling it."""
    token = sandbox_token()
    emulator = BotApiEmulator(token, personas=personas_of(db) if demo else no_personas())
    app = create_app(db, status_path="/status")
    app.middlewares.append(own_origin_only)
    emulator.add_routes(app, page=True)
    base = f"http://{url_host(host)}:{port}"
    add_feature_phones(app, db, settings.ussd, f"{base}{USSD_PATH}")
    # The bot's /desk links point at this sandbox's console, unless the tester named another.
    os.environ.setdefault("EHR_DESK_URL", base)
    add_desk(app, db, DeskSettings.from_env(base_url=base, bot_username=emulator.bot_user["username"]))
    add_desk_door(app, db)
    sock = bind(host, port)  # first: a busy port is said before anything is done
    try:
        if demo:  # staff for the desks and volunteers the page offers; never in others' database
            await db.write(remember_demo_residents)  # a demo seeded before the choice was kept
            await enrol_reception(db)
            await enrol_volunteers(db)
            await enrol_station(db)
            await db.write(put_mark, SANDBOX_URL, base)  # `core desk link` prints this address
        runner = await listen(app, sock)  # the page is served once its cast is in place
    except BaseException:
        sock.close()
        raise
    local = replace(settings, token=token, api_base_url=f"{base}/bot", webhook_url=None, webhook_secret=None)
    application = build_application(local, db)
    await start_polling(application)
    return runner, application


async def print_demo_people(db: Database, t: Translator) -> None:
    """Who to play, masked as the logs are: the page's list shows each one's details to type."""
    residents = await db.read(demo_residents)
    print(t.text(N_("Demo residents to try (synthetic people). Pick one on the page: its list shows "
                    "the personal ID and birth date to type, then share the contact. Masked here, "
                    "as in the logs:")), flush=True)
    for resident in playable(residents):
        print(f"  • {resident.full_name}: {masked_resident(resident, t)}", flush=True)
    heading = t.text(N_("Feature phones (USSD), on the same page:"))
    print(heading, flush=True)
    for resident in filter(on_feature_phone, residents):
        print(f"  • {resident.full_name}: {masked_feature_phone(resident, t)}", flush=True)
    staff = [p for p in await personas_of(db)() if p["role"] in ("receptionist", "volunteer")]
    print(t.text(N_("Reception desks (open a citizen's check-in code there):")), flush=True)
    for entry in (p for p in staff if p["role"] == "receptionist"):
        print(f"  • {entry['hint']}", flush=True)
    print(t.text(N_("Ward volunteers:")), flush=True)
    for entry in (p for p in staff if p["role"] == "volunteer"):
        print(f"  • {entry['hint']}", flush=True)


async def run_sandbox(settings: BotSettings, db: Database, host: str, port: int, *,
                      allow_any_database: bool = False) -> None:
    t = translator(settings.core.locale)
    demo = await admit_database(db, allow_any_database)
    runner, application = await start_sandbox(settings, db, host, port, demo=demo)
    print(t.text(N_("Sandbox ready: open http://{host}:{port}/ in a browser (Ctrl+C stops)."),
                 host=url_host(host), port=port), flush=True)
    if demo:
        await print_demo_people(db, t)
    else:
        log.warning("sandbox running on a database the demo seed did not make (--allow-any-database)")
        print(t.text(N_("WARNING: this database was not made by the demo seed (--allow-any-database). "
                        "The sandbox runs on data it did not create: the page lists no one, and what "
                        "you do in it is written there.")), file=sys.stderr, flush=True)
    try:
        await until_stopped()
    finally:
        await stop_polling(application)
        await runner.cleanup()
