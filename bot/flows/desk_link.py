"""`/desk`: a staff member asks for a one-time link that signs them in to the web console.

The link goes only to the account the member is bound to (core.staff.desk): whoever holds the
chat holds the desk, as for the bot's own staff work. It works once, for ten minutes.
"""

from __future__ import annotations

import os

from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_
from core.staff import desk


def desk_base() -> str:
    """Where the console is (EHR_DESK_URL; the sandbox sets its own address)."""
    return (os.environ.get("EHR_DESK_URL") or "").rstrip("/")


class DeskLinkFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        assert turn.staff is not None  # the journey requires console staff (the engine checks)
        base = desk_base()
        token = await desk.issue_signin(turn.db, turn.staff.id) if base else None
        if token is None:
            return Step((Reply(turn._("The web console is not open on this service yet. Ask the "
                                      "operator.")),))
        minutes = int(desk.SIGNIN_VALIDITY.total_seconds() // 60)
        text = turn._("Your sign-in link to the web console. It works once, for {minutes} minutes. Do "
                      "not forward it: it signs in as you.\n{link}", minutes=minutes,
                      link=f"{base}/desk/signin/{token}")
        return Step((Reply(text),))


JOURNEY = Journey("desk", DeskLinkFlow(), Requires.DESK, Subject.NONE, commands=("desk", "banlamviec"),
                  describe=N_("A sign-in link to the web console"), menu=N_("🖥 Web console"), order=14,
                  small_screens=False, listed=False)
