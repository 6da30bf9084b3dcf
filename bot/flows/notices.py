"""Notices that begin outside a conversation, written in the citizen's language when sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.flows.actions import Open
from bot.flows.replies import Option, Reply, encoded, rows
from core.corrections.service import CORRECTABLE, proposed_shown
from core.i18n import N_, Translator

TEXTS = {
    "correction_approved": N_("The health station approved your correction: {field} is now {value}."),
    "correction_rejected": N_("The health station did not approve your correction of {field}. "
                              "Reason: {reason}"),
    # To the account a book's link was taken from (core.identity.accounts.link_citizen).
    "link_moved": N_("At {time} your health book was linked to another account. This account no longer "
                     "shows it. If that was not you, go to the health station of your ward with your ID "
                     "card."),
    # Migration 0007: the account had been verified with a number a clinic wrote down.
    "link_ended_untrusted_phone": N_("For your safety this account was unlinked from your health book: "
                                     "it was checked against a phone number that a clinic wrote down, "
                                     "which cannot prove who you are. Verify again with the number the "
                                     "population register holds, or at the health station of your ward."),
    # core.identity.attempts: the owner hears when their ID is paused by someone's failures.
    "verification_paused": N_("At {time} someone tried five times without success to verify as you. "
                              "New links to your health book are paused for 24 hours; your book is "
                              "safe. If it was not you and it happens again, tell the health station of "
                              "your ward."),
}
# Where the person can go from each notice.
_NEXT = {"link_moved": (N_("🔐 Verify my identity"), "verify"),
         "link_ended_untrusted_phone": (N_("🔐 Verify my identity"), "verify")}


def _time(value: object, t: Translator) -> str:
    try:
        return t.datetime(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        return ""


def notice_reply(kind: str, params: dict[str, Any], t: Translator) -> Reply | None:
    """The message for one notice, as an adapter draws it; None for a kind this version does not know."""
    text = TEXTS.get(kind)
    if text is None:
        return None
    name = params.get("field", "")
    field = CORRECTABLE.get(name)
    value = proposed_shown(name, params.get("value", ""), t) if field else params.get("value", "")
    label, action = _NEXT.get(kind, (N_("📖 My health book"), "book"))
    return encoded(Reply(t.text(text, field=t.gettext(field.label) if field else name,
                                value=value, reason=params.get("reason", ""),
                                time=_time(params.get("at"), t)),
                         options=rows(Option(t.gettext(label), Open(action)))))
