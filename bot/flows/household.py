"""Whose book: an account that acts for a child or an elderly parent opens their book, one tap.

The menu lists "My book" and one line per person (the short name and age) for an account whose
citizen is named as someone's guardian or proxy (core.families); everyone else sees nothing new.
The engine checks the right again on every input and says on every screen whose book is open.
"""

from __future__ import annotations

from dataclasses import replace

from bot.flows.actions import Action
from bot.flows.menu import OpenBook, household_options, menu_reply
from bot.flows.registry import Journey, Requires
from bot.flows.replies import Reply, Step
from bot.flows.turn import StaleOption, Turn
from core.i18n import N_
from core.identity import accounts


class HouseholdFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        if not turn.household:
            return Step((menu_reply(turn, turn._("You do not act for anyone else. This is your own "
                                                 "book.")),))
        return Step((Reply(turn._("Whose book do you want to open?"), options=household_options(turn)),))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if not isinstance(chosen, OpenBook):
            raise StaleOption
        if chosen.citizen is None:
            await turn.db.write(accounts.open_book_of, turn.account.id, None)
            mine = replace(turn, acting=None)
            return Step((menu_reply(mine, mine._("Your own book is open.")),))
        dependent = next((d for d in turn.household if d.citizen_id == chosen.citizen), None)
        if dependent is None:  # the right ended since the button was drawn
            raise StaleOption
        await turn.db.write(accounts.open_book_of, turn.account.id, dependent.citizen_id)
        theirs = replace(turn, acting=dependent)
        return Step((menu_reply(theirs),))


JOURNEY = Journey("whose", HouseholdFlow(), Requires.CITIZEN, commands=("family", "giadinh"),
                  describe=N_("Open the book of a child or parent you act for"), listed=False)
