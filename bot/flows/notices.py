"""Notices that begin outside a conversation, written in the citizen's language when sent."""

from __future__ import annotations

from typing import Any

from bot.flows.replies import Option, Reply, rows
from core.i18n import N_, Translator
from core.records.correcting import CORRECTABLE

TEXTS = {
    "correction_approved": N_("The health station approved your correction: {field} is now {value}."),
    "correction_rejected": N_("The health station did not approve your correction of {field}. "
                              "Reason: {reason}"),
}


def notice_reply(kind: str, params: dict[str, Any], t: Translator) -> Reply | None:
    """The message for one notice; None for a kind this version does not know."""
    text = TEXTS.get(kind)
    if text is None:
        return None
    field = CORRECTABLE.get(params.get("field", ""))
    return Reply(t.text(text, field=t.gettext(field.label) if field else params.get("field", ""),
                        value=params.get("value", ""), reason=params.get("reason", "")),
                 options=rows(Option(t.gettext("📖 My health book"), "book")))
