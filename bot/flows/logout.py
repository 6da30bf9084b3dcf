"""`/logout`: unlink this account from the citizen; the record itself stays."""

from __future__ import annotations

from bot.flows.actions import Action, declare
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_
from core.identity import verification

Confirm = declare("logout", "y", "Confirm", once=True)


Stay = declare("logout", "n", "Stay")


class LogoutFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        options = ((Option(turn._("Yes, log out"), Confirm()), Option(turn._("No, stay"), Stay())),)
        text = turn._("Log out? Your health book stays as it is. To see it again you will verify again.")
        return Step((Reply(text, options=options),), turn.state)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if isinstance(chosen, Stay):
            return Step((menu_reply(turn, turn._("You are still logged in.")),), turn.state)
        await verification.unlink(turn.db, turn.account)
        return Step((menu_reply(turn, turn._("You are logged out. This chat no longer shows your "
                                             "health book."), linked=False),))


# A session on a small screen ends when the person hangs up, and a forgotten PIN starts over.
JOURNEY = Journey("logout", LogoutFlow(), Requires.CITIZEN, Subject.OWN, commands=("logout", "dangxuat"),
                  describe=N_("Unlink this account"), menu=N_("🚪 Log out"), order=95, small_screens=False)
