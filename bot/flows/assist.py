"""`/assist`: a ward volunteer helps a resident complete their details.

The volunteer finds the resident by personal ID and birth date, only in their own
ward, and sees only which details are missing: never insurance, history,
immunizations or visits (`core.consent.policy`, volunteer audience). What they
enter waits for the resident's yes (bot.flows.details, `assisted`).
"""

from __future__ import annotations

from bot.flows.actions import Action, Open, declare
from bot.flows.details import DetailsWalk, field_names, missing_intro
from bot.flows.finding import ask_id, take_birth, take_id
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.i18n import N_
from core.records.self_declared import missing_details
from core.volunteering.pending import waiting_fields

WALK = DetailsWalk("assist", assisted=True)


Quit = declare("assist", "q", "Quit")


def _stop(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), Quit())


class AssistFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return ask_id(turn, "assist", _stop(turn))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, Quit):
            return Step((Reply(turn._("Stopped.")),))
        return await WALK.on_action(turn, chosen)

    async def on_input(self, turn: Turn) -> Step:
        if turn.state.step == "id":
            return take_id(turn, "assist", _stop(turn))
        if turn.state.step == "dob":
            return await self._found(turn)
        return await WALK.on_input(turn)

    async def _found(self, turn: Turn) -> Step:
        found = await take_birth(turn, "assist", _stop(turn))
        if isinstance(found, Step):
            return found
        assert found.citizen_id is not None
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
