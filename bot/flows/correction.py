"""`/correct`: ask the health station to correct an official detail (name, birth date, sex, ID, card).

Official details are not edited in the bot: the request (the detail, the proposed
value, the reason) is queued for the health station of the person's ward, and the
person is told of the decision.
"""

from __future__ import annotations

from typing import Any

from bot.flows.actions import Action, declare
from bot.flows.details import in_sentence
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.corrections.service import (
    CORRECTABLE,
    REASON_LENGTH,
    Refusal,
    Refused,
    current_shown,
    current_value,
    file_request,
    proposed_shown,
    proposed_text,
    refusal,
)
from core.families import Power
from core.i18n import N_, TIMEZONE
from core.identity.accounts import JourneyState
from core.records.display_value import shown
from core.values import Sex

ChooseDetail = declare("correct", "f", "ChooseDetail", field=str)
# A value chosen rather than typed (sex): it answers the question it was offered for.
ChooseValue = declare("correct", "v", "ChooseValue", once=True, answers_step=True, value=str,
                      step=(str, "value"))
Send = declare("correct", "s", "Send", once=True, answers_step=True, step=(str, "confirm"))
Stop = declare("correct", "x", "Stop")


def _back(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), Stop())


# How to type each detail; sex is chosen from buttons (a numbered list where there are none).
ASK = {
    "full_name": N_("Type the correct full name, for example Nguyễn Văn An."),
    "birth_date": N_("Type the correct date of birth as day/month/year, for example 05/09/1960."),
    "sex": N_("Choose the correct sex."),
    "personal_id": N_("Type the correct personal ID number (12 digits)."),
    "insurance_card": N_("Type the correct health insurance card number as printed on the card "
                         "(2 letters, then 13 digits)."),
}
CHOSEN = {"sex": tuple(Sex)}


def _ask(turn: Turn, field: str, current: Any, *, same: bool = False) -> Reply:
    lines = []
    if same:  # the value typed is the record's: nothing to correct, nothing sent
        lines.append(turn._("Your record already says {value}, so there is nothing to correct and "
                            "nothing was sent.", value=current_shown(field, current, turn.t)))
    elif current is not None:
        lines.append(turn._("Your record says: {value}.", value=current_shown(field, current, turn.t)))
    lines.append(turn._(ASK[field]))
    choices = [Option(shown(field, value, turn.t), ChooseValue(str(value.value)))
               for value in CHOSEN.get(field, ())]
    return Reply("\n".join(lines), options=rows(*choices, _back(turn)))


async def _refused(turn: Turn, field: str, refused: Refused) -> Step:
    """Nothing filed: a request for this detail already waits (since when), or the value is the
    record's own (asked again)."""
    if refused.why is Refusal.SAME_AS_RECORD:
        assert turn.subject is not None
        current = await current_value(turn.db, turn.subject, field)
        return Step((_ask(turn, field, current, same=True),), JourneyState("correct", "value", {
            "field": field}))
    assert refused.since is not None
    text = turn._("You already asked to correct {field} on {date}. That request is waiting for the "
                  "health station of your ward; you will get a message here when it is decided. "
                  "Nothing new was sent.", field=in_sentence(turn.t.gettext(CORRECTABLE[field].label)),
                  date=turn.t.date(refused.since.astimezone(TIMEZONE).date()))
    return Step((menu_reply(turn, text),))


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
            assert turn.subject is not None
            refused = await refusal(turn.db, turn.subject, chosen.field)
            if refused is not None:
                return await _refused(turn, chosen.field, refused)
            current = await current_value(turn.db, turn.subject, chosen.field)
            return Step((_ask(turn, chosen.field, current),),
                        JourneyState("correct", "value", {"field": chosen.field}))
        if isinstance(chosen, ChooseValue) and turn.state.data.get("field") in CHOSEN:
            return await self._value(turn, dict(turn.state.data), chosen.value)
        if isinstance(chosen, Send):
            data = turn.state.data
            assert turn.subject is not None
            filed = await file_request(turn.db, turn.subject, data["field"], data["value"],
                                       data["reason"], channel=turn.channel.name)
            if isinstance(filed, Refused):  # filed meanwhile (another device), or the record changed
                return await _refused(turn, data["field"], filed)
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
            return await self._value(turn, data, turn.input.text)
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
                          field=label, value=proposed_shown(field, data["value"], turn.t),
                          reason=reason)
            options = ((Option(turn._("✅ Send"), Send()), _back(turn)),)
            return Step((Reply(text, options=options),), JourneyState("correct", "confirm", data))
        return Step((Reply(turn._("Please use the buttons."), options=rows(_back(turn))),), turn.state)

    @staticmethod
    async def _value(turn: Turn, data: dict[str, Any], given: str) -> Step:
        field = data["field"]
        try:
            data["value"] = proposed_text(field, given)
        except validation.UnreadableDate:  # the question again: a whole date, as it was asked
            text = turn._("That is not a date I can read.") + " " + turn._(ASK[field])
            return Step((Reply(text, options=rows(_back(turn))),), turn.state)
        except validation.InvalidValue as error:  # one message: what is wrong, with its example
            return Step((Reply(error.message.render(turn.t), options=rows(_back(turn))),), turn.state)
        assert turn.subject is not None
        refused = await refusal(turn.db, turn.subject, field, data["value"])
        if refused is not None:
            return await _refused(turn, field, refused)
        text = turn._("Why is it wrong? For example: a spelling mistake on the card.")
        return Step((Reply(text, options=rows(_back(turn))),), JourneyState("correct", "reason", data))


# A proposed value and a reason are typed: not offered where typing is hard.
JOURNEY = Journey("correct", CorrectionFlow(), Requires.CITIZEN, Subject.OWN, power=Power.UPDATE,
                  commands=("correct", "dieuchinh"), describe=N_("Ask to correct an official detail"),
                  menu=N_("📝 Ask to correct my details"), order=30, small_screens=False)
