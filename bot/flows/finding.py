"""How a volunteer's journeys find a resident: personal ID, then birth date, in the volunteer's ward.

Shared by `/assist` and `/change`, so both ask in the same words and refuse in the same words (the
limits themselves are core.volunteering.residents.find_resident's).
"""

from __future__ import annotations

from bot.flows.actions import Open
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core import validation
from core.identity.accounts import JourneyState
from core.volunteering.residents import Lookup, LookupResult, find_resident


def ask_id(turn: Turn, journey: str, stop: Option) -> Step:
    text = turn._("Type the resident's personal ID number (12 digits).")
    return Step((Reply(text, options=rows(stop)),), JourneyState(journey, "id"))


def take_id(turn: Turn, journey: str, stop: Option) -> Step:
    """The ID typed: asked again when it is none, else the birth date is asked."""
    try:
        personal_id = validation.personal_id(turn.input.text)
    except validation.InvalidValue as error:
        return Step((Reply(error.message.render(turn.t), options=rows(stop)),), turn.state)
    text = turn._("Now the resident's date of birth, as day/month/year (for example 05/09/1960).")
    return Step((Reply(text, options=rows(stop)),), JourneyState(journey, "dob", {"pid": personal_id}))


async def take_birth(turn: Turn, journey: str, stop: Option) -> Step | LookupResult:
    """The birth date typed: the resident found (a FOUND result), or what to say instead."""
    personal_id = turn.state.data.get("pid")
    if not isinstance(personal_id, str):
        return ask_id(turn, journey, stop)
    try:
        born = validation.calendar_date(turn.input.text)
    except validation.InvalidValue as error:
        return Step((Reply(error.message.render(turn.t), options=rows(stop)),), turn.state)
    assert turn.staff is not None  # the journey requires a volunteer
    found = await find_resident(turn.db, turn.staff, turn.account, personal_id, born)
    if found.state is Lookup.TOO_MANY:
        return Step((Reply(turn._("You have looked up many residents in the last hour. Please wait "
                                  "a while before the next one.")),))
    if found.state is Lookup.LOCKED:
        return Step((Reply(turn._("Too many lookups did not match. Lookups are paused for 24 hours; "
                                  "the health station can help.")),))
    if found.state is Lookup.NOT_FOUND or found.citizen_id is None:
        text = turn._("No resident of your ward has this ID and date of birth. Please check them.")
        return Step((Reply(text, options=rows(Option(turn._("🔎 Try again"), Open(journey)))),))
    return found
