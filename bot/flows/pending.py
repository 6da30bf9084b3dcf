"""The resident confirms, or not, what a volunteer entered with them."""

from __future__ import annotations

from collections.abc import Callable

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_, Translator
from core.records.completeness import RULES_BY_FIELD
from core.reference.ethnicities import ethnicity_by_code
from core.reference.wards import ward_by_code
from core.values import BloodGroup
from core.volunteering.pending import Pending, decide_shown, pending_values, shown_digest

_LABELS = {"emergency_contact_relation": N_("Relation"), "emergency_contact_phone": N_("Phone")}


def _shown(pending: Pending) -> str:
    if pending.field == "ethnicity_code" and (found := ethnicity_by_code(pending.value)):
        return found.name
    if pending.field == "ward_code" and (ward := ward_by_code(pending.value)):
        return ward.name
    if pending.field == "blood_group":
        return BloodGroup.from_code(pending.value).display()
    return pending.value


def _label(field: str) -> str:
    rule = RULES_BY_FIELD.get(field)
    return rule.label if rule else _LABELS.get(field, field)


def confirm_prompt(waiting: list[Pending], before: str | None = None) -> Callable[[Translator], Reply]:
    """The entries, and buttons that answer for exactly these entries (never ones added later)."""
    shown = shown_digest(waiting)

    def write(t: Translator) -> Reply:
        lines = [before] if before else []
        lines.append(t.text(N_("A volunteer entered these details with you. Are they right?")))
        lines += [f"• {t.gettext(_label(p.field))}: {_shown(p)}" for p in waiting]
        options = ((Option(t.gettext(N_("✅ Yes, save them")), f"pending:yes:{shown}"),
                    Option(t.gettext(N_("✖ No, discard them")), f"pending:no:{shown}")),)
        return Reply("\n".join(lines), options=options)
    return write


async def waiting_prompt(turn: Turn, citizen_id: int, before: str | None = None) -> Reply | None:
    """What a volunteer entered for this resident and still waits for their yes, if anything."""
    waiting = await pending_values(turn.db, citizen_id=citizen_id)
    return confirm_prompt(waiting, before)(turn.t) if waiting else None


class PendingFlow:
    name = "pending"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.account.linked:
            return Step((menu_reply(turn),))
        assert turn.account.citizen_id is not None
        waiting = await pending_values(turn.db, citizen_id=turn.account.citizen_id)
        if not waiting:
            return Step((menu_reply(turn, turn._("Nothing is waiting for your confirmation.")),))
        return Step((confirm_prompt(waiting)(turn.t),))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if not turn.account.linked or len(args) != 2 or args[0] not in ("yes", "no"):
            return await self.start(turn)
        assert turn.account.citizen_id is not None
        count = await decide_shown(turn.db, turn.account.citizen_id, args[1], confirm=args[0] == "yes")
        if count is None:  # entries came or went since this message: ask again about what waits now
            waiting = await pending_values(turn.db, citizen_id=turn.account.citizen_id)
            changed = turn._("The list changed since you were asked. Nothing was saved yet.")
            return Step((confirm_prompt(waiting, changed)(turn.t),))
        if count == 0:  # a second tap, or decided at the health station meanwhile
            return Step((menu_reply(turn, turn._("Nothing is waiting for your confirmation.")),))
        text = turn._("Saved. Your health book shows them as entered with a volunteer.") if args[0] == "yes" \
            else turn._("Discarded. Nothing was changed.")
        return Step((menu_reply(turn, text),))
