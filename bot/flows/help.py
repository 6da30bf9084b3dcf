"""`/help`: what this account can do here, and the person's rights."""

from __future__ import annotations

from bot.flows import registry
from bot.flows.actions import Open
from bot.flows.menu import menu_options, work_account
from bot.flows.registry import Journey
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.i18n import N_


class HelpFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        rights = turn._("Your health data are sensitive personal data (Decree 13/2023/NĐ-CP). You may see "
                        "them, ask for corrections, and withdraw this link at any time.")
        in_person = turn._("For help in person, go to the health station of your ward.")
        if not turn.channel.commands:  # numbered choices only: how to move, where to go, one way back
            # One screen, no title: three short lines and one way back (the whole menu again would
            # fill three pages of a small screen).
            text = "\n".join((turn._("Type the number of your choice. 0: more. 00: back."),
                              turn._("Your health data are protected by law (Decree 13/2023/NĐ-CP)."),
                              turn._("In person: your ward's health station.")))
            return Step((Reply(text, options=rows(Option(turn._("🏠 Main menu"), Open("menu")))),),
                        turn.state)
        entries = [f"/{registry.command_name(j, turn.t.locale)}: {turn.t.gettext(j.describe)}"
                   for j in registry.help_entries(turn.who, turn.channel) if j.describe]
        if work_account(turn):  # the duty that comes with the work, not a citizen's rights
            duty = turn._("What you see of a resident at work is confidential. Every opening of a health "
                          "book is recorded and shown to its owner.")
            lines = [turn._("This is your work account."), "", *entries, "", duty]
        else:
            lines = [turn._("This bot shows your electronic health book from the Hanoi health record."), "",
                     *entries, "", rights, in_person]
        return Step((Reply("\n".join(lines), title=turn._("Help"), options=menu_options(turn)),), turn.state)

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("help", HelpFlow(), commands=("help", "trogiup"), describe=N_("Help and your rights"),
                  menu=N_("❓ Help"), order=90)
