"""The shared send pace: PostgreSQL or Redis? One turn (a chat's pace, then the bot's) each way.

    .venv/bin/python bench/pace_bench.py [--database postgresql+asyncpg://...] [--redis 127.0.0.1:6379]
                                         [--turns 2000] [--tasks 8]

PostgreSQL: `core.pacing.reserve` in one `db.write` (two upserts of UNLOGGED rows). Redis: the same
rule (the generic cell rate algorithm on two keys, on the server's clock) as one Lua script, over
a bare RESP connection per task (no client library: the bench measures the round trip, not a
library). Each runs `--turns` turns one after another (the latency a message waits before it may
go), then `--tasks` at once (turns a second: how far it is from Telegram's 30). The database given
is written to (rows under keys "bench:*", deleted at the end). A benchmark: it prints figures and
decides nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import core_bench
from sqlalchemy import delete

from core import pacing
from core.db import Database
from core.pacing import Pace

# KEYS: the paces in order; ARGV: each pace's every and burst. Returns the wait in microseconds.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local start = now
for i, key in ipairs(KEYS) do
  local every, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local due = math.max(tonumber(redis.call('GET', key) or start), start) + every
  redis.call('SET', key, tostring(due), 'PX', math.ceil((due - now) * 1000) + 1000)
  start = math.max(start, due - burst * every)
end
return math.floor((start - now) * 1e6)
"""


def paces(n: int) -> tuple[Pace, Pace]:
    return (Pace(f"bench:chat:{n % 1000}", 1.0, 20), Pace("bench:*", 1 / 1e6))


class Resp:
    """Just enough of Redis's protocol for EVAL."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def call(self, *parts: str) -> object:
        encoded = [part.encode() for part in parts]
        self.writer.write(b"*%d\r\n" % len(encoded) + b"".join(
            b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded))
        line = await self.reader.readline()
        if line.startswith(b"-"):
            raise RuntimeError(line.decode())
        if line.startswith(b"$"):
            return await self.reader.readexactly(int(line[1:]) + 2)
        return int(line[1:]) if line.startswith(b":") else line


async def time_turns(turn, turns: int, tasks: int) -> dict[str, float]:
    latencies = []
    for n in range(turns):
        started = time.perf_counter()
        await turn(0, n)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()

    async def worker(task: int) -> None:
        for n in range(turns // tasks):
            await turn(task, n)
    started = time.perf_counter()
    await asyncio.gather(*(worker(task) for task in range(tasks)))
    rate = (turns // tasks) * tasks / (time.perf_counter() - started)
    return {"p50_ms": statistics.median(latencies), "p99_ms": latencies[int(len(latencies) * 0.99)],
            "turns_per_second": rate}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {core_bench.machine()}")

    db = Database(args.database)
    try:
        async def pg_turn(_task: int, n: int) -> None:
            await db.write(pacing.reserve, paces(n))
        figures = {"postgresql": await time_turns(pg_turn, args.turns, args.tasks)}
        await db.write(lambda c: c.execute(delete(pacing.SendPace.__table__)
                                           .where(pacing.SendPace.key.like("bench:%"))))
    finally:
        await db.dispose()

    host, port = args.redis.rsplit(":", 1)
    connections = [Resp(*await asyncio.open_connection(host, int(port))) for _ in range(args.tasks)]
    sha = (await connections[0].call("SCRIPT", "LOAD", GCRA)).strip().decode()

    async def redis_turn(task: int, n: int) -> None:
        keys = [p.key for p in paces(n)]
        argv = [str(v) for p in paces(n) for v in (p.every, p.burst)]
        await connections[task].call("EVALSHA", sha, str(len(keys)), *keys, *argv)
    figures["redis"] = await time_turns(redis_turn, args.turns, args.tasks)
    for connection in connections:
        connection.writer.close()

    for name, figure in figures.items():
        print(f"{name:>10}: one turn p50 {figure['p50_ms']:.3f} ms, p99 {figure['p99_ms']:.3f} ms; "
              f"{args.tasks} at once: {figure['turns_per_second']:,.0f} turns a second")


if __name__ == "__main__":
    asyncio.run(main())
