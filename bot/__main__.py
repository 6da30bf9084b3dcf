"""`python -m bot`: long polling (or, with no token, the local sandbox); `python -m bot serve`: webhook."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.config import BotSettings
from core.cli import CommandError, Context
from core.i18n import translator
from core.privacy import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Hanoi electronic health book on Telegram. Without a command: long polling "
                    "with TELEGRAM_BOT_TOKEN, or the local sandbox when no token is set.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="webhook mode inside the aiohttp app (/healthz too)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    sandbox = commands.add_parser("sandbox", help="the local Telegram emulator, chat page and bot")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    return parser


async def _main(args: argparse.Namespace, settings: BotSettings, context: Context) -> int:
    from bot.run import run_polling, run_webhook
    from bot.sandbox.run import run_sandbox

    db = await context.open_database()
    try:
        if args.command == "serve":
            await run_webhook(settings, db, args.host, args.port)
        elif args.command == "sandbox" or not settings.token:
            await run_sandbox(settings, db, getattr(args, "host", "127.0.0.1"),
                              getattr(args, "port", 8080))
        else:
            await run_polling(settings, db)
    finally:
        await db.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    settings = BotSettings.from_env()
    configure_logging(settings.core.log_level)
    args = build_parser().parse_args(argv)
    context = Context(settings.core, translator(settings.core.locale))
    try:
        return asyncio.run(_main(args, settings, context))
    except CommandError as error:
        context.error(str(error))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
