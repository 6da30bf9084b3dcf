"""`python -m bot`: long polling; `bot serve`: webhook; and the commands installed tools add."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable, Sequence
from functools import partial
from importlib.metadata import EntryPoint, entry_points

from bot.config import BotSettings
from bot.process import run_checked, run_process
from bot.workers import listen, run_workers
from core.config import ConfigurationError
from core.db import Database
from core.i18n import N_
from core.identity.keys import require_configured_key

# Tools beside the product add their commands here through this entry-point group (as Flask's
# `flask.commands` does): `python -m bot sandbox` keeps working while `bot` never imports or names
# the sandbox, and a host without the sandbox installed has no such command at all.
ADDED_COMMANDS = "hanoi_health_book.bot_commands"


def added_commands() -> dict[str, EntryPoint]:
    """Each added command's entry point: a `main(argv) -> exit code`, loaded only when it is run."""
    return {entry.name: entry for entry in entry_points(group=ADDED_COMMANDS)}


def build_parser(added: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Hanoi electronic health book on Telegram. Without a command: long polling "
                    "with TELEGRAM_BOT_TOKEN.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="webhook mode inside the aiohttp app (/healthz too)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="N worker processes on the one port (each its own event loop and "
                            "database pool); default 1")
    serve.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)  # a worker of --workers
    for name in added:
        commands.add_parser(name, help=f"added by an installed tool: python -m bot {name} --help")
    return parser


def check_before_start(args: argparse.Namespace, settings: BotSettings) -> None:
    """What must hold before anything listens or connects: refused in one line, exit 2."""
    if args.command is None and not settings.token:
        # Never the sandbox by accident: a production host that lost its token stops here.
        raise ConfigurationError(N_("TELEGRAM_BOT_TOKEN is not set. Set it to run the bot on Telegram, "
                                    "or start the local sandbox: python -m bot sandbox (make run)."))
    require_configured_key()
    if args.command == "serve":
        settings.ussd.check_for_production()
        from desk.config import DeskSettings  # the console is served beside the webhook

        desk = DeskSettings.from_env()
        if desk.base_url:
            desk.check_for_production()


async def serve(args: argparse.Namespace, settings: BotSettings, db: Database) -> None:
    from bot.run import run_polling, run_webhook

    if args.command == "serve":
        listener = None if args.listen_fd is None else socket.socket(fileno=args.listen_fd)
        await run_webhook(settings, db, args.host, args.port, listener)
    else:
        await run_polling(settings, db)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    added = added_commands()
    if argv and argv[0] in added:
        command: Callable[[Sequence[str]], int] = added[argv[0]].load()
        return command(argv[1:])
    args = build_parser(sorted(added)).parse_args(argv)
    if args.command == "serve" and args.workers > 1:
        worker_args = ["--host", args.host, "--port", str(args.port)]
        return run_checked(partial(check_before_start, args), lambda _settings, _context: run_workers(
            args.workers, listen(args.host, args.port), worker_args))
    return run_process(partial(check_before_start, args), partial(serve, args))


if __name__ == "__main__":
    sys.exit(main())
