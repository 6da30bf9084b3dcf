"""Signing in with a one-time link from the bot, and out."""

from __future__ import annotations

from aiohttp import web

from core.staff import desk as signin
from core.staff.model import StaffRole
from desk.render import page, remember_language
from desk.security import DATABASE, SESSION_COOKIE, redirect, set_cookie

HOME = {StaffRole.RECEPTIONIST: "/desk/reception", StaffRole.STATION: "/desk/inbox",
        StaffRole.VOLUNTEER: "/desk/signin", StaffRole.CENTRE_VIEWER: "/desk/dashboard",
        StaffRole.CITY_VIEWER: "/desk/dashboard", StaffRole.OPERATOR: "/desk/dashboard"}


async def home(request: web.Request) -> web.StreamResponse:
    signed = request["signed_in"]
    response = redirect(HOME[signed.staff.role] if signed else "/desk/signin")
    if request.query.get("lang") in ("vi", "en"):  # the language link of a page after a form
        remember_language(response, request.query["lang"])
    return response


async def how_to_sign_in(request: web.Request) -> web.StreamResponse:
    return page(request, "signin.html", link_valid=None, token="")


async def link(request: web.Request) -> web.StreamResponse:
    """The link's page: a button, so a chat app's preview of the link does not use it up."""
    token = request.match_info["token"]
    valid = await signin.signin_is_valid(request.app[DATABASE], token)
    return page(request, "signin.html", link_valid=valid, token=token, status=200 if valid else 410)


async def use_link(request: web.Request) -> web.StreamResponse:
    opened = await signin.redeem_signin(request.app[DATABASE], request.match_info["token"])
    if opened is None:
        return page(request, "signin.html", link_valid=False, token="", status=410)
    response = redirect(HOME[opened.staff.role])
    set_cookie(request, response, SESSION_COOKIE, opened.key, max_age=None)  # gone with the browser
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    signed = request["signed_in"]
    if signed is not None:
        await signin.sign_out(request.app[DATABASE], signed.session_id)
    request["signed_in"] = None  # the page says signed out: no menu, no name
    response = page(request, "signed_out.html")
    response.del_cookie(SESSION_COOKIE, path="/desk")
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/signin", how_to_sign_in)
    app.router.add_get("/signin/{token}", link)
    app.router.add_post("/signin/{token}", use_link)
    app.router.add_post("/signout", sign_out)
