"""One bot process's notice sender, run as its own OS process by the outbox tests.

    python -m tests.outbox_process DATABASE_URL API_BASE_URL MAX_PER_SECOND CLAIM_SECONDS

Prints "ready" once sending; stops cleanly on SIGTERM (a kill -9 is a crash).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from bot.config import BotSettings
from bot.handlers.application import build_application
from bot.handlers.outbox import Outbox
from bot.run import until_stopped
from core.config import Settings
from core.db import Database
from core.notices import RetryPolicy
from tests.telegram_world import TOKEN


async def main(url: str, api_base: str, per_second: int, claim_seconds: float) -> None:
    settings = BotSettings(Settings.from_env({}), TOKEN, api_base, None, None,
                           max_messages_per_second=per_second)
    db = Database(url)
    application = build_application(settings, db, polling=False)
    await application.initialize()
    outbox = Outbox(db, every=0.05, batch=5,
                    policy=RetryPolicy(claim_for=dt.timedelta(seconds=claim_seconds)))
    outbox.start(application.bot)
    print("ready", flush=True)
    try:
        await until_stopped()
    finally:
        await outbox.stop()
        await application.shutdown()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
