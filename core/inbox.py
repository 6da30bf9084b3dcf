"""Updates a channel pushed to us, kept until they are handled (a durable inbox).

A channel that pushes (Telegram's webhook) is told "received" only once the update
is stored here; workers in any process then claim and handle the stored updates.
Core stores each update as opaque JSON under the channel's own id and the
conversation ("lane") it belongs to; what the JSON means is the channel's business.

Guarantees, and their limits:
* Received once: the channel's update id is unique per channel, so a redelivery
  (a lost acknowledgement, a retry after a restart) is acknowledged and not stored again.
* One lane in order, one update at a time, across all workers: only the oldest
  unfinished update of a lane can be claimed.
* Handled at least once, not exactly once: a worker that dies after an update's
  effects but before `finish` leaves a claim that lapses, and the update is handled
  again. Exactly once would need the handler's own writes and `finish` in one
  transaction; handlers also talk to the outside (they send messages), which no
  transaction covers. Losing an update on a crash is worse for a person than a
  rare repeated answer, and a graceful stop finishes what it holds first.
* What a person typed is not kept: `finish` erases the payload; the bare id stays
  `KEEP_DONE` for de-duplication, then is deleted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, aliased, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, UTCDateTime

_UNDONE = "done_at IS NULL"
# Longer than the channel keeps retrying one update (Telegram keeps undelivered updates 24 hours).
KEEP_DONE = dt.timedelta(hours=48)
# A worker renews its claims well within this; one that stops renewing has died.
CLAIM_FOR = dt.timedelta(seconds=30)
# An update whose handling killed the worker this many times is given up, not retried forever.
MAX_TRIES = 5


class ChannelUpdate(Base):
    __tablename__ = "channel_updates"
    __table_args__ = (
        UniqueConstraint("channel", "update_id"),
        # Claims and the backlog count look only at unfinished updates: a small partial index.
        Index("ix_channel_updates_undone", "channel", "id", sqlite_where=text(_UNDONE),
              postgresql_where=text(_UNDONE)),
        # "Is there an older unfinished update in this lane?"
        Index("ix_channel_updates_lane", "channel", "lane", "update_id", sqlite_where=text(_UNDONE),
              postgresql_where=text(_UNDONE)),
        Index("ix_channel_updates_done", "done_at"),  # pruning
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[int] = mapped_column(BigInteger)
    lane: Mapped[str | None] = mapped_column(String(64))  # the chat; None: no order to keep
    payload: Mapped[str | None] = mapped_column(Text)  # JSON; erased once handled
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0, server_default=text("0"))  # claims so far
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(64))  # an error's type, never its text


class Stored(Enum):
    NEW = "new"
    AGAIN = "again"  # already received: acknowledge, do nothing
    FULL = "full"  # the backlog is at its limit: the channel should retry later


@dataclass(frozen=True)
class ClaimedUpdate:
    id: int
    update_id: int
    lane: str | None
    payload: dict[str, Any]
    tries: int


_UPDATES = ChannelUpdate.__table__


def store(connection: Connection, channel: str, update_id: int, lane: str | None, payload: dict[str, Any],
          backlog_limit: int) -> Stored:
    """Keeps a pushed update unless it is already here or the backlog is full.

    One statement in the usual case, the backlog counted inside it: every update takes this path,
    and each statement costs the worker more CPU than it costs the database (bench/webhook_bench.py).
    Only an update not taken is looked up again, to tell a redelivery from a full backlog.
    The limit is a soft bound: on PostgreSQL deliveries stored at the same moment each see
    the count before the others, so it may be passed by the channel's parallel deliveries.
    """
    values = {"channel": channel, "update_id": update_id, "lane": lane, "received_at": now_utc(), "tries": 0,
              "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":"))}
    room = _counted(channel, backlog_limit).scalar_subquery() < backlog_limit
    row = select(*(literal(value, _UPDATES.c[name].type).label(name) for name, value in values.items()))
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # Two deliveries of one update racing on two workers: the second finds the first's row.
    result = connection.execute(insert(_UPDATES).from_select(list(values), row.where(room))
                                .on_conflict_do_nothing(index_elements=["channel", "update_id"]))
    if result.rowcount == 1:
        return Stored.NEW
    seen = select(_UPDATES.c.id).where(_UPDATES.c.channel == channel, _UPDATES.c.update_id == update_id)
    return Stored.AGAIN if connection.execute(seen).first() is not None else Stored.FULL


def _counted(channel: str, up_to: int | None) -> Select[tuple[int]]:
    undone = select(_UPDATES.c.id).where(_UPDATES.c.channel == channel, _UPDATES.c.done_at.is_(None))
    if up_to is not None:
        undone = undone.limit(up_to)
    return select(func.count()).select_from(undone.subquery())


def backlog(connection: Connection, channel: str, up_to: int | None = None) -> int:
    """Unfinished updates of the channel, counted up to `up_to` (enough to compare with a limit)."""
    return connection.execute(_counted(channel, up_to)).scalar_one()


def claim(connection: Connection, channel: str, worker: str, limit: int,
          hold: dt.timedelta = CLAIM_FOR) -> list[ClaimedUpdate]:
    """Takes up to `limit` updates, each the oldest unfinished one of its lane, in arrival order.

    An update whose lane has an older unfinished one is not claimable, whoever holds that
    one: so a lane's updates are handled one at a time and in order across all workers.
    PostgreSQL locks the chosen rows with SKIP LOCKED; SQLite's write lock (`Database.write`)
    serialises claims.
    """
    now = now_utc()
    older = aliased(ChannelUpdate.__table__)
    free = or_(_UPDATES.c.claimed_until.is_(None), _UPDATES.c.claimed_until <= now)
    # Blocked by an older unfinished update of the lane, or by any of the lane's updates held by a
    # worker now: a late arrival older than one being handled waits for it, never runs beside it.
    blocked = exists().where(older.c.channel == _UPDATES.c.channel, older.c.lane == _UPDATES.c.lane,
                             older.c.done_at.is_(None), older.c.id != _UPDATES.c.id,
                             or_(older.c.update_id < _UPDATES.c.update_id, older.c.claimed_until > now))
    query = (select(_UPDATES.c.id, _UPDATES.c.tries)
             .where(_UPDATES.c.channel == channel, _UPDATES.c.done_at.is_(None), free, ~blocked)
             .order_by(_UPDATES.c.id).limit(limit).with_for_update(skip_locked=True, of=_UPDATES))
    chosen = connection.execute(query).all()
    # An update that was claimed MAX_TRIES times and never finished keeps killing its worker:
    # given up (its lane then goes on) rather than tried forever.
    poisoned = [row.id for row in chosen if row.tries >= MAX_TRIES]
    if poisoned:
        connection.execute(update(_UPDATES).where(_UPDATES.c.id.in_(poisoned))
                           .values(done_at=now, payload=None, claimed_until=None, last_error="gave up"))
        return claim(connection, channel, worker, limit, hold)  # their lanes' next updates are free now
    ids = [row.id for row in chosen if row.tries < MAX_TRIES]
    if not ids:
        return []
    connection.execute(update(_UPDATES).where(_UPDATES.c.id.in_(ids))
                       .values(claimed_until=now + hold, claimed_by=worker, tries=_UPDATES.c.tries + 1))
    rows = connection.execute(select(_UPDATES.c.id, _UPDATES.c.update_id, _UPDATES.c.lane, _UPDATES.c.payload,
                                     _UPDATES.c.tries)
                              .where(_UPDATES.c.id.in_(ids)).order_by(_UPDATES.c.id))
    return [ClaimedUpdate(r.id, r.update_id, r.lane, json.loads(r.payload), r.tries) for r in rows]


def renew(connection: Connection, ids: list[int], worker: str, hold: dt.timedelta = CLAIM_FOR) -> None:
    """A live worker keeps its claims (handling may wait on rate limits longer than CLAIM_FOR)."""
    if ids:
        connection.execute(update(_UPDATES).where(_UPDATES.c.id.in_(ids), _UPDATES.c.claimed_by == worker,
                                                  _UPDATES.c.done_at.is_(None))
                           .values(claimed_until=now_utc() + hold))


def finish(connection: Connection, update_row_id: int, error: str | None = None) -> None:
    """Handled: the lane's next update becomes claimable, and what was typed is erased."""
    connection.execute(update(_UPDATES).where(_UPDATES.c.id == update_row_id)
                       .values(done_at=now_utc(), payload=None, claimed_until=None,
                               last_error=error[:64] if error else None))


def release(connection: Connection, ids: list[int], worker: str) -> None:
    """A worker stopping hands back updates it cut short: claimable again at once, not after the claim."""
    if ids:
        connection.execute(update(_UPDATES).where(_UPDATES.c.id.in_(ids), _UPDATES.c.claimed_by == worker,
                                                  _UPDATES.c.done_at.is_(None))
                           .values(claimed_until=None))


def prune(connection: Connection, keep: dt.timedelta = KEEP_DONE) -> int:
    """Deletes finished updates older than `keep`; their ids are no longer needed."""
    result = connection.execute(delete(_UPDATES).where(and_(_UPDATES.c.done_at.is_not(None),
                                                            _UPDATES.c.done_at < now_utc() - keep)))
    return result.rowcount or 0
