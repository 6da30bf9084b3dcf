"""`/logout`: unlink this account from the citizen; the record itself stays."""

from __future__ import annotations

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import StaleOption, Turn
from core.identity import verification


class LogoutFlow:
    name = "logout"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            return Step((menu_reply(turn, turn._("This Telegram account is not linked to a health book.")),))
        options = ((Option(turn._("Yes, log out"), "logout:yes"), Option(turn._("No, stay"), "logout:no")),)
        text = turn._("Log out? Your health book stays as it is. To see it again you will verify again.")
        return Step((Reply(text, options=options),), turn.state)

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if not args:
            return await self.start(turn)
        if args[0] == "no":
            return Step((menu_reply(turn, turn._("You are still logged in.")),), turn.state)
        if args[0] != "yes":
            raise StaleOption
        if not turn.account.linked:  # a second tap on the same button
            return Step((menu_reply(turn, turn._("You are already logged out."), linked=False),))
        await verification.unlink(turn.db, turn.account)
        return Step((menu_reply(turn, turn._("You are logged out. This chat no longer shows your "
                                             "health book."), linked=False),))
