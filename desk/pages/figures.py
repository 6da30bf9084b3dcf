"""Figures: the dashboard of a ward, a regional health centre or the city, and the monthly report.

Counts only, read from the stored figures (core.reporting): no page here shows a person, so none
writes an access log. A station sees its ward; a centre its wards; the city's viewers every ward.
"""

from __future__ import annotations

import datetime as dt
import io

from aiohttp import web

from core.i18n import N_, today_hanoi
from core.reporting import UnknownArea, centre_dashboard, centres, city_dashboard, ward_dashboard
from core.reporting.centres import Centre
from core.reporting.monthly import BadMonth, for_wards, monthly_rows, parse_month, write_csv, write_xlsx
from core.staff.model import StaffRole
from core.staff.service import Staff
from desk.charts import bars, share_bars
from desk.render import page, translator_for
from desk.security import DATABASE, refusal, requires

VIEWERS = (StaffRole.STATION, StaffRole.CENTRE_VIEWER, StaffRole.CITY_VIEWER, StaffRole.OPERATOR)
CITY = (StaffRole.CITY_VIEWER, StaffRole.OPERATOR)


async def _allowed_wards(request: web.Request, staff: Staff) -> set[str] | None:
    """The wards this member may see figures of (None: the whole city)."""
    if staff.role in CITY:
        return None
    if staff.role is StaffRole.STATION:
        return {staff.ward_code} if staff.ward_code else set()
    centre = await _centre(request, staff.centre_code)
    return set(centre.ward_codes) if centre else set()


async def _centre(request: web.Request, code: str | None) -> Centre | None:
    return next((c for c in await centres(request.app[DATABASE]) if c.code == code), None)


@requires(*VIEWERS)
async def dashboard(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    allowed = await _allowed_wards(request, staff)
    ward, centre = request.query.get("ward"), request.query.get("centre")
    try:
        if ward and (allowed is None or ward in allowed):
            shown = await ward_dashboard(db, ward)
        elif centre and staff.role in CITY:
            shown = await centre_dashboard(db, centre)
        elif staff.role is StaffRole.STATION and staff.ward_code:
            shown = await ward_dashboard(db, staff.ward_code)
        elif staff.role is StaffRole.CENTRE_VIEWER and staff.centre_code:
            shown = await centre_dashboard(db, staff.centre_code)
        elif staff.role in CITY:
            shown = await city_dashboard(db)
        else:
            raise UnknownArea(staff.centre_code or staff.ward_code or "")
    except UnknownArea:
        return refusal(request, N_("There are no figures for this area."), 404)
    t = translator_for(request)
    charts = {
        "activations": bars([(t.date(w.start), w.count) for w in shown.activations],
                            t.text(N_("New activated accounts per week"))),
        "checkins": bars([(t.date(w.start), w.count) for w in shown.checkins],
                         t.text(N_("Check-ins per week"))),
        "completeness": share_bars([(t.gettext(f.label), f.share) for f in shown.completeness],
                                   t.text(N_("Records holding each detail"))),
    }
    return page(request, "dashboard.html", shown=shown, charts=charts,
                city_centres=await centres(db) if staff.role in CITY else [])


def _months(today: dt.date, count: int = 12) -> list[str]:
    """The last `count` finished months and this one, newest first: `11/2026`."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(f"{month:02d}/{year}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


@requires(*VIEWERS)
async def report(request: web.Request) -> web.StreamResponse:
    return page(request, "report.html", months=_months(today_hanoi()), problem=None)


@requires(*VIEWERS)
async def download(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    t = translator_for(request)
    try:
        year, month = parse_month(request.query.get("month") or "")
    except BadMonth:
        return page(request, "report.html", months=_months(today_hanoi()), status=422,
                    problem=N_("Choose a month that has begun, as month/year (for example 11/2026)."))
    made = await monthly_rows(db, year, month)
    allowed = await _allowed_wards(request, staff)
    if allowed is not None:
        made = for_wards(made, allowed)
    kind = request.match_info["kind"]
    name = f"bao-cao-so-suc-khoe-{year}-{month:02d}.{kind}"
    if kind == "csv":
        text = io.StringIO()
        write_csv(made, text, t)
        body, content_type = text.getvalue().encode("utf-8"), "text/csv"
    else:
        binary = io.BytesIO()
        write_xlsx(made, binary, t)
        body = binary.getvalue()
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return web.Response(body=body, content_type=content_type,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/report", report)
    app.router.add_get(r"/report.{kind:xlsx|csv}", download)
