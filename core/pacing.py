"""How often a channel may send, held for every worker together (a shared rate limit).

Each send reserves its turn before it goes, in every pace it is under (its chat's, then the
whole bot's), by the generic cell rate algorithm: a pace keeps `due`, the moment its next
send would be on time; a send at `start` moves it to `max(due, start) + every` and may go at
`max(start, due - burst * every)` (`Pace.next_due`, `Pace.send_at`). So no more than `burst`
sends go at once, and no more than one per `every` seconds after that, however many workers
reserve: the reservation is one atomic upsert of the pace's row. When a pace gives a turn
later than now, the paces after it are reserved only once that turn comes (`Turn.taken`): a
bot-wide turn taken now and used later would let sends bunch, and one taken in the future
would hold back every other chat behind one flooded chat.

Where the turns are kept: on PostgreSQL (several workers) in `send_pace`, on the database's own
clock, so workers on different hosts agree. Measured against Redis (`bench/pace_bench.py`, two
cores, shared): a turn takes 2.1 ms (p50) on PostgreSQL and 0.05 ms on Redis, and eight tasks
get 392 and 23,000 turns a second. Telegram allows 30 a second, so PostgreSQL has 13 times the
room, and 2 ms is small beside the 33 ms between turns and Telegram's own round trip: production
needs no second service to run and secure. (A bot granted paid broadcasts, up to 1,000 a second,
would outgrow it: Redis then.) SQLite serves one process: `LocalPaces` keeps the turns in its
memory, with the same rule.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Float, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base

PRUNE_EVERY = 600.0  # seconds between deletions of paces that hold nothing back


@dataclass(frozen=True)
class Pace:
    key: str  # "*" for everything a channel sends, or a chat's own key
    every: float  # seconds between sends, on average
    burst: int = 1  # sends that may go at once after a quiet spell

    def next_due(self, due: float | None, start: float) -> float:
        return max(due if due is not None else start, start) + self.every

    def send_at(self, due: float, start: float) -> float:
        return max(start, due - self.burst * self.every)


class SendPace(Base):
    __tablename__ = "send_pace"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    due: Mapped[float] = mapped_column(Float)  # seconds since the epoch, on the database's clock


_PACES = SendPace.__table__


@dataclass(frozen=True)
class Turn:
    wait: float  # seconds until the turn
    taken: int  # paces reserved: the rest are reserved again once the wait is over


def reserve(connection: Connection, paces: Sequence[Pace]) -> Turn:
    """Reserves one send in each pace, in order, until one gives a turn later than now.

    PostgreSQL only. Each pace is one upsert that moves its `due` as `Pace.next_due` does, under
    the row's lock, so concurrent workers each get their own turn.
    """
    now = connection.execute(select(func.extract("epoch", func.clock_timestamp()))).scalar_one()
    start = now = float(now)
    taken = 0
    for pace in paces:
        taken += 1
        values = pg_insert(_PACES).values(key=pace.key, due=start + pace.every)
        # Pace.next_due, in one statement: max(due, start) + every, with start = excluded - every.
        later = func.greatest(_PACES.c.due, values.excluded.due - pace.every) + pace.every
        due = connection.execute(values.on_conflict_do_update(index_elements=[_PACES.c.key],
                                                              set_={"due": later})
                                 .returning(_PACES.c.due)).scalar_one()
        start = pace.send_at(due, start)
        if start > now:
            break
    return Turn(start - now, taken)


def prune(connection: Connection) -> int:
    """Deletes paces whose due moment has passed: they hold nothing back any more."""
    passed = func.extract("epoch", func.clock_timestamp())
    return connection.execute(delete(_PACES).where(_PACES.c.due < passed)).rowcount or 0


class LocalPaces:
    """The same turns kept in one process's memory (SQLite: the bot is one process)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._due: dict[str, float] = {}
        self._clock = clock
        self._pruned = clock()

    def reserve(self, paces: Sequence[Pace]) -> Turn:
        start = now = self._clock()
        if now - self._pruned > PRUNE_EVERY:
            self._due = {key: due for key, due in self._due.items() if due > now}
            self._pruned = now
        taken = 0
        for pace in paces:
            taken += 1
            due = self._due[pace.key] = pace.next_due(self._due.get(pace.key), start)
            start = pace.send_at(due, start)
            if start > now:
                break
        return Turn(start - now, taken)
