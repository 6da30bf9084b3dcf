"""`/lang`: Vietnamese or English, remembered for the account."""

from __future__ import annotations

from dataclasses import replace

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import StaleOption, Turn
from core.i18n import SUPPORTED_LOCALES, translator
from core.identity import accounts

# Each language is offered in its own name, so a person finds theirs whatever is shown now.
_NAMES = {"vi": "Tiếng Việt", "en": "English"}


class LanguageFlow:
    name = "lang"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        options = (tuple(Option(_NAMES[code], f"lang:{code}") for code in SUPPORTED_LOCALES),)
        return Step((Reply(turn._("Choose your language."), options=options),))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        if not args:
            return await self.start(turn)
        if args[0] not in SUPPORTED_LOCALES:
            raise StaleOption
        locale = args[0]
        await accounts.choose_language(turn.db, turn.account.id, locale)
        chosen = replace(turn, t=translator(locale))
        done = chosen._("I will speak English from now on.") if locale == "en" else \
            chosen._("From now on I will write in Vietnamese.")
        return Step((menu_reply(chosen, done),), turn.state, notice=_NAMES[locale], locale=locale)
