"""`python -m bot`: long polling; `bot serve`: webhook; `bot sandbox`: the local sandbox."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.config import BotSettings
from core.cli import CommandError, Context
from core.config import ConfigurationError
from core.i18n import N_, translator
from core.identity.keys import require_configured_key
from core.privacy import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Hanoi electronic health book on Telegram. Without a command: long polling "
                    "with TELEGRAM_BOT_TOKEN.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="webhook mode inside the aiohttp app (/healthz too)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    sandbox = commands.add_parser("sandbox", help="the local Telegram emulator, chat page and bot "
                                                  "(this computer only, demo database only)")
    sandbox.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument("--allow-any-database", action="store_true",
                         help="run on a database the demo seed did not make (it may hold real people)")
    return parser


def check_before_start(args: argparse.Namespace, settings: BotSettings) -> None:
    """What must hold before anything listens or connects: refused in one line, exit 2."""
    if args.command == "sandbox":
        from bot.sandbox.guard import loopback_host

        args.host = loopback_host(args.host)
        return
    if args.command is None and not settings.token:
        # Never the sandbox by accident: a production host that lost its token stops here.
        raise ConfigurationError(N_("TELEGRAM_BOT_TOKEN is not set. Set it to run the bot on Telegram, "
                                    "or start the local sandbox: python -m bot sandbox (make run)."))
    require_configured_key()
    if args.command == "serve":
        settings.ussd.check_for_production()


async def _main(args: argparse.Namespace, settings: BotSettings, context: Context) -> int:
    from bot.run import run_polling, run_webhook

    db = await context.open_database()
    try:
        if args.command == "serve":
            await run_webhook(settings, db, args.host, args.port)
        elif args.command == "sandbox":
            from bot.sandbox.run import run_sandbox

            await run_sandbox(settings, db, args.host, args.port, allow_any_database=args.allow_any_database)
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
        check_before_start(args, settings)
        return asyncio.run(_main(args, settings, context))
    except CommandError as error:
        context.error(str(error))
        return 2
    except ConfigurationError as error:
        context.error(error.render(context.t))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
