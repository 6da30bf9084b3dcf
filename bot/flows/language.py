"""`/lang`: Vietnamese or English, remembered for the account."""

from __future__ import annotations

from dataclasses import replace

from bot.flows.actions import Action, declare
from bot.flows.menu import menu_reply
from bot.flows.registry import Journey
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import StaleOption, Turn
from core.i18n import N_, SUPPORTED_LOCALES, translator
from core.identity import accounts

# Each language is offered in its own name, so a person finds theirs whatever is shown now.
_NAMES = {"vi": "Tiếng Việt", "en": "English"}


Choose = declare("lang", "c", "Choose", locale=str)


class LanguageFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        options = (tuple(Option(_NAMES[code], Choose(code)) for code in SUPPORTED_LOCALES),)
        return Step((Reply(turn._("Choose your language."), options=options),))

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        if not isinstance(chosen, Choose) or chosen.locale not in SUPPORTED_LOCALES:
            raise StaleOption
        await accounts.choose_language(turn.db, turn.account.id, chosen.locale)
        speaking = replace(turn, t=translator(chosen.locale))
        done = speaking._("I will speak English from now on.") if chosen.locale == "en" else \
            speaking._("From now on I will write in Vietnamese.")
        return Step((menu_reply(speaking, done),), turn.state, notice=_NAMES[chosen.locale],
                    locale=chosen.locale)


JOURNEY = Journey("lang", LanguageFlow(), commands=("lang", "ngonngu"), describe=N_("Change the language"),
                  menu=N_("🌐 Language / Ngôn ngữ"), order=80)
