"""QĐ 130 import memory: peak RSS of importing a ~25 MB and a ~250 MB checkout file.

    .venv/bin/python bench/qd130_memory_bench.py [--sizes 25,250] [--residents 20000]

The files are written with the project's own writer (`qd130_writer.hoso_element`) from
the seed's synthetic visits, for residents on a roster imported into a temporary
SQLite database, so the visits are matched and written as in service. Each figure is
a child process of its own and reports its own peak RSS (`ru_maxrss`):

- baseline: a child that imports the modules and opens the database, nothing more;
- survey: the first streamed pass alone (checks, counts, SHA-256);
- reader alone: both passes with every HOSO decoded, and no database;
- import: `import_qd130_file` on a fresh copy of the roster database (both passes),
  with its resident memory at the end split into anonymous and file-backed (SQLite
  maps the database file into memory, and those pages count in RSS);
- one tree: the same file read into memory and parsed as one ElementTree, as the
  reader did before it streamed (the same modules loaded, no database).

Figures are printed with the machine and its load. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core_bench  # noqa: E402 - the same machine line and phases as the other benches
from core_bench import machine, peak_mib  # noqa: E402


def _database_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# --- phases (each in its own process) --------------------------------------------

def phase_roster(work: str, residents: int, seed: int) -> dict[str, object]:
    """A roster of `residents` in a fresh database, and the residents for the visits."""
    from core.db import Database
    from core.i18n import today_hanoi
    from core.migrate import upgrade
    from core.records.imports.roster import import_roster, write_roster_csv
    from core.seed.people import PeopleFactory, build_town

    rng = random.Random(seed)
    factory = PeopleFactory(rng, build_town(rng), today_hanoi())
    people = []
    while len(people) < residents:
        people.extend(factory.household_members()[: residents - len(people)])
    csv = Path(work) / "roster.csv"
    write_roster_csv(csv, (p.entry for p in people))

    async def run() -> int:
        db = Database(_database_url(Path(work) / "roster.sqlite3"))
        await upgrade(db)
        report = await import_roster(db, csv)
        await db.dispose()
        return report.created

    return {"residents": asyncio.run(run())}


def phase_write(work: str, megabytes: int, residents: int, seed: int) -> dict[str, object]:
    """A checkout file of about `megabytes` MB: one HOSO per synthetic visit, streamed out."""
    from xml.etree.ElementTree import tostring

    from core.i18n import today_hanoi
    from core.records.imports.qd130_writer import hoso_element
    from core.seed.clinical import VisitFactory
    from core.seed.people import PeopleFactory, build_town

    rng = random.Random(seed)
    town = build_town(rng)
    factory = PeopleFactory(rng, town, today_hanoi())
    people = []
    while len(people) < residents:  # the same residents as the roster: same seed, same order
        people.extend(factory.household_members()[: residents - len(people)])
    visits = VisitFactory(random.Random(seed + megabytes), town, today_hanoi())
    path = Path(work) / f"checkout_{megabytes}mb.xml"
    body = Path(work) / "body.part"
    target, written, count = megabytes * 1_000_000, 0, 0
    with body.open("wb") as out:
        while written < target:
            for resident in people:
                _, made = visits.visits_for(resident)
                for submission in made:
                    data = tostring(hoso_element(submission), encoding="unicode").encode("utf-8")
                    out.write(data)
                    written += len(data)
                    count += 1
                if written >= target:
                    break
    # The envelope as `encode_qd130` writes it, with the HOSOs copied in.
    head = ("<?xml version='1.0' encoding='utf-8'?>\n<GIAMDINHHS><THONGTINDONVI><MACSKCB>01001"
            f"</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>{today_hanoi():%Y%m%d}</NGAYLAP>"
            f"<SOLUONGHOSO>{count}</SOLUONGHOSO><DANHSACHHOSO>").encode()
    with path.open("wb") as out, body.open("rb") as hosos:
        out.write(head)
        shutil.copyfileobj(hosos, out, 1 << 20)
        out.write(b"</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI /></GIAMDINHHS>")
    body.unlink()
    return {"path": str(path), "bytes": path.stat().st_size, "hosos": count}


def phase_baseline(work: str) -> dict[str, object]:
    """The modules imported and the database opened: what every import child starts from."""
    from sqlalchemy import func, select

    import core.records.imports.qd130  # noqa: F401 - what the import child loads
    from core.db import Database
    from core.records.citizen import Citizen

    async def run() -> int:
        db = Database(_database_url(Path(work) / "roster.sqlite3"))
        async with db.sessions() as session:
            residents = await session.scalar(select(func.count()).select_from(Citizen))
        await db.dispose()
        return residents or 0

    return {"residents": asyncio.run(run()), "peak_mib": peak_mib()}


# The synthetic HOSOs are small (about 2 KB: XML1, XML2, sometimes XML4), so 250 MB holds
# more than the default 100,000 of them; the operator's flag raises the limit the same way.
LIMITS = {"max_records": 10_000_000}


def phase_survey(path: str) -> dict[str, object]:
    from core.records.imports.qd130_format import Qd130Limits, read_qd130_file

    started = time.perf_counter()
    envelope = read_qd130_file(Path(path), Qd130Limits(**LIMITS))
    return {"hosos": envelope.record_count, "seconds": time.perf_counter() - started,
            "peak_mib": peak_mib()}


def phase_decode(path: str) -> dict[str, object]:
    """Both passes and every HOSO decoded (`read_hoso`), no database: the reader alone."""
    from core.records.imports.qd130_format import Qd130Limits, read_qd130_file

    started = time.perf_counter()
    envelope = read_qd130_file(Path(path), Qd130Limits(**LIMITS))
    visits = sum(1 for r in envelope.records() if r.submission is not None)
    return {"visits": visits, "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


def _resident_mib() -> dict[str, float]:
    """This process's resident memory now, by kind: anonymous (the heap, SQLite's page cache)
    and file-backed (SQLite's memory map of the database, the program's own files)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {key: int(status[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile")
            if key in status}


def phase_import(work: str, path: str) -> dict[str, object]:
    from core.db import Database
    from core.records.imports.qd130 import import_qd130_file
    from core.records.imports.qd130_format import Qd130Limits

    database = Path(work) / "import.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(Path(work) / "roster.sqlite3") as source, \
            sqlite3.connect(database) as copy:
        source.backup(copy)  # each import starts from the roster alone

    async def run() -> dict[str, object]:
        db = Database(_database_url(database))
        started = time.perf_counter()
        report = await import_qd130_file(db, Path(path), Qd130Limits(**LIMITS))
        seconds = time.perf_counter() - started
        resident = _resident_mib()  # before the database's memory map is let go
        await db.dispose()
        return {"read": report.read, "created": report.created, "rejected": report.rejected,
                "quarantined": report.quarantined, "seconds": seconds,
                "visits_per_s": report.read / seconds, "resident_at_end": resident,
                "database_mb": database.stat().st_size / 1e6}

    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


def phase_tree(path: str) -> dict[str, object]:
    """The file as one tree: its bytes read whole and parsed by ElementTree's C parser, in a
    child with the same modules loaded as the import's."""
    from xml.etree.ElementTree import XML

    import core.records.imports.qd130  # noqa: F401 - the same start as the import child

    started = time.perf_counter()
    data = Path(path).read_bytes()
    root = XML(data)
    hosos = [e for e in root.iter("HOSO")]
    return {"hosos": len(hosos), "seconds": time.perf_counter() - started, "peak_mib": peak_mib()}


PHASES = {"roster": phase_roster, "write": phase_write, "baseline": phase_baseline,
          "survey": phase_survey, "decode": phase_decode, "import": phase_import,
          "tree": phase_tree}


def run_phase(name: str, *args: object) -> dict[str, object]:
    return core_bench.run_phase(name, *args, script=__file__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,250", help="file sizes in MB, comma-separated")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        values = [int(v) if v.isdigit() else v for v in args.rest]
        print(json.dumps(PHASES[args.phase](*values)))
        return

    info = machine()
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"{info['system']}, Python {info['python']}, SQLite {info['sqlite']}")
    print(f"Load average at start: {load} ({info['cores']} cores)")
    work = tempfile.mkdtemp(prefix="qd130_bench_")
    try:
        roster = run_phase("roster", work, args.residents, args.seed)
        base = run_phase("baseline", work)
        print(f"Roster: {roster['residents']:,} residents in a temporary SQLite database")
        print(f"Baseline (modules imported, database opened): peak {base['peak_mib']:.0f} MiB\n")
        for megabytes in (int(s) for s in args.sizes.split(",")):
            file = run_phase("write", work, megabytes, args.residents, args.seed)
            survey = run_phase("survey", file["path"])
            decode = run_phase("decode", file["path"])
            done = run_phase("import", work, file["path"])
            tree = run_phase("tree", file["path"])
            resident = done["resident_at_end"]
            print(f"File of {file['bytes'] / 1e6:,.0f} MB, {file['hosos']:,} HOSOs:")
            print(f"  import             : peak {done['peak_mib']:>5.0f} MiB, "
                  f"{done['visits_per_s']:,.0f} visits/s ({done['seconds']:.1f} s; read "
                  f"{done['read']:,}, created {done['created']:,}, quarantined "
                  f"{done['quarantined']}, rejected {done['rejected']})")
            print(f"    at its end       : {resident.get('RssAnon', 0):.0f} MiB anonymous, "
                  f"{resident.get('RssFile', 0):.0f} MiB file-backed; database "
                  f"{done['database_mb']:,.0f} MB (SQLite: 64 MiB page cache, 256 MiB map)")
            print(f"  reader alone       : peak {decode['peak_mib']:>5.0f} MiB, "
                  f"{decode['seconds']:.1f} s (both passes, every HOSO decoded, no database)")
            print(f"  survey alone       : peak {survey['peak_mib']:>5.0f} MiB, "
                  f"{survey['seconds']:.1f} s (the first pass)")
            print(f"  one tree (before)  : peak {tree['peak_mib']:>5.0f} MiB, "
                  f"{tree['seconds']:.1f} s (bytes read whole, parsed as one tree)\n")
            Path(file["path"]).unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nLoad average at end: {', '.join(f'{n:.2f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
