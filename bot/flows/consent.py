"""`/consent`: what clinics may see at check-in, and more for one facility until a date.

Decree 13/2023/NĐ-CP: consent is explicit, specific and can be withdrawn at any
time; each choice is recorded (core.consent.grants) and takes effect at once.
"""

from __future__ import annotations

import datetime as dt

from bot.flows.actions import Action, Open, declare
from bot.flows.details import CHOICES_SHOWN
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core.consent import grants
from core.consent.grants import CitizenConsent, group_name, group_names
from core.consent.policy import ALWAYS_VISIBLE, CONSENTABLE
from core.families import Power
from core.i18n import N_, today_hanoi
from core.identity.accounts import JourneyState
from core.records.display_rules import Audience, BookGroup
from core.records.facility import facility_name, search_facilities

ORDER = (BookGroup.HISTORY, BookGroup.IMMUNIZATIONS, BookGroup.VISITS)
DURATIONS = (1, 7, 30, 90)  # days a facility grant lasts, counted from today


# Allow (`on`) or stop one group for any clinic. The button carries the state it sets, so a tap of
# an older message's button never flips back what a newer one set.
Toggle = declare("consent", "t", "Toggle", once=True, group=BookGroup, on=bool)
AskFacility = declare("consent", "f", "AskFacility")
# The groups chosen so far for one facility, before the duration.
FacilityGroups = declare("consent", "g", "FacilityGroups", facility=str, groups=frozenset[BookGroup])
Grant = declare("consent", "d", "Grant", once=True, facility=str, groups=frozenset[BookGroup], days=int)
Withdraw = declare("consent", "w", "Withdraw", once=True, facility=str)
History = declare("consent", "h", "History")


def _actor(turn: Turn) -> str:
    """Who makes the choice, as the consent history records it."""
    someone = turn.for_someone
    if someone is None:
        return "citizen"
    # Decree 13/2023 art. 20(1): a child of 7 or more agrees as well; the guardian confirms it
    # by choosing after being told so (the overview's line), and the record says so.
    return "guardian_child_agreed" if someone.right.child_agrees else someone.right.capacity.value


def _mark(on: bool) -> str:
    return "✅" if on else "⬜"


def _back(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("⬅ Back"), Open("consent"), back=True))


class ConsentFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return Step((self._overview(turn, await grants.consent_of(turn.db, self._citizen(turn))),))

    @staticmethod
    def _citizen(turn: Turn) -> int:
        assert turn.subject is not None
        return turn.subject

    def _overview(self, turn: Turn, consent: CitizenConsent, before: str | None = None) -> Reply:
        t = turn.t
        choose = turn._("Tap to allow or stop more:") if turn.channel.buttons \
            else turn._("Choose a number to allow or stop more:")
        if turn.channel.small_screen:  # the choices on the first screen: one short line above them
            lines = [before] if before else []
        else:
            lines = [turn._("Any clinic where you show your check-in code always sees: {groups}.",
                            groups=group_names(ALWAYS_VISIBLE[Audience.CLINIC], t))]
            if consent.any_clinic:  # said with the rest, so the screen never reads as "only that"
                lines.append(turn._("Also, as you allowed: {groups}.",
                                    groups=group_names(consent.any_clinic, t)))
            if before:
                lines.insert(0, before + "\n")
        today = today_hanoi()
        for grant in consent.facilities:
            if grant.in_force(today):
                until = t.date(grant.valid_until) if grant.valid_until else "—"
                lines.append(turn._("{facility} also sees until {date}: {groups}.",
                                    facility=grant.facility_name or grant.facility_code, date=until,
                                    groups=group_names(grant.groups, t)))
        if turn.for_someone is not None and turn.for_someone.right.child_agrees:
            lines.append(turn._("{name} is 7 or older: by changing a choice you confirm that {name} "
                                "agrees too.", name=turn.for_someone.short_name))
        if not (turn.channel.small_screen and before):  # last, right above the buttons
            lines.append(choose)
        options = [(Option(f"{_mark(g in consent.any_clinic)} {group_name(g, t)}",
                           Toggle(g, g not in consent.any_clinic)),) for g in ORDER]
        options += [(Option(turn._("➕ More for one clinic"), AskFacility()),)]
        options += [(Option(turn._("✖ Withdraw: {facility}",
                                   facility=grant.facility_name or grant.facility_code),
                            Withdraw(grant.facility_code)),)
                    for grant in consent.facilities if grant.in_force(today)]
        options += [(Option(turn._("📜 History of my choices"), History()),),
                    (Option(turn._("🏠 Main menu"), Open("menu")),)]
        return Reply("\n".join(lines), title=turn._("What clinics may see"), options=tuple(options))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        citizen, t = self._citizen(turn), turn.t
        if isinstance(chosen, Toggle):  # a group for any clinic
            group = self._consentable(chosen.group)
            consent = await grants.consent_of(turn.db, citizen)
            current = consent.any_clinic
            picked = current | {group} if chosen.on else current - {group}
            if picked != current:  # already so (an older message's button): nothing to record
                consent = await grants.set_any_clinic(turn.db, citizen, picked, turn.channel.name,
                                                      _actor(turn))
            notice = turn._("Allowed.") if chosen.on else turn._("Stopped.")
            # Said on the screen that follows too: where nothing pops up, it is the only word of it.
            label = group_name(group, t)
            done = turn._("Allowed: {group}.", group=label) if chosen.on \
                else turn._("Stopped: {group}.", group=label)
            return Step((self._overview(turn, consent, done),), notice=notice)
        if isinstance(chosen, AskFacility):
            text = turn._("Which clinic or hospital? Type part of its name, for example Bạch Mai or "
                          "Hoàn Kiếm.")
            return Step((Reply(text, options=_back(turn)),), JourneyState("consent", "facility"))
        if isinstance(chosen, FacilityGroups):
            return await self._facility_groups(turn, chosen.facility,
                                               self._all_consentable(chosen.groups))
        if isinstance(chosen, Grant):
            groups = self._all_consentable(chosen.groups)
            if chosen.days not in DURATIONS or not groups:
                raise StaleOption
            until = today_hanoi() + dt.timedelta(days=chosen.days - 1)
            consent = await grants.set_facility_grant(turn.db, citizen, chosen.facility, groups, until,
                                                      turn.channel.name, _actor(turn))
            # Said once, in the message (a channel may show no short notice at all).
            return Step((self._overview(turn, consent, turn._("Saved.")),))
        if isinstance(chosen, Withdraw):
            consent = await grants.set_facility_grant(turn.db, citizen, chosen.facility, frozenset(), None,
                                                      turn.channel.name, _actor(turn))
            return Step((self._overview(turn, consent, turn._("Withdrawn. It takes effect now.")),))
        if isinstance(chosen, History):
            return await self._history(turn, citizen)
        raise StaleOption

    @staticmethod
    def _consentable(group: BookGroup) -> BookGroup:
        if group not in CONSENTABLE:
            raise StaleOption
        return group

    def _all_consentable(self, groups: frozenset[BookGroup]) -> frozenset[BookGroup]:
        return frozenset(self._consentable(g) for g in groups)

    async def on_input(self, turn: Turn) -> Step:  # part of the facility's name, typed
        found = await search_facilities(turn.db, turn.input.text, CHOICES_SHOWN)
        if not found:
            text = turn._("Nothing matches that. Please try another spelling or part of the name.")
            return Step((Reply(text, options=_back(turn)),), turn.state)
        # Chosen by name; the buttons carry the code the citizen never needs to know.
        options = [Option(f.name, FacilityGroups(f.code, frozenset())) for f in found]
        return Step((Reply(turn._("Choose the clinic:"), options=rows(*options, *_back(turn)[0])),),
                    turn.state)

    async def _facility_groups(self, turn: Turn, code: str, chosen: frozenset[BookGroup]) -> Step:
        name = await facility_name(turn.db, code)
        if name is None:  # a button for a facility no longer listed
            raise StaleOption
        t = turn.t
        options = []
        for group in ORDER:
            toggled = chosen - {group} if group in chosen else chosen | {group}
            options.append((Option(f"{_mark(group in chosen)} {group_name(group, t)}",
                                   FacilityGroups(code, frozenset(toggled))),))
        if chosen:
            options.append(tuple(
                Option(turn._("{days} days", days=days) if days > 1 else turn._("Today only"),
                       Grant(code, chosen, days)) for days in DURATIONS))
        options.append(_back(turn)[0])
        text = turn._("{facility}: choose what it may also see, then for how long.", facility=name)
        return Step((Reply(text, options=tuple(options)),))

    async def _history(self, turn: Turn, citizen: int) -> Step:
        t = turn.t
        entries = await grants.consent_history(turn.db, citizen)
        if not entries:
            text = turn._("You have not changed anything yet: clinics see only administrative and "
                          "insurance information.")
        else:
            lines = []
            for entry in entries:
                groups = group_names(entry.groups, t) or turn._("nothing more")
                who = entry.facility_name or entry.facility_code or turn._("any clinic")
                lines.append(turn._("{time}: {who} may see {groups}.", time=t.datetime(entry.at), who=who,
                                    groups=groups))
            text = "\n".join(lines)
        return Step((Reply(text, title=turn._("History of my choices"), options=_back(turn)),))


JOURNEY = Journey("consent", ConsentFlow(), Requires.CITIZEN, Subject.OWN, power=Power.CONSENT,
                  commands=("consent", "dongy"),
                  describe=N_("What clinics may see"), menu=N_("🔒 What clinics may see"), order=50)
