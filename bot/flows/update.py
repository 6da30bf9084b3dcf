"""`/update`: the citizen fills in missing details, one at a time, as self-declared values.

The walk itself is shared with a volunteer's `/assist` (bot.flows.details).
"""

from __future__ import annotations

from bot.flows.actions import Action
from bot.flows.details import DetailsWalk, field_names, missing_and_optional
from bot.flows.menu import menu_reply, typed
from bot.flows.pending import waiting_prompt
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Reply, Step
from bot.flows.turn import Turn
from core.families import Power
from core.i18n import N_

WALK = DetailsWalk("update", assisted=False)


class UpdateFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        assert turn.subject is not None
        first = turn._("First, what a volunteer entered with you:")
        waiting = await waiting_prompt(turn, turn.subject, first)
        if waiting is not None:  # one thing at a time: their yes or no first, then what is missing
            return Step((waiting,))
        missing = await WALK.missing(turn)
        if not missing:
            return Step((menu_reply(turn, turn._("Your details are complete. Thank you!")),))
        counted, optional = missing_and_optional(missing)
        names = field_names(turn, counted)
        if not counted:
            lines = [turn._("Nothing is missing from your record.")]
        elif turn.channel.small_screen:
            lines = [turn._("Missing from your record: {fields}. You can skip any of them.",
                            fields=names)]
        else:
            lines = [turn._("{count} details are missing from your record: {fields}. Let us fill them "
                            "in one at a time. You can skip any of them, or stop and continue "
                            "later with {update}.", count=len(counted), fields=names,
                            update=typed(turn, "update"))]
        if optional:
            lines.append(turn._("If you wish, you can also add: {fields}.",
                                fields=field_names(turn, optional)))
        return WALK.begin(turn, missing, {}, (Reply("\n".join(lines)),))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        return await WALK.on_action(turn, chosen)

    async def on_input(self, turn: Turn) -> Step:
        return await WALK.on_input(turn)


JOURNEY = Journey("update", UpdateFlow(), Requires.CITIZEN, Subject.OWN, power=Power.UPDATE,
                  commands=("update", "capnhat"),
                  describe=N_("Fill in missing details"), menu=N_("✏️ Fill in missing details"), order=20)
