"""The main menu: what a person can do from here, as big buttons."""

from __future__ import annotations

from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import ChannelInfo, Turn
from core.i18n import Translator


def menu_options(t: Translator, *, linked: bool,
                 channel: ChannelInfo | None = None) -> tuple[tuple[Option, ...], ...]:
    """The menu's big buttons, those the channel offers (USSD has no /logout or /correct)."""
    options = _all_options(t, linked=linked)
    return tuple(row for row in options if channel is None or channel.offers(row[0].action))


def _all_options(t: Translator, *, linked: bool) -> tuple[tuple[Option, ...], ...]:
    if linked:
        return rows(
            Option(t.gettext("📖 My health book"), "book"),
            Option(t.gettext("✏️ Fill in missing details"), "update"),
            Option(t.gettext("📝 Ask to correct my details"), "correct"),
            Option(t.gettext("🔳 Check-in QR code"), "qr"),
            Option(t.gettext("🔒 What clinics may see"), "consent"),
            Option(t.gettext("👁 Who viewed my record"), "access"),
            Option(t.gettext("🌐 Language / Ngôn ngữ"), "lang"),
            Option(t.gettext("❓ Help"), "help"),
            Option(t.gettext("🚪 Log out"), "logout"),
        )
    return rows(
        Option(t.gettext("🔐 Verify my identity"), "verify"),
        Option(t.gettext("🌐 Language / Ngôn ngữ"), "lang"),
        Option(t.gettext("❓ Help"), "help"),
    )


def menu_reply(turn: Turn, text: str | None = None, *, linked: bool | None = None) -> Reply:
    linked = turn.account.linked if linked is None else linked
    prompt = text or turn._("What would you like to do?")
    return Reply(prompt, options=menu_options(turn.t, linked=linked, channel=turn.channel))


class MenuFlow:
    name = "menu"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        return Step((menu_reply(turn),))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        return await self.start(turn)
