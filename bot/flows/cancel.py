"""`/cancel`: stop the journey in progress; nothing half-done is kept."""

from __future__ import annotations

from bot.flows.menu import menu_reply
from bot.flows.registry import Journey
from bot.flows.replies import Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_


class CancelFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        text = turn._("Stopped. Nothing was saved.") if turn.state.flow else \
            turn._("There is nothing to stop.")
        return Step((Reply(text, close_keyboard=True), menu_reply(turn)))

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("cancel", CancelFlow(), commands=("cancel", "huy"), describe=N_("Stop what I am doing"),
                  order=92, before_sign_in=True)
