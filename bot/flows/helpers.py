"""`/helpers`: who may help with my book — an adult names a family member as proxy, chooses what
they may do, sees the list and withdraws a grant at once (core.families, core.identity.proxies).

Naming asks the helper's personal ID and full date of birth (an identity check, limited per day,
one answer whatever is wrong), then the powers, all chosen by default, then a confirmation.
"""

from __future__ import annotations

from bot.flows.actions import Action, Open, declare
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import InputKind, Option, Reply, Step, rows
from bot.flows.turn import StaleOption, Turn
from core import families, validation
from core.families.rules import ADULT_AGE, POWER_LABELS, PROXY_POWERS, Power, power_names
from core.i18n import N_, today_hanoi
from core.identity.accounts import JourneyState
from core.identity.proxies import Match, find_proxy, name_proxy
from core.records import people

Add = declare("helpers", "a", "Add")
Toggle = declare("helpers", "t", "Toggle", answers_step=True, step=str, power=Power)
Confirm = declare("helpers", "c", "Confirm", once=True, answers_step=True, step=str)
Withdraw = declare("helpers", "w", "Withdraw", once=True, grant=int)
Stop = declare("helpers", "x", "Stop", in_journey=True)

ASK_ID = "id"
ASK_BIRTH = "birth"
CHOOSE = "powers"


def _stop(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    return rows(Option(turn._("✖ Stop"), Stop()))


def _powers_text(turn: Turn, powers) -> str:  # an iterable of Power
    return ", ".join(turn.t.gettext(POWER_LABELS[p]) for p in PROXY_POWERS if p in powers)


class HelpersFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return await self._overview(turn)

    async def _overview(self, turn: Turn, before: str | None = None) -> Step:
        """The grants in force, each with its withdraw button; `before`: what was just done."""
        citizen = turn.subject
        assert citizen is not None  # the adult's own record: a grant is theirs to give
        grants = await turn.db.read(families.proxies_of, citizen, today_hanoi())
        if grants:
            lines = [turn._("These people may help with your health book:")]
            for grant in grants:
                until = turn._(", until {date}", date=turn.t.date(grant.expires_on)) \
                    if grant.expires_on else ""
                lines.append(f"• {grant.proxy_name}: {power_names(grant.powers, turn.t)}{until}")
            lines.append(turn._("Everything they do is in your access history."))
        else:
            lines = [turn._("Nobody helps with your health book yet. You can name a family member: "
                            "they will see your book in their own menu.")]
        options = [(Option(turn._("✖ Withdraw: {name}", name=grant.proxy_name), Withdraw(grant.grant_id)),)
                   for grant in grants]
        options += [(Option(turn._("➕ Name someone to help me"), Add()),),
                    (Option(turn._("🏠 Main menu"), Open("menu")),)]
        text = "\n".join(lines) if before is None else before + "\n\n" + "\n".join(lines)
        return Step((Reply(text, title=turn._("Who may help me"), options=tuple(options)),), JourneyState())

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        citizen = turn.subject
        assert citizen is not None
        if isinstance(chosen, Stop):
            return Step((menu_reply(turn, turn._("Stopped. Nothing was saved.")),), JourneyState())
        if isinstance(chosen, Withdraw):
            done = await turn.db.write(families.withdraw, chosen.grant, citizen)
            return await self._overview(turn, turn._("Withdrawn. It takes effect now.") if done
                                        else turn._("That was already withdrawn."))
        if isinstance(chosen, Add):
            me = await turn.db.read(people.by_id, citizen)
            if me is None or me.birth_date.age_on(today_hanoi()) < ADULT_AGE:
                return Step((menu_reply(turn, turn._("Only an adult can name someone to help with their "
                                                     "book. A child's book is kept by their guardian.")),),
                            JourneyState())
            return Step((Reply(turn._("Type the 12-digit personal ID of the person who will help you."),
                               options=_stop(turn)),), JourneyState("helpers", ASK_ID))
        data = turn.state.data
        if isinstance(chosen, Toggle) and chosen.power in PROXY_POWERS and "proxy" in data:
            chosen_powers = set(data.get("powers", []))
            chosen_powers ^= {chosen.power.value}
            return self._choose(turn, {**data, "powers": sorted(chosen_powers)})
        if isinstance(chosen, Confirm) and "proxy" in data and data.get("powers"):
            await name_proxy(turn.db, citizen, int(data["proxy"]), [Power(p) for p in data["powers"]],
                             channel=turn.channel.name)
            return await self._overview(turn, turn._("Done. {name} can now help with your book.",
                                                     name=data["name"]))
        raise StaleOption

    async def on_input(self, turn: Turn) -> Step:
        step, data = turn.state.step, turn.state.data
        if turn.input.kind is not InputKind.TEXT:
            return Step((Reply(turn._("Please type it."), options=_stop(turn)),), turn.state)
        if step == ASK_ID:
            try:
                personal_id = validation.personal_id(turn.input.text)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t) + " " +
                                   turn._("Type the 12-digit personal ID of the person who will help you."),
                                   options=_stop(turn)),), turn.state)
            return Step((Reply(turn._("Now their date of birth as day/month/year (ngày/tháng/năm), for "
                                      "example 05/09/1975."), options=_stop(turn)),),
                        JourneyState("helpers", ASK_BIRTH, {"pid": personal_id}))
        if step == ASK_BIRTH and "pid" in data:
            try:
                born = validation.calendar_date(turn.input.text, compact=True)
            except validation.InvalidValue as error:
                return Step((Reply(error.message.render(turn.t) + " " +
                                   turn._("Type their date of birth as day/month/year, for example "
                                          "05/09/1975."), options=_stop(turn)),), turn.state)
            found = await find_proxy(turn.db, turn.account, data["pid"], born)
            if found.state is Match.TOO_MANY:
                return Step((menu_reply(turn, turn._("Too many people looked up today. Please try again "
                                                     "tomorrow, or ask the health station of your ward.")),),
                            JourneyState())
            if found.state is not Match.FOUND or found.citizen_id is None:
                # One answer whatever is wrong: it tells nobody whether the ID exists.
                return Step((Reply(turn._("I cannot name this person. Check their personal ID and date of "
                                          "birth, then try again. They must be an adult."),
                                   options=rows(Option(turn._("➕ Name someone to help me"), Add()),
                                                Option(turn._("🏠 Main menu"), Open("menu")))),),
                            JourneyState())
            return self._choose(turn, {"proxy": found.citizen_id, "name": found.name,
                                       "powers": sorted(p.value for p in PROXY_POWERS)})
        return Step((menu_reply(turn),), JourneyState())

    def _choose(self, turn: Turn, data: dict) -> Step:
        chosen = {Power(p) for p in data["powers"]}
        options = [(Option(f"{'✅' if p in chosen else '⬜'} {turn.t.gettext(POWER_LABELS[p])}",
                           Toggle(CHOOSE, p)),) for p in PROXY_POWERS]
        if chosen:
            options.append((Option(turn._("✔ Confirm"), Confirm(CHOOSE)),))
        options.append(_stop(turn)[0])
        text = turn._("What may {name} do with your book? Tap to change, then confirm. They can never "
                      "change what clinics may see.", name=data["name"])
        return Step((Reply(text, options=tuple(options)),), JourneyState("helpers", CHOOSE, data))


# Subject.OWN with no power: always the account's own record, even with a dependent's book open.
JOURNEY = Journey("helpers", HelpersFlow(), Requires.CITIZEN, Subject.OWN, commands=("helpers", "nguoigiup"),
                  describe=N_("Who may help with my book"), order=65, small_screens=False)
