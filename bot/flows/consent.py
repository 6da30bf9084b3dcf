"""`/consent`: what clinics may see at check-in, and more for one facility until a date.

Decree 13/2023/NĐ-CP: consent is explicit, specific and can be withdrawn at any
time; each choice is recorded (core.consent.grants) and takes effect at once.
"""

from __future__ import annotations

import datetime as dt

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import validation
from core.consent import grants
from core.consent.grants import CONSENT_LABELS, CitizenConsent, group_names
from core.consent.policy import ALWAYS_VISIBLE, CONSENTABLE
from core.i18n import today_hanoi
from core.identity.accounts import JourneyState
from core.records.display_rules import Audience, BookGroup
from core.staff.service import facility_exists

ORDER = (BookGroup.HISTORY, BookGroup.IMMUNIZATIONS, BookGroup.VISITS)
DURATIONS = (1, 7, 30, 90)  # days a facility grant lasts, counted from today


def _mark(on: bool) -> str:
    return "✅" if on else "⬜"


class ConsentFlow:
    name = "consent"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            return Step((menu_reply(turn, turn._("Please verify your identity first, then you can "
                                                 "choose what clinics may see.")),))
        return Step((self._overview(turn, await grants.consent_of(turn.db, self._citizen(turn))),))

    def _citizen(self, turn: Turn) -> int:
        assert turn.account.citizen_id is not None
        return turn.account.citizen_id

    def _overview(self, turn: Turn, consent: CitizenConsent, before: str | None = None) -> Reply:
        t = turn.t
        lines = [turn._("Any clinic where you check in always sees: {groups}.",
                        groups=group_names(ALWAYS_VISIBLE[Audience.CLINIC], t)),
                 turn._("Choose a number to allow or stop more:") if turn.channel.keypad
                 else turn._("Tap to allow or stop more:")]
        if before:
            lines.insert(0, before + "\n")
        today = today_hanoi()
        for grant in consent.facilities:
            if grant.in_force(today):
                until = t.date(grant.valid_until) if grant.valid_until else "—"
                lines.append(turn._("{facility} also sees until {date}: {groups}.",
                                    facility=grant.facility_name or grant.facility_code, date=until,
                                    groups=group_names(grant.groups, t)))
        options = [(Option(f"{_mark(g in consent.any_clinic)} {t.gettext(CONSENT_LABELS[g])}",
                           f"consent:t:{g.value}"),) for g in ORDER]
        options += [(Option(turn._("➕ More for one clinic"), "consent:f"),)]
        options += [(Option(turn._("✖ Withdraw: {facility}",
                                   facility=grant.facility_name or grant.facility_code),
                            f"consent:w:{grant.facility_code}"),)
                    for grant in consent.facilities if grant.in_force(today)]
        options += [(Option(turn._("📜 History of my choices"), "consent:h"),),
                    (Option(turn._("🏠 Main menu"), "menu"),)]
        return Reply("\n".join(lines), title=turn._("What clinics may see"), options=tuple(options))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if not turn.account.linked or not args:
            return await self.start(turn)
        kind, *rest = args
        citizen = self._citizen(turn)
        if kind == "t" and rest:  # toggle a group for any clinic
            group = self._group(rest[0])
            current = (await grants.consent_of(turn.db, citizen)).any_clinic
            chosen = current - {group} if group in current else current | {group}
            consent = await grants.set_any_clinic(turn.db, citizen, chosen, turn.channel.name)
            notice = turn._("Allowed.") if group in chosen else turn._("Stopped.")
            return Step((self._overview(turn, consent),), notice=notice)
        if kind == "f":
            text = turn._("Type the 5-digit code of the clinic (on its papers or ask the reception desk).")
            return Step((Reply(text, options=rows(Option(turn._("⬅ Back"), "consent"))),),
                        JourneyState("consent", "facility"))
        if kind == "g" and len(rest) == 2:  # facility grant: toggle a group before choosing the duration
            return self._facility_groups(turn, rest[0], self._groups(rest[1]))
        if kind == "d" and len(rest) == 3:
            facility, chosen, days = rest[0], self._groups(rest[1]), int(rest[2])
            if days not in DURATIONS or not chosen:
                raise StaleOption
            until = today_hanoi() + dt.timedelta(days=days - 1)
            consent = await grants.set_facility_grant(turn.db, citizen, facility, chosen, until,
                                                      turn.channel.name)
            return Step((self._overview(turn, consent, turn._("Saved.")),), notice=turn._("Saved."))
        if kind == "w" and rest:
            consent = await grants.set_facility_grant(turn.db, citizen, rest[0], frozenset(), None,
                                                      turn.channel.name)
            return Step((self._overview(turn, consent, turn._("Withdrawn. It takes effect now.")),),
                        notice=turn._("Withdrawn."))
        if kind == "h":
            return await self._history(turn, citizen)
        raise StaleOption

    def _group(self, value: str) -> BookGroup:
        try:
            group = BookGroup(value)
        except ValueError:
            raise StaleOption from None
        if group not in CONSENTABLE:
            raise StaleOption
        return group

    def _groups(self, text: str) -> frozenset[BookGroup]:
        return frozenset(self._group(v) for v in text.split(".") if v)

    async def on_input(self, turn: Turn) -> Step:  # the facility code, typed
        try:
            code = validation.facility_code(turn.input.text)
        except validation.InvalidValue as error:
            return Step((Reply(error.message.render(turn.t),
                               options=rows(Option(turn._("⬅ Back"), "consent"))),), turn.state)
        if not await facility_exists(turn.db, code):
            return Step((Reply(turn._("No clinic has the code {code}. Please check it.", code=code),
                               options=rows(Option(turn._("⬅ Back"), "consent"))),), turn.state)
        return self._facility_groups(turn, code, frozenset())

    def _facility_groups(self, turn: Turn, code: str, chosen: frozenset[BookGroup]) -> Step:
        t = turn.t
        key = ".".join(g.value for g in ORDER if g in chosen)
        options = []
        for group in ORDER:
            toggled = chosen - {group} if group in chosen else chosen | {group}
            toggled_key = ".".join(g.value for g in ORDER if g in toggled)
            options.append((Option(f"{_mark(group in chosen)} {t.gettext(CONSENT_LABELS[group])}",
                                   f"consent:g:{code}:{toggled_key}"),))
        if chosen:
            options.append(tuple(
                Option(turn._("{days} days", days=days) if days > 1 else turn._("Today only"),
                       f"consent:d:{code}:{key}:{days}") for days in DURATIONS))
        options.append((Option(turn._("⬅ Back"), "consent"),))
        text = turn._("Clinic {code}: choose what it may also see, then for how long.", code=code)
        return Step((Reply(text, options=tuple(options)),))

    async def _history(self, turn: Turn, citizen: int) -> Step:
        t = turn.t
        entries = await grants.consent_history(turn.db, citizen)
        if not entries:
            text = turn._("You have not changed anything yet: clinics see only general and insurance "
                          "information.")
        else:
            lines = []
            for entry in entries:
                groups = group_names(entry.groups, t) or turn._("nothing more")
                who = entry.facility_name or entry.facility_code or turn._("any clinic")
                lines.append(turn._("{time}: {who} may see {groups}.", time=t.datetime(entry.at), who=who,
                                    groups=groups))
            text = "\n".join(lines)
        return Step((Reply(text, title=turn._("History of my choices"),
                           options=rows(Option(turn._("⬅ Back"), "consent"))),))
