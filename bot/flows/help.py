"""`/help`: what the bot does, the commands, and the person's rights."""

from __future__ import annotations

from bot.flows.menu import menu_options
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn


class HelpFlow:
    name = "help"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if turn.channel.keypad:
            text = "\n".join((
                turn._("Type the number of your choice. 0: more. 00: back."),
                turn._("Your health data are protected by law (Decree 13/2023/NĐ-CP)."),
                turn._("For help in person, go to the health station of your ward."),
            ))
            # One way back: on a small screen the whole menu again would fill three pages.
            return Step((Reply(text, title=turn._("Help"),
                               options=rows(Option(turn._("🏠 Main menu"), "menu"))),), turn.state)
        text = "\n".join((
            turn._("This bot shows your electronic health book from the Hanoi health record."),
            "",
            turn._("/start: begin, or verify your identity"),
            turn._("/book: read your health book"),
            turn._("/update: fill in missing details"),
            turn._("/correct: ask the health station to correct your name, birth date, ID or card"),
            turn._("/qr: the check-in QR code for the clinic"),
            turn._("/consent: choose what clinics may see"),
            turn._("/access: who viewed your record"),
            turn._("/lang: change the language"),
            turn._("/cancel: stop what you are doing"),
            turn._("/logout: unlink this Telegram account"),
            "",
            turn._("Your health data are sensitive personal data (Decree 13/2023/NĐ-CP). "
                   "You may see them, ask for corrections, and withdraw this link at any time."),
            turn._("For help in person, go to the health station of your ward."),
        ))
        return Step((Reply(text, title=turn._("Help"),
                           options=menu_options(turn.t, linked=turn.account.linked,
                                                        channel=turn.channel)),), turn.state)

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        return await self.start(turn)
