"""`/change`: a ward volunteer reports that a resident moved away or died.

The volunteer finds the resident as `/assist` does (ID and birth date, own ward only), chooses
what changed, where to (optional, for a move), when as far as known and an optional note, and
sends it after reading it back. The report waits for the ward health station, which confirms or
rejects it (core.volunteering.changes); the volunteer is told either way.
"""

from __future__ import annotations

from typing import Any

from bot.flows.actions import Action, Open, declare
from bot.flows.finding import ask_id, take_birth, take_id
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.i18n import N_, TIMEZONE
from core.identity.accounts import JourneyState
from core.values import PartialDate
from core.volunteering.changes import (
    DESTINATION_LENGTH,
    NOTE_LENGTH,
    ChangeKind,
    Refusal,
    Refused,
    refusal,
    report_change,
)

NAME = "change"
# (Its field is not `kind`: an action's `kind` is its name on the wire.)
ChooseKind = declare(NAME, "k", "ChooseKind", once=True, answers_step=True, change=ChangeKind,
                     step=(str, "kind"))
# "Not known" for the date, "skip" for where to and the note: it answers the question it was shown with.
Skip = declare(NAME, "s", "Skip", answers_step=True, step=str)
Send = declare(NAME, "y", "Send", once=True, answers_step=True, step=(str, "confirm"))
Quit = declare(NAME, "q", "Quit")

KIND_LABELS = {ChangeKind.MOVED_AWAY: N_("🏠 Moved away"), ChangeKind.DECEASED: N_("🕊 Died")}
ASK_DATE = {
    ChangeKind.MOVED_AWAY: N_("When did {name} move away? Type the date as day/month/year, for example "
                              "05/09/2026, or month/year, for example 09/2026."),
    ChangeKind.DECEASED: N_("When did {name} die? Type the date as day/month/year, for example "
                            "05/09/2026, or month/year, for example 09/2026."),
}


def _stop(turn: Turn) -> Option:
    return Option(turn._("✖ Stop"), Quit())


def _ask_date(turn: Turn, data: dict[str, Any], before: str | None = None) -> Step:
    text = turn._(ASK_DATE[ChangeKind(data["kind"])], name=data["name"])
    options = rows(Option(turn._("Not known"), Skip("date")), _stop(turn))
    return Step((Reply(f"{before}\n{text}" if before else text, options=options),),
                JourneyState(NAME, "date", data))


def _ask_note(turn: Turn, data: dict[str, Any]) -> Step:
    text = turn._("Anything the health station should know? For example who told you. Type a short note, "
                  "or press Skip.")
    return Step((Reply(text, options=rows(Option(turn._("Skip"), Skip("note")), _stop(turn))),),
                JourneyState(NAME, "note", data))


def _read_back(turn: Turn, data: dict[str, Any]) -> Step:
    kind = ChangeKind(data["kind"])
    lines = [turn._("Send this report to the health station of your ward?"),
             turn._("Resident: {name}", name=data["name"]),
             turn._("Change: {kind}", kind=turn.t.gettext(KIND_LABELS[kind]))]
    if kind is ChangeKind.MOVED_AWAY and data.get("where"):
        lines.append(turn._("Moved to: {where}", where=data["where"]))
    date = PartialDate.from_iso(data["date"]).display() if data.get("date") else turn._("not known")
    lines.append(turn._("Date: {date}", date=date))
    if data.get("note"):
        lines.append(turn._("Note: {note}", note=data["note"]))
    options = ((Option(turn._("✅ Send"), Send()), _stop(turn)),)
    return Step((Reply("\n".join(lines), options=options),), JourneyState(NAME, "confirm", data))


def _refused(turn: Turn, refused: Refused, data: dict[str, Any]) -> Step:
    if refused.why is Refusal.BEFORE_BIRTH:
        return _ask_date(turn, data, turn._("That date is before {name} was born. Please check it.",
                                            name=data["name"]))
    if refused.why is Refusal.ALREADY_WAITING and refused.since is not None:
        text = turn._("A report about {name} from {date} already waits for the health station. Nothing "
                      "new was sent.", name=data["name"],
                      date=turn.t.date(refused.since.astimezone(TIMEZONE).date()))
    else:  # moved or died meanwhile, or no longer a volunteer of the ward: the same for the volunteer
        text = turn._("{name} can no longer be reported from your ward. Nothing was sent.", name=data["name"])
    return Step((Reply(text, options=rows(Option(turn._("🏠 Report another resident"), Open(NAME)))),))


class WardChangeFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return ask_id(turn, NAME, _stop(turn))

    async def on_input(self, turn: Turn) -> Step:
        step, data = turn.state.step, dict(turn.state.data)
        if step == "id":
            return take_id(turn, NAME, _stop(turn))
        if step == "dob":
            return await self._found(turn)
        if "subject" not in data or "name" not in data:
            return await self.start(turn)
        if step == "where":
            try:
                data["where"] = validation.free_text(turn.input.text, DESTINATION_LENGTH)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
            return _ask_date(turn, data)
        if step == "date":
            return await self._date(turn, data)
        if step == "note":
            try:
                data["note"] = validation.free_text(turn.input.text, NOTE_LENGTH)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t), options=rows(_stop(turn))),), turn.state)
            return _read_back(turn, data)
        return Step((Reply(turn._("Please use the buttons."), options=rows(_stop(turn))),), turn.state)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        data = dict(turn.state.data)
        if isinstance(chosen, Quit):
            return Step((Reply(turn._("Stopped. Nothing was sent.")),))
        if "subject" not in data or "name" not in data:
            raise StaleOption
        if isinstance(chosen, ChooseKind):
            data["kind"] = chosen.change.value
            if chosen.change is ChangeKind.MOVED_AWAY:
                text = turn._("Where did {name} move to (another ward or province)? Type it, or press Skip.",
                              name=data["name"])
                return Step((Reply(text, options=rows(Option(turn._("Skip"), Skip("where")), _stop(turn))),),
                            JourneyState(NAME, "where", data))
            return _ask_date(turn, data)
        if isinstance(chosen, Skip) and chosen.step == "where":
            return _ask_date(turn, data)
        if isinstance(chosen, Skip) and chosen.step == "date":
            data["date"] = None
            return _ask_note(turn, data)
        if isinstance(chosen, Skip) and chosen.step == "note":
            return _read_back(turn, data)
        if isinstance(chosen, Send):
            return await self._send(turn, data)
        raise StaleOption

    async def _found(self, turn: Turn) -> Step:
        found = await take_birth(turn, NAME, _stop(turn))
        if isinstance(found, Step):
            return found
        assert found.citizen_id is not None and found.name is not None and turn.staff is not None
        # The resident becomes the journey's subject (the engine reads it from the journey's state).
        data = {"subject": found.citizen_id, "name": found.name}
        refused = await refusal(turn.db, turn.staff, found.citizen_id)
        if refused is not None:
            return _refused(turn, refused, data)
        kinds = [Option(turn.t.gettext(label), ChooseKind(kind)) for kind, label in KIND_LABELS.items()]
        options = rows(*kinds, _stop(turn))
        text = turn._("What has changed for {name}?", name=found.name)
        return Step((Reply(text, options=options),), JourneyState(NAME, "kind", data))

    async def _date(self, turn: Turn, data: dict[str, Any]) -> Step:
        try:
            date = validation.partial_date(turn.input.text)
        except validation.UnreadableDate:
            return _ask_date(turn, data, turn._("That is not a date I can read."))
        except validation.InvalidValue as error:
            return _ask_date(turn, data, error.message.render(turn.t))
        assert turn.staff is not None and turn.subject is not None
        refused = await refusal(turn.db, turn.staff, turn.subject, date)
        if refused is not None:
            return _refused(turn, refused, data)
        data["date"] = date.iso()
        return _ask_note(turn, data)

    async def _send(self, turn: Turn, data: dict[str, Any]) -> Step:
        assert turn.staff is not None and turn.subject is not None
        date = PartialDate.from_iso(data["date"]) if data.get("date") else None
        filed = await report_change(turn.db, turn.staff, turn.subject, ChangeKind(data["kind"]), date,
                                    data.get("note") or "", destination=data.get("where"))
        if isinstance(filed, Refused):
            return _refused(turn, filed, data)
        text = turn._("Sent. The health station of your ward will check the report about {name}; you will "
                      "get a message here when it is decided.", name=data["name"])
        another = rows(Option(turn._("🏠 Report another resident"), Open(NAME)))
        return Step((Reply(text, options=another),), notice=turn._("Sent."))


JOURNEY = Journey(NAME, WardChangeFlow(), Requires.VOLUNTEER, Subject.FOUND, commands=("change", "biendong"),
                  describe=N_("Report a resident who moved away or died"),
                  menu=N_("🏠 Report moved away or died"), order=15, small_screens=False, listed=False)
