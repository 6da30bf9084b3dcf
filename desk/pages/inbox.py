"""The ward health station's inbox: confirm or reject volunteers' entries and citizens' correction
requests, one or many at once, with a reason the resident receives."""

from __future__ import annotations

from aiohttp import web

from core.i18n import N_
from core.staff.model import StaffRole
from core.volunteering import inbox
from core.volunteering.inbox import ItemKind, Outcome
from desk.render import page, translator_for
from desk.security import DATABASE, redirect, requires


@requires(StaffRole.STATION)
async def show(request: web.Request) -> web.StreamResponse:
    staff = request["signed_in"].staff
    items = await inbox.ward_inbox(request.app[DATABASE], staff.reader, translator_for(request))
    done: dict[str, object] = {key: int(value) for key, value in request.query.items()
                               if key in ("done", "already", "refused") and value.isdigit()}
    if done:
        done["confirmed"] = request.query.get("as") != "rejected"
    return page(request, "inbox.html", items=items, done=done, problem=None, ticked=set())


def _chosen(values: list[str]) -> list[tuple[ItemKind, int]]:
    chosen = []
    for value in values:
        kind, _, number = value.partition(":")
        if kind in ItemKind._value2member_map_ and number.isdigit():
            chosen.append((ItemKind(kind), int(number)))
    return chosen


@requires(StaffRole.STATION)
async def decide(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    form = await request.post()
    chosen = _chosen([str(v) for v in form.getall("item", [])])
    confirm = form.get("decision") == "confirm"
    reason = str(form.get("reason") or "").strip()
    problem = None
    if not chosen:
        problem = N_("Tick at least one item first.")
    elif not confirm and not reason:
        problem = N_("Write the reason for rejecting: the resident receives it.")
    if problem:
        items = await inbox.ward_inbox(db, staff.reader, translator_for(request))
        ticked = {f"{kind.value}:{number}" for kind, number in chosen}  # kept ticked: nothing is lost
        return page(request, "inbox.html", items=items, done={}, problem=problem, status=422, ticked=ticked)
    decisions = await inbox.decide(db, staff.reader, chosen, confirm=confirm,
                                   reason=reason or None, by=f"health_station:{staff.id}")
    counts = {outcome: sum(d.outcome is outcome for d in decisions) for outcome in Outcome}
    return redirect(f"/desk/inbox?done={counts[Outcome.DONE]}&already={counts[Outcome.ALREADY_DECIDED]}"
                    f"&refused={counts[Outcome.NOT_IN_WARD]}&as={'confirmed' if confirm else 'rejected'}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/inbox", show)
    app.router.add_post("/inbox", decide)
