"""USSD benchmark: screens through `POST /ussd` over real HTTP, at 1,000,000 residents.

    .venv/bin/python bench/ussd_bench.py [--callers 50] [--sessions 600]

Uses the database and the verifiable citizens `bench/bot_bench.py` prepares in bench/out/.
The service (`bot.ussd.gateway` on an aiohttp server) and the emulated operator's gateway
(`sandbox.ussd_operator`) share one process and its event loop, so the figures include
the caller's side too. Two runs:
  * first calls: dial, personal ID, birth date, a new PIN twice (two scrypt hashes);
  * later calls: dial, PIN (one scrypt check), the short book's general part, back, its last
    visits, the menu, the check-in code (END); once flat out (`--callers` at once, no pause:
    the capacity), once in service (`--paced` callers pausing `--think` seconds per screen,
    as people read and type; real callers take longer).
Times each screen from request to answer; PIN screens are reported apart, being slow on purpose.
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

PIN = "2580"
AIM_SCREEN_P99_MS = 500.0  # our line: far inside the seconds an operator's gateway waits for a screen


class TimedPhone:
    """A feature phone whose every screen is timed, PIN screens apart."""

    def __init__(self, operator, number: str, times: dict[str, list[float]], think: float = 0.0) -> None:
        from sandbox.ussd_operator import FeaturePhone

        self.phone = FeaturePhone(operator, number)
        self.times = times
        self.think = think

    async def _timed(self, kind: str, call) -> str:
        if self.think and self.phone.screens:  # reading the screen and pressing keys, 0.5-1.5x
            await asyncio.sleep(self.think * random.uniform(0.5, 1.5))
        started = time.perf_counter()
        screen = await call
        self.times[kind].append((time.perf_counter() - started) * 1000)
        if screen.status != 200:
            raise RuntimeError(f"USSD answered {screen.status}: {screen.text}")
        return screen.text

    async def dial(self) -> str:
        return await self._timed("screen", self.phone.dial())

    async def send(self, typed: str, kind: str = "screen") -> str:
        return await self._timed(kind, self.phone.send(typed))

    async def choose(self, label: str) -> str:
        while label.lower() not in "\n".join(self.phone.pages).lower():
            await self.send("0")
        return await self.send(self.phone.number_of(label))


async def first_call(phone: TimedPhone, citizen: dict[str, str]) -> None:
    await phone.dial()
    await phone.send(citizen["pid"])
    await phone.send(citizen["dob"].replace("/", ""))
    await phone.send(PIN, "pin")
    screen = await phone.send(PIN, "pin")
    assert "So suc khoe" in screen, screen


async def later_call(phone: TimedPhone) -> None:
    await phone.dial()
    await phone.send(PIN, "pin")
    await phone.choose("So suc khoe")
    await phone.choose("Thong tin chung")
    await phone.send("1")  # back to the sections
    await phone.choose("Lan kham gan day")
    await phone.send("00")  # the menu
    screen = await phone.choose("Ma QR kham benh")
    assert phone.phone.screen.kind == "END", screen


async def steady(operator, numbers: list[str], sessions: int, callers: int, think: float) -> dict:
    """`sessions` later calls by `callers` at once, each pausing `think` seconds per screen."""
    times: dict[str, list[float]] = {"screen": [], "pin": []}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for n in range(sessions):
        queue.put_nowait(numbers[n % len(numbers)])

    async def caller() -> None:
        if think:  # callers dial at random moments, not all in the same second
            await asyncio.sleep(random.uniform(0, think * 8))
        while not queue.empty():
            await later_call(TimedPhone(operator, queue.get_nowait(), times, think))

    started = time.perf_counter()
    # One caller per number at a time, as on a real network: numbers never overlap here.
    await asyncio.gather(*(caller() for _ in range(min(callers, len(numbers)))))
    elapsed = time.perf_counter() - started
    screens = len(times["screen"]) + len(times["pin"])
    return {"callers": callers, "think_s": think, "sessions": sessions,
            "sessions_per_s": sessions / elapsed, "screens_per_s": screens / elapsed,
            "screen": bot_bench.figures(times["screen"]), "pin": bot_bench.figures(times["pin"])}


async def run(callers: int, sessions: int, signups: int, paced: int, pace: float) -> dict[str, object]:
    from aiohttp import ClientSession, TCPConnector, web

    from bot.config import UssdSettings
    from bot.ussd.gateway import USSD_PATH, add_ussd_route
    from core.migrate import upgrade
    from sandbox.ussd_operator import UssdOperator

    db = bot_bench._database(str(core_bench.OUT))
    await upgrade(db)
    async with db.engine.begin() as connection:  # a clean slate for this run's accounts
        from sqlalchemy import text

        for statement in ("DELETE FROM channel_sessions",
                          "DELETE FROM verification_attempts WHERE channel = 'ussd'",
                          "DELETE FROM channel_accounts WHERE channel = 'ussd'"):
            await connection.execute(text(statement))
    citizens = bot_bench._citizens(str(core_bench.OUT))[:signups]
    secret = "bench-gateway-secret-0123456789"
    app = web.Application()
    add_ussd_route(app, db, UssdSettings(secret=secret))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    result: dict[str, object] = {"callers": callers, "signups": len(citizens)}
    try:
        async with ClientSession(connector=TCPConnector(limit=callers)) as http:
            operator = UssdOperator(f"http://127.0.0.1:{port}{USSD_PATH}", secret, http)
            numbers = ["0" + c["phone"][2:] for c in citizens]

            times: dict[str, list[float]] = {"screen": [], "pin": []}
            started = time.perf_counter()
            for start in range(0, len(citizens), callers):
                batch = range(start, min(start + callers, len(citizens)))
                await asyncio.gather(*(first_call(TimedPhone(operator, numbers[i], times), citizens[i])
                                       for i in batch))
            elapsed = time.perf_counter() - started
            result["first_calls"] = {"sessions_per_s": len(citizens) / elapsed,
                                     "screen": bot_bench.figures(times["screen"]),
                                     "pin": bot_bench.figures(times["pin"])}

            result["flat_out"] = await steady(operator, numbers, sessions, callers, 0.0)
            result["paced"] = await steady(operator, numbers, sessions, paced, pace)
    finally:
        await runner.cleanup()
    return result


def _print(run_: dict[str, dict[str, float]]) -> None:
    for name in ("screen", "pin"):
        f = run_[name]
        print(f"  {name:<6}: p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, max {f['max_ms']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=50, help="callers at once, flat out")
    parser.add_argument("--paced", type=int, default=100, help="callers at once, pausing between screens")
    parser.add_argument("--think", type=float, default=2.0, help="seconds between screens, paced run")
    parser.add_argument("--sessions", type=int, default=600, help="later calls in the steady run")
    parser.add_argument("--signups", type=int, default=300, help="citizens who call for the first time")
    args = parser.parse_args()
    from core.identity.keys import allow_local_key

    allow_local_key()  # synthetic benchmark data: the checkout's own key (var/secret.key) will do
    if not (core_bench.OUT / "bot_bench_citizens.json").exists():
        raise SystemExit("run bench/bot_bench.py first: it builds and prepares bench/out/")
    machine = core_bench.machine()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
          f"{machine['system']}, Python {machine['python']}, SQLite {machine['sqlite']}", flush=True)
    bot_bench._quiet()
    result = asyncio.run(run(args.callers, args.sessions, args.signups, args.paced, args.think))
    first = result["first_calls"]
    print(f"\nFirst calls ({result['signups']} citizens, {result['callers']} at once, no pause): "
          f"{first['sessions_per_s']:.1f} sign-ups/s")
    _print(first)
    for name, title in (("flat_out", "no pause between screens: capacity"),
                        ("paced", "a pause between screens, as a person reads and types")):
        run_ = result[name]
        print(f"\nLater calls, {run_['callers']} callers at once, {title} ({run_['think_s']:.1f} s): "
              f"{run_['sessions']} sessions of 8 screens, {run_['sessions_per_s']:.1f} sessions/s, "
              f"{run_['screens_per_s']:.0f} screens/s")
        _print(run_)
    met = result["paced"]["screen"]["p99_ms"] <= AIM_SCREEN_P99_MS
    print(f"\nAim: a screen p99 <= {AIM_SCREEN_P99_MS:.0f} ms with {args.paced} callers in service: "
          f"{'met' if met else 'NOT met'}")
    (core_bench.OUT / "ussd_bench.json").write_text(json.dumps({"machine": machine, **result}, indent=2))


if __name__ == "__main__":
    main()
