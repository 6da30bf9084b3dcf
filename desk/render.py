"""Pages from templates, in the reader's language: Vietnamese first, English on request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from core.i18n import Translator, translator
from core.reference.wards import ward_by_code
from core.staff.service import Staff

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "desk_lang"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def translator_for(request: web.Request) -> Translator:
    """`?lang=en` switches (and is remembered by a cookie); Vietnamese otherwise."""
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    return translator("en" if chosen == "en" else "vi")


def place_of(staff: Staff) -> str:
    """Where a member works, as the header names it: their facility, ward or health centre."""
    ward = ward_by_code(staff.ward_code) if staff.ward_code else None
    return staff.facility_name or (ward.name if ward else "") or staff.centre_code or ""


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    t = translator_for(request)
    signed = request.get("signed_in")

    def when(value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return "—"
        return t.datetime(value) if isinstance(value, dt.datetime) else t.date(value)

    other = "en" if t.locale == "vi" else "vi"
    # After a form, this address answers POST only: switch language on the console's home.
    lang_href = f"?lang={other}" if request.method == "GET" else f"/desk/?lang={other}"
    html = _ENV.get_template(template).render(
        lang_href=lang_href,
        _=t.text, t=t, when=when, number=t.number, lang=t.locale, signed=signed,
        place=place_of(signed.staff) if signed else "",
        staff=signed.staff if signed else None, csrf=signed.csrf if signed else request.get("pre_csrf", ""),
        path=request.path, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    if request.query.get("lang") in ("vi", "en"):
        remember_language(response, request.query["lang"])
    return response


def remember_language(response: web.StreamResponse, locale: str) -> None:
    response.set_cookie(LANG_COOKIE, locale, httponly=True, samesite="Strict", path="/desk",
                        max_age=365 * 86400)
