"""What every console request passes: the session, the role, the CSRF token, strict headers.

The session and its CSRF token live in the database (core.staff.desk), so any worker answers
any request and a revoked member is refused at the next one.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from core.db import Database
from core.i18n import N_
from core.staff import desk as signin
from core.staff.model import StaffRole
from desk.render import page

DATABASE = web.AppKey("desk_database", Database)
SECURE_COOKIES = web.AppKey("desk_secure_cookies", bool)
SESSION_COOKIE = "desk_session"
PRE_COOKIE = "desk_pre"  # the sign-in form's double-submit token, before there is a session
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Nothing from outside, no inline script or style: the console works on a desk with no internet
# and a page cannot be made to run what it did not ship. Inline SVG charts need no source.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
           "Cache-Control": "no-store", "Cross-Origin-Opener-Policy": "same-origin"}


def redirect(location: str) -> web.Response:
    """303 See Other: after a form, the browser asks for the page anew (no repeated post)."""
    return web.Response(status=303, headers={"Location": location})


# A form whose CSRF token is missing or not this session's (also an upload's, desk/pages/imports.py).
STALE_FORM = N_("This form has expired or did not come from this console. Nothing was done. Go back, "
                "reload the page and try again.")


def refusal(request: web.Request, message: str, status: int) -> web.Response:
    return page(request, "refused.html", status=status, message=message)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/desk/static/"):  # the stylesheet and script need no session
        response = await handler(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
    db = request.app[DATABASE]
    key = request.cookies.get(SESSION_COOKIE)
    request["signed_in"] = await signin.signed_in(db, key) if key else None
    request["pre_csrf"] = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    if request.method == "POST" and not request.content_type.startswith("multipart/"):
        form = await request.post()
        signed = request["signed_in"]
        expected = signed.csrf if signed else request.cookies.get(PRE_COOKIE)
        given = str(form.get("csrf") or "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            response: web.StreamResponse = refusal(request, STALE_FORM, 403)
            return _harden(request, response)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status == 405 and request.method == "GET":
            # A form's address opened again (a bookmark, a tab restored): its page, not an error.
            return _harden(request, redirect(request.path.rsplit("/", 1)[0] or "/desk/"))
        if error.status != 404:
            raise
        response = refusal(request, N_("There is no such page."), 404)
    return _harden(request, response)


def _harden(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if PRE_COOKIE not in request.cookies:
        set_cookie(request, response, PRE_COOKIE, request["pre_csrf"], max_age=None)
    return response


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *,
               max_age: int | None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", path="/desk", max_age=max_age,
                        secure=request.app[SECURE_COOKIES])


async def multipart_csrf(request: web.Request, given: str) -> bool:
    """An upload's CSRF field, read from its first part by the handler (the body is streamed)."""
    signed = request["signed_in"]
    return signed is not None and hmac.compare_digest(given.encode(), signed.csrf.encode())


def requires(*roles: StaffRole) -> Callable[[Handler], Handler]:
    """A page for these roles only; anyone signed out is sent to the page that says how to sign in."""
    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            signed = request["signed_in"]
            if signed is None:
                return redirect("/desk/signin")
            if signed.staff.role not in roles:
                return refusal(request, N_("This page is not part of your work in the console."), 403)
            return await handler(request)
        return checked
    return wrap
