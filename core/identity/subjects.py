"""Whose record a journey acts on: the one rule every channel's engine asks.

Today an account acts on its own citizen's record only. This is where a parent's
account will choose a child's book (Luật Trẻ em 2016, Decree 13/2023 art. 20) and an
elderly parent's named proxy theirs, so no journey decides it for itself.
"""

from __future__ import annotations

from core.identity.accounts import Account


def own_record(account: Account) -> int | None:
    """The record an account's own journeys act on (None: not linked)."""
    return account.citizen_id


__all__ = ["own_record"]
