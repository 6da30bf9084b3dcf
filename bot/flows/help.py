"""`/help`: what this account can do here, and the person's rights."""

from __future__ import annotations

from bot.flows import registry
from bot.flows.actions import Open
from bot.flows.menu import work_account
from bot.flows.registry import Journey
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.i18n import N_


class HelpFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        rights = turn._("Your health data are sensitive personal data (Decree 13/2023/NĐ-CP). You may see "
                        "them, ask for corrections, and withdraw this link at any time.")
        in_person = turn._("For help in person, go to the health station of your ward.")
        # One way back, not the menu's buttons again under a list of the same things: help then
        # fits one phone screen (and a small screen's menu would fill three pages).
        back = rows(Option(turn._("🏠 Main menu"), Open("menu")))
        if not turn.channel.commands:  # numbered choices only: how to move, where to go
            # One screen, no title: three short lines and one way back.
            text = "\n".join((turn._("Type the number of your choice. 0: more. 00: back."),
                              turn._("Your health data are protected by law (Decree 13/2023/NĐ-CP)."),
                              turn._("In person: your ward's health station.")))
            return Step((Reply(text, options=back),), turn.state)
        entries = [f"/{registry.command_name(j, turn.t.locale)}: {turn.t.gettext(j.describe)}"
                   for j in registry.help_entries(turn.who, turn.channel) if j.describe]
        if work_account(turn):  # the duty that comes with the work, not a citizen's rights
            duty = turn._("What you see of a resident at work is confidential. Every opening of a health "
                          "book is recorded and shown to its owner.")
            lines = [turn._("This is your work account."), "", *entries, "", duty]
        else:
            lines = [turn._("This bot shows your electronic health book from the Hanoi health record."), "",
                     *entries, "", rights, in_person]
        return Step((Reply("\n".join(lines), title=turn._("Help"), options=back),), turn.state)

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("help", HelpFlow(), commands=("help", "trogiup"), describe=N_("Help and your rights"),
                  menu=N_("❓ Help"), order=90)
