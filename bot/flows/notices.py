"""Notices that begin outside a conversation, written in the citizen's language when sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.flows.actions import Open
from bot.flows.replies import Option, Reply, encoded, rows
from core.consent.grants import group_names
from core.corrections.service import CORRECTABLE, proposed_shown
from core.families.rules import power_names
from core.i18n import N_, Translator
from core.records.display_rules import BookGroup
from core.volunteering.pending import entry_label

_GROUPS = {group.value for group in BookGroup}

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
    # core.families: grants, withdrawals and handovers, told to each side.
    "proxy_granted": N_("{proxy} can now help with your health book: {powers}. Everything they do is "
                        "in your access history. You can withdraw it at any time."),
    "proxy_received": N_("{grantor} named you to help with their health book: {powers}. Their book is "
                         "now in your menu."),
    "proxy_withdrawn": N_("{grantor} withdrew your access to their health book. It no longer opens from "
                          "your account."),
    # A month before a child's 18th birthday (core.families.tell_rights_ending): both are told.
    "guardian_right_ends": N_("{name} turns 18 on {on}. From that day their health book no longer opens "
                              "from your account: they can verify with their own phone to keep it."),
    "own_book_soon": N_("You turn 18 on {on}. From that day your health book is yours alone: your "
                        "guardian will no longer open it."),
    # A card opened at a desk that cannot message the person at once (the web console).
    "book_viewed": N_("Reception of {facility} viewed your health book ({groups}) at {time}."),
    # The health station's decision on what a volunteer entered with the person.
    "pending_confirmed": N_("The health station confirmed the details entered with a volunteer. Your "
                            "health book now shows them."),
    "pending_rejected": N_("The health station did not confirm the details entered with a volunteer. "
                           "Reason: {reason}"),
    # The same, naming the details (notices queued since they carry `fields`).
    "pending_confirmed_details": N_("The health station confirmed what you entered with a volunteer: "
                                    "{details}. Your health book now shows it."),
    "pending_rejected_details": N_("The health station did not confirm what you entered with a "
                                   "volunteer: {details}. Reason: {reason}"),
    "book_taken_over": N_("{name} is now 16 or older and keeps their own health book. It no longer "
                          "opens from your account."),
    # core.volunteering.changes: the volunteer who reported a resident hears the station's decision.
    "change_moved_away_confirmed": N_("The health station confirmed your report: {name} has moved away. "
                                      "They are no longer on your ward's list."),
    "change_deceased_confirmed": N_("The health station confirmed your report that {name} has died. "
                                    "They are no longer on your ward's list."),
    "change_moved_away_rejected": N_("The health station did not confirm your report that {name} has "
                                     "moved away. Reason: {reason}"),
    "change_deceased_rejected": N_("The health station did not confirm your report that {name} has "
                                   "died. Reason: {reason}"),
}
# Where the person can go from each notice.
_NEXT = {"link_moved": (N_("🔐 Verify my identity"), "verify"),
         "proxy_granted": (N_("👪 Who may help me"), "helpers"),
         "link_ended_untrusted_phone": (N_("🔐 Verify my identity"), "verify"),
         "book_viewed": (N_("👁 Who viewed my record"), "access"),
         **{kind: (N_("📋 Residents to help"), "worklist") for kind in TEXTS if kind.startswith("change_")}}


def _day(value: object, t: Translator) -> str:
    try:
        return t.date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return ""


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
    fields = [str(f) for f in params.get("fields", ()) if isinstance(f, str)]
    if fields and f"{kind}_details" in TEXTS:
        text = TEXTS[f"{kind}_details"]
    name = params.get("field", "")
    field = CORRECTABLE.get(name)
    value = proposed_shown(name, params.get("value", ""), t) if field else params.get("value", "")
    label, action = _NEXT.get(kind, (N_("📖 My health book"), "book"))
    powers = power_names(params.get("powers", ()), t)
    groups = group_names(frozenset(BookGroup(g) for g in params.get("groups", ()) if g in _GROUPS), t)
    return encoded(Reply(t.text(text, field=t.gettext(field.label) if field else name,
                                value=value, reason=params.get("reason", ""),
                                time=_time(params.get("at"), t), powers=powers,
                                proxy=params.get("proxy", ""), grantor=params.get("grantor", ""),
                                name=params.get("name", ""), on=_day(params.get("on"), t),
                                facility=params.get("facility", ""), groups=groups.lower(),
                                details=", ".join(t.gettext(entry_label(f)) for f in fields)),
                         options=rows(Option(t.gettext(label), Open(action)))))
