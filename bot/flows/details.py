"""Missing details, one at a time: the walk `/update` and a volunteer's `/assist` share.

Each detail gets the input that suits it: ethnicity and ward are found by typing part
of the name (diacritics optional) and choosing; blood group is chosen from a list with
"I don't know"; the rest are typed and checked by the same validators as the importers.
Any detail can be skipped; the person can stop and come back. The walk acts on
`turn.subject`: the citizen's own record (saved as self-declared), or the resident a
volunteer found (kept apart until the resident says yes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.flows import actions
from bot.flows.actions import Action, Open
from bot.flows.menu import menu_reply, typed
from bot.flows.pending import confirm_prompt
from bot.flows.replies import Notice, Option, Reply, Step
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.families import note_update
from core.i18n import N_, Message
from core.identity.accounts import JourneyState
from core.records.completeness import RULES_BY_FIELD, counts
from core.records.display_value import contact_shown, shown
from core.records.provenance import Decision
from core.records.self_declared import DECLARABLE, EMERGENCY_CONTACT, declare, missing_details
from core.reference.ethnicities import find_ethnicity, search_ethnicities
from core.reference.wards import search_wards
from core.text import clean, fold
from core.values import BloodGroup
from core.volunteering.pending import pending_values, propose, waiting_fields

CHOICES_SHOWN = 6
# Details found by a short typed search and chosen from a list: all where typing is hard.
CHOSEN_FROM_LISTS = ("ethnicity_code", "ward_code", "blood_group")
BLOOD_GROUPS = [f"{abo}{rh}" for abo in ("A", "B", "AB", "O") for rh in ("+", "-")]
# An emergency contact's relation, chosen; anything else is typed after "Other". Saved in the
# words of the person's language, as they would have typed them (the book shows them as saved).
RELATIONS = (N_("wife"), N_("husband"), N_("child"), N_("father"), N_("mother"),
             N_("older brother"), N_("older sister"), N_("younger sibling"), N_("grandchild"),
             N_("grandfather"), N_("grandmother"), N_("neighbour"))
OTHER_RELATION = "other"
# What may be searched as a name: letters, spaces, hyphens, apostrophes (an ethnicity's code too).
_NAME_QUERY = re.compile(r"[^\W_]+(?:['’ -][^\W_]+)*")
# Each detail's question: to the citizen about themself, and to a volunteer about the resident
# beside them ({resident}: the resident's short name), never "your" as if they were the resident.
PROMPTS = {
    "ethnicity_code": (
        N_("Your ethnic group: type its name or part of it, for example Kinh, Tày or Mường."),
        N_("{resident}'s ethnic group: type its name or part of it, for example Kinh, Tày or "
           "Mường.")),
    "ward_code": (
        N_("Your ward or commune in Hanoi: type part of its name, for example Hoàn Kiếm."),
        N_("{resident}'s ward or commune in Hanoi: type part of its name, for example Hoàn Kiếm.")),
    "street_address": (
        N_("Your street address: house number, lane, street or village."),
        N_("{resident}'s street address: house number, lane, street or village.")),
    "occupation": (
        N_("Your occupation, for example teacher, farmer, retired."),
        N_("{resident}'s occupation, for example teacher, farmer, retired.")),
    "blood_group": (
        N_("Your blood group: choose it below, or tap “I don't know”."),
        N_("{resident}'s blood group: choose it below, or tap “I don't know”.")),
    "emergency_contact_name": (
        N_("Someone to call in an emergency: type their full name."),
        N_("Someone to call if {resident} has an emergency: type their full name.")),
    "emergency_contact_relation": (
        N_("How is {name} related to you? Choose below, or tap “Other” to type it."),
        N_("How is {name} related to {resident}? Choose below, or tap “Other” to type it.")),
    "emergency_contact_phone": (
        N_("{name}'s mobile number, for example 0912 345 678."),
        N_("{name}'s mobile number, for example 0912 345 678.")),
    "email": (
        N_("Your email address, for example name@example.com."),
        N_("{resident}'s email address, for example name@example.com.")),
}


@dataclass(frozen=True)
class WalkActions:
    """A journey's buttons for the walk: each answer names the question it answers."""

    skip: type[Action]
    choose: type[Action]
    stop: type[Action]


def walk_actions(journey: str) -> WalkActions:
    """The walk's actions, declared for one journey (so a button always reaches its journey)."""

    return WalkActions(actions.declare(journey, "k", "Skip", answers_step=True, step=str),
                       actions.declare(journey, "v", "Choose", once=True, answers_step=True, step=str,
                                       value=str),
                       actions.declare(journey, "x", "Stop", in_journey=True))


class DetailsWalk:
    """`assisted`: a volunteer enters what a resident tells them; it waits for the resident's yes."""

    def __init__(self, journey: str, *, assisted: bool) -> None:
        self.journey = journey
        self.assisted = assisted
        self.actions = walk_actions(journey)

    # --- The walk's state -----------------------------------------------------------------------

    def _carry(self, turn: Turn) -> dict[str, Any]:
        """What the journey keeps along the walk (the volunteer's resident and their short name)."""
        data = turn.state.data if turn.state.flow == self.journey else {}
        return {key: data[key] for key in ("subject", "name") if key in data}

    def _skipped(self, turn: Turn) -> list[str]:
        value = turn.state.data.get("skipped") if turn.state.flow == self.journey else None
        return [f for f in value if f in DECLARABLE] if isinstance(value, list) else []

    async def missing(self, turn: Turn, skipped: list[str] | None = None) -> list[str]:
        assert turn.subject is not None
        found = [gap.field for gap in await missing_details(turn.db, turn.subject)]
        if self.assisted:  # what already waits for the resident's yes is not asked again
            waiting = await waiting_fields(turn.db, turn.subject)
            found = [f for f in found if f not in waiting]
        if not turn.channel.typing:  # where typing an address is no help: only what is chosen
            found = [f for f in found if f in CHOSEN_FROM_LISTS]
        return [f for f in found if f not in (skipped or [])]

    def begin(self, turn: Turn, missing: list[str], carry: dict[str, Any],
              before: tuple[Reply, ...] = ()) -> Step:
        return self._ask(turn, missing[0], [], carry, before=before)

    # --- Questions ----------------------------------------------------------------------------

    def _ask(self, turn: Turn, field: str, skipped: list[str], carry: dict[str, Any], *,
             before: tuple[Reply, ...] = (), choices: tuple[Option, ...] = (), text: str | None = None,
             contact: dict[str, str] | None = None, typed_relation: bool = False) -> Step:
        options, per_row = list(choices), 1
        if field == "blood_group":
            options = [Option(BloodGroup.from_code(code).display(), self.actions.choose(field, code))
                       for code in BLOOD_GROUPS]
            options.append(Option(turn._("🤷 I don't know"), self.actions.skip(field)))
            per_row = 2
        elif contact is not None and self._relation_asked(contact) and not typed_relation:
            options = [Option(_capital(turn.t.gettext(word)), self.actions.choose(field, str(index)))
                       for index, word in enumerate(RELATIONS)]
            options.append(Option(turn._("✏️ Other"), self.actions.choose(field, OTHER_RELATION)))
            per_row = 3
        grid = tuple(tuple(options[i:i + per_row]) for i in range(0, len(options), per_row))
        prompt = text or self._prompt(turn, field, contact or {}, carry)
        # Each button names its question: an older message's button never answers a later one.
        steer = (Option(turn._("⏭ Skip this one"), self.actions.skip(field)),
                 Option(turn._("✖ Stop for now"), self.actions.stop()))
        reply = Reply(prompt, options=(*grid, steer))
        data: dict[str, object] = {**carry, "skipped": skipped}
        if contact:
            data["contact"] = contact
        if typed_relation:
            data["typed_relation"] = True
        return Step((*before, reply), JourneyState(self.journey, field, data))

    def _prompt(self, turn: Turn, field: str, contact: dict[str, str],
                carry: dict[str, Any]) -> str:
        part = EMERGENCY_CONTACT[len(contact)] if field == "emergency_contact_name" else field
        own, assisted = PROMPTS[part]
        return turn._(assisted if self.assisted else own,
                      name=contact.get("emergency_contact_name", ""),
                      resident=self._resident(turn, carry))

    def _resident(self, turn: Turn, carry: dict[str, Any]) -> str:
        """Whom a volunteer's questions are about: the resident's short name (`Trần T. B.`)."""
        name = carry.get("name")
        return name if isinstance(name, str) and name else turn._("the resident")

    async def _next(self, turn: Turn, skipped: list[str], before: tuple[Reply, ...]) -> Step:
        remaining = await self.missing(turn, skipped)
        if not remaining:
            return await self._done(turn, before)
        return self._ask(turn, remaining[0], skipped, self._carry(turn), before=before)

    async def _done(self, turn: Turn, before: tuple[Reply, ...], *, stopped: bool = False) -> Step:
        if self.assisted and turn.subject is None:  # stopped before a resident was found
            return Step((Reply(turn._("Stopped.")),))
        if self.assisted:
            assert turn.subject is not None
            waiting = await pending_values(turn.db, citizen_id=turn.subject)
            text = turn._("Done. What you entered for {name} waits for them to confirm it: by a "
                          "message to them if they have linked their health book here, otherwise "
                          "at the ward health station.", name=self._resident(turn, self._carry(turn)))
            reply = Reply(text, options=((Option(turn._("🔎 Help another resident"), Open("assist")),),))
            notify = (Notice(turn.subject, confirm_prompt(waiting)),) if waiting else ()
            return Step((*before, reply), notify=notify)
        if not stopped:
            done = turn._("That is all for now. Thank you! Your health book shows what you entered "
                          "as self-declared.")
            return Step((*before, menu_reply(turn, done)))
        if not turn.channel.commands:
            return Step((menu_reply(turn, turn._("Stopped. What you saved is kept.")),))
        return Step((menu_reply(turn, turn._("Stopped. What you saved is kept; type {update} to "
                                             "continue later.", update=typed(turn, "update"))),))

    # --- Answers ------------------------------------------------------------------------------

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        field = turn.state.step if turn.state.flow == self.journey else None
        skipped = self._skipped(turn)
        if isinstance(chosen, self.actions.stop):
            return await self._done(turn, (), stopped=True)
        if field not in DECLARABLE:  # a button from a walk that has ended
            raise StaleOption
        if isinstance(chosen, self.actions.skip):
            return await self._next(turn, [*skipped, field], ())
        if isinstance(chosen, self.actions.choose) and field == "emergency_contact_name":
            return await self._relation(turn, skipped, chosen.value)  # type: ignore[attr-defined]
        if isinstance(chosen, self.actions.choose):
            return await self._save(turn, field, chosen.value, skipped)  # type: ignore[attr-defined]
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        field = turn.state.step
        if field not in DECLARABLE:
            return Step((menu_reply(turn),))
        skipped = self._skipped(turn)
        typed = turn.input.text
        if field in ("ethnicity_code", "ward_code"):
            return await self._search(turn, field, skipped, typed)
        if field == "emergency_contact_name":
            return await self._contact(turn, skipped, typed)
        return await self._save(turn, field, typed, skipped)

    @staticmethod
    def _relation_asked(contact: dict[str, str]) -> bool:
        return len(contact) == 1

    @staticmethod
    def _contact_so_far(turn: Turn) -> dict[str, str]:
        stored = turn.state.data.get("contact")
        return ({k: v for k, v in stored.items() if k in EMERGENCY_CONTACT}
                if isinstance(stored, dict) else {})

    async def _relation(self, turn: Turn, skipped: list[str], chosen: str) -> Step:
        """A relation tapped; "Other" asks for it in words."""
        contact = self._contact_so_far(turn)
        field = "emergency_contact_name"
        if not self._relation_asked(contact):  # a relation button from an earlier contact
            raise StaleOption
        if chosen == OTHER_RELATION:
            text = turn._("Type how {name} is related, in a few words, for example daughter-in-law.",
                          name=contact[field])
            return self._ask(turn, field, skipped, self._carry(turn), text=text, contact=contact,
                             typed_relation=True)
        if not chosen.isdigit() or int(chosen) >= len(RELATIONS):
            raise StaleOption
        return await self._contact_part(turn, skipped, contact,
                                        turn.t.gettext(RELATIONS[int(chosen)]))

    async def _contact(self, turn: Turn, skipped: list[str], typed: str) -> Step:
        """Three answers, saved together: the name, the relation (chosen, or typed), the number."""
        contact = self._contact_so_far(turn)
        part = EMERGENCY_CONTACT[min(len(contact), 2)]
        field = "emergency_contact_name"
        try:
            if part == "emergency_contact_name":
                value = validation.full_name(typed)
            elif part == "emergency_contact_relation" and turn.state.data.get("typed_relation"):
                value = validation.relation(typed)  # after "Other": their own words
            elif part == "emergency_contact_relation":
                value = self._known_relation(turn, typed)
            else:
                value = validation.phone(typed)
        except validation.InvalidValue as error:  # one message: what is wrong, with its example
            return self._ask(turn, field, skipped, self._carry(turn), text=error.message.render(turn.t),
                             contact=contact, typed_relation=bool(turn.state.data.get("typed_relation")))
        return await self._contact_part(turn, skipped, contact, value)

    @staticmethod
    def _known_relation(turn: Turn, typed: str) -> str:
        """A relation typed where the buttons are offered: one of them, as written (`Vợ`; not `ba`,
        which is `bố` to some and `bà` folded); other words go through "Other", so a stray word is
        never taken as a relation."""
        words = {turn.t.gettext(word).casefold(): turn.t.gettext(word) for word in RELATIONS}
        found = words.get(clean(typed).casefold())
        if found is None:
            raise validation.InvalidValue(Message(N_("Please choose one of the buttons, or tap "
                                                     "“Other” to type the relation.")))
        return found

    async def _contact_part(self, turn: Turn, skipped: list[str], contact: dict[str, str],
                            value: str) -> Step:
        field = "emergency_contact_name"
        contact = {**contact, EMERGENCY_CONTACT[len(contact)]: value}
        if len(contact) < len(EMERGENCY_CONTACT):
            return self._ask(turn, field, skipped, self._carry(turn), contact=contact)
        said = await self._store(turn, contact, contact_shown(contact))
        return await self._next(turn, [*skipped, field], (Reply(said),))

    async def _search(self, turn: Turn, field: str, skipped: list[str], typed: str) -> Step:
        """A name typed to find an ethnic group or a ward: one named exactly so is taken (the reply
        says what was saved); otherwise the matches to choose from."""
        if not _NAME_QUERY.fullmatch(clean(typed)):  # `O+`: a blood group typed too soon, not a name
            text = "\n".join((turn._("Please type a name, in letters."),
                              self._prompt(turn, field, {}, self._carry(turn))))
            return self._ask(turn, field, skipped, self._carry(turn), text=text)
        if field == "ethnicity_code":
            found = [(e.name, e.code) for e in search_ethnicities(typed)]
            exact = find_ethnicity(clean(typed))
            taken = exact.code if exact is not None else None
        else:
            wards = search_wards(typed)
            found = [(w.name, w.code) for w in wards]
            named = [w.code for w in wards  # `hoan kiem` is Phường Hoàn Kiếm
                     if fold(typed) in (fold(w.name), fold(w.name.split(" ", 1)[-1]))]
            taken = named[0] if len(named) == 1 else None
        if taken is not None:
            return await self._save(turn, field, taken, skipped)
        return self._choose(turn, field, skipped, found)

    def _choose(self, turn: Turn, field: str, skipped: list[str], found: list[tuple[str, str]]) -> Step:
        carry = self._carry(turn)
        if not found:
            text = turn._("Nothing matches that. Please try another spelling or part of the name.")
            return self._ask(turn, field, skipped, carry, text=text)
        choices = tuple(Option(name, self.actions.choose(field, code))
                        for name, code in found[:CHOICES_SHOWN])
        if self.assisted:
            chosen = turn._("Choose the right one for {resident}:",
                            resident=self._resident(turn, carry))
        else:
            chosen = turn._("Choose yours:")
        return self._ask(turn, field, skipped, carry, choices=choices, text=chosen)

    async def _save(self, turn: Turn, field: str, given: str, skipped: list[str]) -> Step:
        try:
            value = _parse(field, given)
        except validation.InvalidValue as error:  # one message: what is wrong, with its example
            return self._ask(turn, field, skipped, self._carry(turn), text=error.message.render(turn.t))
        said = await self._store(turn, {field: value}, shown(field, value, turn.t))
        return await self._next(turn, [*skipped, field], (Reply(said),))

    async def _store(self, turn: Turn, values: dict[str, object], shown: str) -> str:
        assert turn.subject is not None
        if self.assisted:  # a volunteer's entry waits for the resident's yes
            assert turn.staff is not None  # the journey requires a volunteer
            await propose(turn.db, turn.staff, turn.subject, values)
            return turn._("Noted: {value}. It is saved once the resident confirms it.", value=shown)
        first = next(iter(values))
        someone = turn.for_someone
        decided = await declare(turn.db, turn.subject, values, channel=turn.channel.name,
                                by=someone.right.capacity.value if someone else None)
        if someone is not None and turn.actor is not None:  # in their access history
            await note_update(turn.db, turn.actor, turn.account.id, someone)
        if decided[first] is Decision.KEEP:  # an official value stands: the health station corrects it
            return turn._("Your record already has this from an official source, so it was not "
                          "changed. If it is wrong, the health station of your ward can correct it.")
        return turn._("Saved: {value} (self-declared).", value=shown)


def field_names(turn: Turn, fields: Iterable[str]) -> str:
    """The details' names as a sentence says them (`dân tộc, số điện thoại`), from the completeness
    rules' labels: a list in its own order (the order they are asked), a set in the rules'."""
    named = [f for f in fields if f in RULES_BY_FIELD]
    if isinstance(fields, (set, frozenset)):
        named.sort(key=list(RULES_BY_FIELD).index)
    return ", ".join(in_sentence(turn.t.gettext(RULES_BY_FIELD[f].label)) for f in named)


def missing_and_optional(fields: list[str]) -> tuple[list[str], list[str]]:
    """The walk's details split as the worklist counts them (`completeness.counts`): those
    missing, and those only offered (email, emergency contact)."""
    return [f for f in fields if counts(f)], [f for f in fields if not counts(f)]


def missing_intro(turn: Turn, fields: list[str], resident: str) -> str:
    """What a volunteer is told before the walk: what is missing, as the worklist names it
    (`completeness.counts`), and apart from it what they may also add (email, contact)."""
    missing, optional = missing_and_optional(fields)
    lines = [turn._("{name} is missing: {fields}. Fill them in together; the resident confirms "
                    "before anything is saved.", name=resident, fields=field_names(turn, missing))
             if missing else turn._("Nothing is missing for {name}.", name=resident)]
    if optional:
        lines.append(turn._("If they wish, you can also add: {fields}.",
                            fields=field_names(turn, optional)))
    return "\n".join(lines)


def _capital(word: str) -> str:
    """A word as a button shows it: `vợ` → `Vợ`."""
    return word[:1].upper() + word[1:]


def in_sentence(label: str) -> str:
    """A label inside a sentence: its first letter small (`Số định danh cá nhân (số CCCD)` →
    `số định danh cá nhân (số CCCD)`), the rest as written."""
    return label[:1].lower() + label[1:]


def _text(given: str, length: int) -> str:
    value = validation.free_text(given, length)
    if not value:
        raise validation.InvalidValue(Message(N_("Please type it, or tap “Skip this one”.")))
    return value


def _parse(field: str, given: str) -> object:
    if field == "ethnicity_code":
        return validation.ethnicity(given)
    if field == "ward_code":
        return validation.ward_code(given)
    if field == "blood_group":
        return validation.blood_group(given)
    if field == "email":
        return validation.email(given)
    return _text(given, 200 if field == "street_address" else 100)
