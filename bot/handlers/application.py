"""The python-telegram-bot `Application`, wired to the flows."""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.ext import Application, ApplicationBuilder

from bot.config import BotSettings
from bot.flows import registry
from bot.flows.engine import Conversation
from bot.handlers.http import AiohttpRequest
from bot.handlers.ordering import PerChatUpdateProcessor
from bot.handlers.outbox import Outbox
from bot.handlers.retry import RetryingRateLimiter
from bot.handlers.telegram import CHANNEL_INFO, TelegramAdapter
from core.db import Database
from core.i18n import N_, translator

log = logging.getLogger(__name__)
OUTBOX = "outbox"  # the Application's notice sender, started and stopped with it (bot/run.py)

# /start is Telegram's own entry; the rest of the command list comes from the journeys' registry.
START = N_("Start, or verify your identity")


async def register_commands(application: Application) -> None:
    """The command menu Telegram shows beside the text box, in the person's app language."""
    for language in ("vi", "en"):
        t = translator(language)
        commands = [BotCommand("start", t.gettext(START))]
        commands += [BotCommand(name, description) for name, description in registry.listed_commands(t)]
        # Vietnamese is the default list; English for apps set to English.
        await application.bot.set_my_commands(commands, language_code=None if language == "vi" else "en")


def build_application(settings: BotSettings, db: Database, *, polling: bool = True,
                      token: str | None = None) -> Application:
    token = token or settings.token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        # Telegram's limits for the whole bot: shared by every process on PostgreSQL.
        .rate_limiter(RetryingRateLimiter(max_retries=3, db=db,
                                          per_second=settings.max_messages_per_second))
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrency))
        # aiohttp's client, not httpx (see bot/handlers/http.py); a pool the size of the
        # updates in flight, and one connection of its own for the long poll.
        .request(AiohttpRequest(connection_pool_size=settings.concurrency))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    TelegramAdapter(Conversation(db, CHANNEL_INFO)).install(application)
    application.bot_data[OUTBOX] = Outbox(db)
    return application
