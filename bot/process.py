"""A bot process from start to exit, shared by `python -m bot` and the tools that start the bot.

What the operator must fix is refused in one line (exit 2) before anything listens; then the
database is opened at the latest schema and served until Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.config import BotSettings
from core.cli import CommandError, Context
from core.config import ConfigurationError
from core.db import Database
from core.i18n import translator
from core.privacy import configure_logging

Check = Callable[[BotSettings], None]
Serve = Callable[[BotSettings, Database], Awaitable[None]]


async def _serve(serve: Serve, settings: BotSettings, context: Context) -> int:
    db = await context.open_database()
    try:
        await serve(settings, db)
    finally:
        await db.dispose()
    return 0


def run_process(check: Check, serve: Serve) -> int:
    """`check` the settings from the environment, then `serve` the database; the exit code."""
    return run_checked(check, lambda settings, context: asyncio.run(_serve(serve, settings, context)))


def run_checked(check: Check, run: Callable[[BotSettings, Context], int]) -> int:
    """`check` the settings from the environment, then `run`; what the operator must fix: exit 2."""
    settings = BotSettings.from_env()
    configure_logging(settings.core.log_level)
    context = Context(settings.core, translator(settings.core.locale))
    try:
        check(settings)
        return run(settings, context)
    except CommandError as error:
        context.error(str(error))
        return 2
    except ConfigurationError as error:
        context.error(error.render(context.t))
        return 2
    except KeyboardInterrupt:
        return 130
