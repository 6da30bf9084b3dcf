"""Check-in benchmark: QR code generation and the receptionist's check-in card, at 1,000,000 residents.

    .venv/bin/python bench/checkin_bench.py [--samples 2000]

Uses the database `bench/core_bench.py` (or `bench/bot_bench.py`) builds in bench/out/.
Times, each after a warm-up, in one process on SQLite:
  * the QR PNG alone (`bot.flows.qr.qr_png` of a real deep link);
  * `/qr` through the conversation engine (new token, consent read, PNG);
  * the check-in card: a receptionist opens a citizen's deep link through the engine
    (token, staff, consent, book, access-log write, the citizen's notice);
  * `read_book_as` alone (policy, book, chained access event), twice: for residents nobody
    read before in this run ("cold"), and again for the residents whose card was just opened
    ("warm": right after the card read the same book, its pages fresh in SQLite's cache).
Every resident is drawn once (no repeats), and each warm-up uses residents of its own, never
the measured ones, so no figure times a page the same sample has just read. "Cold" means cold
for this process's SQLite cache; the operating system's file cache is not dropped (that needs
root), so on a machine whose memory holds the whole database it reads from memory.
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
import core_bench

AIM_QR_P99, AIM_CARD_P99 = 20.0, 10.0
QR_WARM, QR_SAMPLES, CARD_WARM = 50, 500, 50  # residents for each warm-up and the /qr sample


async def run(samples: int, seed: int) -> dict[str, object]:
    from sqlalchemy import func, select, text

    from bot.flows.engine import Conversation
    from bot.flows.qr import qr_png
    from bot.flows.replies import Input
    from bot.flows.turn import ChannelInfo
    from core.checkin import tokens
    from core.consent.access import read_book_as
    from core.consent.policy import Reader
    from core.identity import accounts
    from core.migrate import upgrade
    from core.records.citizen import Citizen
    from core.records.facility import Facility
    from core.staff import service as staff
    from core.staff.model import StaffRole

    db = bot_bench._database(str(core_bench.OUT))
    await upgrade(db)
    async with db.engine.begin() as connection:  # a clean slate for this run's rows
        for table in ("access_events", "consent_changes", "audit_chain_heads", "checkin_tokens",
                      "staff_members", "staff_invites"):
            await connection.execute(text(f"DELETE FROM {table}"))
    async with db.sessions() as session:
        top = await session.scalar(select(func.max(Citizen.id)))
        facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
    desk = await db.write(accounts.open_account, "telegram", "bench-desk")
    invite = await staff.invite(db, StaffRole.RECEPTIONIST, facility_code=facility, name="Bench desk")
    await staff.accept(db, invite.code, desk.id)
    conversation = Conversation(db, ChannelInfo("telegram", "https://t.me/HanoiHealthBookBot?start="))
    # Distinct residents, each used for one purpose only: a repeat would link one citizen to
    # two accounts (the first loses its link, and its /qr its book) or time a warm page.
    wanted = QR_WARM + QR_SAMPLES + CARD_WARM + 2 * samples
    if wanted > top:
        raise SystemExit(f"{wanted:,} distinct residents wanted, the database has {top:,}: "
                         "fewer --samples, or a bigger bench/core_bench.py --people")
    drawn = random.Random(seed).sample(range(1, top + 1), wanted)
    qr_citizens, drawn = drawn[:QR_WARM + QR_SAMPLES], drawn[QR_WARM + QR_SAMPLES:]
    card_warm, card_citizens, unread = (drawn[:CARD_WARM], drawn[CARD_WARM:CARD_WARM + samples],
                                        drawn[CARD_WARM + samples:])
    result: dict[str, object] = {"residents": top, "samples": samples}

    link = "https://t.me/HanoiHealthBookBot?start=ci_" + "x" * 22
    times = []
    for index in range(samples + 100):
        started = time.perf_counter()
        qr_png(link)
        if index >= 100:
            times.append((time.perf_counter() - started) * 1000)
    result["qr_png"] = bot_bench.figures(times)

    # /qr through the engine, for linked citizens (the link is what a verified account has).
    linked = []
    for n, citizen_id in enumerate(qr_citizens):
        account = await db.write(accounts.open_account, "telegram", f"bench-citizen-{n}")
        await db.write(accounts.link_citizen, account.id, "telegram", citizen_id)
        linked.append(f"bench-citizen-{n}")
    times = []
    for index, external_id in enumerate(linked):  # the first QR_WARM accounts only warm up
        started = time.perf_counter()
        answer = await conversation.handle(external_id, Input.of_text("/qr"))
        if index >= QR_WARM:
            times.append((time.perf_counter() - started) * 1000)
        assert answer.replies[0].image is not None, "no QR: the account is not linked"
    result["qr_command"] = bot_bench.figures(times)

    async def card(citizen_id: int) -> float:
        issued = await tokens.issue(db, citizen_id, "telegram")
        started = time.perf_counter()
        answer = await conversation.handle("bench-desk", Input.of_text(f"/start ci_{issued.token}"))
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.replies and answer.replies[0].title, "no card"
        return elapsed

    reader = Reader(desk.id, "receptionist", facility, None, "Bench desk")

    async def read(citizen_id: int) -> float:
        started = time.perf_counter()
        await read_book_as(db, reader, citizen_id, via="qr", token_id=None)
        return (time.perf_counter() - started) * 1000

    for citizen_id in card_warm:  # the pool, the engine, the desk's own rows
        await card(citizen_id)
    card_times, warm_times = [], []
    for citizen_id in card_citizens:
        card_times.append(await card(citizen_id))
        warm_times.append(await read(citizen_id))  # the book the card has just read
    result["card"] = bot_bench.figures(card_times)
    result["read_book_as_warm"] = bot_bench.figures(warm_times)
    result["read_book_as_cold"] = bot_bench.figures([await read(c) for c in unread])
    await db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from core.identity.keys import allow_local_key

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    if not (core_bench.OUT / "bench.sqlite3").exists():
        raise SystemExit("no benchmark database: run bench/core_bench.py (make bench) first")
    info = core_bench.machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"{info['system']}, Python {info['python']}, SQLite {info['sqlite']}")
    bot_bench._quiet()
    result = asyncio.run(run(args.samples, args.seed))
    result["machine"] = info
    result["peak_mib"] = bot_bench.peak_mib()
    print(f"Check-in at {result['residents']:,} residents ({args.samples:,} cards, "
          f"{QR_SAMPLES} /qr, each a different resident):")
    rows = (("QR PNG alone", "qr_png", AIM_QR_P99), ("/qr through the engine", "qr_command", AIM_QR_P99),
            ("check-in card (engine)", "card", AIM_CARD_P99),
            ("read_book_as, cold", "read_book_as_cold", None),
            ("read_book_as, warm", "read_book_as_warm", None))
    for title, key, aim in rows:
        f = result[key]
        met = aim is not None and f["p99_ms"] <= aim
        verdict = "" if aim is None else f"  aim p99 <= {aim:g} ms: {'met' if met else 'MISSED'}"
        print(f"  {title:<24}: p50 {f['p50_ms']:6.2f}  p95 {f['p95_ms']:6.2f}  p99 {f['p99_ms']:6.2f}  "
              f"max {f['max_ms']:7.2f} ms{verdict}")
    print(f"  peak memory {result['peak_mib']:.0f} MiB")
    (core_bench.OUT / "checkin_bench.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
