"""Changes reported in the ward: a volunteer's report that a resident moved away or died waits here
for the health station (the city plan's phase 3). Confirming changes the record's status with the
station's provenance (core.volunteering.changes decides everything that follows)."""

from __future__ import annotations

from aiohttp import web

from core.consent.access import note_reads
from core.i18n import N_
from core.records.display_rules import BookGroup
from core.staff.model import StaffRole
from core.volunteering import changes
from core.volunteering.changes import Decided
from desk.render import page
from desk.security import DATABASE, redirect, requires

KIND_LABELS = {"moved_away": N_("Moved away"), "deceased": N_("Died")}
SAID = {Decided.DONE: N_("Done: the record is changed and the volunteer is told."),
        Decided.ALREADY_CONFIRMED: N_("Someone confirmed this report already."),
        Decided.ALREADY_REJECTED: N_("Someone rejected this report already."),
        Decided.NO_SUCH_REPORT: N_("There is no such report in your ward.")}


async def _show(request: web.Request, *, problem: str | None = None, status: int = 200) -> web.Response:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    reports = await changes.open_reports(db, staff.ward_code)
    await note_reads(db, staff.reader, {r.citizen_id for r in reports if r.citizen_id},
                     frozenset({BookGroup.GENERAL}), via="desk_changes")
    said = request.query.get("said")
    outcome = SAID.get(Decided(said)) if said in Decided._value2member_map_ else None
    return page(request, "changes.html", reports=reports, kinds=KIND_LABELS, problem=problem,
                outcome=outcome, status=status)


@requires(StaffRole.STATION)
async def show(request: web.Request) -> web.StreamResponse:
    return await _show(request)


@requires(StaffRole.STATION)
async def decide(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    form = await request.post()
    report = int(form["report"]) if str(form.get("report") or "").isdigit() else 0
    reason = str(form.get("reason") or "").strip()
    by = f"health_station:{staff.id}"
    if form.get("decision") == "confirm":
        done = await changes.confirm_change(db, report, by=by, ward=staff.ward_code)
    elif not reason:
        return await _show(request, problem=N_("Write the reason for rejecting: the volunteer receives it."),
                           status=422)
    else:
        done = await changes.reject_change(db, report, reason, by=by, ward=staff.ward_code)
    return redirect(f"/desk/changes?said={done.value}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/changes", show)
    app.router.add_post("/changes", decide)
