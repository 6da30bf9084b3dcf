"""The bot's two ways to run: long polling and webhook (the sandbox, `sandbox/run.py`, polls its emulator)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import BotSettings
from bot.handlers.application import OUTBOX, build_application, register_commands
from bot.handlers.inbox import TelegramInbox
from bot.ussd.gateway import USSD_PATH, add_ussd_route
from bot.webhook import WEBHOOK_PATH, add_webhook_route
from core.db import Database
from core.web import create_app
from desk.app import add_desk
from desk.config import DeskSettings

log = logging.getLogger(__name__)
INBOX = "inbox"  # webhook mode's durable inbox and its worker (bot/handlers/inbox.py)


async def until_stopped() -> None:
    """Waits for Ctrl+C or SIGTERM (a platform stopping the process)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def start_polling(application: Application) -> None:
    await application.initialize()
    # python-telegram-bot calls post_init only from run_polling(); we start the parts ourselves.
    await register_commands(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    application.bot_data[OUTBOX].start(application.bot)


async def stop_polling(application: Application) -> None:
    await application.bot_data[OUTBOX].stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def run_polling(settings: BotSettings, db: Database) -> None:
    application = build_application(settings, db)
    await start_polling(application)
    log.info("bot polling %s", settings.api_base_url)
    try:
        await until_stopped()
    finally:
        await stop_polling(application)


async def start_webhook(settings: BotSettings, db: Database, host: str, port: int,
                        listener: socket.socket | None = None) -> tuple[web.AppRunner, Application]:
    """The aiohttp app with the webhook route and `/healthz`, and setWebhook told where it is.

    `listener`: a socket already listening, shared with other workers (`bot serve --workers`).
    """
    if not settings.webhook_url or not settings.webhook_secret:
        raise SystemExit("webhook mode needs TELEGRAM_WEBHOOK_URL and TELEGRAM_WEBHOOK_SECRET")
    application = build_application(settings, db, polling=False)
    app = create_app(db)
    inbox = application.bot_data[INBOX] = TelegramInbox(
        db, application, concurrency=settings.concurrency, backlog_limit=settings.webhook_backlog)
    add_webhook_route(app, application, settings.webhook_secret, inbox)
    desk = DeskSettings.from_env()
    if desk.base_url:  # the web console on the same service (EHR_DESK_URL; checked at start)
        add_desk(app, db, desk)
        log.info("web console open at /desk")
    if settings.ussd.configured:  # the same service answers an operator's USSD gateway
        add_ussd_route(app, db, settings.ussd)
        log.info("USSD gateway route %s open", USSD_PATH)
    await application.initialize()
    await register_commands(application)
    await application.start()
    inbox.start()  # updates stored before a restart are handled first
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port) if listener is None else web.SockSite(runner, listener)
    await site.start()
    # Listening first: Telegram delivers pending updates as soon as the webhook is set.
    url = settings.webhook_url.rstrip("/")
    if not url.endswith(WEBHOOK_PATH):
        url += WEBHOOK_PATH
    await application.bot.set_webhook(url, secret_token=settings.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES)
    application.bot_data[OUTBOX].start(application.bot)
    log.info("bot webhook listening on %s:%s%s", host, port, WEBHOOK_PATH)
    return runner, application


async def stop_webhook(runner: web.AppRunner, application: Application) -> None:
    for site in list(runner.sites):  # nothing more is taken in; what is stored waits in the database
        await site.stop()
    await application.bot_data[INBOX].stop()  # what is being handled finishes
    await application.bot_data[OUTBOX].stop()
    await runner.cleanup()
    await application.stop()
    await application.shutdown()


async def run_webhook(settings: BotSettings, db: Database, host: str, port: int,
                      listener: socket.socket | None = None) -> None:
    runner, application = await start_webhook(settings, db, host, port, listener)
    try:
        await until_stopped()
    finally:
        await stop_webhook(runner, application)
