"""The console's routes, mounted under `/desk` on the service's app (bot/run.py, sandbox/run.py)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from core.db import Database
from desk.config import DeskSettings
from desk.pages import changes, figures, imports, inbox, reception, signin, team
from desk.security import DATABASE, SECURE_COOKIES, guard

STATIC = Path(__file__).parent / "static"
_STATIC_FILES = {"desk.css": "text/css", "desk.js": "text/javascript"}


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in _STATIC_FILES:
        raise web.HTTPNotFound()
    return web.Response(body=(STATIC / name).read_bytes(), content_type=_STATIC_FILES[name],
                        headers={"Cache-Control": "max-age=3600"})


def desk_app(db: Database, settings: DeskSettings) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=1024 * 1024)
    app[DATABASE] = db
    app[SECURE_COOKIES] = settings.secure_cookies
    app[team.SETTINGS] = settings
    app.router.add_get("/static/{name}", static)
    for module in (signin, reception, inbox, changes, team, imports, figures):
        module.add_routes(app)
    return app


def add_desk(app: web.Application, db: Database, settings: DeskSettings) -> None:
    """The console at `/desk/` on the service's app, sharing its database."""
    app.add_subapp("/desk", desk_app(db, settings))
