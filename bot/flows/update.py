"""`/update`: the citizen fills in missing details, one at a time, as self-declared values.

Each detail gets the input that suits it: ethnicity and ward are found by typing
part of the name (diacritics optional) and choosing; blood group is chosen from a
list with "I don't know"; the rest are typed and checked by the same validators
as the importers. Any detail can be skipped; the person can stop and come back.
"""

from __future__ import annotations

from dataclasses import replace

from bot.flows.menu import menu_reply
from bot.flows.pending import confirm_prompt, waiting_prompt
from bot.flows.replies import Notice, Option, Reply, Step
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.i18n import N_, Message
from core.identity.accounts import JourneyState
from core.records.completeness import RULES_BY_FIELD
from core.records.provenance import Decision
from core.records.self_declared import DECLARABLE, EMERGENCY_CONTACT, declare, missing_details
from core.reference.ethnicities import ethnicity_by_code, search_ethnicities
from core.reference.wards import search_wards, ward_by_code
from core.staff.model import StaffRole
from core.staff.service import active_staff
from core.values import BloodGroup
from core.volunteering.pending import pending_values, propose, waiting_fields

CHOICES_SHOWN = 6
# Details found by a short typed search and chosen from a list: what a keypad (USSD) can do.
CHOSEN_FROM_LISTS = ("ethnicity_code", "ward_code", "blood_group")
BLOOD_GROUPS = [f"{abo}{rh}" for abo in ("A", "B", "AB", "O") for rh in ("+", "-")]
PROMPTS = {
    "ethnicity_code": N_("Your ethnic group: type its name or part of it, for example Kinh, Tày or Mường."),
    "ward_code": N_("Your ward or commune in Hanoi: type part of its name, for example Hoàn Kiếm."),
    "street_address": N_("Your street address: house number, lane, street or village."),
    "occupation": N_("Your occupation, for example teacher, farmer, retired."),
    "blood_group": N_("Your blood group: choose it below, or tap “I don't know”."),
    "emergency_contact_name": N_("Someone to call in an emergency: type their full name."),
    "emergency_contact_relation": N_("How is {name} related to you? For example wife, son, neighbour."),
    "emergency_contact_phone": N_("{name}'s mobile number, for example 0912 345 678."),
    "email": N_("Your email address, for example name@example.com."),
}


def _steer(turn: Turn, field: str) -> tuple[Option, ...]:
    # Each button names its question: an older message's button never answers a later one.
    return (Option(turn._("⏭ Skip this one"), f"update:skip:{field}"),
            Option(turn._("✖ Stop for now"), "update:stop"))


class UpdateFlow:
    """The citizen's own journey; a volunteer walks the same steps for a resident (`assist`)."""

    name = "update"

    @staticmethod
    def _target(turn: Turn) -> int | None:
        """Whose details: a volunteer's resident (state `assist`), else the citizen's own."""
        assisted = turn.state.data.get("assist") if turn.state.flow == "update" else None
        return assisted if isinstance(assisted, int) else turn.account.citizen_id

    @staticmethod
    def _carry(turn: Turn) -> dict[str, object]:
        data = turn.state.data if turn.state.flow == "update" else {}
        return {key: data[key] for key in ("assist", "name") if key in data}

    async def begin(self, turn: Turn, missing: list[str], carry: dict[str, object],
                    before: tuple[Reply, ...] = ()) -> Step:
        """Starts the walk over `missing` (used by /update and by a volunteer's /assist)."""
        turn = replace(turn, account=replace(turn.account, state=JourneyState("update", None, carry)))
        return self._ask(turn, missing[0], [], before=before)

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            return Step((menu_reply(turn, turn._("Please verify your identity first, then you can "
                                                 "fill in your details.")),))
        assert turn.account.citizen_id is not None
        waiting = await waiting_prompt(turn, turn.account.citizen_id,
                                       turn._("First, what a volunteer entered with you:"))
        if waiting is not None:  # one thing at a time: their yes or no first, then what is missing
            return Step((waiting,))
        missing = await self._missing(turn)
        if not missing:
            return Step((menu_reply(turn, turn._("Your details are complete. Thank you!")),))
        names = ", ".join(turn.t.gettext(RULES_BY_FIELD[f].label) for f in missing)
        if turn.channel.keypad:
            intro = Reply(turn._("Missing from your record: {fields}. You can skip any of them.",
                                 fields=names))
        else:
            intro = Reply(turn._("{count} details are missing from your record: {fields}. Let us fill them "
                                 "in one at a time. You can skip any of them, or stop and continue "
                                 "later with /update.", count=len(missing), fields=names))
        return await self.begin(turn, missing, {}, (intro,))

    async def _missing(self, turn: Turn, skipped: list[str] | None = None) -> list[str]:
        target = self._target(turn)
        assert target is not None
        found = [gap.field for gap in await missing_details(turn.db, target)]
        if self._carry(turn).get("assist"):  # what already waits for the resident's yes is not asked again
            waiting = await waiting_fields(turn.db, target)
            found = [f for f in found if f not in waiting]
        if turn.channel.keypad:  # typing an address on a keypad is no help: only what is chosen
            found = [f for f in found if f in CHOSEN_FROM_LISTS]
        return [f for f in found if f not in (skipped or [])]

    def _ask(self, turn: Turn, field: str, skipped: list[str], *, before: tuple[Reply, ...] = (),
             choices: tuple[Option, ...] = (), text: str | None = None,
             contact: dict[str, str] | None = None) -> Step:
        options = list(choices)
        if field == "blood_group":
            options = [Option(BloodGroup.from_code(code).display(), f"update:set:{field}:{code}")
                       for code in BLOOD_GROUPS]
            options.append(Option(turn._("🤷 I don't know"), f"update:skip:{field}"))
        grid = tuple(tuple(options[i:i + 2]) for i in range(0, len(options), 2)) if field == "blood_group" \
            else tuple((o,) for o in options)
        prompt = text or self._prompt(turn, field, contact or {})
        if self._carry(turn).get("name"):  # a volunteer asks on a resident's behalf
            prompt = turn._("For {name}:", name=self._carry(turn)["name"]) + "\n" + prompt
        reply = Reply(prompt, options=(*grid, _steer(turn, field)))
        data: dict[str, object] = {**self._carry(turn), "skipped": skipped}
        if contact:
            data["contact"] = contact
        return Step((*before, reply), JourneyState("update", field, data))

    @staticmethod
    def _prompt(turn: Turn, field: str, contact: dict[str, str]) -> str:
        part = EMERGENCY_CONTACT[len(contact)] if field == "emergency_contact_name" else field
        return turn._(PROMPTS[part], name=contact.get("emergency_contact_name", ""))

    async def _next(self, turn: Turn, skipped: list[str], before: tuple[Reply, ...]) -> Step:
        remaining = await self._missing(turn, skipped)
        if not remaining and self._carry(turn).get("assist"):
            return await self._assisted_done(turn, before)
        if not remaining:
            done = turn._("That is all for now. Thank you! Your health book shows what you entered "
                          "as self-declared.")
            return Step((*before, menu_reply(turn, done)))
        return self._ask(turn, remaining[0], skipped, before=before)

    async def _assisted_done(self, turn: Turn, before: tuple[Reply, ...]) -> Step:
        target = self._target(turn)
        assert isinstance(target, int)
        waiting = await pending_values(turn.db, citizen_id=target)
        text = turn._("Done with {name}. What you entered waits for their confirmation: in the bot if "
                      "they use it, otherwise at the ward health station.",
                      name=self._carry(turn).get("name"))
        reply = Reply(text, options=((Option(turn._("🔎 Help another resident"), "assist"),),))
        notify = (Notice(target, confirm_prompt(waiting)),) if waiting else ()
        return Step((*before, reply), notify=notify)

    def _skipped(self, turn: Turn) -> list[str]:
        value = turn.state.data.get("skipped") if turn.state.flow == self.name else None
        return [f for f in value if f in DECLARABLE] if isinstance(value, list) else []

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if self._target(turn) is None or not args:
            return await self.start(turn)
        field = turn.state.step if turn.state.flow == self.name else None
        if field not in DECLARABLE:  # a button from an update that has ended
            raise StaleOption
        skipped = self._skipped(turn)
        if args[0] == "stop":
            if self._carry(turn).get("assist"):
                return await self._assisted_done(turn, ())
            if turn.channel.keypad:
                return Step((menu_reply(turn, turn._("Stopped. What you saved is kept.")),))
            return Step((menu_reply(turn, turn._("Stopped. What you saved is kept; type /update to "
                                                 "continue later.")),))
        if len(args) < 2 or args[1] != field:  # answers a question that is no longer asked
            raise StaleOption
        if args[0] == "skip":
            return await self._next(turn, [*skipped, field], ())
        if args[0] == "set" and len(args) >= 3:
            return await self._save(turn, field, ":".join(args[2:]), skipped)
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        field = turn.state.step
        if field not in DECLARABLE:
            return Step((menu_reply(turn),))
        skipped = self._skipped(turn)
        typed = turn.input.text
        if field == "ethnicity_code":
            return self._choose(turn, field, skipped, [(e.name, e.code) for e in search_ethnicities(typed)])
        if field == "ward_code":
            return self._choose(turn, field, skipped, [(w.name, w.code) for w in search_wards(typed)])
        if field == "emergency_contact_name":
            return await self._contact(turn, skipped, typed)
        return await self._save(turn, field, typed, skipped)

    async def _contact(self, turn: Turn, skipped: list[str], typed: str) -> Step:
        """Three answers, saved together: the name, the relation, the mobile number."""
        stored = turn.state.data.get("contact")
        contact = ({k: v for k, v in stored.items() if k in EMERGENCY_CONTACT}
                   if isinstance(stored, dict) else {})
        part = EMERGENCY_CONTACT[min(len(contact), 2)]
        field = "emergency_contact_name"
        try:
            if part == "emergency_contact_name":
                value = validation.full_name(typed)
            elif part == "emergency_contact_relation":
                value = self._text(typed, 50)
            else:
                value = validation.phone(typed)
        except validation.InvalidValue as error:
            text = error.message.render(turn.t) + "\n" + self._prompt(turn, field, contact)
            return self._ask(turn, field, skipped, text=text, contact=contact)
        contact[part] = value
        if len(contact) < len(EMERGENCY_CONTACT):
            return self._ask(turn, field, skipped, contact=contact)
        said = await self._store(turn, contact, contact[field])
        return await self._next(turn, [*skipped, field], (Reply(said),))

    def _choose(self, turn: Turn, field: str, skipped: list[str], found: list[tuple[str, str]]) -> Step:
        if not found:
            return self._ask(turn, field, skipped, text=turn._("Nothing matches that. Please try another "
                                                               "spelling or part of the name."))
        choices = tuple(Option(name, f"update:set:{field}:{code}") for name, code in found[:CHOICES_SHOWN])
        return self._ask(turn, field, skipped, choices=choices, text=turn._("Choose yours:"))

    async def _save(self, turn: Turn, field: str, given: str, skipped: list[str]) -> Step:
        try:
            value = self._parse(field, given)
        except validation.InvalidValue as error:
            return self._ask(turn, field, skipped, text=error.message.render(turn.t) + "\n" +
                             self._prompt(turn, field, {}))
        said = await self._store(turn, {field: value}, self._shown(field, value))
        return await self._next(turn, [*skipped, field], (Reply(said),))

    async def _store(self, turn: Turn, values: dict[str, object], shown: str) -> str:
        target = self._target(turn)
        assert target is not None
        if self._carry(turn).get("assist"):  # a volunteer's entry waits for the resident's yes
            staff = await active_staff(turn.db, turn.account.id)
            if staff is None or staff.role is not StaffRole.VOLUNTEER:
                raise StaleOption
            await propose(turn.db, staff, target, values)
            return turn._("Noted: {value}. It is saved once the resident confirms it.", value=shown)
        first = next(iter(values))
        decided = await declare(turn.db, target, values, channel=turn.channel.name)
        return self._said(turn, decided[first], shown)

    @staticmethod
    def _said(turn: Turn, decision: Decision, shown: str) -> str:
        if decision is Decision.KEEP:  # an official value stands: the health station corrects it
            return turn._("Your record already has this from an official source, so it was not "
                          "changed. If it is wrong, the health station of your ward can correct it.")
        return turn._("Saved: {value} (self-declared).", value=shown)

    @staticmethod
    def _text(given: str, length: int) -> str:
        value = validation.free_text(given, length)
        if not value:
            raise validation.InvalidValue(Message(N_("Please type it, or tap “Skip this one”.")))
        return value

    @staticmethod
    def _parse(field: str, given: str) -> object:
        if field == "ethnicity_code":
            return validation.ethnicity(given)
        if field == "ward_code":
            return validation.ward_code(given)
        if field == "blood_group":
            return validation.blood_group(given)
        if field == "email":
            return validation.email(given)
        return UpdateFlow._text(given, 200 if field == "street_address" else 100)

    @staticmethod
    def _shown(field: str, value: object) -> str:
        if field == "ethnicity_code":
            found = ethnicity_by_code(str(value))
            return found.name if found else str(value)
        if field == "ward_code":
            ward = ward_by_code(str(value))
            return ward.name if ward else str(value)
        if isinstance(value, BloodGroup):
            return value.display()
        return str(value)
