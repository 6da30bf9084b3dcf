"""`/correct`: ask the health station to correct an official detail (name, birth date, sex, ID, card).

Official details are not edited in the bot: the request (the detail, the proposed
value, the reason) is queued for the health station of the person's ward, and the
person is told of the decision.
"""

from __future__ import annotations

from bot.flows.actions import Action, declare
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.corrections.service import CORRECTABLE, REASON_LENGTH, file_request, proposed_text
from core.i18n import N_
from core.identity.accounts import JourneyState

ChooseDetail = declare("correct", "f", "ChooseDetail", field=str)
Send = declare("correct", "s", "Send", once=True, answers_step=True, step=(str, "confirm"))
Stop = declare("correct", "x", "Stop")


def _back(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), Stop())


class CorrectionFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        options = [Option(turn.t.gettext(item.label), ChooseDetail(field))
                   for field, item in CORRECTABLE.items()]
        text = turn._("Official details come from the population and insurance registers; you cannot "
                      "change them here, but the health station of your ward can correct them. "
                      "Which detail is wrong?")
        return Step((Reply(text, title=turn._("Ask for a correction"), options=rows(*options, _back(turn))),))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, Stop):
            return Step((menu_reply(turn, turn._("Stopped. Nothing was sent.")),))
        if isinstance(chosen, ChooseDetail) and chosen.field in CORRECTABLE:
            label = turn.t.gettext(CORRECTABLE[chosen.field].label)
            text = turn._("Type the correct {field}.", field=label.lower())
            return Step((Reply(text, options=rows(_back(turn))),), JourneyState("correct", "value",
                                                                                {"field": chosen.field}))
        if isinstance(chosen, Send):
            data = turn.state.data
            assert turn.subject is not None
            await file_request(turn.db, turn.subject, data["field"], data["value"], data["reason"],
                               channel=turn.channel.name)
            text = turn._("Sent. The health station of your ward will check it; you will get a message "
                          "here when it is decided.")
            return Step((menu_reply(turn, text),), notice=turn._("Sent."))
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        data = dict(turn.state.data)
        field = data.get("field")
        if field not in CORRECTABLE:
            return await self.start(turn)
        if turn.state.step == "value":
            try:
                data["value"] = proposed_text(field, turn.input.text)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t), options=rows(_back(turn))),), turn.state)
            text = turn._("Why is it wrong? For example: a spelling mistake on the card.")
            return Step((Reply(text, options=rows(_back(turn))),), JourneyState("correct", "reason", data))
        if turn.state.step == "reason":
            try:
                reason = validation.free_text(turn.input.text, REASON_LENGTH)
            except validation.InvalidValue as error:  # too long: said so, and asked again
                return Step((Reply(error.message.render(turn.t), options=rows(_back(turn))),), turn.state)
            if not reason:
                return Step((Reply(turn._("Please write a short reason."), options=rows(_back(turn))),),
                            turn.state)
            data["reason"] = reason
            label = turn.t.gettext(CORRECTABLE[field].label)
            text = turn._("Send this request to the health station?\n{field}: {value}\nReason: {reason}",
                          field=label, value=data["value"], reason=reason)
            options = ((Option(turn._("✅ Send"), Send()), _back(turn)),)
            return Step((Reply(text, options=options),), JourneyState("correct", "confirm", data))
        return Step((Reply(turn._("Please use the buttons."), options=rows(_back(turn))),), turn.state)


# A proposed value and a reason are typed: not offered where typing is hard.
JOURNEY = Journey("correct", CorrectionFlow(), Requires.CITIZEN, Subject.OWN,
                  commands=("correct", "dieuchinh"), describe=N_("Ask to correct an official detail"),
                  menu=N_("📝 Ask to correct my details"), order=30, small_screens=False)
