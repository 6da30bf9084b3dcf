"""Core record service benchmark: roster import against a plain sqlite3 baseline (and,
with --postgres, against plain COPY on PostgreSQL), QĐ 130 visits imported per second,
and HealthBook build time, on SQLite.

    .venv/bin/python bench/core_bench.py [--people 1000000] [--visits 20000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench] [--roster-only]

Each phase runs in its own process so its peak memory is its own. Figures are
printed with the machine they ran on and written to bench/out/core_bench.json.
This is a benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load: speeds mean little without it."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_seconds() -> float:
    """This process's CPU time: on a machine others are using, wall time says how busy it
    was as much as how fast we are; CPU time says the second."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "system": f"{platform.system()} {platform.release()}"}


# --- phases (each in its own process) --------------------------------------------

def phase_generate(people: int, seed: int) -> dict[str, object]:
    """Writes the roster CSV for `people` residents, household by household."""
    from core.i18n import today_hanoi
    from core.records.imports.roster import write_roster_csv
    from core.seed.people import PeopleFactory, build_town, leave_gaps

    rng = random.Random(seed)
    factory = PeopleFactory(rng, build_town(rng), today_hanoi())

    def entries():
        made = 0
        while made < people:
            members = factory.household_members()[: people - made]
            leave_gaps(rng, members)
            made += len(members)
            for member in members:
                yield member.entry

    started = time.perf_counter()
    rows = write_roster_csv(OUT / "roster.csv", entries())
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


def phase_baseline() -> dict[str, object]:
    """csv.reader + sqlite3.executemany of the same rows into a table of the same shape."""
    path = OUT / "baseline.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        connection.execute(f"PRAGMA {pragma}")
    started, cpu = time.perf_counter(), cpu_seconds()
    with (OUT / "roster.csv").open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        # Same columns, all text, and the same unique key on the personal ID.
        columns = ", ".join(f"{c} TEXT" for c in header)
        connection.execute(f"CREATE TABLE roster ({columns}, UNIQUE (so_dinh_danh))")
        insert = f"INSERT INTO roster VALUES ({', '.join('?' * len(header))})"
        rows = 0
        while chunk := [row for _, row in zip(range(2000), reader, strict=False)]:
            connection.executemany(insert, chunk)
            connection.commit()
            rows += len(chunk)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    connection.close()
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "cpu_s": cpu,
            "peak_mib": peak_mib()}


def phase_pg_baseline(url: str) -> dict[str, object]:
    """csv.reader + asyncpg's COPY of the same rows into a table of the same shape."""
    import asyncpg

    async def run() -> dict[str, object]:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        await connection.execute("DROP TABLE IF EXISTS roster_baseline")
        started = time.perf_counter()
        with (OUT / "roster.csv").open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = ", ".join(f"{c} TEXT" for c in header)
            await connection.execute(
                f"CREATE TABLE roster_baseline ({columns}, UNIQUE (so_dinh_danh))")
            rows = 0
            while chunk := [row for _, row in zip(range(10000), reader, strict=False)]:
                async with connection.transaction():
                    await connection.copy_records_to_table("roster_baseline", records=chunk)
                rows += len(chunk)
        seconds = time.perf_counter() - started
        await connection.execute("DROP TABLE roster_baseline")
        await connection.close()
        return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}

    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


async def _fresh_database(name: str):
    from core.db import Database
    from core.migrate import upgrade

    path = OUT / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    return db


async def _fresh_postgres(url: str):
    from sqlalchemy import text

    from core.db import Database
    from core.migrate import upgrade

    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(db)
    return db


def phase_import(url: str = "") -> dict[str, object]:
    """import-roster into a fresh database: SQLite, or the PostgreSQL at `url` (emptied)."""
    from core.records.imports.roster import import_roster

    async def run() -> dict[str, object]:
        db = await (_fresh_postgres(url) if url else _fresh_database("bench.sqlite3"))
        started, cpu = time.perf_counter(), cpu_seconds()
        report = await import_roster(db, OUT / "roster.csv")
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        await db.dispose()
        return {"rows": report.read, "created": report.created, "rejected": report.rejected,
                "seconds": seconds, "rows_per_s": report.read / seconds, "cpu_s": cpu}

    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


def _sample_residents(count: int, seed: int):
    """Residents of the imported roster, read back from its CSV, for visits and immunizations.

    Lines are picked first and read in one pass, so a million-row file is never held
    in memory; the sample uses its own random stream (seed + 1) so that it is not the
    same people `phase_book` later draws as "any resident".
    """
    from core.i18n import today_hanoi
    from core.records.imports.csvfile import iter_rows, open_csv
    from core.records.imports.roster import REQUIRED, parse_row
    from core.reference.wards import hanoi_wards
    from core.seed.people import Resident

    source = open_csv(OUT / "roster.csv", REQUIRED)
    with (OUT / "roster.csv").open(encoding="utf-8") as handle:
        total = sum(1 for _ in handle) - 1
    wanted = set(random.Random(seed + 1).sample(range(total), min(count, total)))
    wards = hanoi_wards()
    residents = []
    for index, row in enumerate(iter_rows(source)):
        if index not in wanted:
            continue
        entry = parse_row(row.values, row.line)
        if entry.ward_code is None or entry.birth_date.earliest() > today_hanoi():
            continue
        residents.append(Resident(entry, wards[entry.ward_code], 0, entry.birth_date.earliest()))
    random.Random(seed + 2).shuffle(residents)
    return residents


def phase_visits(visits: int, seed: int) -> dict[str, object]:
    from core.i18n import today_hanoi
    from core.records.imports.immunizations import import_immunizations, write_immunizations_csv
    from core.records.imports.qd130 import import_qd130_files
    from core.records.imports.qd130_format import write_qd130_file
    from core.seed.clinical import VisitFactory, doses_for
    from core.seed.people import build_town

    rng = random.Random(seed)
    town = build_town(random.Random(seed))
    today = today_hanoi()
    factory = VisitFactory(rng, town, today)
    submissions, doses, with_visits = [], [], []
    for resident in _sample_residents(visits, seed):
        if len(submissions) >= visits:
            break
        chronic, made = factory.visits_for(resident)
        if not made:
            made = [factory.visit(resident, "J06.9", today, chronic)]
        submissions.extend(made)
        doses.extend(doses_for(rng, resident, town, today))
        with_visits.append(resident.entry.personal_id)
    submissions = submissions[:visits]
    xml_dir = OUT / "xml"
    xml_dir.mkdir(exist_ok=True)
    for old in xml_dir.glob("*.xml"):
        old.unlink()
    files = []
    for start in range(0, len(submissions), 50):  # 50 visits a file, as a clinic's daily batch
        batch = submissions[start:start + 50]
        path = xml_dir / f"batch_{start // 50:05d}.xml"
        write_qd130_file(path, batch[0].facility_code, batch, batch[0].admitted_at)
        files.append(path)
    write_immunizations_csv(OUT / "immunizations.csv", doses)

    async def run() -> dict[str, object]:
        from core.db import Database

        db = Database(f"sqlite+aiosqlite:///{OUT / 'bench.sqlite3'}")
        started = time.perf_counter()
        report = await import_qd130_files(db, files)
        seconds = time.perf_counter() - started
        doses_report = await import_immunizations(db, OUT / "immunizations.csv")
        await db.dispose()
        return {"visits": report.read, "created": report.created,
                "quarantined": report.quarantined, "rejected": report.rejected,
                "prescriptions": sum(len(s.prescriptions) for s in submissions),
                "test_results": sum(len(s.tests) for s in submissions),
                "seconds": seconds, "visits_per_s": report.read / seconds,
                "immunizations": doses_report.created}

    result = asyncio.run(run())
    (OUT / "with_visits.json").write_text(json.dumps(with_visits))
    result["peak_mib"] = peak_mib()
    return result


BOOK_WARM = 50  # books read before timing, of residents never timed


def phase_book(samples: int, seed: int) -> dict[str, object]:
    from sqlalchemy import func, select

    from core.consent.access import read_own_book
    from core.db import Database
    from core.records.citizen import Citizen

    async def run() -> dict[str, object]:
        db = Database(f"sqlite+aiosqlite:///{OUT / 'bench.sqlite3'}")
        async with db.sessions() as session:
            top = await session.scalar(select(func.max(Citizen.id)))
            pids = json.loads((OUT / "with_visits.json").read_text())
            clinical = list((await session.execute(
                select(Citizen.id).where(Citizen.personal_id.in_(pids)))).scalars())
        rng = random.Random(seed)
        result: dict[str, object] = {"residents": top}
        # Each sample draws distinct residents; its warm-up reads BOOK_WARM others, and no
        # resident is read twice, so no timed book is one whose pages were just read.
        anyone = rng.sample(range(1, top + 1), min(samples + BOOK_WARM, top))
        read = set(anyone)
        unread = [c for c in clinical if c not in read]
        treated = rng.sample(unread, min(samples + BOOK_WARM, len(unread)))
        for name, drawn in (("any_resident", anyone), ("with_visits", treated)):
            warm, ids = drawn[:BOOK_WARM], drawn[BOOK_WARM:]
            if not ids:
                raise SystemExit(f"{name}: no resident left to time after the warm-up; "
                                 "a bigger --people or --visits")
            for citizen_id in warm:  # the caches, the connection pool, the first statements
                await read_own_book(db, citizen_id)
            times = []
            for citizen_id in ids:
                started = time.perf_counter()
                book = await read_own_book(db, citizen_id)
                times.append((time.perf_counter() - started) * 1000)
                assert book is not None
            times.sort()
            result[name] = {"samples": len(times), "p50_ms": statistics.median(times),
                            "p99_ms": times[int(len(times) * 0.99) - 1], "max_ms": times[-1]}
        await db.dispose()
        return result

    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


PHASES = {"generate": phase_generate, "baseline": phase_baseline, "import": phase_import,
          "pg_baseline": phase_pg_baseline,
          "visits": phase_visits, "book": phase_book}


def run_phase(name: str, *args: object, script: str = __file__) -> dict[str, object]:
    """One phase of a bench script in a child process of its own, so its peak memory is its own."""
    command = [sys.executable, script, "--phase", name, *map(str, args)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if finished.returncode != 0:
        sys.stderr.write(finished.stdout + finished.stderr)
        raise SystemExit(f"phase {name} failed")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL",
                        help="also the roster import on this PostgreSQL database (emptied!) "
                             "against plain COPY, e.g. postgresql+asyncpg://postgres@127.0.0.1/bench")
    parser.add_argument("--roster-only", action="store_true", help="stop after the roster import")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from core.identity.keys import allow_local_key

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    if args.phase:
        values = [int(v) if v.isdigit() else v for v in args.rest]
        print(json.dumps(PHASES[args.phase](*values)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"{info['system']}, Python {info['python']}, SQLite {info['sqlite']}")
    print(f"Load average at the start: {load_average()}")
    results: dict[str, object] = {"machine": info, "load_at_start": load_average()}
    step = run_phase("generate", args.people, args.seed)
    print(f"generated {step['rows']:,} roster rows in {step['seconds']:.1f} s")
    results["baseline"] = base = run_phase("baseline")
    results["import"] = ours = run_phase("import")
    ratio = ours["rows_per_s"] / base["rows_per_s"]
    results["ratio"] = ratio
    print("\nRoster import, same rows, same run:")
    print(f"  plain sqlite3 executemany : {base['rows_per_s']:>10,.0f} rows/s "
          f"({base['seconds']:.1f} s, CPU {base['cpu_s']:.1f} s, peak {base['peak_mib']:.0f} MiB)")
    print(f"  import-roster             : {ours['rows_per_s']:>10,.0f} rows/s "
          f"({ours['seconds']:.1f} s, CPU {ours['cpu_s']:.1f} s, peak {ours['peak_mib']:.0f} MiB, "
          f"{ours['rejected']} rejected)")
    print(f"  ratio at {ours['rows']:,} rows  : {ratio:.2f} (aim >= 0.3)")
    if args.postgres:
        results["pg_baseline"] = pg_base = run_phase("pg_baseline", args.postgres)
        results["pg_import"] = pg_ours = run_phase("import", args.postgres)
        results["pg_ratio"] = pg_ratio = pg_ours["rows_per_s"] / pg_base["rows_per_s"]
        print("\nRoster import on PostgreSQL, same rows, same run:")
        print(f"  plain COPY (asyncpg)      : {pg_base['rows_per_s']:>10,.0f} rows/s "
              f"({pg_base['seconds']:.1f} s)")
        print(f"  import-roster             : {pg_ours['rows_per_s']:>10,.0f} rows/s "
              f"({pg_ours['seconds']:.1f} s, our process's CPU {pg_ours['cpu_s']:.1f} s, "
              f"peak {pg_ours['peak_mib']:.0f} MiB, "
              f"{pg_ours['rejected']} rejected)")
        print(f"  ratio at {pg_ours['rows']:,} rows  : {pg_ratio:.2f} (aim >= 0.3)")
    results["load_after_roster"] = load_average()
    print(f"\nLoad average after the roster import: {results['load_after_roster']}")
    if args.roster_only:
        (OUT / "core_bench.json").write_text(json.dumps(results, indent=2))
        return
    results["visits"] = visits = run_phase("visits", args.visits, args.seed)
    print(f"\nQĐ 130 XML import: {visits['visits_per_s']:,.0f} visits/s ({visits['visits']:,} visits, "
          f"{visits['prescriptions']:,} drug lines, {visits['test_results']:,} test results, "
          f"{visits['seconds']:.1f} s, peak {visits['peak_mib']:.0f} MiB)")
    results["book"] = book = run_phase("book", args.samples, args.seed)
    print(f"\nHealthBook build at {book['residents']:,} residents (aim p99 <= 5 ms; "
          f"each book a different resident, none read in the warm-up):")
    for name in ("any_resident", "with_visits"):
        figures = book[name]
        print(f"  {name:<13}: p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
              f"max {figures['max_ms']:.2f} ms ({figures['samples']} books)")
    print(f"  peak memory {book['peak_mib']:.0f} MiB")
    (OUT / "core_bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
