"""`python -m sandbox` (`make run`): the local sandbox, on this computer only and the demo database only.

`python -m bot sandbox` runs this same `main`: pyproject's entry point adds it to the bot's
command line (`bot.__main__.ADDED_COMMANDS`), so the product never names its test tool.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.config import BotSettings
from bot.process import run_process
from core.db import Database
from sandbox.guard import loopback_host
from sandbox.run import run_sandbox


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="The local Telegram emulator, chat page and bot (this computer only, demo "
                    "database only). No token and no internet needed.")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--allow-any-database", action="store_true",
                        help="run on a database the demo seed did not make (it may hold real people)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def check(settings: BotSettings) -> None:
        args.host = loopback_host(args.host)  # refused in one line before anything listens

    async def serve(settings: BotSettings, db: Database) -> None:
        await run_sandbox(settings, db, args.host, args.port, allow_any_database=args.allow_any_database)

    return run_process(check, serve)


if __name__ == "__main__":
    sys.exit(main())
