"""`/assist`: a ward volunteer helps a resident complete their details.

The volunteer finds the resident by personal ID and birth date, only in their own
ward, and sees only which details are missing: never insurance, history,
immunizations or visits (`core.consent.policy`, volunteer audience). What they
enter waits for the resident's yes (bot.flows.details, `assisted`).
"""

from __future__ import annotations

from bot.flows.actions import Action, Open, declare
from bot.flows.details import DetailsWalk, field_names, missing_intro
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core import validation
from core.i18n import N_
from core.identity.accounts import JourneyState
from core.records.self_declared import missing_details
from core.volunteering.pending import waiting_fields
from core.volunteering.residents import Lookup, find_resident

WALK = DetailsWalk("assist", assisted=True)


Quit = declare("assist", "q", "Quit")


def _stop(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), Quit())


class AssistFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        text = turn._("Type the resident's personal ID number (12 digits).")
        return Step((Reply(text, options=rows(_stop(turn))),), JourneyState("assist", "id"))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, Quit):
            return Step((Reply(turn._("Stopped.")),))
        return await WALK.on_action(turn, chosen)

    async def on_input(self, turn: Turn) -> Step:
        if turn.state.step == "id":
            try:
                personal_id = validation.personal_id(turn.input.text)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
            text = turn._("Now the resident's date of birth, as day/month/year (for example "
                          "05/09/1960).")
            return Step((Reply(text, options=rows(_stop(turn))),), JourneyState("assist", "dob",
                                                                                {"pid": personal_id}))
        if turn.state.step == "dob":
            return await self._found(turn)
        return await WALK.on_input(turn)

    async def _found(self, turn: Turn) -> Step:
        personal_id = turn.state.data.get("pid")
        if not isinstance(personal_id, str):
            return await self.start(turn)
        try:
            born = validation.calendar_date(turn.input.text)
        except validation.InvalidValue as error:
            return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
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
            return Step((Reply(text, options=rows(Option(turn._("🔎 Try again"), Open("assist")))),))
        another = rows(Option(turn._("🔎 Help another resident"), Open("assist")))
        waiting = await waiting_fields(turn.db, found.citizen_id)
        missing = [gap.field for gap in await missing_details(turn.db, found.citizen_id)
                   if gap.field not in waiting]
        if not missing:
            text = turn._("{name}'s details are complete. Thank you!", name=found.name) if not waiting else \
                turn._("What is missing for {name} already waits for their confirmation: {fields}.",
                       name=found.name, fields=field_names(turn, waiting))
            return Step((Reply(text, options=another),))
        intro = Reply(missing_intro(turn, missing, found.name))
        # The resident becomes the walk's subject (the engine reads it from the journey's state).
        carry = {"subject": found.citizen_id, "name": found.name}
        return WALK.begin(turn, missing, carry, (intro,))


JOURNEY = Journey("assist", AssistFlow(), Requires.VOLUNTEER, Subject.FOUND, commands=("assist", "hotro"),
                  describe=N_("Help a resident complete their details"), menu=N_("🔎 Help a resident"),
                  order=14, small_screens=False, listed=False)
