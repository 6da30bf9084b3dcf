"""Whose record a journey acts on: the one rule every channel's engine asks.

An account acts on its own citizen's record, or on the book of a dependent it has open
(`channel_accounts.acting_for`) while `core.families` says the right still holds: the engine
checks that right on every input (bot.flows.engine: `_household`) and asks this module only for
the account's own record.
"""

from __future__ import annotations

from core.identity.accounts import Account


def own_record(account: Account) -> int | None:
    """The record an account's own journeys act on (None: not linked)."""
    return account.citizen_id


__all__ = ["own_record"]
