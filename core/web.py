"""The service's HTTP face: health probes and a short status page.

Channels (the Telegram webhook, the sandbox, USSD) mount their routes on this
app in later issues. Nothing here shows personal or health data.
"""

from __future__ import annotations

import html
import logging

from aiohttp import web
from sqlalchemy import func, select, text

from core.db import Database
from core.i18n import N_, translator
from core.migrate import current_revision, head_revision
from core.records.citizen import Citizen
from core.records.visit import Visit

log = logging.getLogger(__name__)
DATABASE = web.AppKey("database", Database)


async def healthz(request: web.Request) -> web.Response:
    """Liveness and readiness: the database answers and its schema is current."""
    db = request.app[DATABASE]
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await current_revision(db)
    except Exception as error:  # the probe must answer, whatever failed
        log.error("health check failed: %s", type(error).__name__)
        return web.json_response({"status": "unavailable"}, status=503)
    if revision != head_revision():
        return web.json_response({"status": "schema outdated", "revision": revision}, status=503)
    return web.json_response({"status": "ok", "revision": revision})


async def status_page(request: web.Request) -> web.Response:
    db = request.app[DATABASE]
    t = translator(request.query.get("lang"))
    async with db.sessions() as session:
        residents = await session.scalar(select(func.count()).select_from(Citizen)) or 0
        visits = await session.scalar(select(func.count()).select_from(Visit)) or 0
    title = t.gettext(N_("Hanoi electronic health book: record service"))
    body = t.text(N_("{residents} residents and {visits} visits on record."),
                  residents=t.number(residents), visits=t.number(visits))
    page = (f"<!doctype html><html lang='{t.locale}'><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(body)}</p></html>")
    return web.Response(text=page, content_type="text/html")


def create_app(db: Database, *, status_path: str = "/") -> web.Application:
    """The service's routes; the sandbox moves the status page to make room for its chat page."""
    app = web.Application()
    app[DATABASE] = db
    app.router.add_get("/healthz", healthz)
    app.router.add_get(status_path, status_page)

    async def close_database(app: web.Application) -> None:
        await app[DATABASE].dispose()

    app.on_cleanup.append(close_database)
    return app
