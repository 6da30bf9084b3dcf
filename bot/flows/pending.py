"""The resident confirms, or not, what a volunteer entered with them."""

from __future__ import annotations

from collections.abc import Callable

from bot.flows.actions import Action, declare
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import Turn
from core.families import Power
from core.i18n import N_, Translator
from core.records.display_value import detail_label
from core.volunteering.pending import (
    Pending,
    decide_shown,
    entry_shown,
    pending_values,
    shown_digest,
)

# Yes or no to exactly the entries a message listed (`shown`: their fingerprint).
Decide = declare("pending", "d", "Decide", once=True, confirm=bool, shown=str)


def confirm_prompt(waiting: list[Pending], before: str | None = None) -> Callable[[Translator], Reply]:
    """The entries, and buttons that answer for exactly these entries (never ones added later)."""
    shown = shown_digest(waiting)

    def write(t: Translator) -> Reply:
        lines = [before] if before else []
        lines.append(t.text(N_("A volunteer entered these details with you. Are they right?")))
        lines += [f"• {t.gettext(detail_label(p.field))}: {entry_shown(p, t)}" for p in waiting]
        options = ((Option(t.gettext(N_("✅ Yes, save them")), Decide(True, shown)),
                    Option(t.gettext(N_("✖ No, discard them")), Decide(False, shown))),)
        return Reply("\n".join(lines), options=options)
    return write


async def waiting_prompt(turn: Turn, citizen_id: int, before: str | None = None) -> Reply | None:
    """What a volunteer entered for this resident and still waits for their yes, if anything."""
    waiting = await pending_values(turn.db, citizen_id=citizen_id)
    return confirm_prompt(waiting, before)(turn.t) if waiting else None


class PendingFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        assert turn.subject is not None
        prompt = await waiting_prompt(turn, turn.subject)
        if prompt is None:
            return Step((menu_reply(turn, turn._("Nothing is waiting for your confirmation.")),))
        return Step((prompt,))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        assert turn.subject is not None and isinstance(chosen, Decide)
        count = await decide_shown(turn.db, turn.subject, chosen.shown, confirm=chosen.confirm)
        if count is None:  # entries came or went since this message: ask again about what waits now
            changed = turn._("The list changed since you were asked. Nothing was saved yet.")
            prompt = await waiting_prompt(turn, turn.subject, changed)
            return Step((prompt,) if prompt else (menu_reply(turn, changed),))
        if count == 0:  # decided at the health station meanwhile
            return Step((menu_reply(turn, turn._("Nothing is waiting for your confirmation.")),))
        text = turn._("Saved. Your health book shows them as entered with a volunteer.") if chosen.confirm \
            else turn._("Discarded. Nothing was changed.")
        return Step((menu_reply(turn, text),))


JOURNEY = Journey("pending", PendingFlow(), Requires.CITIZEN, Subject.OWN, power=Power.UPDATE)
