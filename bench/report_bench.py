"""Dashboards and the monthly report at city scale, on PostgreSQL, beside counting per request.

    .venv/bin/python bench/report_bench.py [--people 1000000] [--calls 300] [--baseline-calls 20]
        [--server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--keep] [--database NAME]

Builds `--people` residents the way bench/pg_city_bench.py does (its `build`: the statements
of tests/test_hot_paths.py, VACUUM ANALYZE, every resident's gaps counted), or reuses a city
kept by `--keep` (`--database`), then adds what the figures read: USSD accounts beside the
Telegram ones, link times over the last 120 days, correction requests, 126 volunteers and
their entries, the seed's 30 health centres, and the day counts of activations and check-ins
(core.tallies, filled set-based from the accounts and the access log). Then times, in one run:
  * the refresh (`core.reporting.figures.refresh`) of every ward's stored figures;
  * `ward_dashboard`, `centre_dashboard` and `city_dashboard`, `--calls` each (wards and
    centres in turn), p50/p95/p99, beside the baseline: the same figures counted over the
    residents per request (`figures.count_wards` for the ward, the centre's wards, the city),
    `--baseline-calls` each;
  * the monthly report for the 126 wards (`monthly_rows` + `write_xlsx`), five times;
  * the console's pages over HTTP as a signed-in city viewer asks for them (`desk_app` on a
    local port): the ward, centre and city dashboards and the report page, `--calls` each, and
    the report's XLSX download 20 times;
  * last, as it changes the city: what `core.after_import` adds before its refresh, the deaths
    the register said (`core.volunteering.deaths.end_after_register`), with nobody new, then
    with 1,000 residents with linked accounts newly dead.
Prints the machine and the load average before and after; writes bench/out/report_bench.json.
A benchmark, not a test: it passes or fails nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bot_bench
import core_bench  # puts the project root on sys.path too
import pg_city_bench
from pg_city_bench import DEFAULT_SERVER, described, elapsed_ms, load_average

AIM_PAGE_P95_MS, AIM_XLSX_S = 200.0, 10.0

# What the figures read beyond the city of tests/test_hot_paths.py, set-based.
EXTRAS = [
    # Telegram links spread over the last 120 days; every 11th resident on USSD too.
    """UPDATE channel_accounts SET linked_at = now() - (citizen_id % 120) * interval '1 day'""",
    """INSERT INTO channel_accounts (channel, external_id, citizen_id, linked_at, locale,
           state_version, created_at, updated_at)
       SELECT 'ussd', '+849' || lpad(c::text, 8, '0'), c, now() - (c % 90) * interval '1 day', 'vi', 0,
              now(), now()
       FROM generate_series(11, :residents, 11) AS c""",
    """INSERT INTO correction_requests (citizen_id, field, proposed_value, reason, ward_code, channel,
           status, created_at, decided_at)
       SELECT c.id, 'blood_group', 'O+', 'sai', c.ward_code, 'telegram',
              CASE WHEN c.id % 3 = 0 THEN 'pending' ELSE 'approved' END,
              now() - (c.id % 60) * interval '1 day',
              CASE WHEN c.id % 3 = 0 THEN NULL ELSE now() - (c.id % 50) * interval '1 day' END
       FROM citizens AS c WHERE c.id % 97 = 5""",
    # The day counts the events would have made: activations from the links, check-ins from the
    # access log (by the resident's ward), as core.tallies counts them.
    """INSERT INTO ward_tallies (ward_code, day, kind, count)
       SELECT coalesce(c.ward_code, ''), (a.linked_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
              'activation_' || a.channel, count(*)
       FROM channel_accounts AS a JOIN citizens AS c ON c.id = a.citizen_id
       GROUP BY 1, 2, 3""",
    """INSERT INTO ward_tallies (ward_code, day, kind, count)
       SELECT coalesce(c.ward_code, ''), (e.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 'checkin', count(*)
       FROM access_events AS e JOIN citizens AS c ON c.id = e.citizen_id WHERE e.via IN ('qr', 'code')
       GROUP BY 1, 2""",
]
# Each volunteer's entries (volunteer n of the ward list works in ward n).
ENTRIES = """INSERT INTO pending_values (citizen_id, field, value, staff_id, ward_code, status, created_at)
   SELECT c.id, 'occupation', 'Giáo viên', s.id, c.ward_code,
          CASE WHEN c.id % 2 = 0 THEN 'pending' ELSE 'approved' END, now() - (c.id % 45) * interval '1 day'
   FROM citizens AS c JOIN staff_members AS s ON s.ward_code = c.ward_code
   WHERE c.id % 53 = 7"""


def figures(times_ms: list[float]) -> dict[str, float]:
    ordered = sorted(times_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"count": len(ordered), "p50_ms": statistics.median(ordered), "p95_ms": pick(0.95),
            "p99_ms": pick(0.99), "max_ms": ordered[-1]}


async def prepare(url: str, people: int) -> dict[str, float]:
    """The extras above, the volunteers, the centres: their seconds."""
    from sqlalchemy import text

    from core.db import Database
    from core.identity import accounts
    from core.reference.wards import hanoi_wards
    from core.reporting.centres import seed_demo_centres
    from core.staff import service as staff
    from core.staff.model import StaffRole
    from tests.conftest import _admin

    db = Database(url)
    started = time.perf_counter()
    try:
        async with db.engine.begin() as connection:
            if await connection.scalar(text("SELECT count(*) FROM ward_tallies")):
                return {"prepare_s": 0.0}  # a kept city, prepared by an earlier run
            for statement in EXTRAS:
                await connection.execute(text(statement), {"residents": people} if ":residents" in statement
                                         else {})
        for n, ward in enumerate(hanoi_wards()):
            invite = await staff.invite(db, StaffRole.VOLUNTEER, ward_code=ward, name=f"TNV {n}")
            account = await db.write(accounts.open_account, "telegram", f"volunteer-{n}")
            await staff.accept(db, invite.code, account.id)
        async with db.engine.begin() as connection:
            await connection.execute(text(ENTRIES))
        await db.write(seed_demo_centres)
    finally:
        await db.dispose()
    await _admin("VACUUM ANALYZE", url)
    return {"prepare_s": time.perf_counter() - started}


async def measure(url: str, calls: int, baseline_calls: int) -> dict[str, object]:
    from core.db import Database
    from core.i18n import now_utc, today_hanoi
    from core.reporting import centre_dashboard, centres, city_dashboard, ward_dashboard
    from core.reporting import figures as stored
    from core.reporting.monthly import monthly_rows, write_xlsx

    db = Database(url)
    result: dict[str, object] = {}
    try:
        started = time.perf_counter()
        wards_stored = await stored.refresh(db)
        result["refresh_s"] = time.perf_counter() - started
        result["wards_stored"] = wards_stored
        started = time.perf_counter()
        await stored.refresh(db)
        result["refresh_again_s"] = time.perf_counter() - started
        areas = await centres(db)
        wards = [w for c in areas for w in c.ward_codes]

        async def timed(call, count: int) -> list[float]:
            times = []
            for i in range(count):
                began = time.perf_counter()
                await call(i)
                times.append(elapsed_ms(began))
            return times

        for _ in range(10):  # warm the pool and the statement caches
            await ward_dashboard(db, wards[0])
            await city_dashboard(db)
        result["ward"] = figures(await timed(lambda i: ward_dashboard(db, wards[i % len(wards)]), calls))
        result["centre"] = figures(await timed(lambda i: centre_dashboard(db, areas[i % len(areas)].code),
                                               calls))
        result["city"] = figures(await timed(lambda i: city_dashboard(db), calls))

        def direct(only: list[str] | None):
            return db.read(stored.count_wards, now_utc(), only)
        result["baseline_ward"] = figures(await timed(lambda i: direct([wards[(7 * i) % len(wards)]]),
                                                      baseline_calls))
        result["baseline_centre"] = figures(await timed(
            lambda i: direct(list(areas[(7 * i) % len(areas)].ward_codes)), baseline_calls))
        result["baseline_city"] = figures(await timed(lambda i: direct(None), max(3, baseline_calls // 4)))
        today = today_hanoi()
        xlsx = []
        for _ in range(5):
            began = time.perf_counter()
            report = await monthly_rows(db, today.year, today.month)
            out = io.BytesIO()
            write_xlsx(report, out)
            xlsx.append(time.perf_counter() - began)
        result["xlsx_s"] = {"runs": xlsx, "median": statistics.median(xlsx), "max": max(xlsx),
                            "bytes": len(out.getvalue()), "residents": report.total.residents}
        result.update(await pages(db, calls, wards, [c.code for c in areas]))
        result["deaths"] = await deaths_after_import(db)
    finally:
        await db.dispose()
    return result


async def deaths_after_import(db, dying: int = 1000) -> dict[str, object]:
    """What `core.after_import` adds before the refresh it always ran: finding the people the
    register now says died whom something still acts as, and ending them. First with nobody new
    (what every import pays), then after `dying` residents with linked accounts are marked dead
    as a roster would (the city is changed: last in the run)."""
    from sqlalchemy import text

    from core.volunteering import deaths

    await deaths.end_after_register(db)  # whoever the built city has already
    idle = []
    for _ in range(5):
        began = time.perf_counter()
        assert await deaths.end_after_register(db) == 0
        idle.append(elapsed_ms(began))
    async with db.engine.begin() as connection:
        await connection.execute(text(
            "UPDATE citizens SET status = 'deceased' WHERE id IN (SELECT citizen_id FROM channel_accounts "
            "WHERE channel = 'telegram' AND citizen_id IS NOT NULL ORDER BY citizen_id LIMIT :n)"),
            {"n": dying})
    began = time.perf_counter()
    ended = await deaths.end_after_register(db)
    return {"idle_ms": figures(idle), "ended": ended, "ending_s": time.perf_counter() - began}


async def pages(db, calls: int, wards: list[str], centre_codes: list[str]) -> dict[str, object]:
    """The pages themselves over HTTP, as a city viewer's browser asks for them: the console's
    app on a local port, signed in through a one-time link, each page rendered whole."""
    import aiohttp
    from aiohttp.test_utils import TestServer

    from core.i18n import today_hanoi
    from core.staff import desk as signin
    from core.staff.model import StaffRole
    from desk.app import desk_app
    from desk.config import DeskSettings

    viewer = await signin.desk_operator(db, StaffRole.CITY_VIEWER, "Bench viewer")
    token = await signin.issue_signin(db, viewer.id)
    opened = await signin.redeem_signin(db, token)
    assert opened is not None
    app = aiohttp.web.Application()
    app.add_subapp("/desk", desk_app(db, DeskSettings("http://127.0.0.1", "bench_bot")))
    server = TestServer(app)
    await server.start_server()
    month = f"{today_hanoi():%m/%Y}"
    result: dict[str, object] = {}
    try:
        async with aiohttp.ClientSession(cookies={"desk_session": opened.key}) as http:
            async def get(path: str) -> float:
                began = time.perf_counter()
                async with http.get(server.make_url(path), allow_redirects=False) as answer:
                    await answer.read()
                    assert answer.status == 200, (path, answer.status)
                return elapsed_ms(began)

            for _ in range(10):
                await get("/desk/dashboard")
            result["page_ward"] = figures([await get(f"/desk/dashboard?ward={wards[i % len(wards)]}")
                                           for i in range(calls)])
            centre = [f"/desk/dashboard?centre={centre_codes[i % len(centre_codes)]}" for i in range(calls)]
            result["page_centre"] = figures([await get(path) for path in centre])
            result["page_city"] = figures([await get("/desk/dashboard") for _ in range(calls)])
            result["page_report"] = figures([await get("/desk/report") for _ in range(calls)])
            result["page_xlsx"] = figures([await get(f"/desk/report.xlsx?month={month}") for _ in range(20)])
    finally:
        await server.close()
    return result


def _row(title: str, f: dict[str, float], aim: float | None) -> str:
    verdict = f"  aim p95 <= {aim:g} ms: {'met' if f['p95_ms'] <= aim else 'MISSED'}" if aim else ""
    return (f"  {title:<40}: p50 {f['p50_ms']:8.2f}  p95 {f['p95_ms']:8.2f}  p99 {f['p99_ms']:8.2f}  "
            f"max {f['max_ms']:8.2f} ms ({f['count']} calls){verdict}")


def report(result: dict[str, object]) -> None:
    pg_city_bench.print_machine(result)
    built = result["build"]
    made = (f"built in {built['total_s']:.0f} s" if "total_s" in built
            else f"kept from an earlier run ({result['database']})")
    print(f"City of {result['residents']:,} residents {made}, prepared for the figures in "
          f"{result['prepare_s']:.0f} s; database {built['size_bytes'] / 2**30:.2f} GiB")
    print(f"Refresh of the stored figures ({result['wards_stored']} wards): {result['refresh_s']:.2f} s "
          f"(again at once: {result['refresh_again_s']:.2f} s)")
    print("Dashboards (stored figures):")
    for key in ("ward", "centre", "city"):
        print(_row(f"{key}_dashboard", result[key], AIM_PAGE_P95_MS))
    print("The pages over HTTP (signed in, rendered whole, charts included):")
    for key, title in (("page_ward", "GET /desk/dashboard?ward="),
                       ("page_centre", "GET /desk/dashboard?centre="), ("page_city", "GET /desk/dashboard"),
                       ("page_report", "GET /desk/report"),
                       ("page_xlsx", "GET /desk/report.xlsx (126 wards)")):
        print(_row(title, result[key], AIM_PAGE_P95_MS))
    print("Baseline: the same figures counted over the residents per request:")
    for key in ("ward", "centre", "city"):
        print(_row(f"count_wards for the {key}", result[f"baseline_{key}"], None))
    x = result["xlsx_s"]
    d = result["deaths"]
    print(f"After an import, deaths the register said (core.volunteering.deaths): finding nobody new "
          f"p50 {d['idle_ms']['p50_ms']:.1f} ms, max {d['idle_ms']['max_ms']:.1f} ms; ending "
          f"{d['ended']:,} newly dead residents with linked accounts {d['ending_s']:.2f} s "
          f"(beside the refresh above, which every import already ran)")
    print(f"Monthly report, 126 wards, rows + XLSX: median {x['median']:.2f} s, max {x['max']:.2f} s "
          f"({x['bytes']:,} bytes, {x['residents']:,} residents)  aim <= {AIM_XLSX_S:g} s: "
          f"{'met' if x['max'] <= AIM_XLSX_S else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--baseline-calls", type=int, default=20)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="measure a city kept by an earlier --keep run")
    args = parser.parse_args()
    from sqlalchemy.engine import make_url

    from core.identity.keys import allow_local_key
    from tests.conftest import _admin, _migrate

    allow_local_key()  # synthetic benchmark data
    bot_bench._quiet()
    name = args.database or f"ehr_report_{uuid.uuid4().hex[:12]}"
    url = make_url(args.server).set(database=name).render_as_string(hide_password=False)
    result: dict[str, object] = {"machine": core_bench.machine(), "load_before": load_average(),
                                 "database": name}
    if args.database:
        args.keep = True
        asyncio.run(_migrate(url))
    else:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"', args.server))
    try:
        result["build"] = (asyncio.run(described(url)) if args.database
                           else asyncio.run(pg_city_bench.build(url, args.people)))
        result["residents"] = result["build"]["rows"]["citizens"]
        result.update(asyncio.run(prepare(url, result["residents"])))
        result.update(asyncio.run(measure(url, args.calls, args.baseline_calls)))
        result["load_after"] = load_average()
        report(result)
        core_bench.OUT.mkdir(parents=True, exist_ok=True)
        (core_bench.OUT / "report_bench.json").write_text(json.dumps(result, indent=2, default=str))
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', args.server))


if __name__ == "__main__":
    main()
