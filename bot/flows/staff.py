"""`/start staff_<code>`: a staff member binds this account with the invite an operator gave them."""

from __future__ import annotations

from dataclasses import replace

from bot.flows.menu import menu_reply, staff_home
from bot.flows.registry import Journey
from bot.flows.replies import Step
from bot.flows.turn import Turn
from bot.flows.who import who_is
from core.staff import service


class StaffFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        staff = await service.accept(turn.db, payload.strip(), turn.account.id) if payload.strip() else None
        if staff is None:
            text = turn._("This invite is not valid: it may have been used, withdrawn or expired. Ask "
                          "your administrator for a new one.")
            return Step((menu_reply(turn, text),))
        # The account is staff from this answer on: its menu is its role's.
        return staff_home(replace(turn, staff=staff, who=who_is(turn.account, staff)), staff)

    async def on_action(self, turn: Turn, action: object) -> Step:
        return Step((menu_reply(turn),))


JOURNEY = Journey("staff", StaffFlow(), deep_link="staff_")
