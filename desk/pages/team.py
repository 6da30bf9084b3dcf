"""The team: invite receptionists, volunteers and station staff (a link and a printable QR code),
see who is active and which invites wait to be used, revoke or withdraw at once.

An operator manages everyone; a health station manages its own ward's volunteers and staff.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from aiohttp import web

from core import validation
from core.i18n import N_
from core.reference.wards import hanoi_wards, ward_by_code
from core.reporting import centres
from core.staff import service
from core.staff.model import StaffRole
from core.staff.service import Staff
from core.text import clean
from desk.config import DeskSettings
from desk.render import page
from desk.security import DATABASE, redirect, requires

SETTINGS = web.AppKey("desk_settings", DeskSettings)
# What the page says after a redirect from a form (`?done=…`).
DONE = {"revoked": N_("The member's access was revoked: from their next step, neither the console "
                      "nor the bot lets them in."),
        "withdrawn": N_("The invite was withdrawn: its link and QR code no longer work.")}
# Whom each manager may invite.
INVITES = {StaffRole.OPERATOR: tuple(StaffRole),
           StaffRole.STATION: (StaffRole.VOLUNTEER, StaffRole.STATION)}


def _team_ward(staff: Staff) -> str | None:
    """A station sees its own ward's team; an operator everyone (None)."""
    return staff.ward_code if staff.role is StaffRole.STATION else None


async def _page(request: web.Request, *, problem: str | None = None, status: int = 200,
                invite: dict | None = None, typed: dict[str, str] | None = None) -> web.Response:
    staff = request["signed_in"].staff
    db, ward = request.app[DATABASE], _team_ward(staff)
    members = await service.list_staff(db, ward_code=ward)
    waiting = await service.open_invites(db, ward_code=ward)
    operator = staff.role is StaffRole.OPERATOR  # only an operator names a facility or a centre
    return page(request, "team.html", members=members, waiting=waiting, roles=INVITES[staff.role],
                facilities=await service.facility_choices(db) if operator else [],
                centres=await centres(db) if operator else [],
                problem=problem, done=DONE.get(request.query.get("done", "")), typed=typed or {},
                invite=invite, wards=hanoi_wards(), ward_name=lambda code: (
                    ward_by_code(code).name if code and ward_by_code(code) else code or ""), status=status)


@requires(StaffRole.OPERATOR, StaffRole.STATION)
async def show(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _qr_svg(link: str) -> str:
    """The invite's QR code as inline SVG: printable, and drawn without any outside service."""
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]


@requires(StaffRole.OPERATOR, StaffRole.STATION)
async def invite(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    form = await request.post()
    # What was typed comes back with a refusal: nothing is lost.
    typed = {key: clean(str(form.get(key) or ""))[:200] for key in ("role", "name", "facility", "ward",
                                                                       "centre")}

    async def refused(problem: str) -> web.Response:
        return await _page(request, problem=problem, status=422, typed=typed)

    try:
        role = StaffRole(typed["role"])
    except ValueError:
        role = None
    if role is None or role not in INVITES[staff.role]:
        return await refused(N_("Choose a role you may invite."))
    facility = typed["facility"] or None
    ward = staff.ward_code if staff.role is StaffRole.STATION else (typed["ward"] or None)
    centre = typed["centre"] or None
    need = service.NEEDS[role]
    missing = service.missing_scope(role, facility, ward, centre)
    if missing:
        return await refused(missing)
    if need == "facility" and facility is not None:
        # Chosen from the list it is a code; typed in full, a facility's name is taken too.
        by_name = {name.casefold(): code for code, name in await service.facility_choices(db)}
        facility = by_name.get(facility.casefold(), facility)
        try:
            facility = validation.facility_code(facility)
        except validation.InvalidValue:
            return await refused(N_("Choose the facility from the list as you type its name (or type "
                                    "its 5-digit code)."))
        if not await service.facility_exists(db, facility):
            return await refused(N_("No facility has that code."))
    else:
        facility = None
    try:
        ward = validation.ward_code(ward) if need == "ward" else None
    except validation.InvalidValue:
        return await refused(N_("Choose the ward from the list."))
    if need == "centre" and centre not in {c.code for c in await centres(db)}:
        return await refused(N_("No regional health centre has that code."))
    name = typed["name"][:100] or None
    created = await service.invite(db, role, facility_code=facility, ward_code=ward, name=name,
                                   centre_code=centre if need == "centre" else None)
    settings = request.app[SETTINGS]
    link = f"https://t.me/{settings.bot_username}?start=staff_{created.code}"
    shown = {"link": link, "command": f"/start staff_{created.code}", "qr": _qr_svg(link), "role": role,
             "name": name, "until": created.expires_at}
    return await _page(request, invite=shown)


@requires(StaffRole.OPERATOR, StaffRole.STATION)
async def revoke(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    form = await request.post()
    member_id = int(form["member"]) if str(form.get("member") or "").isdigit() else 0
    target = await service.member(db, member_id)
    if target is None or (staff.role is StaffRole.STATION and target.ward_code != staff.ward_code):
        return await _page(request, problem=N_("That member is not on your team, or was revoked "
                                               "already."), status=422)
    await service.revoke(db, member_id)
    return redirect("/desk/team?done=revoked")


@requires(StaffRole.OPERATOR, StaffRole.STATION)
async def withdraw(request: web.Request) -> web.StreamResponse:
    """An invite not used yet stops working (handed to the wrong person, or not needed)."""
    db, staff = request.app[DATABASE], request["signed_in"].staff
    form = await request.post()
    invite_id = int(form["invite"]) if str(form.get("invite") or "").isdigit() else 0
    found, ward = await service.invite_ward(db, invite_id)
    if (not found or (staff.role is StaffRole.STATION and ward != staff.ward_code)
            or not await service.revoke_invite(db, invite_id)):
        return await _page(request, problem=N_("That invite is not waiting any more: it was used, "
                                               "withdrawn or has expired."), status=422)
    return redirect("/desk/team?done=withdrawn")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/team", show)
    app.router.add_post("/team/invite", invite)
    app.router.add_post("/team/revoke", revoke)
    app.router.add_post("/team/withdraw", withdraw)
