"""Round trips on PostgreSQL: transactions and statements per input, and the check-in card's time.

    .venv/bin/python bench/round_trips_bench.py [--residents 3000] [--samples 500]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432/ehr_bench_round_trips]

Builds (once) a synthetic city of `--residents` in the database named by `--url` (created on
the local server when missing), then drives the conversation engine as the channels do:
  * counts the transactions (BEGIN) and statements of one input of each common kind (a
    receptionist opening a card by QR link and by typed code, a visit on the card, a citizen
    opening a book section, /qr), with SQLAlchemy's events on the real engine;
  * times the check-in card (`/start ci_<token>` through `Conversation.handle`) over
    `--samples` calls, each for a citizen drawn at random with a code just issued.
A benchmark, not a test: it prints figures and passes or fails nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bot_bench
import core_bench  # puts the project root on sys.path too

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/ehr_bench_round_trips"


async def _create_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from core.db import Database

    parsed = make_url(url)
    admin = Database(parsed.set(database="postgres").render_as_string(hide_password=False),
                     isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as connection:
            found = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                            {"n": parsed.database})
            if not found:
                await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()


async def run(url: str, residents: int, samples: int, seed: int, verbose: bool) -> dict[str, object]:
    import datetime as dt

    from sqlalchemy import func, select, text

    from bot.flows.actions import encode
    from bot.flows.book import ShowSection
    from bot.flows.engine import Conversation
    from bot.flows.replies import Input
    from bot.flows.turn import ChannelInfo
    from core.checkin import tokens
    from core.consent import grants
    from core.db import Database
    from core.identity import accounts
    from core.migrate import upgrade
    from core.records.citizen import Citizen
    from core.records.display_rules import BookGroup
    from core.records.facility import Facility
    from core.records.visit import Visit
    from core.seed import generate_city
    from core.seed.store import database_is_empty, seed_database
    from core.staff import service as staff
    from core.staff.model import StaffRole
    from tests.round_trips import RoundTrips

    await _create_database(url)
    db = Database(url)
    await upgrade(db)
    if await database_is_empty(db):
        started = time.perf_counter()
        await seed_database(db, generate_city(residents, 7, dt.date(2026, 11, 1)))
        print(f"seeded {residents} residents in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    async with db.engine.begin() as connection:  # a clean slate for this run's rows
        for table in ("access_events", "consent_changes", "audit_chain_heads", "checkin_tokens",
                      "staff_members", "staff_invites", "verification_attempts", "channel_accounts"):
            await connection.execute(text(f"DELETE FROM {table}"))
    async with db.sessions() as session:
        top = await session.scalar(select(func.max(Citizen.id)))
        bottom = await session.scalar(select(func.min(Citizen.id)))
        facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
        with_visits = await session.scalar(select(Visit.citizen_id).limit(1))
    desk = await db.write(accounts.open_account, "telegram", "bench-desk")
    invite = await staff.invite(db, StaffRole.RECEPTIONIST, facility_code=facility, name="Bench desk")
    await staff.accept(db, invite.code, desk.id)
    citizen = await db.write(accounts.open_account, "telegram", "bench-citizen")
    await db.write(accounts.link_citizen, citizen.id, "telegram", with_visits)
    await grants.set_any_clinic(db, with_visits, frozenset(BookGroup), "telegram")  # visits shown
    conversation = Conversation(db, ChannelInfo("telegram", "https://t.me/HanoiHealthBookBot?start="))

    async def cost(external_id: str, given: Input) -> tuple[dict[str, int], object]:
        with RoundTrips(db) as counted:
            answer = await conversation.handle(external_id, given)
        if verbose:
            print(f"{given.command or given.kind}: {counted}", file=sys.stderr)
        return {"transactions": counted.transactions, "statements": len(counted.statements)}, answer

    async def card_input(command: str) -> Input:
        issued = await tokens.issue(db, with_visits, "telegram")
        if command == "start":
            return Input.of_text(f"/start ci_{issued.token}")
        return Input.of_text(f"/checkin {issued.spoken_code}")

    # Warm: the pool's connections and the caches, once for each account.
    await conversation.handle("bench-desk", await card_input("start"))
    await conversation.handle("bench-citizen", Input.of_text("/qr"))
    result: dict[str, object] = {"residents": top - bottom + 1, "samples": samples}
    per_input: dict[str, dict[str, int]] = {}
    per_input["card by QR link"], card = await cost("bench-desk", await card_input("start"))
    per_input["card by typed code"], card = await cost("bench-desk", await card_input("checkin"))
    visit = next(str(o.action) for r in card.replies for row in r.options for o in row
                 if str(o.action).startswith("checkin.v:"))  # the card's first visit
    per_input["a visit on the card"], _ = await cost("bench-desk", Input.of_option(visit))
    section = encode(ShowSection(BookGroup.IMMUNIZATIONS))
    per_input["citizen opens a book section"], _ = await cost("bench-citizen", Input.of_option(section))
    per_input["citizen /qr"], _ = await cost("bench-citizen", Input.of_text("/qr"))
    result["per_input"] = per_input

    rng = random.Random(seed)
    times = []
    for index in range(samples + 50):
        issued = await tokens.issue(db, rng.randrange(bottom, top + 1), "telegram")
        started = time.perf_counter()
        answer = await conversation.handle("bench-desk", Input.of_text(f"/start ci_{issued.token}"))
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.replies and answer.replies[0].title, "no card"
        if index >= 50:
            times.append(elapsed)
    result["card"] = bot_bench.figures(times)
    await db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--residents", type=int, default=3_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--verbose", action="store_true", help="print each input's statements")
    args = parser.parse_args()
    from core.identity.keys import allow_local_key

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    result = asyncio.run(run(args.url, args.residents, args.samples, args.seed, args.verbose))
    print(json.dumps({"machine": core_bench.machine(), **result}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
