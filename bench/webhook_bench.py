"""Webhook mode end to end on PostgreSQL: `python -m bot serve --workers N` behind the Bot API
emulator, for N = 1, 2 and 4, with 200 phones.

    .venv/bin/python bench/webhook_bench.py [--workers 1,2,4] [--baseline polling] [--people 30000]
        [--phones 200] [--seconds 25] [--rate 200] [--runs flat,paced] [--answer-timeout 60]
        [--server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

A database of its own on the local server: migrated, a city of `--people` residents built
set-based with tests/test_hot_paths.py's statements (as bench/pg_city_bench.py builds its
own), kept as a template. Every run starts from a fresh copy of it (no accounts, no stored
updates, no send paces) and drops it after; the template is dropped at the end.

Each run, three kinds of process, as in production: the emulator (bench/bot_bench.py's, in its
own process, as Telegram's servers are), the workers as an operator starts them
(`python -m bot serve --workers N` with TELEGRAM_WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET and
TELEGRAM_API_BASE_URL pointed at the emulator), and `--phones` TelegramUser phones in a
process of their own, each doing bot_bench's session (verify: /start, personal ID, birth date,
the shared contact; then the book: each section and back, the visits, one visit, back; a
double tap, the book then at once the menu: 18 inputs), session after session, a resident of
its own each time. Two runs per N:
  * flat out: each phone sends its next input as soon as it has the answer (throughput);
  * paced at `--rate` inputs a second from all phones together (latency from the phone's POST
    to the answer reaching the phone).
The bot's own send limit is lifted in both (TELEGRAM_MAX_MESSAGES_PER_SECOND=0): with
Telegram's 30 messages a second, which the bot keeps by default, no run could pass 30 answers
a second and the figure would be the limit's, not the workers'.

The phones count what they receive: replies beyond each input's answer (duplicates), inputs
with no answer within `--answer-timeout` seconds (lost), double taps answered in the wrong
order. Beside each run: the CPU seconds of the workers and of the PostgreSQL backends serving
them, per input; the connections the workers opened during the load (pg_stat_database's
`sessions`: a pool that closes and reopens connections shows here). Prints the machine, the
PostgreSQL version and the load average before and after each run; writes
bench/out/webhook_bench.json. A benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bot_bench
import core_bench  # puts the project root on sys.path too

ROOT, OUT = core_bench.ROOT, core_bench.OUT
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
AIM_P99_MS, AIM_RATE = 100.0, 200.0  # issue 15: p99 <= 100 ms at 200 updates/s
CITIZENS = OUT / "webhook_bench_citizens.json"
TICK = os.sysconf("SC_CLK_TCK")

# The hot paths' city is a city at rest; before phones arrive, what would send them more than
# their answers goes: its accounts (a link would move them and notify a chat nobody watches)
# and the news waiting for a resident's next link (it would arrive mid-session).
_PLAYABLE = ["DELETE FROM channel_accounts",
             "DELETE FROM citizen_notices WHERE sent_at IS NULL"]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _url(server: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=database).render_as_string(hide_password=False)


# --- the city, once -------------------------------------------------------------------------

async def build_template(url: str, people: int, seed: int) -> dict[str, Any]:
    """Migrations, the city, what phones need: the residents they can verify as, shuffled."""
    from sqlalchemy import exists, select, text

    from core.db import Database
    from core.migrate import upgrade
    from core.records.citizen import Citizen
    from core.records.visit import Visit
    from core.values import CitizenStatus
    from tests.conftest import _admin
    from tests.test_hot_paths import _build_city

    started = time.perf_counter()
    db = Database(url)
    try:
        await upgrade(db)
        await _build_city(url, people)
        async with db.engine.begin() as connection:
            for statement in _PLAYABLE:
                await connection.execute(text(statement))
        adult = time.localtime().tm_year - 18
        async with db.sessions() as session:
            rows = await session.execute(
                select(Citizen.personal_id, Citizen.birth_date, Citizen.phone)
                .where(Citizen.status == CitizenStatus.ACTIVE, Citizen.phone.is_not(None),
                       Citizen.guardian_id.is_(None),
                       exists().where(Visit.citizen_id == Citizen.id))
                .order_by(Citizen.id))
            # As Telegram shares a contact: the digits with the country code, no plus sign.
            chosen = [{"pid": pid, "dob": born.display(), "phone": phone.lstrip("+")}
                      for pid, born, phone in rows if born.is_full and born.year <= adult]
    finally:
        await db.dispose()
    await _admin("VACUUM ANALYZE", url)
    random.Random(seed).shuffle(chosen)
    CITIZENS.write_text(json.dumps(chosen))
    return {"seconds": time.perf_counter() - started, "playable": len(chosen)}


async def server_facts(server: str) -> dict[str, Any]:
    from sqlalchemy import text

    from core.db import Database

    db = Database(server)
    try:
        async with db.engine.connect() as connection:
            return {"postgresql": await connection.scalar(text("SHOW server_version")),
                    "shared_buffers": await connection.scalar(text("SHOW shared_buffers")),
                    "max_connections": await connection.scalar(text("SHOW max_connections"))}
    finally:
        await db.dispose()


async def database_facts(server: str, name: str) -> dict[str, Any]:
    """Connections ever opened to the database, and its live backends' CPU (from the server's
    side: asked on the server's own database, so the question opens none on `name`)."""
    from sqlalchemy import text

    from core.db import Database

    db = Database(server)
    try:
        async with db.engine.connect() as connection:
            opened, transactions = (await connection.execute(
                text("SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database "
                     "WHERE datname = :name"), {"name": name})).one()
            backends = (await connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": name})).scalars()
            return {"sessions": opened, "transactions": transactions,
                    "backends": {pid: cpu_of(pid) for pid in backends}}
    finally:
        await db.dispose()


# --- processes --------------------------------------------------------------------------------

def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def talks_to_postgres(pid: int, port: int = 5432) -> bool:
    """Whether the process holds a TCP connection to the server's port: a worker up and working
    (its inbox claims every second)."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                  if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
    except OSError:
        return False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[2].rsplit(":", 1)[1], 16) == port and parts[9] in inodes:
                return True
    return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Workers:
    """`python -m bot serve --workers N` as an operator starts it, Telegram being the emulator;
    `count=0`: `python -m bot`, one process polling it (the baseline: no webhook, no inbox)."""

    def __init__(self, count: int, database_url: str, emulator_url: str, log: Path) -> None:
        self.count, self.port, self.log = count, free_port(), log
        env = {**os.environ, "DATABASE_URL": database_url,
               "TELEGRAM_BOT_TOKEN": bot_bench.TOKEN,
               "TELEGRAM_API_BASE_URL": f"{emulator_url}/bot",
               # Lifted: Telegram's 30 a second would be the only figure otherwise (see above).
               "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
               "EHR_SECRET_KEY": secrets.token_hex(32), "LOG_LEVEL": "WARNING"}
        command = [sys.executable, "-m", "bot"]
        if count:
            env.update({"TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{self.port}",
                        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24)})
            command += ["serve", "--workers", str(count), "--host", "127.0.0.1", "--port", str(self.port)]
        with log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)

    def wait_ready(self, emulator_url: str, timeout: float = 60.0) -> None:
        """Every worker started and at work on the database; the webhook set at the emulator."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the bot exited; see {self.log}:\n{self.log.read_text()[-3000:]}")
            pids = self.pids()
            if (len(pids) == max(self.count, 1) and all(talks_to_postgres(pid) for pid in pids)
                    and (not self.count or webhook_set(emulator_url))):
                return
            time.sleep(0.2)
        raise SystemExit(f"the bot did not start in {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        # One process serves alone; several workers are its children (bot/workers.py).
        return [self.process.pid] if self.count <= 1 else children_of(self.process.pid)

    def cpu(self) -> float:
        return sum(cpu_of(pid) for pid in self.pids())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def webhook_set(emulator_url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"{emulator_url}/bot{bot_bench.TOKEN}/getWebhookInfo") as answer:
        return bool(json.load(answer)["result"].get("url"))


# --- one run ----------------------------------------------------------------------------------

def one_run(args: argparse.Namespace, template: str, workers: int, rate: float,
            label: str) -> dict[str, Any]:
    from tests.conftest import _admin

    name = f"{template}_{label}"[:63]
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', args.server))
    url = _url(args.server, name)
    result: dict[str, Any] = {"workers": workers, "rate": rate, "load_before": load_average()}
    emulator = bot_bench.Service("e2e-server", {"layout": "split"},
                                 log=OUT / "webhook_bench_emulator.log")
    bots = None
    try:
        bots = Workers(workers, url, emulator.ready["url"], OUT / f"webhook_bench_bot_{label}.log")
        bots.wait_ready(emulator.ready["url"])
        time.sleep(1.0)  # the statistics PostgreSQL reports lag by up to a second
        before = asyncio.run(database_facts(args.server, name))
        workers_cpu = bots.cpu()
        load = bot_bench.run_phase("e2e-load", {
            "citizens_file": str(CITIZENS), "url": emulator.ready["url"], "phones": args.phones,
            "seconds": args.seconds, "warmup": args.warmup, "answer_timeout": args.answer_timeout,
            "rate": rate, "id_offset": 0, "seed": args.seed, "settle": 2.0})
        workers_cpu = bots.cpu() - workers_cpu
        time.sleep(1.0)
        after = asyncio.run(database_facts(args.server, name))
        postgres_cpu = sum(cpu - before["backends"].get(pid, 0.0)
                           for pid, cpu in after["backends"].items())
        inputs = max(load["inputs_total"], 1)
        result.update(load)
        result.update({
            "cpu_workers_s": workers_cpu, "cpu_postgres_s": postgres_cpu,
            "cpu_phones_s": load["cpu_seconds"],
            "cpu_ms_per_input": {"workers": 1000 * workers_cpu / inputs,
                                 "postgres": 1000 * postgres_cpu / inputs},
            "connections_opened": after["sessions"] - before["sessions"],
            # Beyond the pools' growth to what the load needs: connections closed and opened again.
            "connections_reopened": (after["sessions"] - before["sessions"])
            - max(0, len(after["backends"]) - len(before["backends"])),
            "transactions_per_input": (after["transactions"] - before["transactions"]) / inputs,
            "backends_at_end": len(after["backends"]),
        })
    finally:
        code = bots.stop() if bots is not None else 0
        result["emulator"] = emulator.stop()
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', args.server))
    if code != 0:
        raise SystemExit(f"the workers exited with {code}; see {bots.log}")
    result["load_after"] = load_average()
    return result


def _ms(figures: dict[str, Any], key: str) -> str:
    return f"{figures[key]:,.0f}" if figures.get("count") else "-"


def report_run(title: str, run: dict[str, Any]) -> None:
    cpu = run["cpu_ms_per_input"]
    print(f" {title}: load {run['load_before'][0]:.2f} -> {run['load_after'][0]:.2f}")
    print(bot_bench._line("all inputs", run["all"], run["updates_per_s"]))
    print(f"  {run['inputs_total']:,} inputs answered; per input: CPU of the workers {cpu['workers']:.1f} ms "
          f"and of PostgreSQL {cpu['postgres']:.1f} ms, {run['transactions_per_input']:.1f} transactions "
          f"(emulator {run['emulator']['cpu_seconds']:.0f} s of CPU, phones {run['cpu_phones_s']:.0f} s); "
          f"{run['connections_opened']} connections opened during the load, "
          f"{run['connections_reopened']} of them beyond the pools' growth, {run['backends_at_end']} "
          f"open at its end")
    print(f"  {bot_bench.delivery(run)}")
    for example in run["error_examples"]:
        print(f"    e.g. {example[:300]}")


def _mode(workers: int) -> str:
    return "polling, 1 process" if not workers else f"webhook, {workers} worker{'s' if workers > 1 else ''}"


def summary(runs: dict[str, dict[str, Any]], modes: list[int], rates: list[float]) -> None:
    paced = "  ".join(f"paced {rate:g}/s: p50, p99 ms" for rate in rates)
    print(f"\nSummary (send limit lifted)  flat out: inputs/s  {paced}   duplicate  lost  out of order")
    for workers in modes:
        mine = [run for key, run in runs.items() if run["workers"] == workers]
        flat = next((run for run in mine if not run["rate"]), None)
        cells = []
        for rate in rates:
            run = next((r for r in mine if r["rate"] == rate), None)
            cells.append(f"{run['updates_per_s']:>5,.0f}/s {_ms(run['all'], 'p50_ms'):>6} "
                         f"{_ms(run['all'], 'p99_ms'):>6}" if run else f"{'-':>23}")
        print(f"  {_mode(workers):<27}{flat['updates_per_s'] if flat else 0:>18,.0f}  "
              + "  ".join(f"{cell:<27}" for cell in cells)
              + f"{sum(r['duplicates'] for r in mine):>10}{sum(r['lost'] for r in mine):>6}"
              f"{sum(r['out_of_order'] for r in mine):>6} of {sum(r['pairs'] for r in mine):,}")
    print(f"  aim (issue 15): throughput grows with workers; p99 <= {AIM_P99_MS:g} ms at "
          f"{AIM_RATE:g}/s; 0 duplicate or lost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--baseline", choices=("polling", "none"), default="polling",
                        help="also run the bot as one polling process (no webhook, no inbox)")
    parser.add_argument("--people", type=int, default=30_000, help="residents in the city")
    parser.add_argument("--phones", type=int, default=200, help="phones at once")
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each run")
    parser.add_argument("--warmup", type=float, default=5.0, help="first seconds not counted")
    parser.add_argument("--rate", default=f"{AIM_RATE:g}",
                        help="inputs/s of the paced runs, comma-separated (one run each)")
    parser.add_argument("--answer-timeout", type=float, default=60.0,
                        help="seconds after which an input's answer counts as lost")
    parser.add_argument("--runs", default="flat,paced", help="flat, paced, or both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server", default=DEFAULT_SERVER,
                        help="a database on the server to connect to while creating ours")
    args = parser.parse_args()
    if args.people < 7000:
        raise SystemExit("--people: at least 7,000 (the hot paths' city needs them)")
    from core.identity.keys import allow_local_key
    from tests.conftest import _admin

    allow_local_key()  # synthetic data: the build may use the checkout's own key
    bot_bench._quiet()
    began = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    info = {**core_bench.machine(), **asyncio.run(server_facts(args.server)),
            "load_before": load_average()}
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, {info['system']}, "
          f"Python {info['python']}, PostgreSQL {info['postgresql']} (shared_buffers "
          f"{info['shared_buffers']}, max_connections {info['max_connections']})")
    # Other work on the machine shows in every figure: say how busy it was.
    print(f"Load average (1, 5, 15 min) before: {info['load_before']}", flush=True)
    template = f"ehr_webhook_{uuid.uuid4().hex[:10]}"
    results: dict[str, Any] = {"machine": info, "options": vars(args), "runs": {}}
    modes = ([0] if args.baseline == "polling" else []) + [
        int(n) for n in args.workers.split(",") if n.strip()]
    rates = [float(rate) for rate in args.rate.split(",") if rate.strip()]
    wanted = args.runs.split(",")
    plans = [(workers, rate) for workers in modes
             for rate in ([0.0] if "flat" in wanted else []) + (rates if "paced" in wanted else [])]
    asyncio.run(_admin(f'CREATE DATABASE "{template}"', args.server))
    try:
        built = asyncio.run(build_template(_url(args.server, template), args.people, args.seed))
        results["city"] = {"residents": args.people, **built}
        print(f"City of {args.people:,} residents built in {built['seconds']:.0f} s "
              f"(tests/test_hot_paths.py's statements); {built['playable']:,} residents with visits, "
              f"a phone and a full birth date for the phones to play, one a session", flush=True)
        print(f"\n{args.phones} TelegramUser phones through the Bot API emulator (its own process) to "
              f"`python -m bot serve --workers N` (TELEGRAM_MAX_MESSAGES_PER_SECOND=0: the bot's send "
              f"limit lifted), {args.seconds:.0f} s a run, the first {args.warmup:.0f} s not counted; "
              f"an answer later than {args.answer_timeout:.0f} s is lost:", flush=True)
        for workers, rate in plans:
            label = f"{'webhook' if workers else 'polling'}_{workers}_{f'paced_{rate:g}' if rate else 'flat'}"
            run = one_run(args, template, workers, rate, label)
            results["runs"][label] = run
            report_run(f"{_mode(workers)}, " + (f"paced at {rate:g}/s" if rate else "flat out"), run)
            if run["citizens_reused"]:
                print(f"  ({run['citizens_reused']} sessions reused a resident: raise --people)")
            sys.stdout.flush()
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)', args.server))
    summary(results["runs"], modes, rates)
    info["load_after"] = load_average()
    results["seconds"] = time.perf_counter() - began
    print(f"\nLoad average after: {info['load_after']}; whole run {results['seconds']:.0f} s; "
          f"figures in {(OUT / 'webhook_bench.json').relative_to(ROOT)}")
    (OUT / "webhook_bench.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
