"""`/assist` and `/worklist`: a ward volunteer helps a resident complete their details.

The volunteer finds the resident by personal ID and birth date, only in their own
ward, and sees only which details are missing: never insurance, history,
immunizations or visits (`core.consent.policy`, volunteer audience).
"""

from __future__ import annotations

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from bot.flows.update import UpdateFlow
from core import validation
from core.identity.accounts import JourneyState
from core.records.completeness import RULES_BY_FIELD
from core.records.self_declared import missing_details
from core.reference.wards import ward_by_code
from core.staff.model import StaffRole
from core.staff.service import Staff, active_staff
from core.volunteering.pending import waiting_fields
from core.volunteering.residents import Lookup, find_resident, worklist

PER_PAGE = 10


async def _volunteer(turn: Turn) -> Staff | None:
    staff = await active_staff(turn.db, turn.account.id)
    return staff if staff is not None and staff.role is StaffRole.VOLUNTEER else None


def _not_volunteer(turn: Turn) -> Step:
    return Step((menu_reply(turn, turn._("This is for registered ward volunteers.")),))


def _stop(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), "assist:stop")


def _labels(turn: Turn, fields: list[str] | set[str]) -> str:
    """The details' names: a list in its own order (the order they are asked), a set in the rules'."""
    named = [f for f in fields if f in RULES_BY_FIELD]
    if isinstance(fields, set):
        named.sort(key=list(RULES_BY_FIELD).index)
    return ", ".join(turn.t.gettext(RULES_BY_FIELD[f].label) for f in named)


class AssistFlow:
    name = "assist"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if await _volunteer(turn) is None:
            return _not_volunteer(turn)
        text = turn._("Type the resident's personal ID number (12 digits).")
        return Step((Reply(text, options=rows(_stop(turn))),), JourneyState("assist", "id"))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if args and args[0] == "stop":
            return Step((Reply(turn._("Stopped.")),))
        if not args:
            return await self.start(turn)
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        staff = await _volunteer(turn)
        if staff is None:
            return _not_volunteer(turn)
        if turn.state.step == "id":
            try:
                personal_id = validation.personal_id(turn.input.text)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
            text = turn._("Now the resident's date of birth, as dd/mm/yyyy.")
            return Step((Reply(text, options=rows(_stop(turn))),), JourneyState("assist", "dob",
                                                                                {"pid": personal_id}))
        personal_id = turn.state.data.get("pid")
        if not isinstance(personal_id, str):
            return await self.start(turn)
        try:
            born = validation.calendar_date(turn.input.text)
        except validation.InvalidValue as error:
            return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
        found = await find_resident(turn.db, staff, turn.account, personal_id, born)
        if found.state is Lookup.TOO_MANY:
            return Step((Reply(turn._("You have looked up many residents in the last hour. Please wait "
                                      "a while before the next one.")),))
        if found.state is Lookup.LOCKED:
            return Step((Reply(turn._("Too many lookups did not match. Lookups are paused for 24 hours; "
                                      "the health station can help.")),))
        if found.state is Lookup.NOT_FOUND or found.citizen_id is None:
            text = turn._("No resident of your ward has this ID and date of birth. Please check them.")
            return Step((Reply(text, options=rows(Option(turn._("🔎 Try again"), "assist"))),))
        waiting = await waiting_fields(turn.db, found.citizen_id)
        missing = [gap.field for gap in await missing_details(turn.db, found.citizen_id)
                   if gap.field not in waiting]
        if not missing:
            text = turn._("{name}'s details are complete. Thank you!", name=found.name) if not waiting else \
                turn._("What is missing for {name} already waits for their confirmation: {fields}.",
                       name=found.name, fields=_labels(turn, waiting))
            return Step((Reply(text, options=rows(Option(turn._("🔎 Help another resident"), "assist"))),))
        names = _labels(turn, missing)
        intro = Reply(turn._("Found {name}. Missing: {fields}. Fill them in together; the resident "
                             "confirms before anything is saved.", name=found.name, fields=names))
        return await UpdateFlow().begin(turn, missing, {"assist": found.citizen_id, "name": found.name},
                                        (intro,))


class WorklistFlow:
    name = "worklist"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        return await self._page(turn, 0)

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        try:
            return await self._page(turn, int(args[0]) if args else 0)
        except ValueError:
            raise StaleOption from None

    async def _page(self, turn: Turn, page: int) -> Step:
        staff = await _volunteer(turn)
        if staff is None or staff.ward_code is None:
            return _not_volunteer(turn)
        items = await worklist(turn.db, staff.ward_code)
        ward = ward_by_code(staff.ward_code)
        title = turn._("Residents to help: {ward}", ward=ward.name if ward else staff.ward_code)
        if not items:
            return Step((Reply(turn._("Every resident of your ward has complete details."), title=title),))
        pages = (len(items) + PER_PAGE - 1) // PER_PAGE
        page = min(max(page, 0), pages - 1)
        shown = items[page * PER_PAGE:(page + 1) * PER_PAGE]
        lines = [turn._("{name}, born {year}: {missing} missing", name=i.name, year=i.birth_year,
                        missing=i.missing) for i in shown]
        lines.append(turn._("Page {page} of {pages} ({total} residents).", page=page + 1, pages=pages,
                            total=len(items)))
        navigation = []
        if page > 0:
            navigation.append(Option(turn._("◀ Previous"), f"worklist:{page - 1}"))
        if page < pages - 1:
            navigation.append(Option(turn._("Next ▶"), f"worklist:{page + 1}"))
        options = (tuple(navigation), (Option(turn._("🔎 Help a resident"), "assist"),)) if navigation \
            else ((Option(turn._("🔎 Help a resident"), "assist"),),)
        return Step((Reply("\n".join(lines), title=title, options=options),))
