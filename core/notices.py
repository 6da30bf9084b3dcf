"""Messages for citizens that start outside a conversation (an operator's decision).

A transactional outbox: the decision and its notice are written in one
transaction; a sender (the bot) claims due notices, sends each in the citizen's
language and marks it sent at once. A notice is a kind and parameters, not text.

Delivery is at least once: a sender that dies between sending and marking leaves
a claim that expires, and the notice goes again. A notice that cannot be
delivered is tried a bounded number of times with growing waits, then given up
(`dead_at`), so it never holds up the notices behind it. A notice for a citizen with no
linked account (they logged out, or a station decided while they were away) waits for
their next link, for a bounded time: linking wakes it (`wake`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    String,
    Text,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, UTCDateTime

_PENDING = "sent_at IS NULL AND dead_at IS NULL"


class CitizenNotice(Base):
    __tablename__ = "citizen_notices"
    __table_args__ = (
        # The claim: pending notices whose next try is due. Sent and dead rows stay out of it.
        Index("ix_citizen_notices_pending", "next_attempt_at", "id",
              sqlite_where=text(_PENDING), postgresql_where=text(_PENDING)),
        # A citizen's notices: those waiting for a link are woken when they link (`wake`), and
        # the foreign key finds them here when a record is removed.
        Index("ix_citizen_notices_citizen", "citizen_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    # A notice for one channel account rather than for the citizen's linked accounts: the
    # account a link was taken from is told, though it no longer holds the book.
    account_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Sent, or done without a send (nobody it could reach).
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # A sender's claim; one that outlives `claimed_until` was abandoned (the sender died).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    dead_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # given up after the last try
    # The last failure's type (`Forbidden`), never its text: an error's text may quote the message.
    last_error: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class DueNotice:
    id: int
    citizen_id: int
    kind: str
    params: dict[str, Any]
    account_id: int | None = None
    tries: int = 0  # failed tries so far
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often an undeliverable notice is tried, and how long a sender may hold one.

    Six tries, waiting 2, 4, 8, 16 and 32 minutes between them: the last try is about an
    hour after the first. A person who blocked the bot by mistake, or whose chat was
    briefly unreachable, is still told within that hour; after it the notice is stale
    (the citizen reads the same facts in the bot) and retrying only costs requests.
    """

    tries: int = 6
    first_wait: dt.timedelta = dt.timedelta(minutes=2)
    longest_wait: dt.timedelta = dt.timedelta(minutes=32)
    # Longer than any one send, rate limiter waits included; a dead sender's claim lapses then.
    claim_for: dt.timedelta = dt.timedelta(minutes=5)
    # A citizen with no linked account is told when they next link (linking wakes the notice;
    # the look every few hours is a backstop), for a month: after it the news is stale.
    hold_unlinked: dt.timedelta = dt.timedelta(days=30)
    look_again_unlinked: dt.timedelta = dt.timedelta(hours=6)

    def still_held(self, notice: DueNotice, now: dt.datetime) -> bool:
        """True while a notice that found nobody to tell should wait for a link."""
        return notice.account_id is None and notice.created_at is not None \
            and now - notice.created_at < self.hold_unlinked

    def wait_after(self, failed_tries: int) -> dt.timedelta:
        return min(self.first_wait * 2 ** (failed_tries - 1), self.longest_wait)


_NOTICES = CitizenNotice.__table__
_COLUMNS = (_NOTICES.c.id, _NOTICES.c.citizen_id, _NOTICES.c.kind, _NOTICES.c.params,
            _NOTICES.c.account_id, _NOTICES.c.tries, _NOTICES.c.created_at)


def _notice(row: Any) -> DueNotice:
    return DueNotice(row.id, row.citizen_id, row.kind, json.loads(row.params), row.account_id,
                     row.tries, row.created_at)


def enqueue(connection: Connection, citizen_id: int, kind: str, *, account_id: int | None = None,
            **params: Any) -> None:
    """A notice for the citizen's linked accounts, or with `account_id` for that one account."""
    now = now_utc()
    connection.execute(insert(_NOTICES).values(citizen_id=citizen_id, account_id=account_id, kind=kind,
                                               params=json.dumps(params, ensure_ascii=False),
                                               created_at=now, next_attempt_at=now, tries=0))


def _due(now: dt.datetime):
    return (_NOTICES.c.sent_at.is_(None), _NOTICES.c.dead_at.is_(None), _NOTICES.c.next_attempt_at <= now,
            or_(_NOTICES.c.claimed_until.is_(None), _NOTICES.c.claimed_until <= now))


def due(connection: Connection, limit: int = 50) -> list[DueNotice]:
    """Notices waiting to be sent now, oldest first (a look, not a claim)."""
    rows = connection.execute(select(*_COLUMNS).where(*_due(now_utc())).order_by(_NOTICES.c.id).limit(limit))
    return [_notice(r) for r in rows]


def claim(connection: Connection, sender: str, limit: int, policy: RetryPolicy) -> list[DueNotice]:
    """Takes up to `limit` due notices for `sender`, oldest first, in one short transaction.

    PostgreSQL: the rows are locked with SKIP LOCKED, so a second sender claiming at the same
    moment takes the next ones instead of waiting or taking the same. SQLite: `Database.write`
    holds the write lock (BEGIN IMMEDIATE) from the select to the update, so senders take turns.
    """
    now = now_utc()
    ids = list(connection.execute(select(_NOTICES.c.id).where(*_due(now)).order_by(_NOTICES.c.id)
                                  .limit(limit).with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    connection.execute(update(_NOTICES).where(_NOTICES.c.id.in_(ids))
                       .values(claimed_until=now + policy.claim_for, claimed_by=sender))
    rows = connection.execute(select(*_COLUMNS).where(_NOTICES.c.id.in_(ids)).order_by(_NOTICES.c.id))
    return [_notice(r) for r in rows]


def mark_sent(connection: Connection, ids: list[int]) -> None:
    """Sent (or nothing to send it to): whoever claimed it, it is done."""
    if ids:
        connection.execute(update(_NOTICES).where(_NOTICES.c.id.in_(ids))
                           .values(sent_at=now_utc(), claimed_until=None))


def postpone(connection: Connection, notice_id: int, sender: str, until: dt.datetime) -> None:
    """Nobody to tell yet (no linked account): due again at `until`, or when the citizen links."""
    connection.execute(update(_NOTICES).where(_NOTICES.c.id == notice_id,
                                              _NOTICES.c.claimed_by == sender,
                                              _NOTICES.c.sent_at.is_(None))
                       .values(next_attempt_at=until, claimed_until=None))


def wake(connection: Connection, citizen_id: int) -> None:
    """The citizen has linked an account: what waited for one is due now."""
    connection.execute(update(_NOTICES).where(_NOTICES.c.citizen_id == citizen_id,
                                              _NOTICES.c.account_id.is_(None),
                                              _NOTICES.c.sent_at.is_(None),
                                              _NOTICES.c.dead_at.is_(None))
                       .values(next_attempt_at=now_utc()))


def record_failure(connection: Connection, notice: DueNotice, sender: str, error: str,
                   policy: RetryPolicy) -> bool:
    """One more failed try: the next after a longer wait, or given up after the last. True if given up."""
    now, tries = now_utc(), notice.tries + 1
    dead = tries >= policy.tries
    connection.execute(
        update(_NOTICES).where(_NOTICES.c.id == notice.id, _NOTICES.c.claimed_by == sender,
                               _NOTICES.c.sent_at.is_(None))
        .values(tries=tries, last_error=error[:64], claimed_until=None,
                next_attempt_at=now + policy.wait_after(tries), dead_at=now if dead else None))
    return dead


def release(connection: Connection, ids: list[int], sender: str) -> None:
    """A sender stopping hands back what it claimed but did not send: due again at once."""
    if ids:
        connection.execute(update(_NOTICES).where(_NOTICES.c.id.in_(ids), _NOTICES.c.claimed_by == sender,
                                                  _NOTICES.c.sent_at.is_(None))
                           .values(claimed_until=None))


def drop_for(connection: Connection, citizen_ids: Sequence[int], account_ids: list[int]) -> int:
    """What still waits to be told to these citizens (their linked accounts, or these accounts of
    theirs) is never sent: after a death nobody reads it (core.volunteering.deaths). Notices about
    them for someone else (a volunteer's) are kept. How many."""
    mine = _NOTICES.c.account_id.is_(None)
    if account_ids:
        mine = or_(mine, _NOTICES.c.account_id.in_(account_ids))
    return connection.execute(update(_NOTICES).where(
        _NOTICES.c.citizen_id.in_(citizen_ids), _NOTICES.c.sent_at.is_(None), _NOTICES.c.dead_at.is_(None),
        mine)
        .values(dead_at=now_utc(), claimed_until=None, last_error="recipient_deceased")).rowcount
