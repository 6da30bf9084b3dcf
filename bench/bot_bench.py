"""Telegram bot benchmark: inputs per second and latency through the conversation flows
in-process, and end to end through the Bot API emulator, on a SQLite database of
1,000,000 residents.

    .venv/bin/python bench/bot_bench.py [--people 1000000] [--citizens 2000] [--concurrency 200]
                                        [--phones 200] [--seconds 40] [--rate 100,200] [--layout split]

Every simulated citizen does one session as a person would: /start, personal ID, birth
date, the shared contact (verification and linking), then the health book: each section
and back, the visits list, one visit, back to the list, the main menu (17 inputs); end to
end, the phone first asks for the language and at once types /start, both in flight
together (18 inputs), and the phones count what they receive beyond each input's answer
(duplicates), inputs never answered, and inputs typed together answered out of order.

In-process: `Conversation.handle` called directly, `--concurrency` sessions at once.
End to end: the Bot API emulator and the real python-telegram-bot `Application` polling it
over HTTP (`--layout split`: each in its own process, as Telegram's servers and the bot
are; `--layout shared`: one process, as `make run` does), and `--phones` `TelegramUser`
phones in a third process; latency is from the phone's POST to the moment the bot's
answer to it reaches the phone. The runs: the bot exactly as built (its rate limiter
allows 30 chat requests a second in all), then with that overall limit lifted, flat out
(each phone sends its next input as soon as it has the answer) and paced at each
`--rate` (inputs a second from all phones together, as people who read before tapping).

The database is bench/out/bench.sqlite3 (core_bench.py's) when it holds at least
`--people` residents, else one built for the size (bench/out/bot_bench_<people>/).
Figures are printed with the machine and written to bench/out/bot_bench.json.
This is a benchmark, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import core_bench  # puts the project root on sys.path too

ROOT = core_bench.ROOT
OUT = core_bench.OUT
TOKEN = "123456789:BENCH-emulated-token"
CHANNEL = "telegram"
FULL_SIZE = 1_000_000
SECTIONS = ("general", "insurance", "history", "immunizations")
PHONE_IDS = 600_000_000  # Telegram user ids of the simulated phones: this plus a counter
AIM_INPROCESS = 1_000.0
AIM_E2E_RATE, AIM_E2E_P99 = 200.0, 100.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def usage_since(before: resource.struct_rusage | None = None) -> dict[str, float]:
    """CPU (user, system) and context switches of this process, since `before`."""
    now = resource.getrusage(resource.RUSAGE_SELF)
    fields = {"user_s": "ru_utime", "system_s": "ru_stime", "switches": "ru_nvcsw",
              "preempted": "ru_nivcsw"}
    return {name: getattr(now, field) - (getattr(before, field) if before else 0)
            for name, field in fields.items()}


def figures(times_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies in milliseconds (nearest rank)."""
    if not times_ms:
        return {"count": 0}
    ordered = sorted(times_ms)

    def rank(q: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q + 0.999999) - 1))]

    return {"count": len(ordered), "mean_ms": statistics.fmean(ordered), "p50_ms": rank(0.50),
            "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": ordered[-1]}


def _quiet() -> None:
    from core.privacy import configure_logging

    configure_logging("WARNING")


def _database(directory: str):
    from core.db import Database

    return Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.sqlite3'}")


async def _reset_accounts(db) -> None:
    """Bench accounts start afresh: no links, no journey state, no counted failures."""
    from sqlalchemy import text

    async with db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM verification_attempts WHERE channel = :c"), {"c": CHANNEL})
        await connection.execute(text("DELETE FROM channel_accounts WHERE channel = :c"), {"c": CHANNEL})


def _citizens(directory: str) -> list[dict[str, str]]:
    return json.loads((Path(directory) / "bot_bench_citizens.json").read_text())


# --- building the database (core_bench's phases, in the size's own directory) -----------------

def _in(directory: str) -> None:
    core_bench.OUT = Path(directory)
    core_bench.OUT.mkdir(parents=True, exist_ok=True)


def phase_build_generate(p: dict[str, Any]) -> dict[str, object]:
    _in(p["dir"])
    return core_bench.phase_generate(p["people"], p["seed"])


def phase_build_import(p: dict[str, Any]) -> dict[str, object]:
    _in(p["dir"])
    return core_bench.phase_import()


def phase_build_visits(p: dict[str, Any]) -> dict[str, object]:
    _in(p["dir"])
    return core_bench.phase_visits(p["visits"], p["seed"])


# --- prepare: migrate, reset, choose the citizens who can verify ---------------------------

def phase_prepare(p: dict[str, Any]) -> dict[str, object]:
    from sqlalchemy import func, select

    from core.migrate import upgrade
    from core.records.citizen import Citizen
    from core.values import CitizenStatus

    async def run() -> dict[str, object]:
        db = _database(p["dir"])
        started = time.perf_counter()
        await upgrade(db)  # tables added since the database was built (channel accounts, attempts)
        migrated = time.perf_counter() - started
        await _reset_accounts(db)
        pids = json.loads((Path(p["dir"]) / "with_visits.json").read_text())
        chosen = []
        async with db.sessions() as session:
            residents = await session.scalar(select(func.count()).select_from(Citizen))
            for start in range(0, len(pids), 5000):
                rows = await session.execute(
                    select(Citizen.personal_id, Citizen.birth_date, Citizen.phone, Citizen.status)
                    .where(Citizen.personal_id.in_(pids[start:start + 5000])))
                for pid, born, phone, status in rows:
                    if phone and born is not None and born.is_full and status == CitizenStatus.ACTIVE:
                        # As Telegram shares it: the digits with the country code, no plus sign.
                        chosen.append({"pid": pid, "dob": born.display(), "phone": phone.lstrip("+")})
        await db.dispose()
        chosen.sort(key=lambda c: c["pid"])
        random.Random(p["seed"]).shuffle(chosen)
        (Path(p["dir"]) / "bot_bench_citizens.json").write_text(json.dumps(chosen))
        return {"residents": residents, "with_visits": len(pids), "usable": len(chosen),
                "migrate_seconds": migrated}

    _quiet()
    return asyncio.run(run())


# --- in-process: Conversation.handle, sessions at once -----------------------------------------

class Session:
    """One citizen's session through `Conversation.handle`, every call timed."""

    def __init__(self, conversation, external_id: str, citizen: dict[str, str], rounds: int,
                 record: Callable[[str, float], None]) -> None:
        self.conversation = conversation
        self.external_id = external_id
        self.citizen = citizen
        self.rounds = rounds
        self.record = record
        self.failures: list[str] = []

    async def _send(self, kind: str, given) -> Any:
        started = time.perf_counter()
        answer = await self.conversation.handle(self.external_id, given)
        self.record(kind, (time.perf_counter() - started) * 1000)
        return answer

    @staticmethod
    def _actions(answer) -> list[str]:
        return [o.action for reply in answer.replies for row in reply.options for o in row]

    async def _press(self, answer, action: str) -> Any:
        """Presses the answer's button for `action` (its data carries the button's own key)."""
        from bot.flows.replies import Input

        data = next((a for a in self._actions(answer) if _action(a) == action), None)
        if data is None:
            raise AssertionError(f"no button {action!r} among {self._actions(answer)}")
        return await self._send("read", Input.of_option(data))

    async def run(self) -> None:
        from bot.flows.replies import Input

        c = self.citizen
        await self._send("verify", Input.of_text("/start"))
        await self._send("verify", Input.of_text(c["pid"]))
        await self._send("verify", Input.of_text(c["dob"]))
        menu = await self._send("verify", Input.of_contact(c["phone"], own=True))
        if BOOK not in {_action(a) for a in self._actions(menu)}:
            self.failures.append("not linked")
            return
        for _ in range(self.rounds):
            shown = await self._press(menu, BOOK)
            for section in SECTIONS:
                shown = await self._press(shown, f"book.s:{section}")
                shown = await self._press(shown, BOOK)
            shown = await self._press(shown, "book.s:visits")
            visits = sorted(a for a in self._actions(shown) if a.startswith("book.v:"))
            if visits:
                detail = await self._send("read", Input.of_option(visits[0]))
                back = [a for a in self._actions(detail) if a.startswith("book.p:")]
                if back:
                    shown = await self._send("read", Input.of_option(back[0]))
            menu = await self._press(shown, MENU)


def phase_inprocess(p: dict[str, Any]) -> dict[str, object]:
    from bot.flows.engine import Conversation

    async def sessions(conversation, citizens: list[dict[str, str]], prefix: str, concurrency: int,
                       rounds: int) -> dict[str, object]:
        times: dict[str, list[float]] = {"verify": [], "read": []}
        failures: list[str] = []
        gate = asyncio.Semaphore(concurrency)

        def record(kind: str, ms: float) -> None:
            times[kind].append(ms)

        async def one(index: int, citizen: dict[str, str]) -> None:
            async with gate:
                session = Session(conversation, f"{prefix}-{index}", citizen, rounds, record)
                try:
                    await session.run()
                except Exception as error:  # a benchmark reports, it does not stop
                    failures.append(type(error).__name__)
                failures.extend(session.failures)

        started = time.perf_counter()
        await asyncio.gather(*(one(i, c) for i, c in enumerate(citizens)))
        wall = time.perf_counter() - started
        everything = times["verify"] + times["read"]
        return {"sessions": len(citizens), "inputs": len(everything), "seconds": wall,
                "inputs_per_s": len(everything) / wall, "failures": len(failures),
                "failure_kinds": sorted(set(failures)),
                "all": figures(everything), "verify": figures(times["verify"]),
                "read": figures(times["read"]),
                "verify_per_s": len(times["verify"]) / wall, "read_per_s": len(times["read"]) / wall}

    async def run() -> dict[str, object]:
        db = _database(p["dir"])
        await _reset_accounts(db)
        conversation = Conversation(db, CHANNEL)
        pool = _citizens(p["dir"])
        warm = p["warmup_sessions"]
        serial = p["serial_sessions"]
        needed = warm + serial + p["citizens"]
        if len(pool) < needed:
            raise SystemExit(f"only {len(pool)} usable citizens with visits; {needed} needed")
        result: dict[str, object] = {}
        # Warm-up (not counted): the caches, the connection pools, the worker threads.
        result["warmup"] = await sessions(conversation, pool[:warm], "bench-warm", p["concurrency"], 1)
        # One at a time: what one input costs when nothing waits in front of it.
        result["serial"] = await sessions(conversation, pool[warm:warm + serial], "bench-one", 1, 1)
        profiler = None
        if p.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        before = resource.getrusage(resource.RUSAGE_SELF)
        result["loaded"] = await sessions(conversation, pool[warm + serial:needed], "bench",
                                          p["concurrency"], p["rounds"])
        result["loaded"]["usage"] = usage_since(before)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(OUT / "bot_bench_inprocess.prof"))
        await db.dispose()
        return result

    _quiet()
    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


# --- end to end: the emulator, the real bot, the phones ---------------------------------------

async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _start_bot(p: dict[str, Any], base_url: str):
    from bot.config import BotSettings
    from bot.handlers.application import build_application
    from bot.run import start_polling
    from core.config import Settings

    db = _database(p["dir"])
    await _reset_accounts(db)
    # As built: Telegram's guideline of 30 messages a second; lifted: TELEGRAM_MAX_MESSAGES_PER_SECOND=0.
    settings = BotSettings(Settings.from_env({}), TOKEN, f"{base_url}/bot", None, None,
                           max_messages_per_second=30 if p["throttled"] else 0)
    application = build_application(settings, db)
    await start_polling(application)
    return db, application


async def _stop_bot(db, application) -> None:
    from bot.run import stop_polling

    await stop_polling(application)
    await db.dispose()


def _ready(**fields: object) -> None:
    print("READY " + json.dumps(fields), flush=True)


def phase_e2e_server(p: dict[str, Any]) -> dict[str, object]:
    """The emulator on 127.0.0.1 (a free port); with `shared`, the real bot polling it too."""
    from aiohttp import web

    from sandbox.emulator import BotApiEmulator

    async def run() -> dict[str, object]:
        emulator = BotApiEmulator(TOKEN)
        app = web.Application()
        emulator.add_routes(app, page=False)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
        base_url = f"http://127.0.0.1:{port}"
        bot = await _start_bot(p, base_url) if p["layout"] == "shared" else None
        started = cpu_seconds()
        _ready(url=base_url)
        await _until_terminated()
        used = cpu_seconds() - started
        if bot is not None:
            await _stop_bot(*bot)
        await runner.cleanup()
        return {"cpu_seconds": used}

    _quiet()
    result = asyncio.run(run())
    result["peak_mib"] = peak_mib()
    return result


def phase_e2e_bot(p: dict[str, Any]) -> dict[str, object]:
    """The real bot alone, polling the emulator of another process (`split`)."""
    async def run() -> dict[str, object]:
        bot = await _start_bot(p, p["url"])
        started = cpu_seconds()
        _ready()
        await _until_terminated()
        used = cpu_seconds() - started
        await _stop_bot(*bot)
        return {"cpu_seconds": used}

    _quiet()
    profiler = None
    if p.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    result = asyncio.run(run())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(OUT / f"bot_bench_bot_{p['label']}.prof"))
    result["peak_mib"] = peak_mib()
    return result


# Buttons as the flows declare them (bot/flows/actions.py): `journey.kind:field~key`, the key
# each button's own; phones and in-process sessions compare the action, the part before it.
BOOK, MENU, LANG, STOP_VERIFYING = "go.:book", "go.:menu", "go.:lang", "verify.x"


def _action(data: str) -> str:
    return data.partition("~")[0]


def _phone_class():
    from sandbox.client import TelegramUser

    class Phone(TelegramUser):
        """A `TelegramUser` that notes when its last input left (the POST, not the poll before it)."""

        posted_at = 0.0

        async def _post(self, path: str, body: dict) -> dict:
            self.posted_at = time.perf_counter()
            return await super()._post(path, body)

    return Phone


def _data(message) -> set[str]:
    return {_action(data) for row in message.buttons for _, data in row}


def _has(action: str) -> Callable[[Any], bool]:
    return lambda m: action in _data(m)


def _has_prefix(prefix: str) -> Callable[[Any], bool]:
    return lambda m: any(d.startswith(prefix) for d in _data(m))


def _section(m) -> bool:
    return _data(m) == {BOOK, MENU}


def _asks_contact(m) -> bool:
    """The birth date's answer: the keyboard with the "share my phone number" button."""
    return any(button.get("request_contact") for row in m.reply_keyboard or () for button in row)


def _menu(m) -> bool:
    return {BOOK, LANG} <= _data(m)


def _book_menu(m) -> bool:
    return _has(f"book.s:{SECTIONS[0]}")(m)


def _visits(m) -> bool:
    return _has_prefix("book.v:")(m) or _section(m)  # the list, or "no visits yet"


class _Lost(Exception):
    """An input got no answer in time: the phone puts itself down (the input is counted lost)."""


def phase_e2e_load(p: dict[str, Any]) -> dict[str, object]:
    """`phones` TelegramUsers at once, session after session, each input timed to its answer.

    What the phones receive is counted against what each input is answered with (its `replies`,
    messages or edits): more is a duplicate, none in `answer_timeout` seconds a lost input; and
    the two answers of each quick double tap are checked to come back in the order of the taps.
    """
    import aiohttp

    phone_class = _phone_class()
    citizens = (json.loads(Path(p["citizens_file"]).read_text()) if p.get("citizens_file")
                else _citizens(p["dir"]))
    timeout = p["answer_timeout"]
    rng = random.Random(p["seed"])

    async def run() -> dict[str, object]:
        samples: list[tuple[float, float, str]] = []  # (posted, answered, kind)
        errors: list[str] = []
        users: list[Any] = []
        counts = {"lost": 0, "pairs": 0, "out_of_order": 0}
        next_citizen = iter(range(10**9))
        ids = iter(range(PHONE_IDS + p["id_offset"], PHONE_IDS + p["id_offset"] + 10**8))
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        session = aiohttp.ClientSession(connector=connector)
        loop = asyncio.get_running_loop()
        begin, begin_perf = loop.time(), time.perf_counter()
        stop_at = begin + p["seconds"]
        interval = p["phones"] / p["rate"] if p["rate"] else 0.0

        async def pace(slot_rng: random.Random, last: list[float]) -> bool:
            """Waits for this phone's next turn; False once the run is over."""
            if interval:
                wait = last[0] + slot_rng.uniform(0.5, 1.5) * interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            last[0] = loop.time()
            return last[0] < stop_at

        async def step(user, kind: str, act: Callable[[], Awaitable[Any]],
                       expect: Callable[[Any], bool], replies: int = 1):
            """One input: waits its turn, posts it, waits for its answer (the last of its
            `replies` messages or edits satisfies `expect`)."""
            user.where = getattr(act, "__name__", kind)
            if not await pace(user.rng, user.last):
                raise _RunOver
            await act()
            user.expected += replies
            try:
                found = await user.until(expect, timeout)
            except AssertionError as error:  # `until` gives up only when nothing came in time
                counts["lost"] += 1
                raise _Lost(str(error)) from None
            samples.append((user.posted_at, time.perf_counter(), kind))
            return found

        async def together(user, *inputs: tuple[str, Callable[[Any], bool], int]) -> None:
            """Texts typed in quick succession, each sent without waiting for an answer: all in
            flight together, their answers (`replies` messages each, the last satisfying its
            condition) must come back in the order they were typed."""
            user.where = "typed together"
            if not await pace(user.rng, user.last):
                raise _RunOver
            await user._start()
            start = len(user.transcript)
            posted = []
            for text, _, replies in inputs:
                await user.send(text)
                posted.append(user.posted_at)
                user.expected += replies
            arrived: dict[int, tuple[int, float]] = {}  # input -> (place among what came, when)

            def answered() -> bool:
                now = time.perf_counter()
                for place, message in enumerate(user.transcript[start:]):
                    for index, (_, matches, _) in enumerate(inputs):
                        if index not in arrived and matches(message):
                            arrived[index] = (place, now)
                return len(arrived) == len(inputs)

            try:
                await user._wait(answered, "the answers to texts typed together", timeout)
            except AssertionError as error:
                counts["lost"] += len(inputs) - len(arrived)
                raise _Lost(str(error)) from None
            user._unread.clear()  # all read
            samples.extend((posted[index], arrived[index][1], "verify") for index in range(len(inputs)))
            places = [arrived[index][0] for index in range(len(inputs))]
            counts["pairs"] += 1
            counts["out_of_order"] += places != sorted(places)

        async def one_session(user, citizen: dict[str, str]) -> None:
            def send(text: str) -> Callable[[], Awaitable[Any]]:
                async def typed() -> None:
                    await user.send(text)
                typed.__name__ = f"typed {text[:6]}"
                return typed

            async def contact() -> None:
                await user.share_contact(citizen["phone"])

            # The language, then at once /start (a greeting, then the question): the only inputs
            # a phone has in flight together, first in the session so every phone gets there.
            await together(user, ("/lang", _has_prefix("lang.c:"), 1), ("/start", _has(STOP_VERIFYING), 2))
            await step(user, "verify", send(citizen["pid"]), _has(STOP_VERIFYING))
            await step(user, "verify", send(citizen["dob"]), _asks_contact)
            shown = await step(user, "verify", contact, _menu, replies=2)  # thanks, then the menu

            async def press(action: str, expect) -> None:
                nonlocal shown
                target = shown

                async def pressed() -> None:
                    await user.press(action, target)
                pressed.__name__ = f"pressed {action}"
                shown = await step(user, "read", pressed, expect)

            await press(BOOK, _book_menu)
            for section in SECTIONS:
                await press(f"book.s:{section}", _section)
                await press(BOOK, _book_menu)
            await press("book.s:visits", _visits)
            visit = next((d for d in sorted(_data(shown)) if d.startswith("book.v:")), None)
            if visit is not None:
                await press(visit, _has_prefix("book.p:"))
                back = next(d for d in _data(shown) if d.startswith("book.p:"))
                await press(back, _visits)
            await press(MENU, _menu)

        async def slot(index: int) -> None:
            slot_rng = random.Random(rng.random())
            last = [loop.time() - slot_rng.uniform(0, interval)]  # phones start spread out
            while loop.time() < stop_at:
                citizen = citizens[next(next_citizen) % len(citizens)]
                user = phone_class(p["url"], next(ids), first_name="Lan", language_code="vi",
                                   session=session)
                user.rng, user.last, user.where, user.expected = slot_rng, last, "", 0
                users.append(user)
                try:
                    await one_session(user, citizen)
                except _RunOver:
                    return
                except _Lost as error:
                    errors.append(f"{user.where}: no answer: {str(error)[:600]}")
                except (AssertionError, aiohttp.ClientError, TimeoutError) as error:
                    errors.append(f"{user.where}: {type(error).__name__}: {str(error)[:600]}")

        tasks = [asyncio.create_task(slot(i)) for i in range(p["phones"])]
        _done, pending = await asyncio.wait(tasks, timeout=p["seconds"] + timeout + 30)
        for task in pending:
            task.cancel()
        # A late second answer is a duplicate too: one more look at every chat after a pause.
        await asyncio.sleep(p.get("settle", 2.0))
        for start in range(0, len(users), 100):
            await asyncio.gather(*(user._poll(0) for user in users[start:start + 100]),
                                 return_exceptions=True)
        await session.close()
        duplicates = sum(max(0, len(user.transcript) - user.expected) for user in users)
        return {"samples": samples, "errors": errors, "start": begin_perf,
                "stop": begin_perf + p["seconds"], "unfinished": len(pending),
                "duplicates": duplicates, "sessions": len(users),
                "citizens_reused": max(0, len(users) - len(citizens)), **counts}

    started = cpu_seconds()
    result = asyncio.run(run())
    samples, start, stop = result.pop("samples"), result.pop("start"), result.pop("stop")
    warm = min(p["warmup"], p["seconds"] / 4)
    window = (start + warm, stop)
    answered = [s for s in samples if window[0] <= s[1] < window[1]]
    posted = [s for s in samples if window[0] <= s[0] < window[1]]
    span = window[1] - window[0]
    result.update({
        "inputs_total": len(samples), "window_seconds": span,
        "updates_per_s": len(answered) / span,
        "verify_per_s": sum(1 for s in answered if s[2] == "verify") / span,
        "read_per_s": sum(1 for s in answered if s[2] == "read") / span,
        "all": figures([(s[1] - s[0]) * 1000 for s in posted]),
        "verify": figures([(s[1] - s[0]) * 1000 for s in posted if s[2] == "verify"]),
        "read": figures([(s[1] - s[0]) * 1000 for s in posted if s[2] == "read"]),
        "errors": len(result["errors"]), "error_examples": result["errors"][:3],
        "cpu_seconds": cpu_seconds() - started, "peak_mib": peak_mib(),
    })
    return result


class _RunOver(Exception):
    """The run's time is up: the phone puts itself down."""


# --- running phases ------------------------------------------------------------------------------

PHASES: dict[str, Callable[[dict[str, Any]], dict[str, object]]] = {
    "build-generate": phase_build_generate, "build-import": phase_build_import,
    "build-visits": phase_build_visits, "prepare": phase_prepare, "inprocess": phase_inprocess,
    "e2e-server": phase_e2e_server, "e2e-bot": phase_e2e_bot, "e2e-load": phase_e2e_load,
}


def _command(name: str, params: dict[str, Any]) -> list[str]:
    return [sys.executable, __file__, "--phase", name, json.dumps(params)]


def run_phase(name: str, params: dict[str, Any]) -> dict[str, Any]:
    finished = subprocess.run(_command(name, params), capture_output=True, text=True, check=False, cwd=ROOT)
    if finished.returncode != 0:
        sys.stderr.write(finished.stdout + finished.stderr)
        raise SystemExit(f"phase {name} failed")
    return json.loads(finished.stdout.strip().splitlines()[-1])


class Service:
    """A long-running phase (emulator, bot): started, waited for READY, stopped with SIGTERM."""

    def __init__(self, name: str, params: dict[str, Any], log: Path | None = None) -> None:
        self.name = name
        self.log = log or OUT / f"bot_bench_{name}.log"
        self.process = subprocess.Popen(_command(name, params), stdout=subprocess.PIPE,
                                        stderr=self.log.open("w"), text=True, cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.process.wait(10)
            raise SystemExit(f"{name} did not start; see {self.log}:\n{self.log.read_text()[-3000:]}")
        self.ready = json.loads(line[len("READY "):])

    def stop(self) -> dict[str, Any]:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        rest, _ = self.process.communicate(timeout=60)
        if self.process.returncode != 0:
            raise SystemExit(f"{self.name} failed; see {self.log}:\n{self.log.read_text()[-3000:]}")
        return json.loads(rest.strip().splitlines()[-1])


def e2e_run(base: dict[str, Any], layout: str, *, throttled: bool, rate: float, label: str,
            id_offset: int) -> dict[str, Any]:
    params = {**base, "layout": layout, "throttled": throttled, "label": label}
    server = Service("e2e-server", params)
    bot = None
    try:
        if layout == "split":
            bot = Service("e2e-bot", {**params, "url": server.ready["url"]})
        load = run_phase("e2e-load", {**params, "url": server.ready["url"], "rate": rate,
                                      "id_offset": id_offset})
    finally:
        bot_figures = bot.stop() if bot is not None else None
        server_figures = server.stop()
    load.update({"layout": layout, "throttled": throttled, "rate": rate,
                 "server": server_figures, "bot": bot_figures or server_figures})
    return load


def residents_in(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return connection.execute("SELECT count(*) FROM citizens").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def database_dir(people: int, visits: int, seed: int, rebuild: bool) -> tuple[Path, str]:
    """This size's own database if one was built, else core_bench's when it is big enough,
    else one built for this size (core_bench's place for a million, its own directory otherwise)."""
    own = OUT if people >= FULL_SIZE else OUT / f"bot_bench_{people}"
    if not rebuild:
        for directory in (own, OUT):
            if (directory / "with_visits.json").exists() and \
                    residents_in(directory / "bench.sqlite3") >= people:
                return directory, "reused"
    params = {"dir": str(own), "people": people, "seed": seed, "visits": min(visits, max(people // 2, 1))}
    print(f"Building a database of {people:,} residents in {own.relative_to(ROOT)}:", flush=True)
    started = time.perf_counter()
    step = run_phase("build-generate", params)
    print(f"  generated {step['rows']:,} roster rows in {step['seconds']:.0f} s", flush=True)
    step = run_phase("build-import", params)
    print(f"  imported them in {step['seconds']:.0f} s", flush=True)
    step = run_phase("build-visits", params)
    print(f"  imported {step['visits']:,} visits in {step['seconds']:.0f} s", flush=True)
    return own, f"built in {time.perf_counter() - started:.0f} s"


def _line(name: str, f: dict[str, Any], rate: float | None = None) -> str:
    if not f.get("count"):
        return f"  {name:<22}: no samples"
    head = f"{rate:>7,.0f}/s, " if rate is not None else " " * 10
    return (f"  {name:<22}: {head}p50 {f['p50_ms']:6.1f}  p95 {f['p95_ms']:6.1f}  p99 {f['p99_ms']:7.1f}"
            f"  max {f['max_ms']:7.1f} ms  ({f['count']:,} inputs)")


def delivery(run: dict[str, Any]) -> str:
    """What the phones received beside what they asked: duplicates, lost inputs, order."""
    return (f"as the phones saw it: {run['duplicates']} duplicate replies, {run['lost']} inputs "
            f"unanswered, {run['out_of_order']} of {run['pairs']:,} pairs typed together answered "
            f"out of order ({run['sessions']:,} sessions)")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=FULL_SIZE, help="residents in the database")
    parser.add_argument("--visits", type=int, default=20_000, help="visits, when a database is built")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if one exists")
    parser.add_argument("--citizens", type=int, default=2_000, help="in-process sessions (one citizen each)")
    parser.add_argument("--rounds", type=int, default=1, help="book readings per in-process session")
    parser.add_argument("--concurrency", type=int, default=200, help="in-process sessions at once")
    parser.add_argument("--phones", type=int, default=200, help="end-to-end phones at once")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of each end-to-end run")
    parser.add_argument("--rate", default="100,200",
                        help="inputs/s of the paced runs, comma-separated (one run each)")
    parser.add_argument("--layout", choices=("split", "shared"), default="split",
                        help="emulator and bot in separate processes, or in one")
    parser.add_argument("--only", choices=("inprocess", "endtoend"), help="run one half only")
    parser.add_argument("--runs", default="as_built,unthrottled,paced",
                        help="end-to-end runs to do, of as_built, unthrottled, paced (every --rate)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the in-process run and the bot (bench/out/*.prof)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from core.identity.keys import allow_local_key

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    if args.phase:
        print(json.dumps(PHASES[args.phase](json.loads(args.rest[0]))), flush=True)
        return

    began = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    info = core_bench.machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"{info['system']}, Python {info['python']}, SQLite {info['sqlite']}", flush=True)
    # Other work on the machine shows in every figure: say how busy it was.
    info["load_before"] = os.getloadavg()[0]
    print(f"Load average before the run: {info['load_before']:.2f} (1 min)", flush=True)
    results: dict[str, Any] = {"machine": info, "options": {k: v for k, v in vars(args).items()
                                                           if k not in ("phase", "rest")}}
    directory, how = database_dir(args.people, args.visits, args.seed, args.rebuild)
    base = {"dir": str(directory), "seed": args.seed}
    prepared = run_phase("prepare", base)
    results["database"] = {"path": str(directory / "bench.sqlite3"), "how": how, **prepared}
    print(f"Database: {(directory / 'bench.sqlite3').relative_to(ROOT)} ({how}), "
          f"{prepared['residents']:,} residents; {prepared['usable']:,} residents with visits, "
          f"a phone and a full birth date to play", flush=True)

    inproc = None
    if args.only in (None, "inprocess"):
        inproc = run_phase("inprocess", {**base, "citizens": args.citizens, "rounds": args.rounds,
                                         "concurrency": args.concurrency, "warmup_sessions": 20,
                                         "serial_sessions": 50, "profile": args.profile})
        results["inprocess"] = inproc
        loaded, serial = inproc["loaded"], inproc["serial"]
        print(f"\nIn-process, Conversation.handle: {loaded['sessions']:,} sessions of "
              f"{loaded['inputs'] / max(loaded['sessions'], 1):.0f} inputs, {args.concurrency} at once "
              f"(after {inproc['warmup']['inputs']} warm-up inputs):")
        print(_line("all inputs", loaded["all"], loaded["inputs_per_s"]))
        print(_line("of which verification", loaded["verify"], loaded["verify_per_s"]))
        print(_line("of which reading", loaded["read"], loaded["read_per_s"]))
        print(_line(f"one at a time ({serial['sessions']})", serial["all"], serial["inputs_per_s"]))
        used = loaded["usage"]
        print(f"  {loaded['inputs']:,} inputs in {loaded['seconds']:.1f} s, {loaded['failures']} failed "
              f"sessions; CPU {used['user_s']:.0f} s user + {used['system_s']:.0f} s system, "
              f"{used['switches'] / 1e6:.2f} M context switches; peak {inproc['peak_mib']:.0f} MiB",
              flush=True)

    runs: dict[str, Any] = {}
    rates = [float(rate) for rate in args.rate.split(",") if rate.strip()]
    plans: list[tuple[str, bool, float, str, str]] = []
    if args.only in (None, "endtoend"):
        e2e = {**base, "phones": args.phones, "seconds": args.seconds, "warmup": 5.0,
               "answer_timeout": 60.0, "profile": args.profile}
        where = ("emulator and bot in separate processes" if args.layout == "split"
                 else "emulator and bot in one process")
        simulated = args.phones  # simulated Telegram users, not phone numbers
        print(f"\nEnd to end, {simulated} simulated TelegramUser clients at once through the Bot API "
              f"emulator ({where}; the clients in a third process), {args.seconds:.0f} s a run, the first "
              f"{min(5.0, args.seconds / 4):.0f} s not counted:", flush=True)
        plans = [("as_built", True, 0.0, "bot as built (30 requests/s overall limit), flat out", "as built"),
                 ("unthrottled", False, 0.0, "overall limit lifted, flat out", "limit lifted")]
        plans += [(f"paced_{rate:g}", False, rate, f"overall limit lifted, paced at {rate:g}/s",
                   f"paced {rate:g}/s") for rate in rates]
        selected = set(args.runs.split(","))
        for index, (key, throttled, rate, title, _short) in enumerate(plans):
            if key not in selected and not (key.startswith("paced_") and "paced" in selected):
                continue
            run = e2e_run(e2e, args.layout, throttled=throttled, rate=rate, label=key,
                          id_offset=index * 10_000_000)
            runs[key] = run
            print(f" {title}:")
            print(_line("all inputs", run["all"], run["updates_per_s"]))
            print(_line("of which verification", run["verify"], run["verify_per_s"]))
            print(_line("of which reading", run["read"], run["read_per_s"]))
            bot_mem = run["bot"]["peak_mib"]
            memory = (f"bot {bot_mem:.0f} MiB, emulator {run['server']['peak_mib']:.0f} MiB"
                      if args.layout == "split" else f"emulator+bot {bot_mem:.0f} MiB")
            cpu = (f"bot {run['bot']['cpu_seconds']:.0f} s, emulator {run['server']['cpu_seconds']:.0f} s"
                   if args.layout == "split" else f"emulator+bot {run['bot']['cpu_seconds']:.0f} s")
            print(f"  {run['inputs_total']:,} inputs answered, {run['errors']} sessions failed; "
                  f"peak {memory}; CPU {cpu}, phones {run['cpu_seconds']:.0f} s", flush=True)
            print(f"  {delivery(run)}", flush=True)
            for example in run["error_examples"]:
                print(f"    e.g. {example}")
        results["endtoend"] = runs

    print(f"\nSummary{'':<24}inputs/s   p50 ms   p99 ms   aim (from the issue)")

    def row(name: str, rate: float, f: dict[str, Any], aim: str, met: bool) -> None:
        print(f"  {name:<29}{rate:>8,.0f} {f.get('p50_ms', 0):>8,.0f} {f.get('p99_ms', 0):>8,.0f}   "
              f"{aim}: {_verdict(met)}")

    if inproc is not None:
        loaded = inproc["loaded"]
        row(f"in-process, {args.concurrency} at once", loaded["inputs_per_s"], loaded["all"],
            f">= {AIM_INPROCESS:,.0f}/s", loaded["inputs_per_s"] >= AIM_INPROCESS)
    for key, _throttled, _rate, _title, short in plans:
        if key in runs:
            run = runs[key]
            met = run["updates_per_s"] >= AIM_E2E_RATE and run["all"].get("p99_ms", 1e9) <= AIM_E2E_P99
            row(f"end to end, {short}", run["updates_per_s"], run["all"],
                f">= {AIM_E2E_RATE:.0f}/s at p99 <= {AIM_E2E_P99:.0f} ms", met)
    results["seconds"] = time.perf_counter() - began
    print(f"\nWhole run {results['seconds']:.0f} s; figures in {(OUT / 'bot_bench.json').relative_to(ROOT)}")
    (OUT / "bot_bench.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
