"""PostgreSQL at city scale: the health book, the check-in card and the worklist at 1M residents.

    .venv/bin/python bench/pg_city_bench.py [--people 1000000] [--samples 500] [--views 200]
        [--server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--keep]

Creates a database of its own on the local server, runs the migrations, builds `--people`
residents set-based with generate_series (the same statements tests/test_hot_paths.py builds
its 100,000 with: visits, prescriptions, doses, insurance cards, access events, accounts,
check-in codes and notices in proportion), VACUUM ANALYZE, then times in the same run, each
figure beside its baseline and its aim:
  * the health book (`read_own_book`) for `--samples` different residents, and for as many
    residents with visits, beside one hand-written SQL statement that fetches the same
    resident's rows (the citizen, the guardian's name, the insurance cards, the doses, the
    visits with their medicines) on the same pool; the two run in turn, each first for half
    the residents, so neither is always the one reading pages the other has just fetched;
  * the check-in card through the conversation engine (`/start ci_<token>` from a
    receptionist's account, as bench/checkin_bench.py does on SQLite), and `read_book_as`
    alone for residents nobody read before in this run;
  * the volunteer worklist of one ward (`core.volunteering.residents.worklist`), `--views`
    views spread over Hanoi's wards (each ward in turn, so with 126 wards some twice), pages
    1 to 5 in turn, beside the two hand-written statements the page needs (how many residents
    are listed, and the page's ten), in turn the same way;
  * the build time and `pg_database_size`, and the time to count every resident's gaps
    (`recount_city`, as after a city-wide import; the worklist reads the counts).
Every resident is timed once, and each warm-up uses residents of its own. Prints the machine,
the PostgreSQL version and the load average before and after, and writes
bench/out/pg_city_bench.json. The database is dropped at the end unless `--keep`.
A benchmark, not a test: it prints figures and passes or fails nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bot_bench
import core_bench  # puts the project root on sys.path too

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AIM_BOOK, AIM_BOOK_VISITS, AIM_RATIO, AIM_CARD, AIM_WORKLIST = 10.0, 12.0, 1.5, 15.0, 20.0
WARM = 50  # residents (or views) each warm-up takes, never timed afterwards

# One statement for one resident's book rows: what a hand-written service would send.
BASELINE_BOOK = """
SELECT c.id, c.personal_id, c.full_name, c.birth_date, c.sex, c.ethnicity_code, c.nationality,
       c.phone, c.ward_code, c.street_address, c.status, g.full_name AS guardian_name,
       (SELECT json_agg(i ORDER BY i.valid_to DESC) FROM insurance_cards AS i
         WHERE i.citizen_id = c.id) AS cards,
       (SELECT json_agg(m ORDER BY m.given_on DESC) FROM immunizations AS m
         WHERE m.citizen_id = c.id) AS doses,
       (SELECT json_agg(json_build_object('visit', v, 'medicines',
                (SELECT json_agg(p ORDER BY p.id) FROM prescriptions AS p
                  WHERE p.visit_id = v.id)) ORDER BY v.admitted_at DESC)
          FROM visits AS v WHERE v.citizen_id = c.id) AS visits
FROM citizens AS c LEFT JOIN citizens AS g ON g.id = c.guardian_id
WHERE c.id = :citizen_id
"""
# A worklist page by hand: how many residents are listed, and the page's rows.
BASELINE_WARD_COUNT = """SELECT count(*) FROM citizens
WHERE ward_code = :ward AND status = 'active' AND gaps > 0"""
BASELINE_WARD_PAGE = """SELECT * FROM citizens WHERE ward_code = :ward AND status = 'active' AND gaps > 0
ORDER BY gaps DESC, full_name, id LIMIT 10 OFFSET :skip"""
PAGES = 5  # the worklist's pages a volunteer turns through, 10 residents each


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def build(url: str, people: int) -> dict[str, object]:
    """Migrations, the city set-based and VACUUM ANALYZE, the gaps counted: their seconds."""
    from core.db import Database
    from core.migrate import upgrade
    from core.records.completeness import recount_city
    from tests.conftest import _admin
    from tests.test_hot_paths import _build_city

    db = Database(url)
    try:
        started = time.perf_counter()
        await upgrade(db)
        migrated = time.perf_counter()
        await _build_city(url, people)  # the rows, then VACUUM ANALYZE
        analysed = time.perf_counter()
        counted = await recount_city(db)
        await _admin("VACUUM ANALYZE citizens", url)  # a million rows just updated
        recounted = time.perf_counter()
    finally:
        await db.dispose()
    return {"migrate_s": migrated - started, "build_s": analysed - migrated,
            "total_s": analysed - started, "recount_s": recounted - analysed, "recounted": counted,
            **await described(url)}


async def described(url: str) -> dict[str, object]:
    """The city's size, its rows, the server."""
    from sqlalchemy import text

    from core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
            counts = {table: await connection.scalar(text(f"SELECT count(*) FROM {table}"))
                      for table in ("citizens", "visits", "prescriptions", "immunizations",
                                    "insurance_cards", "access_events", "channel_accounts")}
            version = await connection.scalar(text("SHOW server_version"))
            buffers = await connection.scalar(text("SHOW shared_buffers"))
    finally:
        await db.dispose()
    return {"size_bytes": size, "rows": counts, "postgresql": version, "shared_buffers": buffers}


async def measure(url: str, people: int, samples: int, views: int,
                  seed: int) -> dict[str, object]:
    from sqlalchemy import text

    from bot.flows.engine import Conversation
    from bot.flows.replies import Input
    from bot.flows.turn import ChannelInfo
    from core.checkin import tokens
    from core.consent.access import read_book_as, read_own_book
    from core.consent.policy import Reader
    from core.db import Database
    from core.identity import accounts
    from core.staff import service as staff
    from core.staff.model import StaffRole
    from core.volunteering.residents import worklist
    from tests.test_hot_paths import FACILITY, WARDS

    rng = random.Random(seed)
    # Residents n with n % 3 == 1 have visits (tests/test_hot_paths.py's city); any resident
    # is drawn from all. Each resident serves one purpose only.
    with_visits = rng.sample(range(1, people + 1, 3), WARM + samples)
    taken = set(with_visits)
    anyone: list[int] = []
    while len(anyone) < 2 * WARM + 3 * samples:
        n = rng.randrange(1, people + 1)
        if n not in taken:
            taken.add(n)
            anyone.append(n)
    book_any, anyone = anyone[:WARM + samples], anyone[WARM + samples:]
    card_citizens, unread = anyone[:WARM + samples], anyone[WARM + samples:]

    db = Database(url)
    result: dict[str, object] = {"residents": people, "samples": samples}
    try:
        async def book(citizen_id: int) -> float:
            started = time.perf_counter()
            found = await read_own_book(db, citizen_id)
            spent = elapsed_ms(started)
            assert found is not None, "no book"
            return spent

        async def baseline(citizen_id: int) -> float:
            started = time.perf_counter()
            async with db.engine.connect() as connection:
                row = (await connection.execute(text(BASELINE_BOOK),
                                                {"citizen_id": citizen_id})).one()
            spent = elapsed_ms(started)
            assert row.id == citizen_id
            return spent

        async def side_by_side(ours: Callable[[Any], Awaitable[float]],
                               theirs: Callable[[Any], Awaitable[float]],
                               keys: list[Any]) -> dict[str, object]:
            """Both for each key after a warm-up on keys of its own, each first for half."""
            for key in keys[:WARM]:  # the pool, the caches, the statements
                await ours(key)
                await theirs(key)
            our_times, their_times = [], []
            for index, key in enumerate(keys[WARM:]):
                if index % 2:
                    their_times.append(await theirs(key))
                    our_times.append(await ours(key))
                else:
                    our_times.append(await ours(key))
                    their_times.append(await theirs(key))
            mine, plain = bot_bench.figures(our_times), bot_bench.figures(their_times)
            return {"ours": mine, "one_query": plain,
                    "ratio_p99": mine["p99_ms"] / plain["p99_ms"],
                    "ratio_p50": mine["p50_ms"] / plain["p50_ms"]}

        result["book_any"] = await side_by_side(book, baseline, book_any)
        result["book_with_visits"] = await side_by_side(book, baseline, with_visits)

        desk = await db.write(accounts.open_account, "telegram", "bench-desk")
        invite = await staff.invite(db, StaffRole.RECEPTIONIST, facility_code=FACILITY,
                                    name="Bench desk")
        await staff.accept(db, invite.code, desk.id)
        conversation = Conversation(
            db, ChannelInfo("telegram", "https://t.me/HanoiHealthBookBot?start="))

        async def card(citizen_id: int) -> float:
            issued = await tokens.issue(db, citizen_id, "telegram")
            started = time.perf_counter()
            answer = await conversation.handle("bench-desk",
                                               Input.of_text(f"/start ci_{issued.token}"))
            spent = elapsed_ms(started)
            assert answer.replies and answer.replies[0].title, "no card"
            return spent

        reader = Reader(desk.id, "receptionist", FACILITY, None, "Bench desk")

        async def read(citizen_id: int) -> float:
            started = time.perf_counter()
            found = await read_book_as(db, reader, citizen_id, via="qr", token_id=None)
            spent = elapsed_ms(started)
            assert found.book is not None, "no book"
            return spent

        for citizen_id in card_citizens[:WARM]:
            await card(citizen_id)
        result["card"] = bot_bench.figures([await card(c) for c in card_citizens[WARM:]])
        result["read_book_as"] = bot_bench.figures([await read(c) for c in unread])

        wards = list(WARDS)
        random.Random(seed + 1).shuffle(wards)
        order = [wards[i % len(wards)] for i in range(WARM + views)]

        listed: list[int] = []
        missing: Counter[str] = Counter()  # the fields the views name, most first

        async def view(key: tuple[str, int]) -> float:
            ward, page = key
            started = time.perf_counter()
            shown = await worklist(db, ward, page)
            spent = elapsed_ms(started)
            assert shown.page == page and len(shown.items) == 10, "a short ward"
            listed.append(shown.total)
            missing.update(field for item in shown.items for field in item.missing)
            return spent

        async def plain_view(key: tuple[str, int]) -> float:
            ward, page = key
            started = time.perf_counter()
            async with db.engine.connect() as connection:
                total = await connection.scalar(text(BASELINE_WARD_COUNT), {"ward": ward})
                rows = (await connection.execute(text(BASELINE_WARD_PAGE),
                                                 {"ward": ward, "skip": page * 10})).all()
            spent = elapsed_ms(started)
            assert total and len(rows) == 10, "a short ward"
            return spent

        keys = [(ward, index % PAGES) for index, ward in enumerate(order)]
        result["worklist"] = await side_by_side(view, plain_view, keys)
        result["worklist"]["wards"] = len(set(order[WARM:]))
        result["worklist"]["listed_mean"] = sum(listed) / len(listed)
        result["worklist"]["missing_fields"] = dict(missing.most_common(5))
    finally:
        await db.dispose()
    return result


def _row(title: str, figures: dict[str, float], aim: float | None, extra: str = "") -> str:
    verdict = ""
    if aim is not None:
        verdict = f"  aim p99 <= {aim:g} ms: {'met' if figures['p99_ms'] <= aim else 'MISSED'}"
    return (f"  {title:<34}: p50 {figures['p50_ms']:6.2f}  p95 {figures['p95_ms']:6.2f}  "
            f"p99 {figures['p99_ms']:6.2f}  max {figures['max_ms']:7.2f} ms{verdict}{extra}")


def print_machine(result: dict[str, object]) -> None:
    """The machine, the server and the load before and after: the first lines of a city bench."""
    info, built = result["machine"], result["build"]
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"{info['system']}, Python {info['python']}, PostgreSQL {built['postgresql']} "
          f"(shared_buffers {built['shared_buffers']})")
    print(f"Load average (1, 5, 15 min): before {result['load_before']}, "
          f"after {result['load_after']}")


def report(result: dict[str, object]) -> None:
    print_machine(result)
    built = result["build"]
    made = (f"built in {built['total_s']:.0f} s (migrations {built['migrate_s']:.1f} s, rows "
            f"and VACUUM ANALYZE {built['build_s']:.0f} s)" if "total_s" in built
            else f"kept from an earlier run ({result['database']})")
    print(f"City of {result['residents']:,} residents {made}; database "
          f"{built['size_bytes'] / 2**30:.2f} GiB; rows "
          + ", ".join(f"{t} {n:,}" for t, n in built["rows"].items()))
    if "recount_s" in built:
        print(f"Every resident's gaps counted ({built['recounted']:,} rows, recount_city) in "
              f"{built['recount_s']:.0f} s")
    for key, title, aim in (("book_any", "any resident", AIM_BOOK),
                            ("book_with_visits", "residents with visits", AIM_BOOK_VISITS)):
        pair = result[key]
        print(f"Health book, {title} ({pair['ours']['count']} each):")
        print(_row("read_own_book", pair["ours"], aim))
        print(_row("one hand-written query", pair["one_query"], None))
        met = "met" if pair["ratio_p99"] <= AIM_RATIO else "MISSED"
        print(f"  ratio p99 {pair['ratio_p99']:.2f}x (p50 {pair['ratio_p50']:.2f}x)"
              f"  aim <= {AIM_RATIO:g}x: {met}")
    print("Check-in card:")
    print(_row("card through the engine", result["card"], AIM_CARD))
    print(_row("read_book_as (receptionist)", result["read_book_as"], None))
    work = result["worklist"]
    print(f"Worklist ({work['ours']['count']} views of pages 1-{PAGES} over {work['wards']} "
          f"wards, {work['listed_mean']:.0f} residents listed in the ward on average; most missing: "
          + ", ".join(f"{field} {n:,}" for field, n in work["missing_fields"].items()) + "):")
    print(_row("worklist of one ward", work["ours"], AIM_WORKLIST))
    print(_row("count and page, two queries", work["one_query"], None))
    print(f"  ratio p99 {work['ratio_p99']:.2f}x (p50 {work['ratio_p50']:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--views", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help="a database on the server to connect to while creating ours")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="measure a city kept by an earlier --keep run "
                        "(its build figures are not printed again)")
    args = parser.parse_args()
    if args.people < 3 * (2 * WARM + 3 * args.samples) or args.people < 7000:
        raise SystemExit("too few --people for the samples drawn")
    from sqlalchemy.engine import make_url

    from core.identity.keys import allow_local_key
    from tests.conftest import _admin, _migrate

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    bot_bench._quiet()
    name = args.database or f"ehr_city_{uuid.uuid4().hex[:12]}"
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    result: dict[str, object] = {"machine": core_bench.machine(), "load_before": load_average(),
                                 "database": name}
    if args.database:
        args.keep = True
        asyncio.run(_migrate(url))  # a city kept before the latest migrations: brought up to date
        result["build"] = asyncio.run(described(url))
        args.people = result["build"]["rows"]["citizens"]  # residents are drawn from the whole city
    else:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"', args.server))
    try:
        if not args.database:
            result["build"] = asyncio.run(build(url, args.people))
        result.update(asyncio.run(measure(url, args.people, args.samples, args.views,
                                          args.seed)))
        result["load_after"] = load_average()
        report(result)
        core_bench.OUT.mkdir(parents=True, exist_ok=True)
        (core_bench.OUT / "pg_city_bench.json").write_text(
            json.dumps(result, indent=2, default=str))
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', args.server))


if __name__ == "__main__":
    main()
